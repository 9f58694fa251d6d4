//! One round between a seller and a buyer, as a pure state machine.
//!
//! Every change is a [`RoomEvent`] applied by [`Room::apply`]; nothing else mutates a
//! room. [`Room::decide`] checks a client command against the state and returns the
//! events it causes (or why it is refused), [`Room::on_timer`] does the same for the
//! clock, and [`Room::view`] says what each role is told about an event. Replaying the
//! same events rebuilds the same room, which is what the durable store relies on.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::protocol::{
    Brief, Channel, ClientMsg, ErrorCode, HostAction, ParticipantId, Phase, Role, RoomId,
    ScenarioSummary, ServerMsg, MAX_CHAT_CHARS, MAX_COMMENT_CHARS, MAX_NOTES_CHARS,
    MAX_RECAP_CHARS,
};
use crate::scenario::{FactId, Scenario, ScenarioId, Timings};
use crate::scoring::{self, Debrief, Feedback, ObserverNote, Reveal, RoundRecord, TranscriptLine};

/// What a transcript rebuilt from the log shows in place of a line that was shown to the
/// partner but could not be saved: the lines after it keep their indices.
pub const LOST_LINE: &str = "(this line could not be saved)";

/// The most a trainer can add to a phase in one go: an hour covers any workshop.
pub const MAX_EXTEND_SECS: u32 = 60 * 60;

/// Milliseconds since the Unix epoch (see [`crate::clock`]).
pub type Millis = u64;

/// Who sits in a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub participant: ParticipantId,
    pub name: String,
}

/// How a room began: who sits where, in which scenario, on what clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    pub room: RoomId,
    pub scenario: ScenarioId,
    pub seller: Seat,
    pub buyer: Seat,
    pub timings: Timings,
    pub at: Millis,
    #[serde(default)]
    pub channel: Channel,
    #[serde(default)]
    pub observers: Vec<Seat>,
}

/// Everything that can happen to a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RoomEvent {
    /// Boxed: a room keeps every event it applied, and this one, three times the size
    /// of any other, would set the size of them all. Stored exactly as its fields.
    Opened(Box<Opening>),
    PhaseStarted {
        phase: Phase,
        at: Millis,
    },
    Ready {
        role: Role,
        at: Millis,
    },
    Chat {
        from: Role,
        text: String,
        at: Millis,
        /// The line's place in the transcript, as acknowledged. Logs written before it
        /// existed leave it out and lines are numbered in order; with it, a line keeps
        /// its index even if a line before it could not be saved.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<u32>,
    },
    Revealed {
        fact: FactId,
        at: Millis,
    },
    Unrevealed {
        fact: FactId,
        at: Millis,
    },
    Notes {
        role: Role,
        text: String,
        at: Millis,
    },
    RecapSubmitted {
        text: String,
        at: Millis,
    },
    FeedbackSubmitted {
        heard: u8,
        comment: String,
        at: Millis,
    },
    /// The seller's recap as typed so far; it becomes the recap if the phase ends first.
    RecapDrafted {
        text: String,
        at: Millis,
    },
    /// The buyer's rating and comment so far; they become the feedback likewise.
    FeedbackDrafted {
        heard: u8,
        comment: String,
        at: Millis,
    },
    CaptureJudged {
        fact: FactId,
        agree: bool,
        at: Millis,
    },
    Left {
        role: Role,
        at: Millis,
    },
    /// The trainer stopped the clock.
    Paused {
        at: Millis,
    },
    /// The trainer restarted the clock.
    Resumed {
        at: Millis,
    },
    /// The trainer added time to the current phase.
    Extended {
        seconds: u32,
        at: Millis,
    },
    /// An observer's note for this pair's debrief.
    ObserverNoted {
        name: String,
        text: String,
        at: Millis,
    },
    /// A seat is played by the bot buyer (see [`crate::bot`]); follows `Opened`.
    BotSeated {
        role: Role,
        at: Millis,
    },
    /// The server was down for `ms`: the phase gets that time back.
    ClockStopped {
        ms: u64,
        at: Millis,
    },
}

