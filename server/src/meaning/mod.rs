//! What a line means for one scenario: which fact a seller's question is after, what kind
//! of question it is, whether a message is a questionnaire, whether a statement plays
//! back what the buyer said or shows empathy, and which facts a recap states. The bot
//! buyer, the recap scorer and the behaviour figures all read lines here, so they agree.
//!
//! Every decision keeps its working: the nearest example, its score, the threshold and
//! the lead it needed ([`FactMatch::explain`]). The numbers in [`CALIBRATION`] were chosen
//! on the calibration part of the labelled corpus in `tests/corpus/` and are reported on
//! the other part (`docs/scoring.md`, "How the reader was calibrated").
//!
//! This file reads a seller's line; beside it, `indexes.rs` builds and keeps the
//! sentence sets lines are read against, `nearest.rs` finds the nearest fact, aim or
//! small talk, `prototypes.rs` holds the generic sentences, `invite.rs` the facts a
//! question's aim invites, `recap.rs` reads recaps and `lint.rs` checks a scenario's
//! examples.

mod indexes;
mod invite;
mod lint;
mod nearest;
pub mod prototypes;
mod recap;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::capture::WordStemmer;
use crate::reader;
use crate::reader::text::{self, MoreToSay, Sentence};
use crate::scenario::{FactId, Scenario};
use indexes::empathy;
pub use indexes::{index, warm_generic, ScenarioIndex};
pub use lint::lint;
pub(crate) use nearest::fits;
pub use nearest::ranked_facts;
use nearest::{
    aim_near, aim_of, likeness, nearest_fact, small_talk_near, touch_topics, Near, NearestFact,
};
pub use prototypes::Aim;
pub use recap::{read_recap, read_recap_with, recap_texts, RecapMatch};

/// A threshold as the explanations print it: two decimals, or three where the third
/// matters (0.325 is not 0.32).
pub fn threshold(x: f32) -> String {
    let three = format!("{x:.3}");
    match three.strip_suffix('0') {
        Some(two) => two.to_string(),
        None => three,
    }
}

/// The reader's thresholds. Cosines of all-MiniLM-L6-v2 embeddings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// A question earns a fact when its nearest example scores at least this…
    pub fact_threshold: f32,
    /// …and leads the best example of any other fact by at least this.
    pub fact_lead: f32,
    /// How much a fact's score leans on the question's likeness to the way the buyer
    /// would state the fact, beside its likeness to the author's example questions
    /// (0: examples only).
    pub statement_weight: f32,
    /// A question with fewer content words than this is also read with what came just
    /// before it (the statement before it, else the buyer's last line); the closer
    /// reading counts.
    pub context_below: usize,
    /// A question is about the buyer's business when its nearest example's plain cosine
    /// reaches this: only then does asking it raise the bot's trust, and only then can an
    /// open question about how things stand ("walk me through a normal week") that earns
    /// no fact of its own draw the buyer's surface story. Small talk stays below it.
    pub topic_floor: f32,
    /// A part of a list-like question counts as touching a fact at this score.
    pub topic_threshold: f32,
    /// A question is filed under an aim (situation, problem…) at this score.
    pub aim_threshold: f32,
    /// A question that earns no fact by its examples, but whose aim (goal, decision,
    /// concern…) scores at least this, draws the one fact still untold that its aim
    /// answers (`invite::by_aim`). Above 1: never.
    pub aim_invite: f32,
    /// Added to a fact's score when the question's aim fits the fact's kind (a goal
    /// question and a goal fact), before the nearest fact and its lead are decided.
    pub aim_bonus: f32,
    /// Added to a fact that carries on from what the buyer just told (its `requires`
    /// names the fact the buyer's last line revealed) when the question follows on from
    /// that line: "Who did you go to next?", "What happened after that?".
    pub follow_bonus: f32,
    /// How much a question's likeness to an example leans on matching them token by
    /// token ([`reader::align()`]) beside their sentence vectors (0: vectors only).
    pub token_weight: f32,
    /// A question is small talk when its nearest small-talk example
    /// ([`prototypes::SMALL_TALK`]) comes nearer than the nearest example of any fact by
    /// at least this (sentence vectors): it earns no fact and no trust.
    pub small_talk_lead: f32,
    /// A statement restates a fact the buyer revealed at this score (its likeness to the
    /// fact as the buyer states it, read as questions are, with [`Self::token_weight`]).
    /// Not searched: set just above every pitching seller's statement on the
    /// calibration part (`calibrate --playbacks`).
    pub play_back_threshold: f32,
    /// A statement acknowledges feelings at this score to an empathy example.
    pub empathy_threshold: f32,
    /// A recap sentence states a fact at this score…
    pub recap_threshold: f32,
    /// …leading every other fact by this.
    pub recap_lead: f32,
}

