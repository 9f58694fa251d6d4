//! Behaviour figures read off the transcript: who talked, what kind of questions the
//! seller asked, when they first pitched, whether they asked about goals before problems,
//! whether they asked "anything else?", whether they name-dropped. Each figure keeps the
//! transcript lines it came from so the debrief can show its working, and [`Behaviour::notes`]
//! puts the remarkable ones into plain sentences beside a published reference point.
//!
//! `docs/scoring.md` defines every figure; the word rules live in [`crate::capture`].

use serde::{Deserialize, Serialize};

pub use crate::capture::contains_phrase;
use crate::capture::{find_words, match_words, words, WordStemmer};
use crate::protocol::Role;
use crate::scenario::{FactId, FactKind, Scenario};
use crate::scoring::{percent, Reveal, TranscriptLine};

/// Words per minute assumed when a word count is turned into speaking time: a common
/// estimate of conversational English, used only to make monologue lengths feel concrete.
pub const SPOKEN_WORDS_PER_MINUTE: u32 = 150;

/// The seller's conversational habits in one round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Behaviour {
    pub seller_words: u32,
    pub buyer_words: u32,
    /// Seller's share of all words, rounded down; 0 when nobody wrote anything.
    pub seller_word_share: u32,
    /// Transcript lines where the seller asked at least one question.
    pub questions: Vec<u32>,
    /// Of those, the lines that asked two or more questions at once.
    #[serde(default)]
    pub stacked_questions: Vec<u32>,
    /// Of the question lines, the open ones (what, how, why, tell me…).
    pub open_questions: Vec<u32>,
    /// Open question lines as a share of all question lines, rounded down; none without
    /// questions.
    pub open_share: Option<u32>,
    /// Most seller words in a row without the buyer speaking, and the first and last line
    /// of that run (the earliest run wins a tie).
    pub longest_monologue_words: u32,
    pub longest_monologue_from: Option<u32>,
    #[serde(default)]
    pub longest_monologue_to: Option<u32>,
    /// The first seller line that used a pitch word, and the word.
    pub first_pitch: Option<Pitch>,
    /// The first pitch came before any pain or goal had been revealed (false without a
    /// pitch).
    pub pitched_before_pain: bool,
    /// The first pain or goal the buyer revealed, which the pitch is compared with.
    #[serde(default)]
    pub first_pain_or_goal: Option<CoreReveal>,
    /// First goal question's line, first problem question's line.
    pub first_goal_question: Option<u32>,
    pub first_problem_question: Option<u32>,
    /// Goals were asked about no later than problems (none if neither came up).
    pub goals_before_problems: Option<bool>,
    /// Lines where the seller asked whether there was anything else.
    pub anything_else: Vec<u32>,
    /// Each third party the seller cited, by line, in order of appearance.
    pub name_drops: Vec<NameDrop>,
    /// Plain-language notes, one per figure worth remarking on, in a fixed order.
    pub notes: Vec<Note>,
}

/// The seller's first pitch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pitch {
    pub index: u32,
    pub at_ms: u64,
    /// The pitch word as written in the scenario.
    pub word: String,
}

/// A pain or goal reveal, for comparing with the first pitch.
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

/// Words that may open a sentence without changing what kind of sentence it is.
const FILLERS: &[&str] = &[
    "so", "and", "but", "ok", "okay", "well", "right", "great", "then", "now", "also", "oh",
    "sure", "alright", "hmm", "um", "uh", "yes", "yeah", "please", "just",
];

/// Openings of a question that invites an answer in the buyer's own words.
const OPEN_OPENERS: &[&str] = &[
    "what",
    "whats",
    "why",
    "whys",
    "how",
    "hows",
    "in what way",
    "to what extent",
];

/// "How" questions that ask for a quantity, so count as closed.
const CLOSED_HOW: &[&str] = &["many", "much", "long", "often", "soon", "old", "far", "big"];

