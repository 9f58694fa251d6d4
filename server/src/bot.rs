//! The bot buyer: plays a scenario's hidden story by explicit rules, so a trainee can
//! practise alone and a trainer can predict, and tune, what it does.
//!
//! It is a rule engine, not a language model. Each seller message is read into a
//! [`Reading`] (the kinds of question it asks, open or yes/no, pitch, name-drop, play-back,
//! empathy, demo request); the reading moves the bot's trust ([`TrustTracker`]); a fact
//! comes out when the message asks one of the fact's `bot.asks` kinds, the fact's
//! `requires` are out and trust has reached its `bot.trust` ([`Bot::hear`]). Otherwise
//! the bot answers from small pools of in-character lines that never hold a hidden fact.
//! Replies are picked with a seeded RNG: the same seed and the same messages give the same
//! round.
//!
//! What counts as a question, an open question, a pitch, a name-drop, a goal, problem or
//! "anything else?" question is decided by [`crate::behaviour::analyse`], so the bot reacts
//! to exactly what the debrief later reports. `docs/bot.md` states every rule and number;
//! keep it in step with this file.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::behaviour;
use crate::capture::{find_words, match_words, WordStemmer};
use crate::protocol::{Role, RoomId};
use crate::scenario::{Depth, Fact, FactId, FactKind, QuestionKind, Scenario, TRUST_MAX};
use crate::scoring::{Reveal, TranscriptLine, TrustPoint};

/// Where trust starts in every scenario: polite but unconvinced. Scenario authors set each
/// fact's `bot.trust` against this (a fact at or below it can come out at once).
pub const START_TRUST: u8 = 35;
/// Below this the bot answers short and guarded, and says why in character.
pub const GUARDED_BELOW: u8 = 20;
/// The most trust one message can add: trust is built over several messages, not won by
/// one sentence stuffed with every good habit.
pub const MAX_RISE_PER_MESSAGE: i32 = 15;
/// Yes/no questions in a row that feel like an interrogation rather than a conversation.
pub const RAPID_FIRE_RUN: u32 = 3;
/// Content words a seller line must share with the buyer's last reply to count as playing
/// it back; fewer is too easy to hit by accident.
pub const PLAY_BACK_SHARED_WORDS: usize = 3;
/// Shorter words are mostly grammar ("the", "and", "was"), not content worth echoing.
const CONTENT_WORD_MIN_CHARS: usize = 4;
/// How long a trainee waiting alone for a partner waits before the bot is offered: long
/// enough for a colleague clicking "find a partner" at the same time to turn up, short
/// enough that someone practising alone does not give up.
pub const BOT_OFFER_AFTER: Duration = Duration::from_secs(20);
/// A human buyer takes a moment before answering; replies arrive after this plus
/// [`REPLY_DELAY_PER_CHAR`] per character, capped at [`REPLY_DELAY_MAX`].
pub const REPLY_DELAY_BASE: Duration = Duration::from_millis(1_000);
/// Longer answers take longer to "type", so they feel written rather than pasted.
pub const REPLY_DELAY_PER_CHAR: Duration = Duration::from_millis(12);
/// Past three seconds a chat partner starts to feel slow.
pub const REPLY_DELAY_MAX: Duration = Duration::from_millis(3_000);

/// Why trust moved on a message. [`Cause::delta`] is the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Played back what the buyer said ("so what I'm hearing…", or reused three or more
    /// content words of the buyer's last reply).
    PlayBack,
    /// An open or specific (not yes/no) question about the buyer's goals.
    GoalQuestion,
    /// Acknowledged how the buyer feels ("that sounds hard", "I can imagine").
    Empathy,
    /// Asked whether there is anything else.
    AnythingElse,
    /// Any open question (what, how, why, tell me…).
    OpenQuestion,
    /// Pitched or asked for a demo or meeting before any pain or goal was revealed.
    EarlyPitch,
    /// Pitched or asked for a demo after a pain or goal was revealed.
    LatePitch,
    /// Cited another customer or a famous company.
    NameDrop,
    /// A yes/no question that makes [`RAPID_FIRE_RUN`] or more in a row.
    RapidFire,
}

impl Cause {
    /// The change in trust (0-100) this cause makes.
    pub const fn delta(self) -> i32 {
        match self {
            Cause::PlayBack => 10,
            Cause::GoalQuestion => 6,
            Cause::Empathy => 6,
            Cause::AnythingElse => 6,
            Cause::OpenQuestion => 2,
            Cause::EarlyPitch => -12,
            Cause::LatePitch => -4,
            Cause::NameDrop => -10,
            Cause::RapidFire => -5,
        }
    }
}

