//! The shape of a line, before any meaning: its sentences, which of them ask something,
//! and how many words in each carry content. These are the counting rules that stop a
//! line of bare question words ("What? Why? Anything else?") from passing for discovery.

/// One sentence of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub text: String,
    /// Ends in `?`, or opens with a request to talk ("tell me…", "walk me through…").
    pub asks: bool,
}

/// Requests that invite the buyer to talk: a sentence opening with one asks something
/// even without a question mark.
const REQUESTS: &[&str] = &[
    "tell me",
    "tell us",
    "describe",
    "walk me through",
    "walk us through",
    "talk me through",
    "take me through",
    "explain",
    "help me understand",
    "say more",
];

/// Words that carry no topic of their own: question words, grammar, fillers, and the
/// generic nouns of "anything else?". A question made only of these asks nothing in
/// particular.
/// Words with no topic of their own (see [`content_words`]).
pub const EMPTY_WORDS: &[&str] = &[
    "a",
    "about",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "done",
    "else",
    "even",
    "ever",
    "for",
    "from",
    "get",
    "go",
    "going",
    "got",
    "had",
    "has",
    "have",
    "he",
    "her",
    "here",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "kind",
    "know",
    "let",
    "like",
    "me",
    "mean",
    "more",
    "much",
    "my",
    "no",
    "not",
    "now",
    "of",
    "oh",
    "ok",
    "okay",
    "on",
    "one",
    "or",
    "other",
    "our",
    "out",
    "please",
    "really",
    "right",
    "she",
    "should",
    "so",
    "some",
    "something",
    "sort",
    "still",
    "sure",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "to",
    "too",
    "um",
    "uh",
    "up",
    "us",
    "very",
    "was",
    "we",
    "well",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "would",
    "yeah",
    "yes",
    "you",
    "your",
    "yours",
    "hmm",
    "exactly",
    "mind",
    "way",
    "ways",
    "want",
    "okay",
    "great",
    "good",
    "lot",
    "bit",
    "maybe",
    "perhaps",
    "anyone",
    "someone",
    "everything",
    "next",
    "first",
    "then",
    "go",
    "further",
    "missing",
    "missed",
];

/// Lowercase words of `text`, apostrophes kept inside words ("don't").
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’').to_lowercase())
        .filter(|w| !w.is_empty())
        .map(|w| w.replace('’', "'"))
        .collect()
}

/// The words of `text` that carry a topic: not grammar, not a question word, and at
/// least three letters. "What else?" has none; "What does the downtime cost?" has two.
pub fn content_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .map(|w| w.strip_suffix("'s").map(str::to_string).unwrap_or(w))
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !EMPTY_WORDS.contains(&w.as_str()))
        .filter(|w| !w.contains('\''))
        .collect()
}

fn opens_with_request(sentence: &str) -> bool {
    let w = words(sentence);
    // "Could you walk me through…" is a request too.
    let start = match w.as_slice() {
        [a, b, rest @ ..]
            if matches!(a.as_str(), "could" | "can" | "would" | "will")
                && matches!(b.as_str(), "you" | "we") =>
        {
            rest
        }
        [a, rest @ ..] if a == "please" || a == "so" || a == "and" => rest,
        _ => &w[..],
    };
    REQUESTS.iter().any(|r| {
        let r: Vec<&str> = r.split(' ').collect();
        start.len() >= r.len() && start.iter().zip(&r).all(|(a, b)| a == b)
    })
}

/// Splits a line into sentences on `.`, `!`, `?`, `;`, `…` and line breaks (not on the
/// point inside a number such as 2.5).
pub fn sentences(text: &str) -> Vec<Sentence> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Sentence> = Vec::new();
    let mut cur = String::new();
    let push = |cur: &mut String, asked: bool, out: &mut Vec<Sentence>| {
        let t = cur.trim().to_string();
        cur.clear();
        if words(&t).is_empty() {
            // A run of "??" after a sentence still makes it a question.
            if asked {
                if let Some(last) = out.last_mut() {
                    last.asks = true;
                }
            }
            return;
        }
        let asks = asked || opens_with_request(&t);
        out.push(Sentence { text: t, asks });
    };
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point = c == '.'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if matches!(c, '.' | '!' | '?' | ';' | '\n' | '…') && !decimal_point {
            push(&mut cur, c == '?', &mut out);
        } else {
            cur.push(c);
        }
    }
    push(&mut cur, false, &mut out);
    out
}

