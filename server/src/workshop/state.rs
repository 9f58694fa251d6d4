//! A session as event-sourced state: every [`SessionEvent`] the log holds, and the
//! [`SessionState`] they fold into. Pure: no tasks, sockets or clocks.

use serde::{Deserialize, Serialize};

use crate::pairing::History;
use crate::protocol::{Channel, OddOneOut, ParticipantId, PlannedPair, RoomId, SessionId};
use crate::room::Millis;
use crate::scenario::Timings;

/// Everything that can happen to a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SessionEvent {
    Created {
        session: SessionId,
        code: String,
        title: String,
        token: String,
        at: Millis,
    },
    /// A trainee joined; `member` is their participant id, stable for the session.
    Joined {
        member: ParticipantId,
        name: String,
        at: Millis,
    },
    /// A member came back on a new identity (another device) by joining with their name.
    Rejoined {
        member: ParticipantId,
        participant: ParticipantId,
        at: Millis,
    },
    Renamed {
        member: ParticipantId,
        name: String,
        at: Millis,
    },
    Removed {
        member: ParticipantId,
        at: Millis,
    },
    /// The trainer planned the next round, or changed its pairs. Kept so that a restart
    /// before the round starts still has the plan the console showed; the warnings are
    /// worked out again from the pairs.
    Planned {
        round: u32,
        channel: Channel,
        timings: Timings,
        odd: OddOneOut,
        pairs: Vec<PlannedPair>,
        at: Millis,
    },
    /// A round began with these pairs (by member) in these rooms (in pair order).
    RoundStarted {
        round: u32,
        channel: Channel,
        timings: Timings,
        pairs: Vec<PlannedPair>,
        rooms: Vec<RoomId>,
        at: Millis,
    },
    Broadcast {
        text: String,
        at: Millis,
    },
    /// A member in `room` called the trainer over.
    HandRaised {
        room: RoomId,
        member: ParticipantId,
        at: Millis,
    },
    /// The raised hand in `room` came down: the trainer answered it (`answered`), or
    /// the member took it back.
    HandLowered {
        room: RoomId,
        answered: bool,
        at: Millis,
    },
}

impl SessionEvent {
    pub fn at(&self) -> Millis {
        match self {
            SessionEvent::Created { at, .. }
            | SessionEvent::Joined { at, .. }
            | SessionEvent::Rejoined { at, .. }
            | SessionEvent::Renamed { at, .. }
            | SessionEvent::Removed { at, .. }
            | SessionEvent::Planned { at, .. }
            | SessionEvent::RoundStarted { at, .. }
            | SessionEvent::Broadcast { at, .. }
            | SessionEvent::HandRaised { at, .. }
            | SessionEvent::HandLowered { at, .. } => *at,
        }
    }
}

/// A trainee as the session remembers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// Stable within the session, even if the trainee comes back on another device.
    pub id: ParticipantId,
    pub name: String,
    /// The participant currently holding this member's seat.
    pub participant: ParticipantId,
    pub sold: u32,
    pub bought: u32,
    pub observed: u32,
}

/// A round as started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRecord {
    pub number: u32,
    pub channel: Channel,
    pub timings: Timings,
    pub started_at: Millis,
    pub pairs: Vec<PlannedPair>,
    pub rooms: Vec<RoomId>,
}

/// A session's persistent state: what its events say.
#[derive(Debug, Clone)]
pub struct SessionState {
    pub id: SessionId,
    pub code: String,
    pub title: String,
    pub token: String,
    pub created_at: Millis,
    pub last_event_at: Millis,
    pub members: Vec<MemberRecord>,
    pub rounds: Vec<RoundRecord>,
    pub history: History,
    /// Every hand raised in the session, oldest first.
    pub hands: Vec<HandRecord>,
    /// The next round's plan, until that round starts.
    pub planned: Option<PlanRecord>,
}

/// A planned round as the log keeps it ([`SessionEvent::Planned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub round: u32,
    pub channel: Channel,
    pub timings: Timings,
    pub odd: OddOneOut,
    pub pairs: Vec<PlannedPair>,
}

/// A pair calling the trainer over, and when the call was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandRecord {
    pub room: RoomId,
    /// The member who raised it.
    pub member: ParticipantId,
    pub raised_at: Millis,
    /// When it came down; none while it is still up.
    pub lowered_at: Option<Millis>,
    /// The trainer answered it (rather than the member taking it back).
    pub answered: bool,
}