/// The thresholds in use: chosen on the calibration part of the corpus only.
pub const CALIBRATION: Calibration = Calibration {
    fact_threshold: 0.325,
    fact_lead: 0.02,
    statement_weight: 0.1,
    context_below: 3,
    topic_floor: 0.30,
    topic_threshold: 0.40,
    aim_threshold: 0.35,
    aim_invite: 0.6,
    aim_bonus: 0.05,
    follow_bonus: 0.2,
    token_weight: 1.0,
    small_talk_lead: 0.05,
    play_back_threshold: 0.45,
    empathy_threshold: 0.55,
    recap_threshold: 0.275,
    recap_lead: 0.0,
};

/// More question sentences than this in one message read as a questionnaire.
pub const MAX_QUESTIONS_PER_MESSAGE: usize = 2;
/// Questions touching this many facts at once read as a questionnaire: a list of
/// guesses, not a question.
pub const QUESTIONNAIRE_TOPICS: usize = 3;
/// Words of the hidden story, not yet said by the buyer, that one message may use before
/// it reads as guessing the answer rather than asking: one can be a lucky guess ("is it
/// the stock?"), two are a seller reciting what they cannot know.
pub const GUESSED_WORDS: usize = 2;

/// The stems of `text`'s content words.
pub fn stems(text: &str) -> Vec<String> {
    STEMMER.with(|st| st.stem_all(&text::content_words(text)))
}

thread_local! {
    static STEMMER: WordStemmer = WordStemmer::default();
}

/// Words by which a question points back at what was just said.
const REFERS_BACK: &[&str] = &[
    "that", "this", "it", "its", "those", "these", "they", "them", "there", "then", "so", "such",
    "he", "she", "him", "her", "yours", "next", "after", "same", "again",
];

/// A sentence's nearest fact, and whether it was near and clear enough to count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactMatch {
    pub fact: FactId,
    /// The author's example it came nearest.
    pub example: String,
    pub score: f32,
    /// The best other fact and its score.
    pub runner_up: Option<(FactId, f32)>,
    pub threshold: f32,
    pub lead_needed: f32,
    /// Score and lead both reached.
    pub accepted: bool,
    /// Read together with the statement before it, having no topic of its own.
    #[serde(default)]
    pub with_context: bool,
    /// The plain cosine to the example, before the aim bonus and any blend.
    #[serde(default)]
    pub cosine: f32,
    /// The question's likeness to the example token by token ([`reader::align()`]), when
    /// that is part of the score.
    #[serde(default)]
    pub aligned: Option<f32>,
    /// Added because the question's aim fits the fact's kind.
    #[serde(default)]
    pub aim_bonus: f32,
    /// Added because the question follows on from the buyer's last line and the fact
    /// carries on from what that line told.
    #[serde(default)]
    pub follow_bonus: f32,
    /// Earned as the surface story an open question about how things stand draws out,
    /// rather than by an example of its own.
    #[serde(default)]
    pub invitation: bool,
    /// Earned by the question's aim alone (`invite::by_aim`): the aim named here, with
    /// `example` and `score` its nearest generic question.
    #[serde(default)]
    pub by_aim: Option<Aim>,
    /// The question reads as small talk, so it earns nothing.
    #[serde(default)]
    pub small_talk: Option<SmallTalk>,
}