/// Requests that invite the buyer to talk; a sentence opening with one is an open question
/// even without a question mark.
const OPEN_REQUESTS: &[&str] = &[
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

/// Polite openings that turn an open request into a yes/no form ("could you tell me…");
/// still open questions.
const POLITE_OPENERS: &[&str] = &[
    "could you",
    "can you",
    "would you",
    "will you",
    "could we",
    "can we",
    "would you mind",
    "do you mind",
];

/// Words and phrases that make a question about the buyer's goals (stemmed before use).
const GOAL_TERMS: &[&str] = &[
    "goal",
    "aim",
    "achieve",
    "ambition",
    "objective",
    "priority",
    "vision",
    "success",
    "succeed",
    "hope",
    "ideal",
    "plan",
    "future",
    "grow",
    "growth",
    "expand",
    "expansion",
    "dream",
    "aspire",
    "aspiration",
    "target",
    "want to",
    "like to see",
    "like to be",
    "looking to",
    "year from now",
    "next year",
    "long term",
];

/// Words and phrases that make a question about the buyer's problems (stemmed before use).
const PROBLEM_TERMS: &[&str] = &[
    "problem",
    "issue",
    "challenge",
    "pain",
    "struggle",
    "frustrate",
    "frustration",
    "difficult",
    "difficulty",
    "wrong",
    "broken",
    "trouble",
    "headache",
    "mess",
    "annoy",
    "fail",
    "failure",
    "complaint",
    "complain",
    "bother",
    "keep you up",
    "keeps you up",
    "not working",
    "isn't working",
    "doesn't work",
    "fall short",
];

/// Ways of asking whether the buyer has more to say. "Who else" is not one: it asks about
/// people in the decision.
const ANYTHING_ELSE: &[&str] = &[
    "anything else",
    "something else",
    "what else",
    "anything more",
    "anything further",
    "anything i haven't",
    "anything i have not",
    "anything i didn't",
    "anything i did not",
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
];

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

/// A list of phrases in matching form, stemmed where the list calls for it.
struct Phrases {
    forms: Vec<Vec<String>>,
}

impl Phrases {
    fn plain(list: &[&'static str]) -> Self {
        Self {
            forms: list.iter().map(|p| match_words(p)).collect(),
        }
    }

    fn stemmed(list: &[&'static str], stemmer: &WordStemmer) -> Self {
        Self {
            forms: list.iter().map(|p| stemmer.stems(p)).collect(),
        }
    }

    fn any_in(&self, hay: &[String]) -> bool {
        self.forms.iter().any(|f| find_words(hay, f).is_some())
    }

    fn starts(&self, hay: &[String]) -> Option<usize> {
        self.forms
            .iter()
            .filter(|f| !f.is_empty() && hay.starts_with(f))
            .map(Vec::len)
            .max()
    }
}

/// One sentence of a line, split on `.`, `!`, `?`, `;` and line breaks.
struct Sentence {
    text: String,
    asks: bool,
}

fn sentences(text: &str) -> Vec<Sentence> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Sentence> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point = c == '.'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        let ends = matches!(c, '.' | '!' | '?' | ';' | '\n' | '…') && !decimal_point;
        if !ends {
            cur.push(c);
            continue;
        }
        if !words(&cur).is_empty() {
            out.push(Sentence {
                text: std::mem::take(&mut cur),
                asks: c == '?',
            });
        } else {
            cur.clear();
            if c == '?' {
                if let Some(last) = out.last_mut() {
                    last.asks = true;
                }
            }
        }
    }
    if !words(&cur).is_empty() {
        out.push(Sentence {
            text: cur,
            asks: false,
        });
    }
    out
}

/// What one seller line does, as far as the figures are concerned.
struct LineReading {
    /// Question sentences: ending in `?`, or opening with an open request.
    questions: usize,
    open: bool,
}

/// The lists, prepared once per analysis.
struct Lexicon {
    stemmer: WordStemmer,
    fillers: Phrases,
    open_openers: Phrases,
    closed_how: Phrases,
    open_requests: Phrases,
    polite: Phrases,
    goal: Phrases,
    problem: Phrases,
    anything_else: Phrases,
}

impl Lexicon {
    fn new() -> Self {
        let stemmer = WordStemmer::default();
        let goal = Phrases::stemmed(GOAL_TERMS, &stemmer);
        let problem = Phrases::stemmed(PROBLEM_TERMS, &stemmer);
        Self {
            stemmer,
            fillers: Phrases::plain(FILLERS),
            open_openers: Phrases::plain(OPEN_OPENERS),
            closed_how: Phrases::plain(CLOSED_HOW),
            open_requests: Phrases::plain(OPEN_REQUESTS),
            polite: Phrases::plain(POLITE_OPENERS),
            goal,
            problem,
            anything_else: Phrases::plain(ANYTHING_ELSE),
        }
    }

    /// The words a clause really starts with: leading fillers skipped.
    fn start<'a>(&self, clause: &'a [String]) -> &'a [String] {
        let mut rest = clause;
        while let Some(n) = self.fillers.starts(rest) {
            rest = &rest[n..];
        }
        rest
    }

    /// The places a sentence may be said to start: the start of each of its comma-separated
    /// clauses, so "Glen, what…" and "Before we get to stock, how…" are read by their
    /// question word.
    fn starts_of(&self, sentence: &str) -> Vec<Vec<String>> {
        sentence
            .split([',', ':', '—', '–'])
            .map(|clause| self.start(&match_words(clause)).to_vec())
            .filter(|w| !w.is_empty())
            .collect()
    }

    fn opens_with_request(&self, start: &[String]) -> bool {
        let after_polite = match self.polite.starts(start) {
            Some(n) => &start[n..],
            None => start,
        };
        self.open_requests.starts(after_polite).is_some()
    }

    fn opens_with_open_word(&self, start: &[String]) -> bool {
        match self.open_openers.starts(start) {
            Some(n) => {
                let is_how = matches!(start[0].as_str(), "how" | "hows");
                !(is_how && self.closed_how.starts(&start[n..]).is_some())
            }
            None => false,
        }
    }

    fn read(&self, text: &str) -> LineReading {
        let mut questions = 0;
        let mut open = false;
        for s in sentences(text) {
            let starts = self.starts_of(&s.text);
            let request = starts.iter().any(|w| self.opens_with_request(w));
            if !s.asks && !request {
                continue;
            }
            questions += 1;
            if request || starts.iter().any(|w| self.opens_with_open_word(w)) {
                open = true;
            }
        }
        LineReading { questions, open }
    }
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

