//! Behaviour figures read off the transcript: who talked, what the seller's questions were
//! after (SPIN's situation, problem, implication, need-payoff, and goal, decision,
//! concern), how many came stacked, when they first pitched, whether they asked about
//! goals before problems, whether they asked "anything else?" or "something else?",
//! whether they name-dropped. Questions are read by meaning ([`crate::meaning`]), from
//! question sentences only; pitches and name-drops from the scenario's word lists. Each
//! figure keeps the transcript lines it came from so the debrief can show its working,
//! and [`Behaviour::notes`] puts the remarkable ones into plain sentences beside a
//! published reference point.
//!
//! `docs/scoring.md` defines every figure.

use serde::{Deserialize, Serialize};

pub use crate::capture::contains_phrase;
use crate::capture::{find_words, match_words, words};
use crate::meaning::{self, Aim};
use crate::protocol::Role;
use crate::reader::text::{self, Form, MoreToSay};
use crate::scenario::{Depth, FactId, FactKind, Scenario};
use crate::scoring::{Reveal, TranscriptLine};

/// Words per minute assumed when a word count is turned into speaking time: a common
/// estimate of conversational English, used only to make monologue lengths feel concrete.
pub const SPOKEN_WORDS_PER_MINUTE: u32 = 150;

/// The seller's conversational habits in one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Behaviour {
    pub seller_words: u32,
    pub buyer_words: u32,
    /// Seller's share of all written words, rounded to the nearest; 0 when nobody wrote.
    pub seller_word_share: u32,
    /// The buyer's share: 100 less the seller's, so the two add up to 100.
    #[serde(default)]
    pub buyer_word_share: u32,
    /// Transcript lines where the seller asked at least one question.
    pub questions: Vec<u32>,
    /// Of those, the lines that asked two or more questions at once.
    #[serde(default)]
    pub stacked_questions: Vec<u32>,
    /// Lines read as a questionnaire: more than two questions, or three or more topics.
    #[serde(default)]
    pub questionnaires: Vec<u32>,
    /// Of the question lines, the open ones (what, how, why, tell me…).
    pub open_questions: Vec<u32>,
    /// Open question lines as a share of all question lines, rounded down; none without
    /// questions.
    pub open_share: Option<u32>,
    /// Every question sentence and what it was after, with the reader's working.
    #[serde(default)]
    pub question_aims: Vec<QuestionAim>,
    /// Most seller words in a row without the buyer speaking, and the first and last line
    /// of that run (the earliest run wins a tie).
    pub longest_monologue_words: u32,
    pub longest_monologue_from: Option<u32>,
    #[serde(default)]
    pub longest_monologue_to: Option<u32>,
    /// The first seller line that used a pitch word or asked for a demo, and the word.
    pub first_pitch: Option<Pitch>,
    /// The first pitch came before the buyer's deeper story was out: before any deeper or
    /// hidden fact was revealed (false without a pitch). The bot uses the same rule.
    #[serde(rename = "pitched_before_pain")]
    pub pitched_early: bool,
    /// The first deeper or hidden fact the buyer revealed, which the pitch is compared with.
    #[serde(rename = "first_pain_or_goal", default)]
    pub first_deeper_reveal: Option<CoreReveal>,
    /// First goal question's line, first problem question's line.
    pub first_goal_question: Option<u32>,
    pub first_problem_question: Option<u32>,
    /// Goals were asked about no later than problems (none if neither came up).
    pub goals_before_problems: Option<bool>,
    /// Lines where the seller asked whether there was anything (or something) else.
    pub anything_else: Vec<u32>,
    /// Of those, the lines that said "something else", the wording Heritage et al. (2007)
    /// found to draw out unmet concerns.
    #[serde(default)]
    pub something_else: Vec<u32>,
    /// Each third party the seller cited, by line, in order of appearance.
    pub name_drops: Vec<NameDrop>,
    /// Plain-language notes, one per figure worth remarking on, in a fixed order.
    pub notes: Vec<Note>,
}

/// One question sentence and what the reader made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionAim {
    pub index: u32,
    pub sentence: String,
    pub aim: Aim,
    /// The aim's example it came nearest, and the score (none for "anything else?" and
    /// for questions with no content).
    pub example: Option<String>,
    pub score: f32,
}

