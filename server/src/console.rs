//! What the trainer's console is sent: the session lobby, the round plan, a live card per
//! room, and each round's room debrief. Only host connections ever receive these.

use serde::{Deserialize, Serialize};

use crate::protocol::{Channel, OddOneOut, ParticipantId, Phase, PlannedPair, RoomId, SessionId};
use crate::scenario::{FactId, FactKind, ScenarioId, Timings};

/// The whole console, sent when a host takes the seat and after big changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsoleState {
    pub session: SessionId,
    pub title: String,
    pub code: String,
    pub join_path: String,
    pub participants: Vec<Member>,
    /// Rounds started so far.
    pub rounds_started: u32,
    /// The next round's proposed pairs, until it starts.
    pub plan: Option<RoundPlan>,
    /// Live cards of the current round's rooms.
    pub live: Vec<LiveRoom>,
    /// Room debriefs of every round so far, oldest first.
    pub results: Vec<RoundResults>,
    /// Server addresses trainees on the LAN can use, when the server listens beyond localhost.
    pub lan_urls: Vec<String>,
    /// Recent attempts to join that were refused (a name already taken, a full
    /// workshop), oldest first, so the trainer can help.
    #[serde(default)]
    pub failed_joins: Vec<FailedJoin>,
}

/// Someone who tried to join and was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJoin {
    /// The name they tried.
    pub name: String,
    /// What they were told, in words.
    pub reason: String,
    pub at: u64,
}

/// A pair's call for the trainer, shown on its live card until answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaisedHand {
    /// Who raised it.
    pub by: String,
    /// How long ago it went up.
    pub raised_ms_ago: u64,
}

/// A trainee in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: ParticipantId,
    pub name: String,
    pub connected: bool,
    pub status: MemberStatus,
    pub rounds_sold: u32,
    pub rounds_bought: u32,
    pub rounds_observed: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Lobby,
    Selling,
    Buying,
    Observing,
}

/// The proposed pairs for the next round, editable until it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundPlan {
    pub round: u32,
    pub channel: Channel,
    pub timings: Timings,
    pub odd: OddOneOut,
    pub pairs: Vec<PlannedPair>,
    /// Things the trainer may want to change: repeated partners, a role not swapped.
    pub warnings: Vec<String>,
}

/// One room's card in the live view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRoom {
    pub room: RoomId,
    pub round: u32,
    pub scenario: ScenarioId,
    pub channel: Channel,
    pub seller: String,
    pub buyer: String,
    pub observers: Vec<String>,
    pub bot_buyer: bool,
    pub phase: Phase,
    pub remaining_ms: Option<u64>,
    pub paused: bool,
    pub messages: u32,
    pub facts_uncovered: u32,
    pub facts_total: u32,
    /// Weighted uncovered share so far. The trainer sees it; the seller does not.
    pub uncovered_percent: u32,
    pub flags: Vec<LiveFlag>,
    pub seller_connected: bool,
    pub buyer_connected: bool,
    /// Milliseconds since the last chat line or reveal (for spotting a stuck pair).
    pub idle_ms: u64,
    /// The pair called the trainer over and is waiting for an answer (`answer_hand`).
    #[serde(default)]
    pub hand: Option<RaisedHand>,
}

/// Something the trainer may want to notice about a pair as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveFlag {
    /// The seller pitched before any pain or goal was revealed.
    PitchedBeforePain,
    /// The seller's longest run of words without the buyer speaking is long.
    LongMonologue,
    /// Nothing said or revealed for a while in the conversation.
    Stuck,
    /// A player's connection is gone.
    Disconnected,
}

/// A round's room debrief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundResults {
    pub round: u32,
    pub pairs: Vec<PairResult>,
    /// The facts of the round's scenarios, the room's most-missed first.
    pub facts: Vec<FactTally>,
    /// Mean uncovered percent over finished pairs, rounded down.
    pub average_uncovered: Option<u32>,
    /// The same for the previous round, to show the change.
    pub previous_average_uncovered: Option<u32>,
    /// Pairs still playing.
    pub pairs_playing: u32,
}

/// One pair's headline figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResult {
    pub room: RoomId,
    pub scenario: ScenarioId,
    pub seller_id: ParticipantId,
    pub seller: String,
    pub buyer: String,
    pub finished: bool,
    pub uncovered_percent: u32,
    pub facts_uncovered: u32,
    pub facts_total: u32,
    pub captured_percent: u32,
    /// Part of `captured_percent` rests on the reader's match alone, with no buyer
    /// verdict: the console says "matched automatically" beside it.
    #[serde(default)]
    pub captured_automatic: bool,
    pub heard: Option<u8>,
    pub seller_word_share: u32,
    pub questions: u32,
    pub open_share: Option<u32>,
    pub pitched_before_pain: bool,
    pub asked_anything_else: bool,
    /// The seller's uncovered percent minus their last round as seller, if any.
    pub change_from_previous: Option<i32>,
}

/// How many sellers in the round uncovered one fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactTally {
    pub scenario: ScenarioId,
    pub id: FactId,
    pub kind: FactKind,
    pub weight: u8,
    pub text: String,
    pub pairs: u32,
    pub uncovered_by: u32,
    pub captured_by: u32,
}