/// Why a question reads as small talk: a small-talk example comes nearer it than the
/// nearest example of any fact, by [`Calibration::small_talk_lead`] or more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmallTalk {
    /// The nearest small-talk example ([`prototypes::SMALL_TALK`]) and its cosine.
    pub example: String,
    pub score: f32,
    /// The nearest business question (an example of any fact, or a generic question of
    /// an aim) and its cosine.
    pub topic_example: String,
    pub topic_score: f32,
}

impl FactMatch {
    fn new(n: NearestFact, threshold: f32, lead_needed: f32) -> Self {
        let accepted = n.near.score >= threshold && n.near.lead() >= lead_needed;
        Self {
            fact: n.near.key,
            example: n.near.example,
            score: n.near.score,
            runner_up: n.near.runner_up,
            threshold,
            lead_needed,
            accepted,
            with_context: false,
            cosine: n.cosine,
            aligned: n.aligned,
            aim_bonus: n.bonus,
            follow_bonus: n.follow,
            invitation: false,
            by_aim: None,
            small_talk: None,
        }
    }

    pub fn lead(&self) -> f32 {
        self.score - self.runner_up.as_ref().map_or(0.0, |r| r.1)
    }

    /// The decision in a sentence: "closest to 'What does an empty slot cost you?' 0.62;
    /// needs 0.45 and a 0.04 lead (has 0.11)".
    pub fn explain(&self) -> String {
        if self.invitation {
            return format!(
                "an open question about how things stand (nearest example \"{}\" {:.2}; \
                 needs {} to be about the buyer's business): the buyer tells the story \
                 they tell anyone first",
                self.example,
                self.score,
                threshold(self.threshold)
            );
        }
        if let Some(aim) = self.by_aim {
            return format!(
                "a clear {} question (closest to \"{}\" {:.2}; needs {}), and this is \
                 the one fact still untold that such a question answers",
                aim.label(),
                self.example,
                self.score,
                threshold(self.threshold)
            );
        }
        let mut why = Vec::new();
        if let Some(t) = &self.small_talk {
            return format!(
                "reads as small talk: closer to \"{}\" {:.2} than to any business question \
                 (nearest \"{}\" {:.2}; small talk needs a {} lead), so it earns nothing",
                t.example,
                t.score,
                t.topic_example,
                t.topic_score,
                threshold(CALIBRATION.small_talk_lead)
            );
        }
        if self.aim_bonus > 0.0 {
            why.push(format!(
                "+{:.2} as the kind of question this fact answers",
                self.aim_bonus
            ));
        }
        if self.follow_bonus > 0.0 {
            why.push(format!(
                "+{:.2} as what comes next in what the buyer just told",
                self.follow_bonus
            ));
        }
        if let Some(a) = self.aligned {
            why.insert(0, format!("word by word {a:.2}"));
        }
        let bonus = if why.is_empty() {
            String::new()
        } else {
            format!(" ({:.2}, {})", self.cosine, why.join(", "))
        };
        format!(
            "closest to \"{}\" {:.2}{bonus}; needs {} and a {} lead (has {:.2}){}",
            self.example,
            self.score,
            threshold(self.threshold),
            threshold(self.lead_needed),
            self.lead(),
            if self.with_context {
                ", read with the sentence before it"
            } else {
                ""
            }
        )
    }
}

/// The aim of a question, with its nearest example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AimMatch {
    pub aim: Aim,
    pub example: Option<String>,
    pub score: f32,
}