/// The seller's first pitch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pitch {
    pub index: u32,
    pub at_ms: u64,
    /// The pitch word as written in the scenario.
    pub word: String,
}

/// A deeper reveal, for comparing with the first pitch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoreReveal {
    pub fact: FactId,
    pub kind: FactKind,
    pub at_ms: u64,
}

/// A third party the seller cited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameDrop {
    pub index: u32,
    /// The name or phrase as written in the list that caught it.
    pub name: String,
    /// Which list caught it.
    #[serde(default)]
    pub source: NameDropSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum NameDropSource {
    /// One of the scenario's `reference_customers`.
    #[default]
    ReferenceCustomer,
    /// A household-name company.
    FamousCompany,
    /// A phrase such as "companies like" or "one of our clients".
    Phrase,
}

/// A sentence about one figure, with the published reference point it is compared to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// The `Behaviour` field the note is about.
    pub figure: String,
    pub text: String,
    pub reference: Option<String>,
}

/// Household-name companies a seller might cite. Names that are also everyday words
/// (Apple, Target, Shell, Gap, Next, Slack, Zoom, UPS, Visa) are left out to avoid false
/// alarms; a scenario can list them in `reference_customers` when they matter.
const FAMOUS_COMPANIES: &[&str] = &[
    "Microsoft",
    "Google",
    "Amazon",
    "Walmart",
    "IBM",
    "Salesforce",
    "SAP",
    "Oracle",
    "Netflix",
    "Uber",
    "Airbnb",
    "Tesla",
    "Coca-Cola",
    "PepsiCo",
    "Pepsi",
    "Nestlé",
    "Nestle",
    "Unilever",
    "Procter & Gamble",
    "Toyota",
    "Deloitte",
    "Accenture",
    "McKinsey",
    "Costco",
    "Tesco",
    "Sysco",
    "Starbucks",
    "McDonald's",
    "Nike",
    "IKEA",
    "FedEx",
    "DHL",
    "Maersk",
    "Siemens",
    "Samsung",
    "Facebook",
    "LinkedIn",
    "Shopify",
    "HubSpot",
    "Disney",
    "Marriott",
    "Hilton",
    "Heineken",
    "Carrefour",
    "Aldi",
    "Lidl",
    "Sainsbury's",
    "Boeing",
    "General Electric",
    "Johnson & Johnson",
    "Goldman Sachs",
    "JPMorgan",
];

/// Phrases that bring another customer's story into the conversation.
const THIRD_PARTY_PHRASES: &[&str] = &[
    "companies like",
    "companies such as",
    "businesses like",
    "businesses such as",
    "firms like",
    "firms such as",
    "customers such as",
    "clients such as",
    "customers like yours",
    "clients like yours",
    "customers like you",
    "clients like you",
    "shops like yours",
    "stores like yours",
    "teams like yours",
    "organisations like yours",
    "organizations like yours",
    "one of our customers",
    "one of our clients",
    "a customer of ours",
    "a client of ours",
    "our other customers",
    "our other clients",
    "our customers",
    "our clients",
    "we worked with",
    "we've worked with",
    "we helped",
    "we've helped",
];

/// What the word lists find in one line: its first pitch word and the third parties it
/// cites. The bot reads these too, so it reacts to what the debrief reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexical {
    pub pitch: Option<String>,
    pub name_drops: Vec<String>,
}

fn name_drop_lists(scenario: &Scenario) -> Vec<(Vec<String>, String, NameDropSource)> {
    let mut lists: Vec<(Vec<String>, String, NameDropSource)> = Vec::new();
    let named = scenario
        .seller
        .reference_customers
        .iter()
        .map(|n| (n.as_str(), NameDropSource::ReferenceCustomer))
        .chain(
            FAMOUS_COMPANIES
                .iter()
                .map(|&n| (n, NameDropSource::FamousCompany)),
        )
        .chain(
            THIRD_PARTY_PHRASES
                .iter()
                .map(|&n| (n, NameDropSource::Phrase)),
        );
    for (name, source) in named {
        let form = match_words(name);
        if !form.is_empty() && !lists.iter().any(|(f, _, _)| f == &form) {
            lists.push((form, name.to_string(), source));
        }
    }
    lists
}