/// How a message asks, if it asks anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Invites an answer in the buyer's own words (what, how, why, tell me, anything else).
    Open,
    /// Asks for a specific answer (who, when, where, which, how many).
    Specific,
    /// Can be answered yes or no (do you, is it, would you…).
    YesNo,
}

/// What one seller message does, as far as the bot is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// The question kinds asked, in declaration order of [`QuestionKind`], no repeats.
    pub asks: Vec<QuestionKind>,
    /// The most inviting question in the message; none if it asks nothing.
    pub question: Option<Question>,
    /// The pitch word used, as written in the scenario.
    pub pitch: Option<String>,
    /// Asked for a demo, a trial or another meeting.
    pub demo_request: bool,
    /// Third parties cited, as written in the list that caught them.
    pub name_drops: Vec<String>,
    pub play_back: bool,
    pub empathy: bool,
    /// The message in matching form, to spot a message sent twice.
    pub words: Vec<String>,
}

impl Reading {
    pub fn is_yes_no(&self) -> bool {
        self.question == Some(Question::YesNo)
    }

    pub fn is_open(&self) -> bool {
        self.question == Some(Question::Open)
    }

    pub fn asks_kind(&self, kind: QuestionKind) -> bool {
        self.asks.contains(&kind)
    }

    /// Pitched or asked for a demo.
    pub fn sells(&self) -> bool {
        self.pitch.is_some() || self.demo_request
    }
}

/// Every question kind, in the order a [`Reading`] lists them.
pub const QUESTION_KINDS: [QuestionKind; 10] = [
    QuestionKind::Goal,
    QuestionKind::Situation,
    QuestionKind::Problem,
    QuestionKind::Impact,
    QuestionKind::Decision,
    QuestionKind::Timeline,
    QuestionKind::Budget,
    QuestionKind::Concern,
    QuestionKind::Personal,
    QuestionKind::AnythingElse,
];

/// Cues for each question kind, matched after stemming, as whole words, in a question
/// sentence. Goal and problem questions are also recognised by the debrief's own lists
/// (see [`crate::behaviour`]), which these add to; "anything else?" questions only by the
/// debrief's list, so the bot and the debrief always agree on them.
pub const KIND_CUES: &[(QuestionKind, &[&str])] = &[
    (
        QuestionKind::Goal,
        &[
            "where do you want",
            "where would you like",
            "where you want",
            "want to be",
            "want to get",
            "success look like",
            "good look like",
            "would look like",
            "look like in",
            "trying to do",
            "trying to get",
            "trying to achieve",
            "hoping for",
            "hoping to",
            "ideally",
            "excite",
            "magic wand",
            "perfect world",
            "years from now",
            "next few years",
            "couple of years",
        ],
    ),
    (
        QuestionKind::Situation,
        &[
            "today",
            "currently",
            "current",
            "at the moment",
            "right now",
            "these days",
            "nowadays",
            "day to day",
            "typical",
            "typically",
            "usually",
            "how do things work",
            "how does it work",
            "how does that work",
            "how it works",
            "how things work",
            "walk me through",
            "talk me through",
            "take me through",
            "tell me about",
            "describe",
            "set up",
            "setup",
            "process",
            "handle",
            "manage",
            "system",
            "tools",
            "background",
            "how long have you",
        ],
    ),
    (
        QuestionKind::Problem,
        &[
            "getting in the way",
            "in the way",
            "go wrong",
            "goes wrong",
            "going wrong",
            "went wrong",
            "not going well",
            "hard",
            "painful",
            "friction",
            "bottleneck",
            "slow",
            "fix",
            "improve",
        ],
    ),
    (
        QuestionKind::Impact,
        &[
            "cost",
            "affect",
            "impact",
            "effect",
            "what happens if",
            "what happens when",
            "consequence",
            "mean for",
            "means for",
            "who feels",
            "feel it",
            "feels it",
            "how much",
            "how big",
            "how bad",
            "how often",
            "lose",
            "lost",
            "revenue",
            "turnover",
            "profit",
            "knock on",
            "result",
            "hurt",
            "damage",
            "toll",
            "suffer",
            "what does that do",
            "what did that do",
        ],
    ),
    (
        QuestionKind::Decision,
        &[
            "who else",
            "decide",
            "decision",
            "sign off",
            "signs off",
            "approve",
            "approval",
            "involved",
            "say in",
            "buy in",
            "stakeholder",
            "final say",
            "whose call",
            "your call",
            "who makes",
            "who would",
            "who gets",
            "who needs",
            "board",
            "choose",
            "go about",
        ],
    ),
    (
        QuestionKind::Timeline,
        &[
            "when",
            "timeline",
            "timeframe",
            "time frame",
            "timing",
            "deadline",
            "by when",
            "how soon",
            "how long",
            "urgent",
            "urgency",
            "date",
            "schedule",
            "nothing changes",
            "stays the same",
            "do nothing",
            "soon",
        ],
    ),
    (
        QuestionKind::Budget,
        &[
            "budget",
            "spend",
            "afford",
            "money",
            "fund",
            "funding",
            "invest",
            "investment",
            "deposit",
            "finance",
            "financial",
            "set aside",
            "allocated",
            "cash",
            "pay",
            "expensive",
        ],
    ),
    (
        QuestionKind::Concern,
        &[
            "worry",
            "concern",
            "risk",
            "hesitate",
            "hesitant",
            "nervous",
            "afraid",
            "fear",
            "put you off",
            "hold you back",
            "holding you back",
            "holds you back",
            "reservation",
            "doubt",
            "last time",
            "gone wrong before",
            "bad experience",
            "burned",
            "burnt",
            "scare",
            "could go wrong",
            "keep you up at night",
            "uneasy",
            "cautious",
            "careful",
            "wary",
            "sceptical",
            "skeptical",
            "stop you",
            "objection",
        ],
    ),
    (
        QuestionKind::Personal,
        &[
            "you personally",
            "for you personally",
            "your role",
            "your job",
            "yourself",
            "you feel",
            "how are you",
            "on you",
            "pressure",
            "career",
            "mean to you",
            "matter to you",
            "matters to you",
            "important to you",
            "care about",
            "about you",
            "your own",
            "your day",
            "your plate",
        ],
    ),
];

