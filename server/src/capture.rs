//! Matching a seller's recap against each fact's recap cues. Words are stemmed with the
//! Snowball English stemmer (`rust-stemmers`) so "stockouts" finds "stockout" and
//! "complaining" finds "complaint"; a multi-word cue must appear as a contiguous phrase.

use rust_stemmers::{Algorithm, Stemmer};

/// Lowercase words: letters, digits and inner apostrophes; everything else splits.
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

/// A recap, stemmed once, ready to be asked about many cues.
pub struct RecapMatcher {
    stemmer: Stemmer,
    stems: Vec<String>,
}

impl RecapMatcher {
    pub fn new(recap: &str) -> Self {
        let stemmer = Stemmer::create(Algorithm::English);
        let stems = words(recap)
            .iter()
            .map(|w| stemmer.stem(w).into_owned())
            .collect();
        Self { stemmer, stems }
    }

    /// True when every word of `cue`, stemmed, appears in order and adjacent in the recap.
    pub fn contains(&self, cue: &str) -> bool {
        let cue: Vec<String> = words(cue)
            .iter()
            .map(|w| self.stemmer.stem(w).into_owned())
            .collect();
        !cue.is_empty() && self.stems.windows(cue.len()).any(|w| w == cue.as_slice())
    }

    /// The cues (as written) that the recap contains.
    pub fn matched_cues(&self, cues: &[String]) -> Vec<String> {
        cues.iter().filter(|c| self.contains(c)).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stemming_matches_other_forms_of_a_cue() {
        let m = RecapMatcher::new("Two of his customers were complaining about late deliveries.");
        assert!(m.contains("complaint"));
        assert!(m.contains("late delivery"));
        assert!(!m.contains("delivery late"));
        assert!(!m.contains("budget"));
    }

    #[test]
    fn words_keep_apostrophes_inside_words_only() {
        assert_eq!(
            words("Don't 'quote' me—ok?"),
            vec!["don't", "quote", "me", "ok"]
        );
    }
}
