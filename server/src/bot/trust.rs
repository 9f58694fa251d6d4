//! The bot's trust, moved message by message by what the reader made of each message.
//! Rises need a message about the buyer's story; drops follow pitching, name-dropping,
//! interrogating and questionnaires. `docs/bot.md` states every number.

use super::Heard;
use crate::scenario::TRUST_MAX;

/// Where trust starts in every scenario: polite but unconvinced. Scenario authors set each
/// fact's `bot.trust` against this (a fact at or below it can come out at once).
pub const START_TRUST: u8 = 35;
/// The most trust one message can add: trust is built over several messages, not won by
/// one sentence stuffed with every good habit.
pub const MAX_RISE_PER_MESSAGE: i32 = 15;
/// Yes/no questions in a row that feel like an interrogation rather than a conversation.
pub const RAPID_FIRE_RUN: u32 = 3;

/// Why trust moved on a message. [`Cause::delta`] is the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Restated, by meaning, something the buyer revealed.
    PlayBack,
    /// A question about where the buyer wants to get to (not a yes/no one).
    GoalQuestion,
    /// Acknowledged how the buyer feels about something they had just told.
    Empathy,
    /// Asked whether there is anything (or something) else.
    AnythingElse,
    /// A real question about the buyer's story: it has a topic, and is one of at most two.
    Question,
    /// Pitched or asked for a demo before any deeper or hidden fact was out.
    EarlyPitch,
    /// Pitched or asked for a demo after the deeper story began to come out.
    LatePitch,
    /// Cited another customer or a famous company.
    NameDrop,
    /// A yes/no question that makes [`RAPID_FIRE_RUN`] or more in a row.
    RapidFire,
    /// More than two questions, or a list of three or more topics, in one message.
    Questionnaire,
}

impl Cause {
    /// The change in trust (0-100) this cause makes.
    pub const fn delta(self) -> i32 {
        match self {
            Cause::PlayBack => 10,
            Cause::GoalQuestion => 6,
            Cause::Empathy => 6,
            Cause::AnythingElse => 6,
            Cause::Question => 4,
            Cause::EarlyPitch => -12,
            Cause::LatePitch => -4,
            Cause::NameDrop => -10,
            Cause::RapidFire => -5,
            Cause::Questionnaire => -6,
        }
    }

    /// Plain words for the debrief.
    pub const fn label(self) -> &'static str {
        match self {
            Cause::PlayBack => "played back what the buyer said",
            Cause::GoalQuestion => "asked about goals",
            Cause::Empathy => "acknowledged how the buyer felt",
            Cause::AnythingElse => "asked whether there was anything else",
            Cause::Question => "asked a real question about the buyer",
            Cause::EarlyPitch => "pitched before the deeper story was out",
            Cause::LatePitch => "pitched",
            Cause::NameDrop => "cited another company",
            Cause::RapidFire => "fired yes/no questions in a row",
            Cause::Questionnaire => "asked a questionnaire",
        }
    }
}

/// The bot's trust and what it remembers to move it.
#[derive(Debug, Clone)]
pub struct TrustTracker {
    trust: u8,
    yes_no_run: u32,
    last_drop: Option<Cause>,
}

impl Default for TrustTracker {
    fn default() -> Self {
        Self {
            trust: START_TRUST,
            yes_no_run: 0,
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

    /// Moves trust for one seller message; `deeper_out` says whether a deeper or hidden
    /// fact was revealed on an earlier message. Returns the causes applied, rises first.
    pub fn hear(&mut self, h: &Heard, deeper_out: bool) -> Vec<Cause> {
        let line = &h.line;
        let mut rises = Vec::new();
        // A message sent before, a questionnaire or a pitch earns no rise.
        if !h.repeated && line.questionnaire.is_none() && !line.guesses() && !h.sells() {
            if h.play_back.is_some() {
                rises.push(Cause::PlayBack);
            }
            if h.about_goal && !h.yes_no {
                rises.push(Cause::GoalQuestion);
            }
            if h.empathy {
                rises.push(Cause::Empathy);
            }
            if line.more_to_say.is_some() {
                rises.push(Cause::AnythingElse);
            }
            if h.about_buyer {
                rises.push(Cause::Question);
            }
        }
        let mut drops = Vec::new();
        if h.sells() {
            drops.push(if deeper_out {
                Cause::LatePitch
            } else {
                Cause::EarlyPitch
            });
        }
        if !h.name_drops.is_empty() {
            drops.push(Cause::NameDrop);
        }
        if line.questionnaire.is_some() {
            drops.push(Cause::Questionnaire);
        }
        if h.yes_no {
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