/// Phrases that play back what the buyer said.
pub const PLAY_BACK_CUES: &[&str] = &[
    "what i'm hearing",
    "what i hear",
    "if i understand",
    "if i understood",
    "if i've understood",
    "if i heard",
    "if i've got",
    "if i have this right",
    "let me make sure",
    "make sure i understand",
    "make sure i've got",
    "let me check",
    "let me play",
    "play that back",
    "play it back",
    "sounds like",
    "so you're saying",
    "you're saying",
    "you said",
    "you mentioned",
    "in other words",
    "to recap",
    "to summarise",
    "to summarize",
    "correct me if",
    "did i get that",
    "have i got that",
];

/// Phrases that acknowledge how the buyer feels.
pub const EMPATHY_CUES: &[&str] = &[
    "that sounds",
    "sounds hard",
    "sounds tough",
    "sounds difficult",
    "sounds frustrating",
    "sounds stressful",
    "sounds like a lot",
    "i can imagine",
    "i can only imagine",
    "can't be easy",
    "cannot be easy",
    "must be",
    "must have been",
    "i'm sorry",
    "sorry to hear",
    "that's tough",
    "that's hard",
    "that's a lot",
    "no wonder",
    "i hear you",
    "understandable",
    "makes sense",
    "fair enough",
];

/// Phrases that ask for a demo, a trial or another meeting.
pub const DEMO_CUES: &[&str] = &[
    "demo",
    "demonstration",
    "show you",
    "walk you through",
    "book a",
    "schedule a",
    "set up a call",
    "set up a meeting",
    "set up a time",
    "another call",
    "another meeting",
    "next meeting",
    "follow up call",
    "follow up meeting",
    "trial",
    "in the diary",
    "calendar",
    "sign up",
    "get started",
];

/// Words that never count as content when matching a play-back.
const STOPWORDS: &[&str] = &[
    "about",
    "after",
    "again",
    "also",
    "been",
    "before",
    "being",
    "could",
    "didnt",
    "does",
    "doing",
    "done",
    "dont",
    "each",
    "even",
    "every",
    "from",
    "going",
    "have",
    "here",
    "into",
    "just",
    "know",
    "like",
    "make",
    "made",
    "many",
    "more",
    "most",
    "much",
    "must",
    "need",
    "only",
    "other",
    "over",
    "really",
    "right",
    "said",
    "same",
    "should",
    "some",
    "still",
    "sure",
    "than",
    "that",
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
    "very",
    "want",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "will",
    "with",
    "would",
    "your",
    "youre",
    "yours",
    "thats",
    "theyre",
    "weve",
    "youve",
    "ive",
    "isnt",
    "wasnt",
    "cant",
    "wont",
    "hear",
    "hearing",
    "sounds",
    "understand",
    "tell",
    "mean",
    "okay",
    "yeah",
];

