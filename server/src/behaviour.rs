//! Behaviour figures read off the transcript: who talked, what kind of questions the
//! seller asked, when they first pitched, whether they name-dropped. Each figure keeps the
//! transcript lines it came from so the debrief can show its working.

use serde::{Deserialize, Serialize};

use crate::capture::words;
use crate::protocol::Role;
use crate::scenario::{FactKind, Scenario};
use crate::scoring::{Reveal, TranscriptLine};

/// The seller's conversational habits in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Behaviour {
    pub seller_words: u32,
    pub buyer_words: u32,
    /// Seller's share of all words, rounded down.
    pub seller_word_share: u32,
    /// Transcript lines where the seller asked a question.
    pub questions: Vec<u32>,
    /// Of those, the open ones (what, how, why, tell me…).
    pub open_questions: Vec<u32>,
    /// Open questions as a share of all questions, rounded down; none without questions.
    pub open_share: Option<u32>,
    /// Most seller words in a row without the buyer speaking, and where that run started.
    pub longest_monologue_words: u32,
    pub longest_monologue_from: Option<u32>,
    /// The first seller line that used a pitch word, and the word.
    pub first_pitch: Option<Pitch>,
    /// The first pitch came before any pain or goal had been revealed.
    pub pitched_before_pain: bool,
    /// First goal question's line, first problem question's line.
    pub first_goal_question: Option<u32>,
    pub first_problem_question: Option<u32>,
    /// Goals were asked about before problems (none if either never came up).
    pub goals_before_problems: Option<bool>,
    /// Lines where the seller asked whether there was anything else.
    pub anything_else: Vec<u32>,
    /// Lines where the seller cited another customer or a famous company.
    pub name_drops: Vec<NameDrop>,
    /// Plain-language notes, one per figure worth remarking on.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pitch {
    pub index: u32,
    pub at_ms: u64,
    pub word: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameDrop {
    pub index: u32,
    pub name: String,
}

/// A sentence about one figure, with the published reference point it is compared to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub figure: String,
    pub text: String,
    pub reference: Option<String>,
}

const OPEN_STARTS: &[&str] = &[
    "what", "how", "why", "tell", "describe", "walk", "explain", "help", "talk", "share",
];
const GOAL_WORDS: &[&str] = &[
    "goal",
    "goals",
    "achieve",
    "aim",
    "aims",
    "want",
    "hope",
    "hoping",
    "success",
    "vision",
    "priority",
    "priorities",
    "objective",
    "objectives",
    "ideal",
];
const PROBLEM_WORDS: &[&str] = &[
    "problem",
    "problems",
    "issue",
    "issues",
    "challenge",
    "challenges",
    "wrong",
    "pain",
    "struggle",
    "struggling",
    "frustrat",
    "difficult",
    "difficulty",
    "broken",
];
const GENERIC_NAME_DROPS: &[&str] = &[
    "microsoft",
    "google",
    "amazon",
    "apple",
    "walmart",
    "ibm",
    "oracle",
    "sap",
    "salesforce",
];

fn is_question(text: &str) -> bool {
    text.contains('?')
}

fn is_open(text: &str) -> bool {
    words(text)
        .first()
        .is_some_and(|w| OPEN_STARTS.contains(&w.as_str()))
        || text.to_lowercase().contains("tell me")
}

fn mentions(text_words: &[String], list: &[&str]) -> bool {
    text_words
        .iter()
        .any(|w| list.iter().any(|l| w.starts_with(l)))
}

/// Whether `phrase` (one or more words) appears in `text_words` as whole words.
pub fn contains_phrase(text_words: &[String], phrase: &str) -> bool {
    let p = words(phrase);
    !p.is_empty() && text_words.windows(p.len()).any(|w| w == p.as_slice())
}

fn asks_anything_else(text: &str) -> bool {
    let t = text.to_lowercase();
    is_question(text)
        && [
            "anything else",
            "something else",
            "what else",
            "anything more",
            "anything i missed",
        ]
        .iter()
        .any(|p| t.contains(p))
}

/// Computes the behaviour figures for a transcript.
pub fn analyse(
    scenario: &Scenario,
    transcript: &[TranscriptLine],
    reveals: &[Reveal],
) -> Behaviour {
    let mut b = Behaviour::default();
    let mut run_words = 0u32;
    let mut run_from: Option<u32> = None;
    for line in transcript {
        let ws = words(&line.text);
        let n = ws.len() as u32;
        match line.from {
            Role::Buyer => {
                b.buyer_words += n;
                run_words = 0;
                run_from = None;
            }
            Role::Seller => {
                b.seller_words += n;
                if run_from.is_none() {
                    run_from = Some(line.index);
                }
                run_words += n;
                if run_words > b.longest_monologue_words {
                    b.longest_monologue_words = run_words;
                    b.longest_monologue_from = run_from;
                }
                if is_question(&line.text) {
                    b.questions.push(line.index);
                    if is_open(&line.text) {
                        b.open_questions.push(line.index);
                    }
                    if b.first_goal_question.is_none() && mentions(&ws, GOAL_WORDS) {
                        b.first_goal_question = Some(line.index);
                    }
                    if b.first_problem_question.is_none() && mentions(&ws, PROBLEM_WORDS) {
                        b.first_problem_question = Some(line.index);
                    }
                }
                if asks_anything_else(&line.text) {
                    b.anything_else.push(line.index);
                }
                if b.first_pitch.is_none() {
                    if let Some(word) = scenario
                        .seller
                        .pitch_words
                        .iter()
                        .find(|p| contains_phrase(&ws, p))
                    {
                        b.first_pitch = Some(Pitch {
                            index: line.index,
                            at_ms: line.at_ms,
                            word: word.clone(),
                        });
                    }
                }
                for name in scenario
                    .seller
                    .reference_customers
                    .iter()
                    .map(String::as_str)
                    .chain(GENERIC_NAME_DROPS.iter().copied())
                {
                    if contains_phrase(&ws, name)
                        && !b
                            .name_drops
                            .iter()
                            .any(|d| d.index == line.index && d.name == name)
                    {
                        b.name_drops.push(NameDrop {
                            index: line.index,
                            name: name.to_string(),
                        });
                    }
                }
            }
        }
    }
    b.seller_word_share = crate::scoring::percent(b.seller_words, b.seller_words + b.buyer_words);
    b.open_share = (!b.questions.is_empty())
        .then(|| crate::scoring::percent(b.open_questions.len() as u32, b.questions.len() as u32));
    b.goals_before_problems = match (b.first_goal_question, b.first_problem_question) {
        (Some(g), Some(p)) => Some(g < p),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    };
    if let Some(p) = &b.first_pitch {
        let first_core = reveals
            .iter()
            .filter(|r| {
                scenario
                    .fact(&r.fact)
                    .is_some_and(|f| matches!(f.kind, FactKind::Pain | FactKind::Goal))
            })
            .map(|r| r.at_ms)
            .min();
        b.pitched_before_pain = first_core.is_none_or(|t| p.at_ms < t);
    }
    b
}