/// Parts of one sentence that a list of questions is made of: split on commas, slashes,
/// "or" and "and". "Is it the counts, the depot, your son or the hotels?" has four.
pub fn clauses(sentence: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in sentence.split([',', '/', ':', '(', ')']) {
        let mut cur: Vec<&str> = Vec::new();
        for w in piece.split_whitespace() {
            if matches!(w.to_lowercase().as_str(), "or" | "and" | "plus") {
                if !cur.is_empty() {
                    parts.push(cur.join(" "));
                    cur.clear();
                }
            } else {
                cur.push(w);
            }
        }
        if !cur.is_empty() {
            parts.push(cur.join(" "));
        }
    }
    parts.retain(|p| !content_words(p).is_empty());
    parts
}

/// Chunks between commas that make a sentence a list when there are this many or more…
const LIST_CHUNKS: usize = 3;
/// …and they average fewer words than this: fragments, not clauses.
const LIST_CHUNK_WORDS: usize = 4;

/// Whether a sentence is a list of fragments ("phones, whiteboards, Tomasz, March")
/// rather than a statement or a question.
pub fn is_list(sentence: &str) -> bool {
    let chunks: Vec<usize> = sentence
        .split([',', ';', '/', ':'])
        .map(|c| words(c).len())
        .filter(|n| *n > 0)
        .collect();
    // Three chunks make a list only when all are fragments: "Pat, the warehouse manager,
    // retires in March" is a sentence with an aside.
    match chunks.len() {
        n if n > LIST_CHUNKS => chunks.iter().sum::<usize>() < LIST_CHUNK_WORDS * n,
        n if n == LIST_CHUNKS => chunks.iter().all(|c| *c <= 2),
        _ => false,
    }
}

/// Items of at most this many words are note fragments ("Pat retiring March", "son
/// decides"); a written account's sentences are longer.
const NOTE_WORDS: usize = 4;
/// This many fragments in a row are notes, not an account: prose rarely has three short
/// sentences running, while cue lists of any shape (bullets, full stops, slashes) are
/// nothing else.
const NOTE_RUN: usize = 3;
/// A text whose items are mostly fragments is notes throughout, the odd longer item
/// ("Third depot by the coast") included. Three in five: prose stays far below that.
const NOTE_SHARE: (usize, usize) = (3, 5);
/// Fewer items than this are a short answer, not a list.
const NOTE_MIN_ITEMS: usize = 4;

/// `text` with its notes removed: runs of fragments, whatever separates them (full
/// stops, question marks, bullets, new lines, slashes, plus signs), and comma lists of
/// short pieces ([`is_list`]). Commas inside a sentence do not make fragments on their
/// own: "Tomasz, the head mechanic, has a veto" is a sentence with an aside. What is left
/// keeps its punctuation, so it still splits into sentences.
pub fn without_notes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    // (item, separator after it)
    let mut items: Vec<(String, String)> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point = c == '.'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        let bullet = matches!(c, '-' | '*') && cur.trim().is_empty();
        let separates = matches!(
            c,
            '.' | '!' | '?' | ';' | '\n' | '…' | '/' | '+' | '•' | '·' | '|'
        ) || bullet;
        if separates && !decimal_point {
            items.push((std::mem::take(&mut cur), c.to_string()));
        } else {
            cur.push(c);
        }
    }
    items.push((cur, String::new()));
    let listed: Vec<bool> = items.iter().map(|(t, _)| is_list(t)).collect();
    let short: Vec<bool> = items
        .iter()
        .zip(&listed)
        .map(|((t, _), listed)| {
            let n = words(t).len();
            *listed || (n > 0 && n <= NOTE_WORDS)
        })
        .collect();
    let filled = items.iter().filter(|(t, _)| !words(t).is_empty()).count();
    let fragments = short.iter().filter(|s| **s).count();
    if filled >= NOTE_MIN_ITEMS && fragments * NOTE_SHARE.1 >= filled * NOTE_SHARE.0 {
        return String::new();
    }
    let mut keep: Vec<bool> = listed.iter().map(|l| !l).collect();
    let mut i = 0;
    while i < items.len() {
        // Empty items (between "?" and "\n", say) neither start nor break a run.
        let mut j = i;
        let mut run = 0;
        while j < items.len() && (short[j] || words(&items[j].0).is_empty()) {
            run += short[j] as usize;
            j += 1;
        }
        if run >= NOTE_RUN {
            keep[i..j].iter_mut().for_each(|k| *k = false);
        }
        i = j.max(i + 1);
    }
    let mut out = String::new();
    for ((t, sep), k) in items.iter().zip(keep) {
        if k {
            out.push_str(t);
            out.push_str(sep);
        } else if matches!(sep.as_str(), "." | "!" | "?" | "\n") {
            // Keep sentence ends so the text either side does not run together.
            out.push_str(sep);
        }
    }
    out
}