/// Question words that make a non-open question ask for something specific rather than a
/// yes or a no.
const SPECIFIC_WORDS: &[&str] = &["who", "whom", "whose", "when", "where", "which", "how"];

/// The cue lists, stemmed once.
#[derive(Debug)]
pub struct Lexicon {
    stemmer: WordStemmer,
    kinds: Vec<(QuestionKind, Vec<Vec<String>>)>,
    play_back: Vec<Vec<String>>,
    empathy: Vec<Vec<String>>,
    demo: Vec<Vec<String>>,
    stopwords: HashSet<&'static str>,
}

impl Default for Lexicon {
    fn default() -> Self {
        let stemmer = WordStemmer::default();
        let stem = |list: &[&str]| -> Vec<Vec<String>> {
            list.iter()
                .map(|p| stemmer.stems(p))
                .filter(|s| !s.is_empty())
                .collect()
        };
        let kinds = KIND_CUES.iter().map(|(k, cues)| (*k, stem(cues))).collect();
        let play_back = stem(PLAY_BACK_CUES);
        let empathy = stem(EMPATHY_CUES);
        let demo = stem(DEMO_CUES);
        Self {
            stemmer,
            kinds,
            play_back,
            empathy,
            demo,
            stopwords: STOPWORDS.iter().copied().collect(),
        }
    }
}

fn any_in(hay: &[String], forms: &[Vec<String>]) -> bool {
    forms.iter().any(|f| find_words(hay, f).is_some())
}

/// A message split after each `.`, `!`, `?`, `;`, `…` or line break, keeping the mark so a
/// sentence still reads as a question on its own.
fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | ';' | '\n' | '…') {
            let end = i + c.len_utf8();
            out.push(&text[start..end]);
            start = end;
        }
    }
    out.push(&text[start..]);
    out.into_iter()
        .filter(|s| s.chars().any(char::is_alphanumeric))
        .collect()
}

/// One seller line on its own, as the debrief's analysis sees it.
fn analyse_alone(scenario: &Scenario, text: &str) -> behaviour::Behaviour {
    let line = TranscriptLine {
        index: 0,
        from: Role::Seller,
        text: text.to_string(),
        at_ms: 0,
    };
    behaviour::analyse(scenario, std::slice::from_ref(&line), &[])
}

impl Lexicon {
    /// Reads a seller message. `buyer_lines` are the buyer's lines since the seller's
    /// previous message (the opening line, at first), for spotting a play-back.
    pub fn read(&self, scenario: &Scenario, text: &str, buyer_lines: &[&str]) -> Reading {
        let whole = analyse_alone(scenario, text);
        let mut r = Reading {
            pitch: whole.first_pitch.map(|p| p.word),
            name_drops: whole.name_drops.into_iter().map(|d| d.name).collect(),
            words: match_words(text),
            ..Reading::default()
        };
        let stems = self.stemmer.stem_all(&r.words);
        r.demo_request = any_in(&stems, &self.demo);
        r.empathy = any_in(&stems, &self.empathy);
        r.play_back = any_in(&stems, &self.play_back) || self.echoes(&r.words, buyer_lines);

        let mut asks: HashSet<QuestionKind> = HashSet::new();
        let mut best: Option<Question> = None;
        for sentence in sentences(text) {
            let b = analyse_alone(scenario, sentence);
            if b.questions.is_empty() {
                continue;
            }
            let words = match_words(sentence);
            let sentence_stems = self.stemmer.stem_all(&words);
            let anything_else = !b.anything_else.is_empty();
            if b.first_goal_question.is_some() {
                asks.insert(QuestionKind::Goal);
            }
            if b.first_problem_question.is_some() {
                asks.insert(QuestionKind::Problem);
            }
            if anything_else {
                asks.insert(QuestionKind::AnythingElse);
            }
            for (kind, cues) in &self.kinds {
                if any_in(&sentence_stems, cues) {
                    asks.insert(*kind);
                }
            }
            let how = if !b.open_questions.is_empty() || anything_else {
                Question::Open
            } else if words.iter().any(|w| SPECIFIC_WORDS.contains(&w.as_str())) {
                Question::Specific
            } else {
                Question::YesNo
            };
            best = Some(match (best, how) {
                (Some(Question::Open), _) | (_, Question::Open) => Question::Open,
                (Some(Question::Specific), _) | (_, Question::Specific) => Question::Specific,
                _ => Question::YesNo,
            });
        }
        r.asks = QUESTION_KINDS
            .iter()
            .copied()
            .filter(|k| asks.contains(k))
            .collect();
        r.question = best;
        r
    }