impl RoomEvent {
    /// When the event happened.
    pub fn at(&self) -> Millis {
        match self {
            RoomEvent::Opened(opening) => opening.at,
            RoomEvent::PhaseStarted { at, .. }
            | RoomEvent::Ready { at, .. }
            | RoomEvent::Chat { at, .. }
            | RoomEvent::Revealed { at, .. }
            | RoomEvent::Unrevealed { at, .. }
            | RoomEvent::Notes { at, .. }
            | RoomEvent::RecapSubmitted { at, .. }
            | RoomEvent::FeedbackSubmitted { at, .. }
            | RoomEvent::RecapDrafted { at, .. }
            | RoomEvent::FeedbackDrafted { at, .. }
            | RoomEvent::CaptureJudged { at, .. }
            | RoomEvent::Left { at, .. }
            | RoomEvent::Paused { at }
            | RoomEvent::Resumed { at }
            | RoomEvent::Extended { at, .. }
            | RoomEvent::ObserverNoted { at, .. }
            | RoomEvent::BotSeated { at, .. }
            | RoomEvent::ClockStopped { at, .. } => *at,
        }
    }
}

/// Why a command was refused; becomes an `error` event for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RoomError {
    pub code: ErrorCode,
    pub message: String,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> RoomError {
    RoomError {
        code,
        message: message.into(),
    }
}

/// The state of one round.
#[derive(Debug, Clone)]
pub struct Room {
    pub id: RoomId,
    pub scenario: Arc<Scenario>,
    pub seller: Seat,
    pub buyer: Seat,
    pub timings: Timings,
    pub channel: Channel,
    pub observers: Vec<Seat>,
    pub phase: Phase,
    pub phase_started_at: Millis,
    /// Time added to the current phase by extensions and pauses.
    phase_extra_ms: u64,
    pub paused_at: Option<Millis>,
    /// The last chat line or reveal, for spotting a stuck pair.
    pub last_activity_at: Millis,
    pub observer_notes: Vec<ObserverNote>,
    pub conversation_started_at: Option<Millis>,
    pub conversation_ended_at: Option<Millis>,
    ready: [bool; 2],
    present: [bool; 2],
    pub transcript: Vec<TranscriptLine>,
    pub reveals: Vec<Reveal>,
    pub notes: [String; 2],
    pub recap: Option<String>,
    pub feedback: Option<Feedback>,
    /// What the seller and buyer had typed or chosen but not sent; they count if the
    /// recap phase ends before `recap` or `feedback` arrives.
    pub recap_draft: Option<String>,
    pub feedback_draft: Option<Feedback>,
    pub judgements: HashMap<FactId, bool>,
    /// The role the bot plays, if any.
    pub bot: Option<Role>,
    /// The debrief as last computed: building it reads every line by meaning, and each
    /// event in the debrief is shown to both seats, observers and the console. Emptied
    /// by every event applied. Boxed: every room carries it from its opening, and it
    /// is only filled in the debrief.
    debrief_memo: OnceLock<Box<Debrief>>,
}

fn slot(role: Role) -> usize {
    match role {
        Role::Seller => 0,
        Role::Buyer => 1,
    }
}

fn check_text(text: &str, what: &str, max: usize) -> Result<(), RoomError> {
    if text.trim().is_empty() {
        return Err(refuse(
            ErrorCode::InvalidInput,
            format!("{what} must not be empty"),
        ));
    }
    // A text of at most `max` bytes has at most `max` characters: counting them (a pass
    // over every byte of every chat line) is only needed for longer ones.
    if text.len() <= max {
        return Ok(());
    }
    let n = text.chars().count();
    if n > max {
        return Err(refuse(
            ErrorCode::InvalidInput,
            format!("{what} is {n} characters; the limit is {max}"),
        ));
    }
    Ok(())
}

impl Room {
    /// A room from its `Opened` event; `None` for any other event.
    pub fn open(event: &RoomEvent, scenario: Arc<Scenario>) -> Option<Self> {
        let RoomEvent::Opened(opening) = event else {
            return None;
        };
        let Opening {
            room,
            seller,
            buyer,
            timings,
            at,
            channel,
            observers,
            ..
        } = opening.as_ref();
        Some(Self {
            id: *room,
            scenario,
            seller: seller.clone(),
            buyer: buyer.clone(),
            timings: *timings,
            channel: *channel,
            observers: observers.clone(),
            phase: Phase::Briefing,
            phase_started_at: *at,
            phase_extra_ms: 0,
            paused_at: None,
            last_activity_at: *at,
            observer_notes: Vec::new(),
            conversation_started_at: None,
            conversation_ended_at: None,
            ready: [false; 2],
            present: [true; 2],
            transcript: Vec::new(),
            reveals: Vec::new(),
            notes: [String::new(), String::new()],
            recap: None,
            feedback: None,
            recap_draft: None,
            feedback_draft: None,
            judgements: HashMap::new(),
            bot: None,
            debrief_memo: OnceLock::new(),
        })
    }