fn pitch_in(scenario: &Scenario, mw: &[String]) -> Option<String> {
    let forms: Vec<Vec<String>> = scenario
        .seller
        .pitch_words
        .iter()
        .map(|p| match_words(p))
        .collect();
    first_hits(mw, &forms)
        .into_iter()
        .min()
        .map(|(_, i)| scenario.seller.pitch_words[i].clone())
}

/// The word lists' view of one line.
pub fn lexical(scenario: &Scenario, line: &str) -> Lexical {
    let mw = match_words(line);
    let lists = name_drop_lists(scenario);
    let forms: Vec<Vec<String>> = lists.iter().map(|(f, _, _)| f.clone()).collect();
    Lexical {
        pitch: pitch_in(scenario, &mw),
        name_drops: distinct_hits(&mw, &forms)
            .into_iter()
            .map(|i| lists[i].1.clone())
            .collect(),
    }
}

/// The figures a live card shows, from the word lists alone (no model, so cheap enough
/// to recompute on every report): whether the seller pitched before the deeper story
/// was out, and their longest monologue in words.
pub fn live(scenario: &Scenario, transcript: &[TranscriptLine], reveals: &[Reveal]) -> (bool, u32) {
    let mut longest = 0u32;
    let mut run = 0u32;
    let mut first_pitch: Option<u64> = None;
    for line in transcript {
        if line.from == Role::Buyer {
            run = 0;
            continue;
        }
        run += words(&line.text).len() as u32;
        longest = longest.max(run);
        if first_pitch.is_none() && pitch_in(scenario, &match_words(&line.text)).is_some() {
            first_pitch = Some(line.at_ms);
        }
    }
    let deeper = reveals
        .iter()
        .filter(|r| {
            scenario
                .fact(&r.fact)
                .is_some_and(|f| f.depth != Depth::Surface)
        })
        .map(|r| r.at_ms)
        .min();
    let early = first_pitch.is_some_and(|p| deeper.is_none_or(|d| p < d));
    (early, longest)
}

/// Computes the behaviour figures for a transcript, and the notes on them.
pub fn analyse(
    scenario: &Scenario,
    transcript: &[TranscriptLine],
    reveals: &[Reveal],
) -> Behaviour {
    let lists = name_drop_lists(scenario);
    let drop_forms: Vec<Vec<String>> = lists.iter().map(|(f, _, _)| f.clone()).collect();
    let mut b = Behaviour::default();
    let mut run_words = 0u32;
    let mut run_from: Option<u32> = None;
    for line in transcript {
        let n = words(&line.text).len() as u32;
        if line.from == Role::Buyer {
            b.buyer_words += n;
            run_words = 0;
            run_from = None;
            continue;
        }
        b.seller_words += n;
        let from = *run_from.get_or_insert(line.index);
        run_words += n;
        if run_words > b.longest_monologue_words {
            b.longest_monologue_words = run_words;
            b.longest_monologue_from = Some(from);
            b.longest_monologue_to = Some(line.index);
        }

        let mw = match_words(&line.text);
        let pitch = pitch_in(scenario, &mw);
        if b.first_pitch.is_none() {
            if let Some(word) = &pitch {
                b.first_pitch = Some(Pitch {
                    index: line.index,
                    at_ms: line.at_ms,
                    word: word.clone(),
                });
            }
        }
        for i in distinct_hits(&mw, &drop_forms) {
            let (_, name, source) = &lists[i];
            b.name_drops.push(NameDrop {
                index: line.index,
                name: name.clone(),
                source: *source,
            });
        }

        let sentences = text::sentences(&line.text);
        let forms: Vec<Form> = sentences.iter().filter_map(text::form).collect();
        if forms.is_empty() {
            continue;
        }
        b.questions.push(line.index);
        if forms.len() > 1 {
            b.stacked_questions.push(line.index);
        }
        if forms.contains(&Form::Open) {
            b.open_questions.push(line.index);
        }
        let reading = meaning::read_seller_line(scenario, &line.text);
        if reading.questionnaire.is_some() {
            b.questionnaires.push(line.index);
        }
        let mut more: Option<MoreToSay> = None;
        for s in reading.sentences.iter().filter(|s| s.asks) {
            more = more.or(s.more_to_say);
            let Some(aim) = &s.aim else { continue };
            b.question_aims.push(QuestionAim {
                index: line.index,
                sentence: s.text.clone(),
                aim: aim.aim,
                example: aim.example.clone(),
                score: aim.score,
            });
            // A question about the product is about the product, not the buyer.
            if pitch.is_none() {
                if aim.aim == Aim::Goal && b.first_goal_question.is_none() {
                    b.first_goal_question = Some(line.index);
                }
                if aim.aim == Aim::Problem && b.first_problem_question.is_none() {
                    b.first_problem_question = Some(line.index);
                }
            }
        }
        if let Some(m) = more {
            b.anything_else.push(line.index);
            if m == MoreToSay::SomethingElse {
                b.something_else.push(line.index);
            }
        }
    }

    let total = b.seller_words + b.buyer_words;
    if total > 0 {
        // Rounded to the nearest, and the buyer's is the rest, so the two add up to 100.
        b.seller_word_share =
            ((u64::from(b.seller_words) * 200 + u64::from(total)) / (2 * u64::from(total))) as u32;
        b.buyer_word_share = 100 - b.seller_word_share;
    }
    b.open_share = (!b.questions.is_empty())
        .then(|| crate::scoring::percent(b.open_questions.len() as u32, b.questions.len() as u32));
    b.goals_before_problems = match (b.first_goal_question, b.first_problem_question) {
        // Both in one message: problems did not come first.
        (Some(g), Some(p)) => Some(g <= p),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    };
    b.first_deeper_reveal = reveals
        .iter()
        .filter_map(|r| {
            let f = scenario.fact(&r.fact)?;
            (f.depth != Depth::Surface).then(|| CoreReveal {
                fact: f.id.clone(),
                kind: f.kind,
                at_ms: r.at_ms,
            })
        })
        .min_by_key(|c| c.at_ms);
    if let Some(p) = &b.first_pitch {
        b.pitched_early = b
            .first_deeper_reveal
            .as_ref()
            .is_none_or(|c| p.at_ms < c.at_ms);
    }
    b.notes = notes(&b);
    b
}

