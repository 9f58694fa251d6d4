//! The session's people: trainees joining with the code (or refused, and why), what a
//! member may do from their phone (raise a hand, leave), and the trainer renaming or
//! removing them.

use std::sync::Arc;

use crate::clock;
use crate::console::FailedJoin;
use crate::hub::{clean_name, Participant, SessionSeat};
use crate::protocol::{ClientMsg, ErrorCode, ParticipantId, RoomId, ServerMsg};
use crate::room_task::RoomCmd;

use super::{
    saving_failed, HostResult, MemberRecord, Session, SessionEvent, FAILED_JOINS_KEPT, MAX_MEMBERS,
};

impl Session {
    pub(super) async fn join(&mut self, who: Arc<Participant>) {
        let name = who.name();
        let lower = name.to_lowercase();
        let existing = self
            .state
            .members
            .iter()
            .find(|m| m.name.to_lowercase() == lower)
            .cloned();
        let event = match existing {
            Some(m) if m.participant == who.id => None,
            Some(m) if self.connected(&m) => {
                let reason = format!(
                    "Someone called {} is already in this workshop. Add an initial or a surname, e.g. “{} K”.",
                    m.name, name
                );
                self.refuse_join(&who, &name, reason, ErrorCode::InvalidInput);
                return;
            }
            // The same person back on another device: they keep their history.
            Some(m) => Some(SessionEvent::Rejoined {
                member: m.id,
                participant: who.id,
                at: clock::now_ms(),
            }),
            None if self.state.members.len() >= MAX_MEMBERS => {
                let reason = format!("This workshop is full ({MAX_MEMBERS} people).");
                self.refuse_join(&who, &name, reason, ErrorCode::WrongState);
                return;
            }
            None => Some(SessionEvent::Joined {
                member: who.id,
                name: name.clone(),
                at: clock::now_ms(),
            }),
        };
        if let Some(event) = event {
            if self.commit(event).await.is_err() {
                let (code, message) = saving_failed();
                who.error(code, message);
                return;
            }
        }
        who.set_session(Some(SessionSeat::Trainee(self.own_handle())));
        who.outbox.send(ServerMsg::SessionJoined {
            session: self.state.id,
            title: self.state.title.clone(),
            code: self.state.code.clone(),
            name,
        });
        self.push_console();
    }

    /// Tells `who` why they cannot join (a `join_refused`, then the `error`), and lists
    /// the attempt on the console.
    pub(super) fn refuse_join(
        &mut self,
        who: &Participant,
        name: &str,
        reason: String,
        code: ErrorCode,
    ) {
        who.outbox.send(ServerMsg::JoinRefused {
            code: self.state.code.clone(),
            reason: reason.clone(),
        });
        who.error(code, reason.clone());
        self.failed_joins.push(FailedJoin {
            name: name.to_string(),
            reason,
            at: clock::now_ms(),
        });
        if self.failed_joins.len() > FAILED_JOINS_KEPT {
            self.failed_joins.remove(0);
        }
        self.push_console();
    }

    /// A trainee's raised or lowered hand.
    pub(super) async fn member_action(&mut self, who: ParticipantId, msg: ClientMsg) -> HostResult {
        let Some(member) = self.state.member_by_participant(who).map(|m| m.id) else {
            return Err((ErrorCode::WrongState, "you are not in this workshop".into()));
        };
        let room = self
            .state
            .room_of_member(member)
            .filter(|r| self.views.get(r).is_none_or(|v| v.debrief.is_none()))
            .ok_or_else(|| {
                (
                    ErrorCode::WrongState,
                    "you can call the trainer during a round; between rounds, just wave"
                        .to_string(),
                )
            })?;
        let event = match msg {
            ClientMsg::RaiseHand => {
                if self.state.raised_hand(room).is_some() {
                    return Ok(());
                }
                SessionEvent::HandRaised {
                    room,
                    member,
                    at: clock::now_ms(),
                }
            }
            ClientMsg::LowerHand => {
                if self.state.raised_hand(room).is_none() {
                    return Ok(());
                }
                SessionEvent::HandLowered {
                    room,
                    answered: false,
                    at: clock::now_ms(),
                }
            }
            other => {
                return Err((
                    ErrorCode::WrongState,
                    format!(
                        "`{}` is not a workshop message",
                        crate::hub::message_type(&other)
                    ),
                ))
            }
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        self.hand_changed(room);
        Ok(())
    }

    /// Tells the pair (and observers) and the consoles that `room`'s hand went up or down.
    pub(super) fn hand_changed(&self, room: RoomId) {
        let hand = self.state.raised_hand(room);
        let msg = ServerMsg::Hand {
            raised: hand.is_some(),
            by: hand.map(|h| self.name_of(h.member)),
        };
        if let Some((_, pair)) = self.pair_of(room) {
            for m in std::iter::once(pair.seller)
                .chain(pair.buyer)
                .chain(pair.observers.iter().copied())
            {
                if let Some(p) = self
                    .state
                    .member(m)
                    .and_then(|m| self.participant(m.participant))
                {
                    p.outbox.send(msg.clone());
                }
            }
        }
        if let Some(card) = self.live_card(room) {
            self.to_hosts(ServerMsg::Live(Box::new(card)));
        }
    }

    pub(super) async fn answer_hand(&mut self, room: RoomId) -> HostResult {
        if self.state.raised_hand(room).is_none() {
            return Err((
                ErrorCode::NotFound,
                format!("no hand is raised in room {room}"),
            ));
        }
        let event = SessionEvent::HandLowered {
            room,
            answered: true,
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        self.hand_changed(room);
        Ok(())
    }

    pub(super) async fn rename(&mut self, who: ParticipantId, name: &str) -> HostResult {
        let name = clean_name(name).map_err(|e| (ErrorCode::InvalidInput, e))?;
        let lower = name.to_lowercase();
        if self
            .state
            .members
            .iter()
            .any(|m| m.id != who && m.name.to_lowercase() == lower)
        {
            return Err((
                ErrorCode::InvalidInput,
                format!("someone is already called {name}"),
            ));
        }
        let m = self.named_member(who)?;
        let event = SessionEvent::Renamed {
            member: who,
            name: name.clone(),
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        if let Some(p) = self.participant(m.participant) {
            p.set_name(name.clone());
            p.outbox.send(ServerMsg::Renamed { name });
        }
        self.push_console();
        Ok(())
    }

    /// The member the trainer named, or the refusal a stale console gets.
    fn named_member(&self, who: ParticipantId) -> Result<MemberRecord, (ErrorCode, String)> {
        self.state.member(who).cloned().ok_or_else(|| {
            (
                ErrorCode::NotFound,
                format!("participant {who} is not in this workshop"),
            )
        })
    }

    pub(super) async fn remove(&mut self, who: ParticipantId) -> HostResult {
        let m = self.named_member(who)?;
        let event = SessionEvent::Removed {
            member: who,
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        if let Some(p) = self.participant(m.participant) {
            if let Some(room) = p.room() {
                room.try_send(RoomCmd::Client {
                    from: p.id,
                    msg: ClientMsg::LeaveRoom,
                });
                p.set_room(None);
            }
            p.set_observing(None);
            p.set_session(None);
            p.outbox.send(ServerMsg::Removed);
        }
        if let Some(plan) = &mut self.plan {
            plan.pairs
                .retain(|p| p.seller != who && p.buyer != Some(who));
            for p in &mut plan.pairs {
                p.observers.retain(|o| *o != who);
            }
        }
        self.push_console();
        Ok(())
    }
}