    pub fn seat(&self, role: Role) -> &Seat {
        match role {
            Role::Seller => &self.seller,
            Role::Buyer => &self.buyer,
        }
    }

    pub fn role_of(&self, p: ParticipantId) -> Option<Role> {
        if self.seller.participant == p {
            Some(Role::Seller)
        } else if self.buyer.participant == p {
            Some(Role::Buyer)
        } else {
            None
        }
    }

    pub fn is_present(&self, role: Role) -> bool {
        self.present[slot(role)]
    }

    pub fn is_revealed(&self, fact: &FactId) -> bool {
        self.reveals.iter().any(|r| &r.fact == fact)
    }

    /// When the current phase would end if the clock ran on; none in the debrief.
    fn scheduled_end(&self) -> Option<Millis> {
        let secs = match self.phase {
            Phase::Briefing => self.timings.briefing,
            Phase::Conversation => self.timings.conversation,
            Phase::Recap => self.timings.recap,
            Phase::Debrief => return None,
        };
        Some(self.phase_started_at + u64::from(secs) * 1000 + self.phase_extra_ms)
    }

    /// When the current phase ends on the clock; none while paused or in the debrief.
    pub fn deadline(&self) -> Option<Millis> {
        if self.paused_at.is_some() {
            return None;
        }
        self.scheduled_end()
    }