impl SessionState {
    /// A session from its `Created` event; none for any other.
    pub fn open(event: &SessionEvent) -> Option<Self> {
        let SessionEvent::Created {
            session,
            code,
            title,
            token,
            at,
        } = event
        else {
            return None;
        };
        Some(Self {
            id: *session,
            code: code.clone(),
            title: title.clone(),
            token: token.clone(),
            created_at: *at,
            last_event_at: *at,
            members: Vec::new(),
            rounds: Vec::new(),
            history: History::default(),
            hands: Vec::new(),
            planned: None,
        })
    }

    pub fn member(&self, id: ParticipantId) -> Option<&MemberRecord> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn member_by_participant(&self, p: ParticipantId) -> Option<&MemberRecord> {
        self.members.iter().find(|m| m.participant == p)
    }

    /// Applies one event. The only way a session's state changes.
    pub fn apply(&mut self, event: &SessionEvent) {
        self.last_event_at = self.last_event_at.max(event.at());
        match event {
            SessionEvent::Created { .. } => {}
            SessionEvent::Joined { member, name, .. } => self.members.push(MemberRecord {
                id: *member,
                name: name.clone(),
                participant: *member,
                sold: 0,
                bought: 0,
                observed: 0,
            }),
            SessionEvent::Rejoined {
                member,
                participant,
                ..
            } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == *member) {
                    m.participant = *participant;
                }
            }
            SessionEvent::Renamed { member, name, .. } => {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == *member) {
                    m.name = name.clone();
                }
            }
            SessionEvent::Removed { member, .. } => self.members.retain(|m| m.id != *member),
            SessionEvent::Planned {
                round,
                channel,
                timings,
                odd,
                pairs,
                ..
            } => {
                self.planned = Some(PlanRecord {
                    round: *round,
                    channel: *channel,
                    timings: *timings,
                    odd: *odd,
                    pairs: pairs.clone(),
                });
            }
            SessionEvent::RoundStarted {
                round,
                channel,
                timings,
                pairs,
                rooms,
                at,
            } => {
                for p in pairs {
                    let mut bump = |id: ParticipantId, f: fn(&mut MemberRecord)| {
                        if let Some(m) = self.members.iter_mut().find(|m| m.id == id) {
                            f(m);
                        }
                    };
                    bump(p.seller, |m| m.sold += 1);
                    if let Some(b) = p.buyer {
                        bump(b, |m| m.bought += 1);
                    }
                    for o in &p.observers {
                        bump(*o, |m| m.observed += 1);
                    }
                }
                self.history.record(pairs);
                self.planned = None;
                self.rounds.push(RoundRecord {
                    number: *round,
                    channel: *channel,
                    timings: *timings,
                    started_at: *at,
                    pairs: pairs.clone(),
                    rooms: rooms.clone(),
                });
            }
            SessionEvent::Broadcast { .. } => {}
            SessionEvent::HandRaised { room, member, at } => {
                if self.raised_hand(*room).is_none() {
                    self.hands.push(HandRecord {
                        room: *room,
                        member: *member,
                        raised_at: *at,
                        lowered_at: None,
                        answered: false,
                    });
                }
            }
            SessionEvent::HandLowered {
                room, answered, at, ..
            } => {
                if let Some(h) = self
                    .hands
                    .iter_mut()
                    .find(|h| h.room == *room && h.lowered_at.is_none())
                {
                    h.lowered_at = Some(*at);
                    h.answered = *answered;
                }
            }
        }
    }

    /// The hand still up in `room`, if any.
    pub fn raised_hand(&self, room: RoomId) -> Option<&HandRecord> {
        self.hands
            .iter()
            .find(|h| h.room == room && h.lowered_at.is_none())
    }

    /// The room of the current round that `member` plays or observes in.
    pub fn room_of_member(&self, member: ParticipantId) -> Option<RoomId> {
        let round = self.rounds.last()?;
        round
            .rooms
            .iter()
            .zip(&round.pairs)
            .find(|(_, p)| {
                p.seller == member || p.buyer == Some(member) || p.observers.contains(&member)
            })
            .map(|(room, _)| *room)
    }
}