/// Ways of asking whether the buyer has more to say.
const MORE_TO_SAY: &[&str] = &[
    "anything else",
    "something else",
    "what else",
    "anything more",
    "anything further",
    "anything i haven't",
    "anything i have not",
    "anything i didn't",
    "anything i missed",
    "anything i've missed",
    "anything we haven't",
    "anything we didn't",
    "what am i missing",
    "what have i missed",
    "what haven't i",
    "anything i should know",
    "anything on your mind",
    "is there more",
    "something more",
    "something on your mind",
    "something we haven't",
    "something i haven't",
    "something i should know",
];

/// Words by which a question asks what came after something: "Who did you go to next?",
/// "What happened after that call?".
const WHAT_CAME_NEXT: &[&str] = &["next", "after", "afterwards", "then", "since"];

/// Whether a sentence asks what came after something the buyer told.
pub fn asks_what_came_next(sentence: &str) -> bool {
    words(sentence)
        .iter()
        .any(|w| WHAT_CAME_NEXT.contains(&w.as_str()))
}

/// Words that, just before "anything else", make it a sequencing phrase rather than a
/// question ("before anything else, …", "more than anything else").
const NOT_MORE_TO_SAY: &[&str] = &["before", "above", "than", "unlike", "beyond", "over"];

/// Whether a sentence asks if the buyer has more to say, and in which form: "something
/// else" (the form Heritage et al. found to draw out unmet concerns) or any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoreToSay {
    SomethingElse,
    AnythingElse,
}

/// Reads a question sentence for "anything else?" (none for statements).
pub fn asks_for_more(sentence: &Sentence) -> Option<MoreToSay> {
    if !sentence.asks {
        return None;
    }
    let w = words(&sentence.text);
    let joined = format!(" {} ", w.join(" "));
    for phrase in MORE_TO_SAY {
        let Some(at) = joined.find(&format!(" {phrase} ")) else {
            continue;
        };
        let before = joined[..at].split_whitespace().last().unwrap_or("");
        if NOT_MORE_TO_SAY.contains(&before) {
            continue;
        }
        return Some(if phrase.starts_with("something") {
            MoreToSay::SomethingElse
        } else {
            MoreToSay::AnythingElse
        });
    }
    None
}

/// How a question asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Invites an answer in the buyer's own words (what, how, why, tell me…).
    Open,
    /// Asks for a specific answer (who, when, where, which, how many).
    Specific,
    /// Can be answered yes or no (do you, is it, would you…).
    YesNo,
}

/// Words that may open a sentence without changing how it asks.
const FILLERS: &[&str] = &[
    "so", "and", "but", "ok", "okay", "well", "right", "great", "then", "now", "also", "oh",
    "sure", "alright", "hmm", "um", "uh", "yes", "yeah", "please", "just", "and",
];