    /// Time left in the phase at `now` (frozen while paused).
    pub fn remaining_ms(&self, now: Millis) -> Option<u64> {
        let end = self.scheduled_end()?;
        Some(end.saturating_sub(self.paused_at.unwrap_or(now)))
    }

    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// The events a trainer's action causes.
    pub fn decide_host(&self, action: HostAction, at: Millis) -> Result<Vec<RoomEvent>, RoomError> {
        if self.phase == Phase::Debrief {
            return Err(refuse(
                ErrorCode::WrongPhase,
                "this pair has finished the round",
            ));
        }
        Ok(match action {
            HostAction::Pause if self.is_paused() => Vec::new(),
            HostAction::Pause => vec![RoomEvent::Paused { at }],
            HostAction::Resume if !self.is_paused() => Vec::new(),
            HostAction::Resume => vec![RoomEvent::Resumed { at }],
            HostAction::Extend { seconds } => {
                if seconds == 0 || seconds > MAX_EXTEND_SECS {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("extend by 1 to {MAX_EXTEND_SECS} seconds, not {seconds}"),
                    ));
                }
                vec![RoomEvent::Extended { seconds, at }]
            }
            HostAction::End => self.next_phase_events(at),
            HostAction::EndRound => {
                // Every phase left, in order, at the same instant: clients and the
                // event log see the same steps a round always takes.
                let order = [
                    Phase::Briefing,
                    Phase::Conversation,
                    Phase::Recap,
                    Phase::Debrief,
                ];
                order
                    .iter()
                    .skip_while(|p| **p != self.phase)
                    .skip(1)
                    .map(|phase| RoomEvent::PhaseStarted { phase: *phase, at })
                    .collect()
            }
        })
    }

    /// An observer's note, checked like any other text.
    pub fn decide_observer_note(
        &self,
        name: &str,
        text: &str,
        at: Millis,
    ) -> Result<Vec<RoomEvent>, RoomError> {
        check_text(text, "an observer note", MAX_NOTES_CHARS)?;
        Ok(vec![RoomEvent::ObserverNoted {
            name: name.to_string(),
            text: text.trim().to_string(),
            at,
        }])
    }

    fn ms_into_conversation(&self, at: Millis) -> u64 {
        self.conversation_started_at
            .map(|s| at.saturating_sub(s))
            .unwrap_or(0)
    }

    fn need_phase(&self, phase: Phase, what: &str) -> Result<(), RoomError> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(refuse(
                ErrorCode::WrongPhase,
                format!(
                    "{what} is only possible during the {phase:?} phase; the round is in {:?}",
                    self.phase
                )
                .to_lowercase(),
            ))
        }
    }

    fn need_role(role: Role, need: Role, what: &str) -> Result<(), RoomError> {
        if role == need {
            Ok(())
        } else {
            Err(refuse(
                ErrorCode::WrongRole,
                format!("only the {need:?} can {what}").to_lowercase(),
            ))
        }
    }

    fn next_phase_events(&self, at: Millis) -> Vec<RoomEvent> {
        let next = match self.phase {
            Phase::Briefing => Phase::Conversation,
            Phase::Conversation => Phase::Recap,
            Phase::Recap => Phase::Debrief,
            Phase::Debrief => return Vec::new(),
        };
        vec![RoomEvent::PhaseStarted { phase: next, at }]
    }

    /// The events a client command causes, or why it is refused. Role checks come
    /// before any lookup so a seller cannot probe for fact ids.
    pub fn decide(
        &self,
        role: Role,
        msg: &ClientMsg,
        at: Millis,
    ) -> Result<Vec<RoomEvent>, RoomError> {
        match msg {
            ClientMsg::Ready => {
                self.need_phase(Phase::Briefing, "getting ready")?;
                if self.ready[slot(role)] {
                    return Ok(Vec::new());
                }
                let mut ev = vec![RoomEvent::Ready { role, at }];
                if self.ready[slot(role.other())] || !self.is_present(role.other()) {
                    ev.push(RoomEvent::PhaseStarted {
                        phase: Phase::Conversation,
                        at,
                    });
                }
                Ok(ev)
            }
            ClientMsg::Chat { text } => {
                self.need_phase(Phase::Conversation, "chatting")?;
                if self.channel == Channel::Spoken {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        "this round is spoken: talk aloud with your partner",
                    ));
                }
                if self.is_paused() {
                    return Err(refuse(
                        ErrorCode::Paused,
                        "the trainer has paused the round; chat opens again when they resume it",
                    ));
                }
                check_text(text, "a chat message", MAX_CHAT_CHARS)?;
                Ok(vec![RoomEvent::Chat {
                    from: role,
                    text: text.trim().to_string(),
                    at,
                    index: Some(self.transcript.len() as u32),
                }])
            }
            ClientMsg::Reveal { fact } => {
                Self::need_role(role, Role::Buyer, "mark a fact revealed")?;
                self.need_phase(Phase::Conversation, "marking a reveal")?;
                let f = self.scenario.fact(fact).ok_or_else(|| {
                    refuse(
                        ErrorCode::NotFound,
                        format!("no fact `{fact}` in this scenario"),
                    )
                })?;
                if self.is_revealed(fact) {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!("`{fact}` is already revealed"),
                    ));
                }
                let missing: Vec<&str> = f
                    .requires
                    .iter()
                    .filter(|r| !self.is_revealed(r))
                    .map(|r| r.0.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!(
                            "`{fact}` comes out only after {}",
                            missing
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                Ok(vec![RoomEvent::Revealed {
                    fact: fact.clone(),
                    at,
                }])
            }
            ClientMsg::Unreveal { fact } => {
                Self::need_role(role, Role::Buyer, "undo a reveal")?;
                self.need_phase(Phase::Conversation, "undoing a reveal")?;
                if !self.is_revealed(fact) {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!("`{fact}` is not revealed"),
                    ));
                }
                if let Some(dependent) = self.reveals.iter().find(|r| {
                    self.scenario
                        .fact(&r.fact)
                        .is_some_and(|f| f.requires.contains(fact))
                }) {
                    return Err(refuse(
                        ErrorCode::WrongState,
                        format!("undo `{}` first: it depends on `{fact}`", dependent.fact),
                    ));
                }
                Ok(vec![RoomEvent::Unrevealed {
                    fact: fact.clone(),
                    at,
                }])
            }
            ClientMsg::Notes { text } => {
                let n = text.chars().count();
                if n > MAX_NOTES_CHARS {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("notes are {n} characters; the limit is {MAX_NOTES_CHARS}"),
                    ));
                }
                Ok(vec![RoomEvent::Notes {
                    role,
                    text: text.clone(),
                    at,
                }])
            }
            ClientMsg::EndConversation => {
                self.need_phase(Phase::Conversation, "ending the conversation")?;
                Ok(self.next_phase_events(at))
            }
            ClientMsg::Recap { text } => {
                Self::need_role(role, Role::Seller, "write the recap")?;
                self.need_phase(Phase::Recap, "writing the recap")?;
                check_text(text, "the recap", MAX_RECAP_CHARS)?;
                let mut ev = vec![RoomEvent::RecapSubmitted {
                    text: text.trim().to_string(),
                    at,
                }];
                if self.feedback.is_some() || !self.is_present(Role::Buyer) {
                    ev.push(RoomEvent::PhaseStarted {
                        phase: Phase::Debrief,
                        at,
                    });
                }
                Ok(ev)
            }
            ClientMsg::Feedback { heard, comment } => {
                Self::need_role(role, Role::Buyer, "say how heard they felt")?;
                self.need_phase(Phase::Recap, "giving feedback")?;
                if !(1..=5).contains(heard) {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("heard must be 1 to 5, not {heard}"),
                    ));
                }
                let n = comment.chars().count();
                if n > MAX_COMMENT_CHARS {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("the comment is {n} characters; the limit is {MAX_COMMENT_CHARS}"),
                    ));
                }
                let mut ev = vec![RoomEvent::FeedbackSubmitted {
                    heard: *heard,
                    comment: comment.trim().to_string(),
                    at,
                }];
                if self.recap.is_some() || !self.is_present(Role::Seller) {
                    ev.push(RoomEvent::PhaseStarted {
                        phase: Phase::Debrief,
                        at,
                    });
                }
                Ok(ev)
            }
            ClientMsg::RecapDraft { text } => {
                Self::need_role(role, Role::Seller, "write the recap")?;
                self.need_phase(Phase::Recap, "writing the recap")?;
                if self.recap.is_some() {
                    return Err(refuse(ErrorCode::WrongState, "the recap is already in"));
                }
                let n = text.chars().count();
                if n > MAX_RECAP_CHARS {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("the recap is {n} characters; the limit is {MAX_RECAP_CHARS}"),
                    ));
                }
                Ok(vec![RoomEvent::RecapDrafted {
                    text: text.trim().to_string(),
                    at,
                }])
            }
            ClientMsg::FeedbackDraft { heard, comment } => {
                Self::need_role(role, Role::Buyer, "say how heard they felt")?;
                self.need_phase(Phase::Recap, "giving feedback")?;
                if self.feedback.is_some() {
                    return Err(refuse(ErrorCode::WrongState, "the feedback is already in"));
                }
                if !(1..=5).contains(heard) {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("heard must be 1 to 5, not {heard}"),
                    ));
                }
                let n = comment.chars().count();
                if n > MAX_COMMENT_CHARS {
                    return Err(refuse(
                        ErrorCode::InvalidInput,
                        format!("the comment is {n} characters; the limit is {MAX_COMMENT_CHARS}"),
                    ));
                }
                Ok(vec![RoomEvent::FeedbackDrafted {
                    heard: *heard,
                    comment: comment.trim().to_string(),
                    at,
                }])
            }
            ClientMsg::JudgeCapture { fact, agree } => {
                Self::need_role(role, Role::Buyer, "judge the recap")?;
                self.need_phase(Phase::Debrief, "judging the recap")?;
                if self.scenario.fact(fact).is_none() {
                    return Err(refuse(
                        ErrorCode::NotFound,
                        format!("no fact `{fact}` in this scenario"),
                    ));
                }
                Ok(vec![RoomEvent::CaptureJudged {
                    fact: fact.clone(),
                    agree: *agree,
                    at,
                }])
            }
            ClientMsg::LeaveRoom => Ok(vec![RoomEvent::Left { role, at }]),
            ClientMsg::ObserverNote { .. } => Err(refuse(
                ErrorCode::WrongRole,
                "only observers write observer notes",
            )),
            ClientMsg::PlanRound { .. }
            | ClientMsg::SetPairs { .. }
            | ClientMsg::StartRound
            | ClientMsg::Pause { .. }
            | ClientMsg::Resume { .. }
            | ClientMsg::Extend { .. }
            | ClientMsg::EndPhase { .. }
            | ClientMsg::EndRound { .. }
            | ClientMsg::AnswerHand { .. }
            | ClientMsg::Broadcast { .. }
            | ClientMsg::Rename { .. }
            | ClientMsg::DeleteSession
            | ClientMsg::Remove { .. } => Err(refuse(
                ErrorCode::WrongRole,
                "only the trainer's console can do that",
            )),
            ClientMsg::Hello { .. }
            | ClientMsg::FindPartner { .. }
            | ClientMsg::CancelWaiting
            | ClientMsg::PractiseWithBot { .. }
            | ClientMsg::AcceptBot
            | ClientMsg::CreatePairLink { .. }
            | ClientMsg::JoinPairLink { .. }
            | ClientMsg::JoinSession { .. }
            | ClientMsg::RaiseHand
            | ClientMsg::LowerHand
            | ClientMsg::CreateSession { .. }
            | ClientMsg::Reconnect { .. }
            | ClientMsg::HostSession { .. } => Err(refuse(
                ErrorCode::WrongState,
                "you are in a room; leave it first",
            )),
        }
    }

    /// The events the clock causes at `now`: the current phase ends if its time is up.
    pub fn on_timer(&self, now: Millis) -> Vec<RoomEvent> {
        match self.deadline() {
            Some(d) if now >= d => self.next_phase_events(d),
            _ => Vec::new(),
        }
    }

    /// Applies one event. The only way a room changes.
    pub fn apply(&mut self, event: &RoomEvent) {
        self.debrief_memo = OnceLock::new();
        match event {
            RoomEvent::Opened(_) => {}
            RoomEvent::PhaseStarted { phase, at } => {
                if self.phase == Phase::Conversation {
                    self.conversation_ended_at = Some(*at);
                }
                self.phase = *phase;
                self.phase_started_at = *at;
                self.phase_extra_ms = 0;
                self.paused_at = None;
                if *phase == Phase::Conversation {
                    self.conversation_started_at = Some(*at);
                }
                if *phase == Phase::Debrief {
                    // The recap phase ended by time or by the trainer: what was typed
                    // or chosen but not sent counts.
                    if self.recap.is_none() {
                        self.recap = self.recap_draft.take();
                    }
                    if self.feedback.is_none() {
                        self.feedback = self.feedback_draft.take();
                    }
                }
            }
            RoomEvent::Ready { role, .. } => self.ready[slot(*role)] = true,
            RoomEvent::Chat {
                from,
                text,
                at,
                index,
            } => {
                self.last_activity_at = *at;
                let at_ms = self.ms_into_conversation(*at);
                // Lines before this one that were shown but never saved (a full disk)
                // keep their places, so every saved line keeps the index it was
                // acknowledged with.
                while index.is_some_and(|i| i as usize > self.transcript.len()) {
                    self.transcript.push(TranscriptLine {
                        index: self.transcript.len() as u32,
                        from: *from,
                        text: LOST_LINE.into(),
                        at_ms,
                    });
                }
                let index = self.transcript.len() as u32;
                push_sparingly(
                    &mut self.transcript,
                    TranscriptLine {
                        index,
                        from: *from,
                        text: text.as_str().into(),
                        at_ms,
                    },
                );
            }
            RoomEvent::Revealed { fact, at } => {
                self.last_activity_at = *at;
                let earned_by = self
                    .transcript
                    .iter()
                    .rev()
                    .find(|l| l.from == Role::Seller)
                    .map(|l| l.index);
                let at_ms = self.ms_into_conversation(*at);
                self.reveals.push(Reveal {
                    fact: fact.clone(),
                    at_ms,
                    earned_by,
                });
            }
            RoomEvent::Unrevealed { fact, .. } => self.reveals.retain(|r| &r.fact != fact),
            RoomEvent::Notes { role, text, .. } => self.notes[slot(*role)] = text.clone(),
            RoomEvent::RecapSubmitted { text, .. } => self.recap = Some(text.clone()),
            RoomEvent::RecapDrafted { text, .. } => {
                self.recap_draft = Some(text.clone()).filter(|t| !t.is_empty());
            }
            RoomEvent::FeedbackDrafted { heard, comment, .. } => {
                self.feedback_draft = Some(Feedback {
                    heard: *heard,
                    comment: comment.clone(),
                });
            }
            RoomEvent::FeedbackSubmitted { heard, comment, .. } => {
                self.feedback = Some(Feedback {
                    heard: *heard,
                    comment: comment.clone(),
                })
            }
            RoomEvent::CaptureJudged { fact, agree, .. } => {
                self.judgements.insert(fact.clone(), *agree);
            }
            RoomEvent::Left { role, .. } => self.present[slot(*role)] = false,
            RoomEvent::BotSeated { role, .. } => self.bot = Some(*role),
            RoomEvent::ClockStopped { ms, .. } => {
                if self.paused_at.is_none() {
                    self.phase_extra_ms += ms;
                }
            }
            RoomEvent::Paused { at } => self.paused_at = Some(*at),
            RoomEvent::Resumed { at } => {
                if let Some(p) = self.paused_at.take() {
                    self.phase_extra_ms += at.saturating_sub(p);
                }
            }
            RoomEvent::Extended { seconds, .. } => {
                self.phase_extra_ms += u64::from(*seconds) * 1000;
            }
            RoomEvent::ObserverNoted { name, text, .. } => self.observer_notes.push(ObserverNote {
                name: name.clone(),
                text: text.clone(),
            }),
        }
    }

    /// The debrief as it stands; only meaningful once the debrief phase has begun.
    pub fn debrief(&self) -> Debrief {
        self.debrief_memo
            .get_or_init(|| Box::new(self.compute_debrief()))
            .as_ref()
            .clone()
    }

    /// Takes a debrief computed elsewhere (off the room's task) for the state this room
    /// is in now; [`Room::debrief`] then returns it without reading anything again.
    pub fn remember_debrief(&mut self, debrief: Debrief) {
        self.debrief_memo = OnceLock::from(Box::new(debrief));
    }

    fn compute_debrief(&self) -> Debrief {
        let conversation_ms = match (self.conversation_started_at, self.conversation_ended_at) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => 0,
        };
        let readings = if self.bot == Some(Role::Buyer) {
            crate::bot::trust_curve(&self.scenario, &self.transcript)
        } else {
            Vec::new()
        };
        let mut debrief = scoring::debrief(RoundRecord {
            scenario: &self.scenario,
            seller: &self.seller.name,
            buyer: &self.buyer.name,
            transcript: &self.transcript,
            reveals: &self.reveals,
            recap: self.recap.as_deref(),
            feedback: self.feedback.as_ref(),
            judgements: &self.judgements,
            conversation_ms,
            readings: &readings,
        });
        debrief.channel = self.channel;
        debrief.observer_notes = self.observer_notes.clone();
        debrief.trust_curve = readings;
        debrief
    }

    /// What `role` is told about `event`, which has just been applied. The seller's
    /// messages are built from public fields only; hidden facts reach the seller only
    /// inside the debrief.
    pub fn view(&self, event: &RoomEvent, role: Role) -> Vec<ServerMsg> {
        match event {
            RoomEvent::Opened(_) => vec![ServerMsg::RoomOpened {
                room: self.id,
                role,
                partner: self.seat(role.other()).name.clone(),
                scenario: ScenarioSummary::from(self.scenario.as_ref()),
                brief: match role {
                    Role::Seller => Brief::seller(&self.scenario),
                    Role::Buyer => Brief::buyer(&self.scenario),
                },
                timings: self.timings,
                channel: self.channel,
            }],
            RoomEvent::PhaseStarted { phase, at } => {
                let mut out = vec![self.phase_msg(*at)];
                if *phase == Phase::Debrief {
                    out.push(ServerMsg::Debrief(Box::new(self.debrief())));
                }
                out
            }
            RoomEvent::Ready { role: who, .. } => {
                if *who == role {
                    Vec::new()
                } else {
                    vec![ServerMsg::PartnerReady]
                }
            }
            RoomEvent::Chat { .. } => self
                .transcript
                .last()
                .map(|l| ServerMsg::Chat {
                    index: l.index,
                    from: l.from,
                    text: l.text.to_string(),
                    at_ms: l.at_ms,
                })
                .into_iter()
                .collect(),
            RoomEvent::Revealed { fact, .. } if role == Role::Buyer => self
                .reveals
                .iter()
                .find(|r| &r.fact == fact)
                .map(|r| ServerMsg::Revealed {
                    fact: r.fact.clone(),
                    at_ms: r.at_ms,
                    earned_by: r.earned_by,
                })
                .into_iter()
                .collect(),
            RoomEvent::Unrevealed { fact, .. } if role == Role::Buyer => {
                vec![ServerMsg::Unrevealed { fact: fact.clone() }]
            }
            RoomEvent::Revealed { .. } | RoomEvent::Unrevealed { .. } => Vec::new(),
            RoomEvent::Notes {
                role: who, text, ..
            } if *who == role => {
                vec![ServerMsg::NotesSaved {
                    length: text.chars().count() as u32,
                }]
            }
            RoomEvent::Notes { .. }
            | RoomEvent::RecapDrafted { .. }
            | RoomEvent::FeedbackDrafted { .. } => Vec::new(),
            RoomEvent::RecapSubmitted { .. } => {
                vec![ServerMsg::PartnerSubmitted { role: Role::Seller }]
            }
            RoomEvent::FeedbackSubmitted { .. } => {
                vec![ServerMsg::PartnerSubmitted { role: Role::Buyer }]
            }
            RoomEvent::CaptureJudged { .. } => {
                vec![ServerMsg::Debrief(Box::new(self.debrief()))]
            }
            RoomEvent::Paused { at }
            | RoomEvent::Resumed { at }
            | RoomEvent::Extended { at, .. }
            | RoomEvent::ClockStopped { at, .. } => vec![self.phase_msg(*at)],
            RoomEvent::ObserverNoted { .. } | RoomEvent::BotSeated { .. } => Vec::new(),
            RoomEvent::Left { role: who, .. } => {
                if *who == role {
                    Vec::new()
                } else {
                    vec![ServerMsg::PartnerLeft {
                        name: self.seat(*who).name.clone(),
                    }]
                }
            }
        }
    }

    /// The phase and the time left at `now`, for a participant catching up.
    pub fn phase_now(&self, now: Millis) -> ServerMsg {
        self.phase_msg(now)
    }

    fn phase_msg(&self, at: Millis) -> ServerMsg {
        ServerMsg::Phase {
            phase: self.phase,
            remaining_ms: self.remaining_ms(at),
            paused: self.is_paused(),
        }
    }

    /// What an observer is told about `event`: the conversation and the clock, and the
    /// hidden story only with the debrief.
    pub fn view_observer(&self, event: &RoomEvent) -> Vec<ServerMsg> {
        match event {
            RoomEvent::Opened(_) => vec![ServerMsg::Observing {
                room: self.id,
                seller: self.seller.name.clone(),
                buyer: self.buyer.name.clone(),
                scenario: ScenarioSummary::from(self.scenario.as_ref()),
                checklist: self.scenario.observer_checklist.clone(),
                channel: self.channel,
            }],
            RoomEvent::PhaseStarted { .. }
            | RoomEvent::Chat { .. }
            | RoomEvent::CaptureJudged { .. }
            | RoomEvent::Paused { .. }
            | RoomEvent::Resumed { .. }
            | RoomEvent::Extended { .. }
            | RoomEvent::ClockStopped { .. } => self.view(event, Role::Seller),
            RoomEvent::Left { role, .. } => vec![ServerMsg::PartnerLeft {
                name: self.seat(*role).name.clone(),
            }],
            RoomEvent::ObserverNoted { text, .. } => vec![ServerMsg::NotesSaved {
                length: text.chars().count() as u32,
            }],
            RoomEvent::Ready { .. }
            | RoomEvent::Revealed { .. }
            | RoomEvent::Unrevealed { .. }
            | RoomEvent::Notes { .. }
            | RoomEvent::RecapDrafted { .. }
            | RoomEvent::FeedbackDrafted { .. }
            | RoomEvent::RecapSubmitted { .. }
            | RoomEvent::FeedbackSubmitted { .. }
            | RoomEvent::BotSeated { .. } => Vec::new(),
        }
    }

    /// Both players have left: nothing more can happen in this room.
    pub fn is_abandoned(&self) -> bool {
        !self.present[0] && !self.present[1]
    }
}

/// A room's transcript and event list grow by this fraction of their length (at least
/// [`MIN_GROWTH`] entries) when full, rather than doubling as `Vec::push` does. They only
/// ever grow, one line at a time, and live as long as the room: doubling leaves up to half
/// of each unused, about 3 KiB per connection after a minute of chat at the bench's
/// realistic pace (65 lines a room: room for 128). A quarter bounds the spare to a fifth
/// for a few more copies, each of a few kilobytes, as the conversation grows.
const GROWTH_DIVISOR: usize = 4;
/// The smallest step, so short lists are not copied at every line.
const MIN_GROWTH: usize = 8;

/// Pushes `item`, growing `list` by a quarter when it is full (see `GROWTH_DIVISOR`).
pub fn push_sparingly<T>(list: &mut Vec<T>, item: T) {
    if list.len() == list.capacity() {
        list.reserve_exact((list.len() / GROWTH_DIVISOR).max(MIN_GROWTH));
    }
    list.push(item);
}

pub mod event_list;

#[cfg(test)]
mod tests;
