//! The bot buyer: plays a scenario's hidden story by explicit rules, so a trainee can
//! practise alone and a trainer can predict, and tune, what it does.
//!
//! It is a rule engine over a language model's reading, not a chatbot. Each seller
//! message is read by meaning ([`crate::meaning::read_seller_line`]): which fact its
//! question is after (nearest author-written example), whether it is a questionnaire or
//! empty of content, whether it plays back or acknowledges what the buyer told. That
//! reading, plus the pitch and name-drop lists the debrief uses, becomes a [`Heard`]; it
//! moves trust ([`TrustTracker`]); a fact comes out when the message asks for it, its
//! `requires` are out and trust has reached its `bot.trust` ([`Bot::hear`]). Otherwise
//! the bot answers from generic pools that never hold a hidden fact. Replies are drawn
//! with a seeded RNG: the same seed and the same messages give the same round.
//!
//! `docs/bot.md` states every rule and number; keep it in step with this folder.

mod replies;
mod trust;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::capture::{find_words, match_words, WordStemmer};
use crate::meaning::{self, Aim, Calibration, Context, FactMatch, LineReading, CALIBRATION};
use crate::protocol::{Role, RoomId};
use crate::reader::text::{self, Form};
use crate::scenario::{Depth, Fact, FactId, FactKind, QuestionKind, Scenario, TRUST_MAX};
use crate::scoring::{TranscriptLine, TrustPoint};
pub use replies::{ReplyKind, FEEDBACK_COMMENTS};
pub use trust::{Cause, TrustTracker, MAX_RISE_PER_MESSAGE, RAPID_FIRE_RUN, START_TRUST};

/// Below this the bot answers short and guarded, and says why in character.
pub const GUARDED_BELOW: u8 = 20;
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

/// Asking for a demo, a trial or another meeting: selling the next step, not discovering.
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

/// Aims that make a question about the buyer's own story.
const ABOUT_BUYER: &[Aim] = &[
    Aim::Situation,
    Aim::Problem,
    Aim::Implication,
    Aim::NeedPayoff,
    Aim::Goal,
    Aim::Decision,
    Aim::Concern,
];

/// What the bot made of one seller message.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// The reader's view: sentences, questions, the fact asked for.
    pub line: LineReading,
    /// The pitch word used, as written in the scenario.
    pub pitch: Option<String>,
    /// Asked for a demo, a trial or another meeting.
    pub demo_request: bool,
    /// Third parties cited, as written in the list that caught them.
    pub name_drops: Vec<String>,
    /// The revealed fact the message restated, and how closely.
    pub play_back: Option<(FactId, f32)>,
    /// Acknowledged feelings about something the buyer had just revealed.
    pub empathy: bool,
    /// Every question in it can be answered yes or no.
    pub yes_no: bool,
    /// It has a real question about the buyer's story (a fact, or an aim such as goal or
    /// problem), with a topic of its own.
    pub about_buyer: bool,
    /// One of its questions is about goals.
    pub about_goal: bool,
    /// Sent before, word for word.
    pub repeated: bool,
}

impl Heard {
    /// Pitched or asked for a demo.
    pub fn sells(&self) -> bool {
        self.pitch.is_some() || self.demo_request
    }
}

/// What the bot does with one seller message.
#[derive(Debug, Clone, PartialEq)]
pub struct BotTurn {
    pub reply: String,
    /// The fact this reply reveals (its `bot.line` is the reply).
    pub reveal: Option<FactId>,
    pub kind: ReplyKind,
    /// Trust after the message, the value the reveal was judged against.
    pub trust: u8,
    pub causes: Vec<Cause>,
    pub heard: Heard,
}