/// Computes the behaviour figures for a transcript, and the notes on them.
pub fn analyse(
    scenario: &Scenario,
    transcript: &[TranscriptLine],
    reveals: &[Reveal],
) -> Behaviour {
    let lex = Lexicon::new();
    let pitch_forms: Vec<Vec<String>> = scenario
        .seller
        .pitch_words
        .iter()
        .map(|p| match_words(p))
        .collect();
    let mut drop_lists: Vec<(Vec<String>, String, NameDropSource)> = Vec::new();
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
        if !form.is_empty() && !drop_lists.iter().any(|(f, _, _)| f == &form) {
            drop_lists.push((form, name.to_string(), source));
        }
    }
    let drop_forms: Vec<Vec<String>> = drop_lists.iter().map(|(f, _, _)| f.clone()).collect();

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
        let pitch_hit = first_hits(&mw, &pitch_forms).into_iter().min();
        if b.first_pitch.is_none() {
            if let Some((_, i)) = pitch_hit {
                b.first_pitch = Some(Pitch {
                    index: line.index,
                    at_ms: line.at_ms,
                    word: scenario.seller.pitch_words[i].clone(),
                });
            }
        }

        let reading = lex.read(&line.text);
        if reading.questions > 0 {
            b.questions.push(line.index);
            if reading.questions > 1 {
                b.stacked_questions.push(line.index);
            }
            if reading.open {
                b.open_questions.push(line.index);
            }
            if lex.anything_else.any_in(&mw) {
                b.anything_else.push(line.index);
            }
            // A question that mentions the product is about the product, not the buyer.
            if pitch_hit.is_none() {
                let stems = lex.stemmer.stem_all(&mw);
                if b.first_goal_question.is_none() && lex.goal.any_in(&stems) {
                    b.first_goal_question = Some(line.index);
                }
                if b.first_problem_question.is_none() && lex.problem.any_in(&stems) {
                    b.first_problem_question = Some(line.index);
                }
            }
        }

        for i in distinct_hits(&mw, &drop_forms) {
            let (_, name, source) = &drop_lists[i];
            b.name_drops.push(NameDrop {
                index: line.index,
                name: name.clone(),
                source: *source,
            });
        }
    }

    b.seller_word_share = percent(b.seller_words, b.seller_words + b.buyer_words);
    b.open_share = (!b.questions.is_empty())
        .then(|| percent(b.open_questions.len() as u32, b.questions.len() as u32));
    b.goals_before_problems = match (b.first_goal_question, b.first_problem_question) {
        // Both in one message: problems did not come first.
        (Some(g), Some(p)) => Some(g <= p),
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    };
    b.first_pain_or_goal = reveals
        .iter()
        .filter_map(|r| {
            let f = scenario.fact(&r.fact)?;
            matches!(f.kind, FactKind::Pain | FactKind::Goal).then(|| CoreReveal {
                fact: f.id.clone(),
                kind: f.kind,
                at_ms: r.at_ms,
            })
        })
        .min_by_key(|c| c.at_ms);
    if let Some(p) = &b.first_pitch {
        b.pitched_before_pain = b
            .first_pain_or_goal
            .as_ref()
            .is_none_or(|c| p.at_ms < c.at_ms);
    }
    b.notes = notes(&b);
    b
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
            "You wrote {}% of the words ({} of {}); the buyer wrote {}%.",
            b.seller_word_share,
            b.seller_words,
            total,
            // The two shares add up to 100: the buyer's is what the seller's leaves.
            100 - b.seller_word_share
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
    let pitch = match (&b.first_pitch, &b.first_pain_or_goal) {
        (None, _) => "You never pitched: none of the scenario's pitch words came up.".to_string(),
        (Some(p), None) => format!(
            "You first pitched in message {} (\"{}\", at {}), and the buyer never revealed a \
             goal or a pain.",
            msg(p.index),
            p.word,
            clock(p.at_ms)
        ),
        (Some(p), Some(c)) => format!(
            "You first pitched in message {} (\"{}\", at {}), {} the buyer revealed their \
             first {} ({}, at {}).",
            msg(p.index),
            p.word,
            clock(p.at_ms),
            if b.pitched_before_pain {
                "before"
            } else {
                "after"
            },
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
                "You asked whether there was anything else ({}).",
                msgs(&b.anything_else)
            )
        },
        None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (usize, bool) {
        let r = Lexicon::new().read(text);
        (r.questions, r.open)
    }

    #[test]
    fn the_two_talk_shares_add_up_to_a_hundred() {
        let sc = crate::scenario::Library::bundled()
            .ok()
            .and_then(|l| l.all().first().cloned());
        let Some(sc) = sc else {
            return;
        };
        let line = |i: u32, from: Role, text: &str| TranscriptLine {
            index: i,
            from,
            text: text.into(),
            at_ms: u64::from(i) * 1000,
        };
        // 1 seller word of 3 is 33%, and 2 of 3 would round down to 66%: 33 + 66 is 99.
        let t = vec![
            line(0, Role::Buyer, "Morning there."),
            line(1, Role::Seller, "Hello."),
        ];
        let b = analyse(&sc, &t, &[]);
        let note = b
            .notes
            .iter()
            .find(|n| n.figure == "seller_word_share")
            .map(|n| n.text.clone())
            .unwrap_or_default();
        assert!(note.contains("You wrote 33%"), "{note}");
        assert!(note.contains("the buyer wrote 67%"), "{note}");
    }

    #[test]
    fn open_questions_are_recognised_after_fillers_and_names() {
        assert_eq!(read("What are you aiming for?"), (1, true));
        assert_eq!(read("So, how does the count work today?"), (1, true));
        assert_eq!(read("Glen, what would a good year look like?"), (1, true));
        assert_eq!(read("Could you walk me through a Friday?"), (1, true));
        assert_eq!(read("Tell me about the warehouse."), (1, true));
        assert_eq!(read("What's changed since spring?"), (1, true));
    }

    #[test]
    fn closed_questions_are_recognised() {
        assert_eq!(read("Do you count by hand?"), (1, false));
        assert_eq!(read("Is it the main warehouse?"), (1, false));
        assert_eq!(read("How many staff do you have?"), (1, false));
        assert_eq!(read("When does Pat retire?"), (1, false));
        assert_eq!(read("We do scanning. Would that help?"), (1, false));
    }

    #[test]
    fn statements_are_not_questions() {
        assert_eq!(read("Let me tell you about our platform."), (0, false));
        assert_eq!(read("That makes sense. Thanks."), (0, false));
        assert_eq!(read(""), (0, false));
    }

    #[test]
    fn several_questions_in_one_message_are_counted_as_stacked() {
        assert_eq!(read("Is it bad? What does it cost you?"), (2, true));
        assert_eq!(read("Really?? Ok."), (1, false));
        assert_eq!(read("Is 2.5 tonnes a normal week?"), (1, false));
    }
}