/// Finds the first occurrence of each phrase in `hay`; returns `(position, list order)`.
fn first_hits(hay: &[String], forms: &[Vec<String>]) -> Vec<(usize, usize)> {
    forms
        .iter()
        .enumerate()
        .filter_map(|(i, f)| find_words(hay, f).map(|pos| (pos, i)))
        .collect()
}

/// Every occurrence of each phrase in `hay`, leaving out any that lies inside a longer
/// one ("our clients" inside "one of our clients"); returns list order, by position.
fn distinct_hits(hay: &[String], forms: &[Vec<String>]) -> Vec<usize> {
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (i, f) in forms.iter().enumerate() {
        if f.is_empty() || f.len() > hay.len() {
            continue;
        }
        for (pos, w) in hay.windows(f.len()).enumerate() {
            if w == f.as_slice() {
                spans.push((pos, pos + f.len(), i));
            }
        }
    }
    // Earliest first; at the same place the longer phrase first.
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut kept: Vec<(usize, usize, usize)> = Vec::new();
    for s in spans {
        let inside = kept.iter().any(|k| k.0 <= s.0 && s.1 <= k.1);
        if !inside {
            kept.push(s);
        }
    }
    let mut out: Vec<usize> = Vec::new();
    for (_, _, i) in kept {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// 1-based message number for people; `index` fields are 0-based.
fn msg(index: u32) -> u32 {
    index + 1
}

fn msgs(indexes: &[u32]) -> String {
    let list: Vec<String> = indexes.iter().map(|&i| msg(i).to_string()).collect();
    match list.len() {
        1 => format!("message {}", list[0]),
        _ => format!("messages {}", list.join(", ")),
    }
}

/// `m:ss` from milliseconds.
fn clock(ms: u64) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

const REF_TALK: &str = "Gong Labs, \"The highest converting talk-to-listen ratio\", analysis of \
    25,537 B2B sales calls (Chris Orlob, 2016-17): sellers talked about 43% of the time on the \
    calls that converted best, while the average rep talked 65-75% of the time. Gong measured \
    time; Uncover counts words.";
const REF_QUESTIONS: &str = "Gong Labs, analysis of 519,000 B2B discovery calls (2017): calls \
    with 11-14 questions had the highest success rate, and asking more brought no further gain. \
    Those were full discovery calls; a practice round is usually shorter.";
const REF_OPEN: &str = "Neil Rackham, SPIN Selling (1988), from Huthwaite's study of 35,000 \
    sales calls: in large sales the split between open and closed questions made little \
    difference to success; what mattered was asking about the buyer's problems, their \
    consequences and the value of solving them.";
const REF_MONOLOGUE: &str = "Gong Labs, analysis of 257,967 B2B sales calls: win rates fell \
    sharply when the seller's company overview ran past two minutes, about 300 words at 150 \
    spoken words a minute.";
const REF_PITCH: &str = "Michael Bosworth and Ben Zoldan, What Great Salespeople Do \
    (McGraw-Hill, 2012), call presenting a solution before the buyer has finished telling \
    their story \"premature elaboration\".";
const REF_GOALS: &str = "Michael Bosworth and John Holland, CustomerCentric Selling \
    (McGraw-Hill, 2004), build discovery on the buyer's goals: a buying cycle starts when \
    the buyer shares a goal they will spend money on, and buyers share goals with a stranger \
    more readily than they admit problems.";

const REF_MORE: &str = "John Heritage, Jeffrey Robinson, Marc Elliott, Megan Beckett and \
    Michael Wilkes, \"Reducing patients' unmet concerns in primary care: the difference one \
    word can make\", Journal of General Internal Medicine 22 (2007): asking \"Is there \
    something else…?\" cut unmet concerns by 78%, while \"Is there anything else…?\" had \
    no significant effect.";

fn note(figure: &str, text: String, reference: Option<&str>) -> Note {
    Note {
        figure: figure.to_string(),
        text,
        reference: reference.map(str::to_string),
    }
}

/// The notes for a set of figures, always in the same order: talk share, questions,
/// open questions, monologue, pitch, goals and problems, anything else, name-drops.
fn notes(b: &Behaviour) -> Vec<Note> {
    let mut out = Vec::new();
    let total = b.seller_words + b.buyer_words;
    if total == 0 {
        return out;
    }
    out.push(note(
        "seller_word_share",
        format!(
            "You wrote {}% of the words ({} of {}); the buyer wrote {}%. This is a share of \
             written words: the 43% below was measured in speaking time, so take it as a \
             loose guide for chat.",
            b.seller_word_share, b.seller_words, total, b.buyer_word_share
        ),
        Some(REF_TALK),
    ));
    if b.seller_words == 0 {
        return out;
    }
    let asked = if b.questions.is_empty() {
        "You asked no questions.".to_string()
    } else {
        let mut t = format!(
            "You asked questions in {} ({}).",
            plural(b.questions.len(), "message", "messages"),
            msgs(&b.questions)
        );
        if !b.stacked_questions.is_empty() {
            t.push_str(&format!(
                " {} asked several at once, so the buyer could answer only one.",
                capitalise(&msgs(&b.stacked_questions))
            ));
        }
        if !b.questionnaires.is_empty() {
            t.push_str(&format!(
                " {} read as a questionnaire (more than two questions, or three or more \
                 topics at once) and could earn nothing.",
                capitalise(&msgs(&b.questionnaires))
            ));
        }
        t
    };
    out.push(note("questions", asked, Some(REF_QUESTIONS)));
    if let Some(share) = b.open_share {
        out.push(note(
            "open_share",
            format!(
                "{} of your {} were open, inviting an answer in the buyer's own words \
                 ({share}%).",
                b.open_questions.len(),
                plural(b.questions.len(), "question", "questions"),
            ),
            Some(REF_OPEN),
        ));
    }
    if !b.question_aims.is_empty() {
        let mut counts: Vec<(Aim, usize)> = Vec::new();
        for q in &b.question_aims {
            match counts.iter_mut().find(|c| c.0 == q.aim) {
                Some(c) => c.1 += 1,
                None => counts.push((q.aim, 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(aim, n)| format!("{n} {}", aim.label()))
            .collect();
        let spin_deep = counts
            .iter()
            .filter(|c| matches!(c.0, Aim::Implication | Aim::NeedPayoff))
            .map(|c| c.1)
            .sum::<usize>();
        out.push(note(
            "question_aims",
            format!(
                "Your questions, read by meaning: {}. {}",
                parts.join(", "),
                if spin_deep == 0 {
                    "None asked what a problem costs or what solving it would be worth."
                } else {
                    "Some asked what a problem costs or what solving it would be worth."
                }
            ),
            Some(REF_OPEN),
        ));
    }
    if let (Some(from), Some(to)) = (b.longest_monologue_from, b.longest_monologue_to) {
        let span = if from == to {
            format!("message {}", msg(from))
        } else {
            format!("messages {}-{}", msg(from), msg(to))
        };
        let secs = b.longest_monologue_words * 60 / SPOKEN_WORDS_PER_MINUTE;
        out.push(note(
            "longest_monologue_words",
            format!(
                "Your longest stretch without the buyer speaking was {} words ({span}), \
                 about {secs} seconds spoken at {SPOKEN_WORDS_PER_MINUTE} words a minute.",
                b.longest_monologue_words
            ),
            Some(REF_MONOLOGUE),
        ));
    }
    let pitch = match (&b.first_pitch, &b.first_deeper_reveal) {
        (None, _) => "You never pitched: none of the scenario's pitch words came up.".to_string(),
        (Some(p), None) => format!(
            "You first pitched in message {} (\"{}\", at {}), and the buyer's deeper story \
             never came out.",
            msg(p.index),
            p.word,
            clock(p.at_ms)
        ),
        (Some(p), Some(c)) => format!(
            "You first pitched in message {} (\"{}\", at {}), {} the buyer's deeper story \
             began: their first deeper {} ({}, at {}).",
            msg(p.index),
            p.word,
            clock(p.at_ms),
            if b.pitched_early { "before" } else { "after" },
            kind_word(c.kind),
            c.fact,
            clock(c.at_ms)
        ),
    };
    out.push(note("first_pitch", pitch, Some(REF_PITCH)));
    let goals = match (
        b.goals_before_problems,
        b.first_goal_question,
        b.first_problem_question,
    ) {
        (Some(true), Some(g), Some(p)) if g == p => format!(
            "You asked about goals and problems in the same message (message {}).",
            msg(g)
        ),
        (Some(true), Some(g), Some(p)) => format!(
            "You asked about goals (message {}) before problems (message {}).",
            msg(g),
            msg(p)
        ),
        (Some(true), Some(g), None) => format!(
            "You asked about goals (message {}) and never asked about problems.",
            msg(g)
        ),
        (Some(false), Some(g), Some(p)) => format!(
            "You asked about problems (message {}) before goals (message {}).",
            msg(p),
            msg(g)
        ),
        (Some(false), None, Some(p)) => format!(
            "You asked about problems (message {}) and never asked about goals.",
            msg(p)
        ),
        _ => "You asked about neither goals nor problems.".to_string(),
    };
    out.push(note("goals_before_problems", goals, Some(REF_GOALS)));
    out.push(note(
        "anything_else",
        if b.anything_else.is_empty() {
            "You never asked whether there was anything else.".to_string()
        } else {
            format!(
                "You asked whether there was anything else ({}).{}",
                msgs(&b.anything_else),
                if b.something_else.is_empty() {
                    " Next time try \"Is there something else…?\": in one study it drew \
                     out far more unmet concerns than \"anything else\"."
                } else {
                    " You used \"something else\", the wording that draws out most."
                }
            )
        },
        Some(REF_MORE),
    ));
    if !b.name_drops.is_empty() {
        let mut lines: Vec<u32> = b.name_drops.iter().map(|d| d.index).collect();
        lines.dedup();
        let parts: Vec<String> = lines
            .iter()
            .map(|&i| {
                let names: Vec<String> = b
                    .name_drops
                    .iter()
                    .filter(|d| d.index == i)
                    .map(|d| format!("\"{}\"", d.name))
                    .collect();
                format!("message {} ({})", msg(i), names.join(", "))
            })
            .collect();
        out.push(note(
            "name_drops",
            format!(
                "You brought other companies into the conversation in {}: {}.",
                plural(lines.len(), "message", "messages"),
                parts.join("; ")
            ),
            None,
        ));
    }
    out
}

fn kind_word(kind: FactKind) -> &'static str {
    match kind {
        FactKind::Goal => "goal",
        FactKind::Pain => "pain",
        FactKind::Impact => "impact",
        FactKind::Decision => "decision",
        FactKind::Constraint => "constraint",
        FactKind::Concern => "concern",
        FactKind::Personal => "personal fact",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
