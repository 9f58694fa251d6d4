//! Words and phrases: how the debrief splits text into words, and how it decides that a
//! phrase (a pitch word, a company name, a demo request) occurs in a text. Stems come
//! from the Snowball English stemmer (`rust-stemmers`), so "deliveries" finds "delivery"
//! and "retiring" finds "retire". Meaning (facts asked for, recaps) is the reader's job:
//! see [`crate::meaning`].
//!
//! The rules, shared by every figure (see `docs/scoring.md`):
//! - a word is a run of letters or digits, with apostrophes allowed inside it; everything
//!   else (spaces, punctuation, hyphens, symbols) separates words;
//! - matching ignores case and punctuation: a trailing possessive `'s` is dropped and other
//!   apostrophes removed, so "StockLine's" is "stockline" and "haven't" is "havent";
//! - a phrase of several words matches only as a contiguous run of whole words, so "pat"
//!   never matches inside "patient" and "late delivery" does not match "delivery late".

use rust_stemmers::{Algorithm, Stemmer};

/// Lowercase words: letters, digits and inner apostrophes; everything else splits.
/// This is what word counts count.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || (c == '\'' || c == '’') && !cur.is_empty() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.iter()
        .map(|w| w.trim_end_matches(['\'', '’']).replace('’', "'"))
        .filter(|w| !w.is_empty())
        .collect()
}

/// The words of `text` in the form used for matching: lowercase, possessive `'s` dropped,
/// other apostrophes removed. One entry per word of [`words`], in the same order.
pub fn match_words(text: &str) -> Vec<String> {
    words(text).iter().map(|w| normalise(w)).collect()
}

fn normalise(word: &str) -> String {
    let base = word.strip_suffix("'s").unwrap_or(word);
    let out: String = base.chars().filter(|&c| c != '\'').collect();
    if out.is_empty() {
        word.replace('\'', "")
    } else {
        out
    }
}

/// Where the words of `phrase` first occur, contiguous and in order, in `haystack`
/// (both already in [`match_words`] form); `None` for an empty phrase.
pub fn find_words(haystack: &[String], phrase: &[String]) -> Option<usize> {
    if phrase.is_empty() || phrase.len() > haystack.len() {
        return None;
    }
    haystack.windows(phrase.len()).position(|w| w == phrase)
}

/// Where `phrase` (one or more words, any case and punctuation) first occurs as whole
/// words in `haystack` (already in [`match_words`] form).
pub fn find_phrase(haystack: &[String], phrase: &str) -> Option<usize> {
    find_words(haystack, &match_words(phrase))
}

/// Whether `phrase` occurs as whole words in `haystack` (already in [`match_words`] form).
pub fn contains_phrase(haystack: &[String], phrase: &str) -> bool {
    find_phrase(haystack, phrase).is_some()
}

/// Stems words with the Snowball English stemmer.
pub struct WordStemmer(Stemmer);

impl Default for WordStemmer {
    fn default() -> Self {
        Self(Stemmer::create(Algorithm::English))
    }
}

impl std::fmt::Debug for WordStemmer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WordStemmer(english)")
    }
}

impl WordStemmer {
    /// The stems of `text`'s words, in [`match_words`] order.
    pub fn stems(&self, text: &str) -> Vec<String> {
        self.stem_all(&match_words(text))
    }

    /// The stems of words already in [`match_words`] form.
    pub fn stem_all(&self, words: &[String]) -> Vec<String> {
        words.iter().map(|w| self.0.stem(w).into_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_match_other_forms_of_a_word() {
        let st = WordStemmer::default();
        let hay = st.stems("Two of his customers were complaining about late deliveries.");
        assert!(find_words(&hay, &st.stems("complain")).is_some());
        assert!(find_words(&hay, &st.stems("late delivery")).is_some());
        assert!(find_words(&hay, &st.stems("delivery late")).is_none());
    }

    #[test]
    fn a_phrase_never_matches_inside_a_longer_word() {
        let hay = match_words("He was patient with me and talked about patterns.");
        assert!(!contains_phrase(&hay, "pat"));
        assert!(contains_phrase(
            &match_words("Pat's retiring in March."),
            "pat"
        ));
    }

    #[test]
    fn words_keep_apostrophes_inside_words_only() {
        assert_eq!(
            words("Don't 'quote' me—ok?"),
            vec!["don't", "quote", "me", "ok"]
        );
    }

    #[test]
    fn match_words_drop_possessives_and_apostrophes() {
        assert_eq!(
            match_words("StockLine’s demo? I haven't seen it. What's up"),
            vec![
                "stockline",
                "demo",
                "i",
                "havent",
                "seen",
                "it",
                "what",
                "up"
            ]
        );
    }

    #[test]
    fn phrases_match_whole_words_only() {
        let hay = match_words("Would a free-trial of our platform help?");
        assert_eq!(find_phrase(&hay, "free trial"), Some(2));
        assert!(contains_phrase(&hay, "our platform"));
        assert!(!contains_phrase(&hay, "plat"));
        assert!(!contains_phrase(&hay, ""));
    }
}