/// The seed for a room's bot: the configured seed mixed with the room number, so rooms
/// differ from each other yet each replays the same way.
pub fn room_seed(base: u64, room: RoomId) -> u64 {
    // The 64-bit golden-ratio constant spreads consecutive room numbers apart.
    base ^ room.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// How heard (1-5) the bot says it felt at a given trust: one step per fifth of the scale.
pub fn heard_for(trust: u8) -> u8 {
    1 + trust.min(TRUST_MAX - 1) / 20
}

/// The lexical lists a message is checked against, prepared once per bot.
#[derive(Debug)]
struct Lists {
    stemmer: WordStemmer,
    demo: Vec<Vec<String>>,
}

impl Default for Lists {
    fn default() -> Self {
        let stemmer = WordStemmer::default();
        let demo = DEMO_CUES
            .iter()
            .map(|p| stemmer.stems(p))
            .filter(|s| !s.is_empty())
            .collect();
        Self { stemmer, demo }
    }
}

/// A bot buyer playing one scenario.
#[derive(Debug)]
pub struct Bot {
    scenario: Arc<Scenario>,
    lists: Lists,
    rng: StdRng,
    tracker: TrustTracker,
    revealed: Vec<FactId>,
    /// The last reply revealed a fact: empathy now has something to be about.
    just_revealed: bool,
    said: Vec<Vec<String>>,
    last_reply: Option<String>,
    /// Stems of everything the bot has said, so a seller reciting what it never said is
    /// caught guessing.
    heard_words: HashSet<String>,
    calibration: Calibration,
}

impl Bot {
    pub fn new(scenario: Arc<Scenario>, seed: u64) -> Self {
        Self {
            scenario,
            lists: Lists::default(),
            rng: StdRng::seed_from_u64(seed),
            tracker: TrustTracker::default(),
            revealed: Vec::new(),
            just_revealed: false,
            said: Vec::new(),
            last_reply: None,
            heard_words: HashSet::new(),
            calibration: CALIBRATION,
        }
    }

    /// The same bot reading with other thresholds (calibration tools only).
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.calibration = calibration;
        self
    }

    fn context(&self) -> Context<'_> {
        Context {
            buyer_said: self.last_reply.as_deref(),
            revealed: &self.revealed,
            buyer_words: Some(&self.heard_words),
            just_revealed: self.just_revealed.then(|| self.revealed.last()).flatten(),
        }
    }

    /// The texts reading `text` now will embed, to prepare off the relay path first.
    pub fn texts_to_read(&self, text: &str) -> Vec<String> {
        meaning::texts_to_read(text, &self.context())
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
        self.heard_words.extend(meaning::stems(&line));
        self.last_reply = Some(line.clone());
        line
    }

    /// Reads a seller message in the bot's present state.
    pub fn read(&self, text: &str) -> Heard {
        let scenario = &self.scenario;
        let cal = &self.calibration;
        let line = meaning::read_seller_line_with(scenario, text, &self.context(), cal);
        let behaviour = crate::behaviour::lexical(scenario, text);
        let words = match_words(text);
        let stems = self.lists.stemmer.stem_all(&words);
        let demo_request = self
            .lists
            .demo
            .iter()
            .any(|f| find_words(&stems, f).is_some());
        let play_back = line
            .sentences
            .iter()
            .filter_map(|s| s.restates.clone())
            .filter(|(f, score)| self.revealed.contains(f) && *score >= cal.play_back_threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let empathy =
            (self.just_revealed || play_back.is_some()) && line.empathy() >= cal.empathy_threshold;
        let forms: Vec<Form> = text::sentences(text)
            .iter()
            .filter_map(text::form)
            .collect();
        let yes_no = !forms.is_empty() && forms.iter().all(|f| *f == Form::YesNo);
        let aims = line.aims();
        // A question of the right kind counts only when it is about this buyer's business:
        // "Have you been on holiday yet?" asks about the buyer, not their story.
        let on_topic = line.sentences.iter().any(|s| {
            s.asks
                && s.fact
                    .as_ref()
                    .is_some_and(|f| f.cosine >= cal.topic_floor && f.small_talk.is_none())
        });
        let about_buyer = !line.contentless
            && (line.earns.is_some() || (on_topic && aims.iter().any(|a| ABOUT_BUYER.contains(a))));
        let goal_fact = |m: &FactMatch| {
            scenario
                .fact(&m.fact)
                .is_some_and(|f| f.kind == FactKind::Goal)
        };
        let about_goal = aims.contains(&Aim::Goal) || line.earns.as_ref().is_some_and(goal_fact);
        Heard {
            pitch: behaviour.pitch,
            demo_request,
            name_drops: behaviour.name_drops,
            play_back,
            empathy,
            yes_no,
            about_buyer,
            about_goal,
            repeated: self.said.contains(&words),
            line,
        }
    }

    /// The facts a message asks for, in the order they are tried: the fact its question
    /// is nearest, then (for "anything else?") the first `anything_else` fact still hidden.
    fn asked_for<'a>(&'a self, h: &Heard) -> Vec<&'a Fact> {
        if h.line.questionnaire.is_some() || h.line.guesses() || h.sells() {
            return Vec::new();
        }
        let mut out: Vec<&Fact> = Vec::new();
        if let Some(m) = &h.line.earns {
            out.extend(self.scenario.fact(&m.fact));
        }
        if h.line.more_to_say.is_some() {
            out.extend(self.scenario.facts.iter().find(|f| {
                f.bot.asks.contains(&QuestionKind::AnythingElse) && !self.revealed.contains(&f.id)
            }));
        }
        out
    }

    /// Hears one seller message and decides the reply.
    pub fn hear(&mut self, text: &str) -> BotTurn {
        let heard = self.read(text);
        let deeper_out = deeper_out(&self.scenario, &self.revealed);
        let causes = self.tracker.hear(&heard, deeper_out);
        let trust = self.tracker.trust();
        let asked = self.asked_for(&heard);
        let fact = asked
            .iter()
            .find(|f| self.may_reveal(f, trust))
            .map(|f| (*f).clone());
        let (kind, reply) = match &fact {
            Some(f) => (ReplyKind::Reveal, f.bot.line.trim().to_string()),
            None => {
                let kind = self.fallback(&heard, &causes, trust);
                (kind, self.pick(kind))
            }
        };
        if let Some(f) = &fact {
            self.revealed.push(f.id.clone());
        }
        self.just_revealed = fact.is_some();
        self.said.push(match_words(text));
        self.heard_words.extend(meaning::stems(&reply));
        self.last_reply = Some(reply.clone());
        BotTurn {
            reply,
            reveal: fact.map(|f| f.id),
            kind,
            trust,
            causes,
            heard,
        }
    }

    fn may_reveal(&self, fact: &Fact, trust: u8) -> bool {
        !self.revealed.contains(&fact.id)
            && fact.requires.iter().all(|q| self.revealed.contains(q))
            && trust >= fact.bot.trust
    }

    /// How heard the bot felt (from its final trust, see [`heard_for`]) and why.
    pub fn feedback(&self) -> (u8, String) {
        let heard = heard_for(self.trust());
        let comment = FEEDBACK_COMMENTS[usize::from(heard - 1)].to_string();
        (heard, comment)
    }

    /// The pool to answer from when nothing is earned; first matching rule wins.
    fn fallback(&self, h: &Heard, causes: &[Cause], trust: u8) -> ReplyKind {
        if causes.contains(&Cause::EarlyPitch) {
            return ReplyKind::Nudge;
        }
        if causes.contains(&Cause::NameDrop) {
            return ReplyKind::NameDrop;
        }
        if trust < GUARDED_BELOW {
            return ReplyKind::Guarded;
        }
        if h.line.questionnaire.is_some() {
            return ReplyKind::Questionnaire;
        }
        let asked = self.asked_for(h);
        if let Some(f) = asked.first() {
            return if self.revealed.contains(&f.id) {
                ReplyKind::Covered
            } else if !f.requires.iter().all(|q| self.revealed.contains(q)) {
                ReplyKind::NotYetConnected
            } else {
                ReplyKind::NotYetTrusted
            };
        }
        if h.line.more_to_say.is_some() {
            return ReplyKind::Covered;
        }
        if h.line.questions > 0 {
            return if h.yes_no && !h.line.contentless {
                ReplyKind::Short
            } else {
                ReplyKind::Vague
            };
        }
        if h.play_back.is_some() {
            ReplyKind::Confirm
        } else if h.empathy {
            ReplyKind::Thanks
        } else {
            ReplyKind::Listening
        }
    }

    /// A line from the pool, never the same line twice in a row.
    fn pick(&mut self, kind: ReplyKind) -> String {
        let lines = replies::pool(kind, self.tracker.last_drop());
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

/// Whether a deeper or hidden fact is out: before that, the buyer's real story has not
/// begun, and any pitch is premature (the debrief uses the same rule).
pub fn deeper_out(scenario: &Scenario, revealed: &[FactId]) -> bool {
    revealed
        .iter()
        .any(|id| scenario.fact(id).is_some_and(|f| f.depth != Depth::Surface))
}

/// The bot's trust over a finished round: the starting value, then the value after each
/// seller line. Replays the bot over the seller's lines, so it always matches what the
/// bot did live (trust does not depend on the seed).
pub fn trust_curve(scenario: &Arc<Scenario>, transcript: &[TranscriptLine]) -> Vec<TrustPoint> {
    let mut bot = Bot::new(scenario.clone(), 0);
    let mut out = vec![TrustPoint {
        index: None,
        trust: bot.trust(),
        causes: Vec::new(),
        reading: None,
    }];
    bot.opening_line();
    for line in transcript.iter().filter(|l| l.from == Role::Seller) {
        let turn = bot.hear(&line.text);
        out.push(TrustPoint {
            index: Some(line.index),
            trust: bot.trust(),
            causes: turn
                .causes
                .iter()
                .map(|c| format!("{} ({:+})", c.label(), c.delta()))
                .collect(),
            reading: Some(explain_turn(&turn)),
        });
    }
    out
}

/// How the bot read a message, in a sentence for the debrief.
pub fn explain_turn(turn: &BotTurn) -> String {
    let line = &turn.heard.line;
    if let Some(q) = &line.questionnaire {
        return q.explain();
    }
    if line.guesses() {
        return format!(
            "recites words of the hidden story the buyer never said ({}): a guess at the \
             answer, not a question about the buyer, earns nothing",
            line.guessed.join(", ")
        );
    }
    if turn.heard.sells() {
        return "a pitch or a request for a demo: it asks about the product, not the buyer".into();
    }
    if let Some(m) = &line.earns {
        return format!("asked for `{}`: {}", m.fact, m.explain());
    }
    if line.more_to_say.is_some() {
        return "asked whether there was anything else".into();
    }
    if line.contentless {
        return "a question with no topic of its own (\"why?\", \"what else?\") earns nothing"
            .into();
    }
    let best = line
        .sentences
        .iter()
        .filter_map(|s| s.fact.as_ref())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    match best {
        Some(m) => format!(
            "asked for no fact: nearest was `{}`, {}",
            m.fact,
            m.explain()
        ),
        None if line.questions == 0 => "a statement, not a question".into(),
        None => "asked for no fact".into(),
    }
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