    /// Whether the message reuses enough of the buyer's own words to count as playing
    /// them back.
    fn echoes(&self, words: &[String], buyer_lines: &[&str]) -> bool {
        let content = |ws: &[String]| -> HashSet<String> {
            let kept: Vec<String> = ws
                .iter()
                .filter(|w| {
                    w.chars().count() >= CONTENT_WORD_MIN_CHARS
                        && !self.stopwords.contains(w.as_str())
                })
                .cloned()
                .collect();
            self.stemmer.stem_all(&kept).into_iter().collect()
        };
        let mine = content(words);
        let theirs: HashSet<String> = buyer_lines
            .iter()
            .flat_map(|l| content(&match_words(l)))
            .collect();
        mine.intersection(&theirs).count() >= PLAY_BACK_SHARED_WORDS
    }
}

/// Reads a seller message with a fresh [`Lexicon`]; see [`Lexicon::read`].
pub fn read(scenario: &Scenario, text: &str, buyer_lines: &[&str]) -> Reading {
    Lexicon::default().read(scenario, text, buyer_lines)
}

/// The bot's trust, moved message by message.
#[derive(Debug, Clone)]
pub struct TrustTracker {
    trust: u8,
    yes_no_run: u32,
    said: HashSet<Vec<String>>,
    last_drop: Option<Cause>,
}

impl Default for TrustTracker {
    fn default() -> Self {
        Self {
            trust: START_TRUST,
            yes_no_run: 0,
            said: HashSet::new(),
            last_drop: None,
        }
    }
}

impl TrustTracker {
    pub fn trust(&self) -> u8 {
        self.trust
    }

    /// The most recent cause that lowered trust, which a guarded reply names.
    pub fn last_drop(&self) -> Option<Cause> {
        self.last_drop
    }

    /// Moves trust for one seller message; `pain_or_goal_out` says whether a pain or goal
    /// fact was revealed on an earlier message. Returns the causes applied, rises first.
    pub fn hear(&mut self, r: &Reading, pain_or_goal_out: bool) -> Vec<Cause> {
        let mut rises = Vec::new();
        // A message sent before word for word earns nothing the second time.
        if self.said.insert(r.words.clone()) {
            if r.play_back {
                rises.push(Cause::PlayBack);
            }
            if r.asks_kind(QuestionKind::Goal) && !r.is_yes_no() && r.question.is_some() {
                rises.push(Cause::GoalQuestion);
            }
            if r.empathy {
                rises.push(Cause::Empathy);
            }
            if r.asks_kind(QuestionKind::AnythingElse) {
                rises.push(Cause::AnythingElse);
            }
            if r.is_open() {
                rises.push(Cause::OpenQuestion);
            }
        }
        let mut drops = Vec::new();
        if r.sells() {
            drops.push(if pain_or_goal_out {
                Cause::LatePitch
            } else {
                Cause::EarlyPitch
            });
        }
        if !r.name_drops.is_empty() {
            drops.push(Cause::NameDrop);
        }
        if r.is_yes_no() {
            self.yes_no_run += 1;
            if self.yes_no_run >= RAPID_FIRE_RUN {
                drops.push(Cause::RapidFire);
            }
        } else {
            self.yes_no_run = 0;
        }
        let rise: i32 = rises.iter().map(|c| c.delta()).sum();
        let drop: i32 = drops.iter().map(|c| c.delta()).sum();
        let next = i32::from(self.trust) + rise.min(MAX_RISE_PER_MESSAGE) + drop;
        self.trust = next.clamp(0, i32::from(TRUST_MAX)) as u8;
        if let Some(&last) = drops.last() {
            self.last_drop = Some(last);
        }
        rises.extend(drops);
        rises
    }
}

/// Which pool a reply came from (or that it revealed a fact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// The fact's `bot.line`.
    Reveal,
    /// The seller pitched or asked for a demo before any pain or goal was out.
    Nudge,
    /// The seller cited another company.
    NameDrop,
    /// Trust is below [`GUARDED_BELOW`]; the line says why.
    Guarded,
    /// A yes/no question: a short answer.
    Short,
    /// An open question that asks none of the known kinds.
    Vague,
    /// Asked about something the bot has nothing more on.
    Covered,
    /// A fact matches but trust is not there yet.
    NotYetTrusted,
    /// A fact matches but the facts it builds on are not out yet.
    NotYetConnected,
    /// A play-back without a question.
    Confirm,
    /// Empathy without a question.
    Thanks,
    /// Any other statement.
    Listening,
}