/// How a question sentence asks; none for a statement. Each comma-separated clause may
/// carry the question word ("Glen, what…", "Before we get to stock, how…").
pub fn form(sentence: &Sentence) -> Option<Form> {
    if !sentence.asks {
        return None;
    }
    if opens_with_request(&sentence.text) || asks_for_more(sentence).is_some() {
        return Some(Form::Open);
    }
    let mut best = Form::YesNo;
    for clause in sentence.text.split([',', ':', '—', '–']) {
        // "What's" reads as "whats": the question word is what matters.
        let w: Vec<String> = words(clause)
            .into_iter()
            .map(|x| x.replace('\'', ""))
            .collect();
        let start: Vec<&str> = w
            .iter()
            .map(String::as_str)
            .skip_while(|x| FILLERS.contains(x))
            .collect();
        match start.as_slice() {
            ["how", next, ..]
                if matches!(
                    *next,
                    "many" | "much" | "long" | "often" | "soon" | "old" | "far" | "big"
                ) =>
            {
                best = Form::Specific;
            }
            [first, ..] if matches!(*first, "what" | "whats" | "why" | "how" | "hows") => {
                return Some(Form::Open);
            }
            [first, ..]
                if matches!(
                    *first,
                    "who" | "whom" | "whose" | "when" | "where" | "which" | "wheres" | "whos"
                ) =>
            {
                best = Form::Specific;
            }
            _ => {}
        }
    }
    // "Do you mind if I ask what…" still asks an open question.
    if best == Form::YesNo
        && words(&sentence.text)
            .iter()
            .any(|x| x == "what" || x == "how")
    {
        return Some(Form::Open);
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_sentences_and_questions() {
        let s = sentences("So the counts are off. What does that cost you? Tell me more");
        assert_eq!(s.len(), 3);
        assert!(!s[0].asks);
        assert!(s[1].asks);
        assert!(s[2].asks, "a request asks without a question mark");
        assert_eq!(sentences("It costs 2.5 million!").len(), 1);
        assert!(sentences("").is_empty());
        assert!(sentences("?!...").is_empty());
    }

    #[test]
    fn bare_question_words_carry_no_content() {
        for q in [
            "What?",
            "Why?",
            "Anything else?",
            "What else?",
            "How so?",
            "Really?",
        ] {
            assert!(content_words(q).is_empty(), "{q}");
        }
        assert_eq!(
            content_words("What does the downtime cost you?"),
            ["downtime", "cost"]
        );
    }

    #[test]
    fn before_anything_else_is_not_asking_for_more() {
        let q = |t: &str| Sentence {
            text: t.into(),
            asks: true,
        };
        assert_eq!(
            asks_for_more(&q("Before anything else, how big is the team")),
            None
        );
        assert_eq!(
            asks_for_more(&q("Is there anything else on your mind")),
            Some(MoreToSay::AnythingElse)
        );
        assert_eq!(
            asks_for_more(&q("Is there something else you want to raise")),
            Some(MoreToSay::SomethingElse)
        );
        let statement = Sentence {
            text: "There is something else".into(),
            asks: false,
        };
        assert_eq!(asks_for_more(&statement), None);
    }

    #[test]
    fn questions_read_as_open_specific_or_yes_no() {
        let f = |t: &str| form(&sentences(t)[0]);
        assert_eq!(f("What does that cost you?"), Some(Form::Open));
        assert_eq!(f("Glen, how do decisions get made?"), Some(Form::Open));
        assert_eq!(f("How many people work there?"), Some(Form::Specific));
        assert_eq!(f("Who signs off?"), Some(Form::Specific));
        assert_eq!(f("Do you use spreadsheets?"), Some(Form::YesNo));
        assert_eq!(f("What's changed since spring?"), Some(Form::Open));
        assert_eq!(f("So, how's the team coping?"), Some(Form::Open));
        assert_eq!(f("Is there anything else on your mind?"), Some(Form::Open));
        assert_eq!(f("Walk me through a normal Monday."), Some(Form::Open));
        assert_eq!(f("That is hard."), None);
    }

    #[test]
    fn notes_of_any_shape_are_removed_and_prose_is_kept() {
        for notes in [
            "Third depot? Son Daniel? Pat retiring? Stock counts?",
            "Stock figures wrong. Friday count. Depot by the coast. Son from January.",
            "- counts off\n- hand count Fridays\n- new site\n- son decides",
            "bookings / phone / bench hours / Tomasz / March",
            "helpline + curing time + Duraseal + June review",
            "Stock wrong. Friday count. Third depot by the coast. Harbourside let down twice.",
        ] {
            assert!(words(&without_notes(notes)).is_empty(), "{notes}");
        }
        let prose = "On top of that, the woman who has run the building for two decades \
                     leaves in spring. He pays £2.50 a unit, which is too much. Tomasz, \
                     the head mechanic, has a veto.";
        assert_eq!(words(&without_notes(prose)), words(prose));
        let mixed = "He wants a third site by the sea within two years. Son, depot, Pat, counts.";
        assert_eq!(
            words(&without_notes(mixed)).join(" "),
            "he wants a third site by the sea within two years"
        );
    }

    #[test]
    fn fragments_make_a_list_but_an_aside_does_not() {
        assert!(is_list("phones, whiteboards, Tomasz, March"));
        assert!(is_list("third depot, son, hotels"));
        assert!(!is_list("Pat, the warehouse manager, retires in March"));
        assert!(!is_list("He wants a third depot, but not yet"));
    }

    #[test]
    fn a_list_of_topics_splits_into_clauses() {
        let c = clauses("Is it the counts, the depot, your son or the hotels");
        assert_eq!(c.len(), 4);
    }
}