/// One sentence of a seller line, read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceReading {
    pub text: String,
    pub asks: bool,
    /// Words with a topic of their own (see [`text::content_words`]).
    pub content_words: usize,
    pub more_to_say: Option<MoreToSay>,
    /// Questions only: the nearest fact, accepted or not; none for a question with no
    /// content.
    pub fact: Option<FactMatch>,
    /// Questions only: what kind of question it is.
    pub aim: Option<AimMatch>,
    /// Statements only: nearest empathy example's score.
    pub empathy: Option<f32>,
    /// Statements and questions: the revealed-or-not fact this sentence restates best,
    /// and how closely (a play-back when the fact is out and the score is high enough).
    pub restates: Option<(FactId, f32)>,
}

/// Why a message earns nothing however good its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Questionnaire {
    /// More than [`MAX_QUESTIONS_PER_MESSAGE`] questions at once.
    TooManyQuestions { questions: usize },
    /// Its questions touch [`QUESTIONNAIRE_TOPICS`] or more facts at once.
    TooManyTopics { facts: Vec<FactId> },
}

impl Questionnaire {
    pub fn explain(&self) -> String {
        match self {
            Questionnaire::TooManyQuestions { questions } => format!(
                "{questions} questions in one message read as a questionnaire (more than {MAX_QUESTIONS_PER_MESSAGE} earns nothing)"
            ),
            Questionnaire::TooManyTopics { facts } => format!(
                "one message touching {} topics at once reads as a list of guesses ({QUESTIONNAIRE_TOPICS} or more earns nothing)",
                facts.len()
            ),
        }
    }
}

/// A seller line, read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineReading {
    pub sentences: Vec<SentenceReading>,
    pub questions: usize,
    pub questionnaire: Option<Questionnaire>,
    /// Every question is empty of content ("Why?", "What else?").
    pub contentless: bool,
    /// Asks whether there is anything (or something) else, in a message that is not a
    /// questionnaire.
    pub more_to_say: Option<MoreToSay>,
    /// Words of the hidden story its questions use that the buyer has not said (stems).
    #[serde(default)]
    pub guessed: Vec<String>,
    /// The fact this line asks for: the best accepted match of its questions, none for a
    /// questionnaire or a guess.
    pub earns: Option<FactMatch>,
}

impl LineReading {
    /// Its questions recite the hidden story rather than ask about it.
    pub fn guesses(&self) -> bool {
        self.guessed.len() >= GUESSED_WORDS
    }
}

impl LineReading {
    /// The aims of the line's questions, each once, in order.
    pub fn aims(&self) -> Vec<Aim> {
        let mut out = Vec::new();
        for s in &self.sentences {
            if let Some(a) = &s.aim {
                if !out.contains(&a.aim) {
                    out.push(a.aim);
                }
            }
        }
        out
    }

    /// The best empathy score of its statements.
    pub fn empathy(&self) -> f32 {
        self.sentences
            .iter()
            .filter_map(|s| s.empathy)
            .fold(0.0, f32::max)
    }
}

/// What the reader knows of the conversation around a line: the buyer's last line (a
/// question with little topic of its own is read with it), and the facts already out (a
/// buyer answers a question with what they have not yet said).
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    pub buyer_said: Option<&'a str>,
    pub revealed: &'a [FactId],
    /// Stems of every word the buyer has said so far; with it, a question that recites
    /// words of the hidden story the buyer never said reads as a guess.
    pub buyer_words: Option<&'a HashSet<String>>,
    /// The fact the buyer's last line revealed, if it revealed one.
    pub just_revealed: Option<&'a FactId>,
}

/// The texts [`read_seller_line`] will embed for `line`, so a caller can prepare them off
/// the relay path first.
pub fn texts_to_read(line: &str, ctx: &Context<'_>) -> Vec<String> {
    let cal = &CALIBRATION;
    let sentences = text::sentences(line);
    let mut out = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        out.push(s.text.clone());
        if s.asks {
            if let Some(t) = with_context(&sentences, i, ctx, cal) {
                out.push(t);
            }
            let clauses = text::clauses(&s.text);
            if clauses.len() > 1 {
                out.extend(clauses);
            }
        }
    }
    out
}