/// Generic lines, the same for every scenario, so none can hold a hidden fact.
fn pool(kind: ReplyKind, last_drop: Option<Cause>) -> &'static [&'static str] {
    match kind {
        ReplyKind::Reveal => &[],
        ReplyKind::Nudge => &[
            "Hang on. Why do you think we need that at all?",
            "You're already selling, and you hardly know us yet. What makes you think this is our problem?",
            "I haven't said we need anything. What have you heard that makes you so sure?",
            "Let's not jump ahead. Do you actually know what's going on here?",
        ],
        ReplyKind::NameDrop => &[
            "Good for them. We're not them, though.",
            "I don't know those people, and they don't know us.",
            "Every place is different. I'd rather talk about this one.",
            "Other people's stories don't tell me much about mine.",
        ],
        ReplyKind::Guarded => match last_drop {
            Some(Cause::EarlyPitch | Cause::LatePitch) => &[
                "This is starting to sound like a sales call, so I'll keep it short.",
                "I'd rather not go into that while you're still selling to me.",
                "Honestly? You've told me more about your product than you've asked about me.",
            ],
            Some(Cause::NameDrop) => &[
                "You keep telling me about other people. I'll keep this brief.",
                "I'm not sure you're interested in us in particular, so I'll leave it there.",
                "All these other firms... I'll pass on that one.",
            ],
            Some(Cause::RapidFire) => &[
                "That's a lot of questions in a row. It feels like filling in a form.",
                "You're firing questions faster than I can answer. It depends.",
                "I'm not sure where all these yes-or-no questions are going.",
            ],
            _ => &[
                "I'd rather not get into that.",
                "Let's leave that for now.",
                "I don't think I want to go there yet.",
            ],
        },
        ReplyKind::Short => &[
            "It depends.",
            "More or less.",
            "Sometimes, yes.",
            "Not in so many words.",
            "Hard to say yes or no to that.",
            "I suppose so, in a way.",
        ],
        ReplyKind::Vague => &[
            "That's a broad one. Where do you want me to start?",
            "Oh, this and that. It's been a busy year.",
            "Depends what you mean, really.",
            "Fine, mostly. Nothing I'd call unusual.",
        ],
        ReplyKind::Covered => &[
            "I think I've told you what there is on that.",
            "Nothing more to add there, really.",
            "Not much to say about that one.",
            "That's about it on that front.",
        ],
        ReplyKind::NotYetTrusted => &[
            "That's not something I'd share with someone I've only just met.",
            "Maybe. Let's see how this conversation goes first.",
            "There's more to it, but I don't know you well enough yet.",
            "I'll keep that to myself for now, if you don't mind.",
        ],
        ReplyKind::NotYetConnected => &[
            "Hard to answer that before we've talked about the basics.",
            "That depends on things we haven't got into yet.",
            "I'm not sure how to answer that without more of the background.",
        ],
        ReplyKind::Confirm => &[
            "Yes, that's about the size of it.",
            "That's fair, yes.",
            "Pretty much, yes.",
        ],
        ReplyKind::Thanks => &[
            "It has its moments.",
            "Thanks. It does wear on you.",
            "It's not the end of the world, but it's tiring.",
        ],
        ReplyKind::Listening => &["Okay.", "Right.", "Go on.", "Mm-hm."],
    }
}

/// The bot's comment in the recap phase, by how heard it felt (index = heard - 1).
const FEEDBACK_COMMENTS: [&str; 5] = [
    "It felt like a sales pitch from start to finish. I didn't feel listened to.",
    "You asked some questions, but mostly you seemed to be waiting to talk about your product.",
    "Some of it landed. I'd have said more if you'd followed up on what I told you.",
    "You listened and asked good questions. I told you more than I expected to.",
    "I felt properly heard. You understood what this is really about for me.",
];

/// How heard (1-5) the bot says it felt at a given trust: one step per fifth of the scale.
pub fn heard_for(trust: u8) -> u8 {
    1 + trust.min(TRUST_MAX - 1) / 20
}

/// What the bot does with one seller message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotTurn {
    pub reply: String,
    /// The fact this reply reveals (its `bot.line` is the reply).
    pub reveal: Option<FactId>,
    pub kind: ReplyKind,
    /// Trust after the message, the value the reveal was judged against.
    pub trust: u8,
    pub causes: Vec<Cause>,
    pub reading: Reading,
}

/// Whether `fact` may come out for a message read as `r` at `trust`, with `revealed` out:
/// not already out, asked for, its requirements out, trust high enough, and a yes/no
/// question only ever earns a surface fact.
pub fn earns(fact: &Fact, r: &Reading, trust: u8, revealed: &[FactId]) -> bool {
    !revealed.contains(&fact.id)
        && fact.bot.asks.iter().any(|k| r.asks_kind(*k))
        && fact.requires.iter().all(|q| revealed.contains(q))
        && trust >= fact.bot.trust
        && (!r.is_yes_no() || fact.depth == Depth::Surface)
}

/// The seed for a room's bot: the configured seed mixed with the room number, so rooms
/// differ from each other yet each replays the same way.
pub fn room_seed(base: u64, room: RoomId) -> u64 {
    // The 64-bit golden-ratio constant spreads consecutive room numbers apart.
    base ^ room.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A bot buyer playing one scenario.
#[derive(Debug)]
pub struct Bot {
    scenario: Arc<Scenario>,
    lexicon: Lexicon,
    rng: StdRng,
    tracker: TrustTracker,
    revealed: Vec<FactId>,
    /// The buyer's lines since the seller's last message.
    buyer_lines: Vec<String>,
    last_reply: Option<String>,
}

impl Bot {
    pub fn new(scenario: Arc<Scenario>, seed: u64) -> Self {
        Self {
            scenario,
            lexicon: Lexicon::default(),
            rng: StdRng::seed_from_u64(seed),
            tracker: TrustTracker::default(),
            revealed: Vec::new(),
            buyer_lines: Vec::new(),
            last_reply: None,
        }
    }

    /// A bot in the state it reached over `transcript` (a room rebuilt after a restart):
    /// the same seed and the same seller lines replay the same trust, reveals and draws.
    pub fn replayed(scenario: Arc<Scenario>, seed: u64, transcript: &[TranscriptLine]) -> Self {
        let mut bot = Self::new(scenario, seed);
        for (i, line) in transcript.iter().enumerate() {
            match line.from {
                // The first line of a bot round is its opening; later buyer lines are the
                // replies `hear` produces again.
                Role::Buyer if i == 0 => {
                    bot.opening_line();
                }
                Role::Buyer => {}
                Role::Seller => {
                    bot.hear(&line.text);
                }
            }
        }
        bot
    }

    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.scenario
    }

    pub fn trust(&self) -> u8 {
        self.tracker.trust()
    }

    /// Facts revealed so far, in order.
    pub fn revealed(&self) -> &[FactId] {
        &self.revealed
    }

    /// What the bot says when the conversation starts: the scenario's opening line.
    pub fn opening_line(&mut self) -> String {
        let line = self.scenario.opening_line.trim().to_string();
        self.buyer_lines.push(line.clone());
        line
    }

    /// Hears one seller message and decides the reply.
    pub fn hear(&mut self, text: &str) -> BotTurn {
        let scenario = self.scenario.clone();
        let lines: Vec<&str> = self.buyer_lines.iter().map(String::as_str).collect();
        let reading = self.lexicon.read(&scenario, text, &lines);
        let out = pain_or_goal_out(&scenario, &self.revealed);
        let causes = self.tracker.hear(&reading, out);
        let trust = self.tracker.trust();
        let fact = scenario
            .facts
            .iter()
            .find(|f| earns(f, &reading, trust, &self.revealed));
        let (kind, reply) = match fact {
            Some(f) => {
                self.revealed.push(f.id.clone());
                (ReplyKind::Reveal, f.bot.line.trim().to_string())
            }
            None => {
                let kind = self.fallback(&reading, &causes);
                (kind, self.pick(kind))
            }
        };
        self.buyer_lines = vec![reply.clone()];
        self.last_reply = Some(reply.clone());
        BotTurn {
            reply,
            reveal: fact.map(|f| f.id.clone()),
            kind,
            trust,
            causes,
            reading,
        }
    }

    /// How heard the bot felt (from its final trust, see [`heard_for`]) and why.
    pub fn feedback(&self) -> (u8, String) {
        let heard = heard_for(self.trust());
        let comment = FEEDBACK_COMMENTS[usize::from(heard - 1)].to_string();
        (heard, comment)
    }

    /// The pool to answer from when nothing is earned; first matching rule wins.
    fn fallback(&self, r: &Reading, causes: &[Cause]) -> ReplyKind {
        if causes.contains(&Cause::EarlyPitch) {
            return ReplyKind::Nudge;
        }
        if causes.contains(&Cause::NameDrop) {
            return ReplyKind::NameDrop;
        }
        if self.trust() < GUARDED_BELOW {
            return ReplyKind::Guarded;
        }
        match r.question {
            Some(Question::YesNo) => ReplyKind::Short,
            Some(_) if r.asks.is_empty() => ReplyKind::Vague,
            Some(_) => {
                let waiting: Vec<&Fact> = self
                    .scenario
                    .facts
                    .iter()
                    .filter(|f| {
                        !self.revealed.contains(&f.id) && f.bot.asks.iter().any(|k| r.asks_kind(*k))
                    })
                    .collect();
                if waiting.is_empty() {
                    ReplyKind::Covered
                } else if waiting
                    .iter()
                    .any(|f| f.requires.iter().all(|q| self.revealed.contains(q)))
                {
                    ReplyKind::NotYetTrusted
                } else {
                    ReplyKind::NotYetConnected
                }
            }
            None if r.play_back => ReplyKind::Confirm,
            None if r.empathy => ReplyKind::Thanks,
            None => ReplyKind::Listening,
        }
    }

    /// A line from the pool, never the same line twice in a row.
    fn pick(&mut self, kind: ReplyKind) -> String {
        let lines = pool(kind, self.tracker.last_drop());
        if lines.is_empty() {
            return String::new();
        }
        let mut i = self.rng.random_range(0..lines.len());
        if self.last_reply.as_deref() == Some(lines[i]) {
            i = (i + 1) % lines.len();
        }
        lines[i].to_string()
    }
}