/// The question at `i` read with what came just before it, when it has too little topic
/// of its own: the statement before it in the same message, else the buyer's last line.
fn with_context(
    sentences: &[Sentence],
    i: usize,
    ctx: &Context<'_>,
    cal: &Calibration,
) -> Option<String> {
    let s = &sentences[i];
    // "Why?" and "What else?" have no topic to read in any context; "And who did you go
    // to next?" has none of its own either, but says enough to follow the buyer's story.
    let content = text::content_words(&s.text).len();
    if content >= cal.context_below
        || (content == 0 && text::words(&s.text).len() < FOLLOW_UP_WORDS)
    {
        return None;
    }
    // Only a question that points back ("What's that doing to you?", "Who did you go to
    // next?") leans on what was said; "How was your weekend?" does not.
    if !points_back(&s.text) {
        return None;
    }
    let before = i
        .checked_sub(1)
        .map(|p| &sentences[p])
        .filter(|p| !p.asks && !text::content_words(&p.text).is_empty())
        .map(|p| p.text.as_str())
        .or(ctx
            .buyer_said
            .filter(|b| !text::content_words(b).is_empty()))?;
    Some(format!("{before} {}", s.text))
}

/// Whether a sentence points back at what was just said ("that", "next", "yours"…).
fn points_back(sentence: &str) -> bool {
    text::words(sentence)
        .iter()
        .any(|w| REFERS_BACK.contains(&w.as_str()))
}

/// Fewest words a question with no content word of its own needs to be read as a
/// follow-up of the buyer's last line: "What happened after that?" is one, "Why is that?"
/// is the stuffer's "Why?" with a pronoun.
const FOLLOW_UP_WORDS: usize = 4;

/// Reads a seller line against a scenario, on its own.
pub fn read_seller_line(scenario: &Scenario, line: &str) -> LineReading {
    read_seller_line_with(scenario, line, &Context::default(), &CALIBRATION)
}