fn pain_or_goal_out(scenario: &Scenario, revealed: &[FactId]) -> bool {
    revealed.iter().any(|id| {
        scenario
            .fact(id)
            .is_some_and(|f| matches!(f.kind, FactKind::Pain | FactKind::Goal))
    })
}

/// The bot's trust over a finished round, rebuilt from the transcript and reveals: the
/// starting value, then the value after each seller line. Gives the same values the bot
/// had live, because it runs the same [`TrustTracker`] on the same inputs.
pub fn trust_curve(
    scenario: &Scenario,
    transcript: &[TranscriptLine],
    reveals: &[Reveal],
) -> Vec<TrustPoint> {
    let lexicon = Lexicon::default();
    let mut tracker = TrustTracker::default();
    let mut out = vec![TrustPoint {
        index: None,
        trust: tracker.trust(),
    }];
    let mut buyer_lines: Vec<&str> = Vec::new();
    for line in transcript {
        match line.from {
            Role::Buyer => buyer_lines.push(&line.text),
            Role::Seller => {
                let reading = lexicon.read(scenario, &line.text, &buyer_lines);
                let before: Vec<FactId> = reveals
                    .iter()
                    .filter(|r| r.earned_by.is_some_and(|e| e < line.index))
                    .map(|r| r.fact.clone())
                    .collect();
                tracker.hear(&reading, pain_or_goal_out(scenario, &before));
                out.push(TrustPoint {
                    index: Some(line.index),
                    trust: tracker.trust(),
                });
                buyer_lines.clear();
            }
        }
    }
    out
}

/// How long the bot takes to answer, so it reads like a person typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyDelay {
    pub base: Duration,
    pub per_char: Duration,
    pub max: Duration,
}

impl ReplyDelay {
    /// A person typing: see [`REPLY_DELAY_BASE`].
    pub const HUMAN: Self = Self {
        base: REPLY_DELAY_BASE,
        per_char: REPLY_DELAY_PER_CHAR,
        max: REPLY_DELAY_MAX,
    };
    /// Answers at once: tests, load tests, demos on a projector.
    pub const NONE: Self = Self {
        base: Duration::ZERO,
        per_char: Duration::ZERO,
        max: Duration::ZERO,
    };

    pub fn for_reply(&self, text: &str) -> Duration {
        let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        self.base
            .saturating_add(self.per_char.saturating_mul(chars))
            .min(self.max)
    }
}

impl Default for ReplyDelay {
    fn default() -> Self {
        Self::HUMAN
    }
}

/// How the server runs bot buyers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotSettings {
    /// How long someone waits alone for a partner before `bot_available`.
    pub offer_after: Duration,
    pub reply_delay: ReplyDelay,
    /// Mixed with each room's number to seed its bot (see [`room_seed`]).
    pub seed: u64,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            offer_after: BOT_OFFER_AFTER,
            reply_delay: ReplyDelay::HUMAN,
            seed: 0,
        }
    }
}

#[cfg(test)]
mod tests;