/// Reads a seller line in its conversation, with the given thresholds.
pub fn read_seller_line_with(
    scenario: &Scenario,
    line: &str,
    ctx: &Context<'_>,
    cal: &Calibration,
) -> LineReading {
    let r = reader::shared();
    let idx = index(scenario);
    let sentences = text::sentences(line);
    let mut read = Vec::with_capacity(sentences.len());
    let mut touched: Vec<FactId> = Vec::new();
    let questions = sentences.iter().filter(|s| s.asks).count();
    for (i, s) in sentences.iter().enumerate() {
        let content = text::content_words(&s.text).len();
        let reading = r.read(&s.text);
        let v = reading.vector.clone();
        // Matched token by token, as questions are: a play-back in the seller's own words
        // ("the screen and reality disagree") shares few words' worth of sentence vector
        // with the buyer's line, but its tokens find theirs.
        let restates = idx
            .statements
            .ranked_by(None, |e| likeness(&v, Some(&reading.tokens), e, cal))
            .into_iter()
            .next()
            .map(|(key, score, _)| (key, score));
        // "It feels like there is something more on your mind. Is there?"
        let more_to_say = text::asks_for_more(s).or_else(|| {
            let prev = i.checked_sub(1).map(|p| &sentences[p])?;
            (s.asks && content == 0 && !prev.asks)
                .then(|| {
                    text::asks_for_more(&Sentence {
                        text: prev.text.clone(),
                        asks: true,
                    })
                })
                .flatten()
        });
        let mut out = SentenceReading {
            text: s.text.clone(),
            asks: s.asks,
            content_words: content,
            more_to_say,
            fact: None,
            aim: None,
            empathy: None,
            restates,
        };
        if !s.asks {
            out.empathy = empathy().nearest(&v).map(|n| n.score);
            // A list of the story's nouns, even without a question mark, is a list of guesses.
            if text::is_list(&s.text) {
                touch_topics(&idx, r, &s.text, cal, &mut touched);
            }
            read.push(out);
            continue;
        }
        let aim = aim_near(&v, cal);
        let ctx_text = with_context(&sentences, i, ctx, cal);
        // Following the buyer's thread: the question points back at their last line, or
        // asks what came after it.
        let follows = ctx
            .just_revealed
            .filter(|_| ctx_text.is_some() || text::asks_what_came_next(&s.text));
        let near = |read: &reader::Reading| {
            nearest_fact(
                scenario,
                &idx,
                &read.vector,
                Near {
                    aim,
                    revealed: ctx.revealed,
                    follows,
                    skip: None,
                    tokens: Some(&read.tokens),
                },
                cal,
            )
        };
        let own = (content > 0).then(|| near(&reading)).flatten();
        let ctx_read = ctx_text.map(|t| r.read(&t));
        let in_ctx = ctx_read.as_ref().and_then(near);
        let ctx_vector = ctx_read.map(|cr| cr.vector);
        // Read with what came before only where that reads closer than the question alone.
        let (nearest, with_ctx, vector) = match (own, in_ctx) {
            (Some(o), Some(c)) if o.near.score >= c.near.score => (Some(o), false, None),
            (_, Some(c)) => (Some(c), true, ctx_vector.clone()),
            (o, None) => (o, false, None),
        };
        let vector = vector.unwrap_or_else(|| v.clone());
        if let Some(n) = nearest {
            let mut m = FactMatch::new(n, cal.fact_threshold, cal.fact_lead);
            m.with_context = with_ctx;
            if content > 0 {
                m.small_talk = small_talk_near(&idx, &v, cal);
                m.accepted &= m.small_talk.is_none();
            }
            // A match read with the statement before it is that statement's topic, not
            // the question's: a play-back and one question is not a questionnaire. A
            // question of two or more parts covers what its parts touch (below); the
            // whole's match is a blend of them, not one more topic.
            let parts = text::clauses(&s.text).len();
            if !with_ctx
                && parts < 2
                && m.score >= cal.topic_threshold
                && !touched.contains(&m.fact)
            {
                touched.push(m.fact.clone());
            }
            out.fact = Some(m);
        }
        if content > 0 {
            touch_topics(&idx, r, &s.text, cal, &mut touched);
        }
        out.aim = Some(aim_of(&out, &vector, cal));
        read.push(out);
    }

    let questionnaire = if questions > MAX_QUESTIONS_PER_MESSAGE {
        Some(Questionnaire::TooManyQuestions { questions })
    } else if touched.len() >= QUESTIONNAIRE_TOPICS {
        Some(Questionnaire::TooManyTopics { facts: touched })
    } else {
        None
    };
    let asked: Vec<&SentenceReading> = read.iter().filter(|s| s.asks).collect();
    let contentless = !asked.is_empty() && asked.iter().all(|s| s.content_words == 0);
    let mut guessed: Vec<String> = Vec::new();
    if let Some(said) = ctx.buyer_words {
        for s in read.iter().filter(|s| s.asks) {
            for w in stems(&s.text) {
                if idx.hidden.contains(&w) && !said.contains(&w) && !guessed.contains(&w) {
                    guessed.push(w);
                }
            }
        }
    }
    let guessing = guessed.len() >= GUESSED_WORDS;
    let (more_to_say, earns) = if questionnaire.is_some() || guessing {
        (None, None)
    } else {
        (
            asked.iter().find_map(|s| s.more_to_say),
            asked
                .iter()
                .filter_map(|s| s.fact.as_ref())
                .filter(|m| m.accepted)
                .max_by(|a, b| a.score.total_cmp(&b.score))
                .cloned()
                .or_else(|| invite::by_opening(scenario, &asked, ctx.revealed, cal))
                .or_else(|| invite::by_aim(scenario, &asked, ctx.revealed, cal)),
        )
    };
    LineReading {
        sentences: read,
        questions,
        questionnaire,
        contentless,
        more_to_say,
        guessed,
        earns,
    }
}
