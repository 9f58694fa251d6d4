//! The bot buyer's seat in a room: what it says when the conversation starts, how it
//! answers each seller line (at once, or after its typing delay), its recap feedback, and
//! the reply it is still "typing".

use super::RoomTask;
use crate::bot::{Bot, BotTurn, ReplyDelay};
use crate::clock;
use crate::protocol::{ClientMsg, Phase, Role};
use crate::room::{Millis, Room, RoomEvent};

/// The bot buyer in a room, and the reply it is still "typing".
pub(super) struct BotSeat {
    pub(super) bot: Bot,
    pub(super) delay: ReplyDelay,
    pub(super) pending: Option<(tokio::time::Instant, BotTurn)>,
}

/// The events of the bot saying `turn`: its chat line, then the reveal it makes, so the
/// reveal is earned by the seller line it answers, as a human buyer's would be.
fn bot_says(room: &Room, turn: BotTurn, at: Millis) -> Vec<RoomEvent> {
    let mut events = match room.decide(Role::Buyer, &ClientMsg::Chat { text: turn.reply }, at) {
        Ok(ev) => ev,
        Err(e) => {
            tracing::debug!(room = %room.id, error = %e, "bot reply not said");
            return Vec::new();
        }
    };
    if let Some(fact) = turn.reveal {
        match room.decide(Role::Buyer, &ClientMsg::Reveal { fact }, at) {
            Ok(ev) => events.extend(ev),
            Err(e) => tracing::debug!(room = %room.id, error = %e, "bot reveal refused"),
        }
    }
    events
}

impl RoomTask {
    /// What the bot buyer does after `event`: says the opening line when the conversation
    /// starts, answers each seller line (at once, or after its typing delay), gives its
    /// feedback when the recap starts, and leaves when the seller does.
    pub(super) fn bot_reacts(&mut self, event: &RoomEvent) -> Vec<RoomEvent> {
        let Some(seat) = self.bot.as_mut() else {
            return Vec::new();
        };
        let now = clock::now_ms();
        let decided = match event {
            RoomEvent::PhaseStarted { phase, .. } => {
                // A reply still being typed when the phase ends is never said.
                seat.pending = None;
                let msg = match phase {
                    Phase::Conversation => ClientMsg::Chat {
                        text: seat.bot.opening_line(),
                    },
                    Phase::Recap => {
                        let (heard, comment) = seat.bot.feedback();
                        ClientMsg::Feedback { heard, comment }
                    }
                    Phase::Briefing | Phase::Debrief => return Vec::new(),
                };
                self.room.decide(Role::Buyer, &msg, now)
            }
            RoomEvent::Chat {
                from: Role::Seller,
                text,
                ..
            } => {
                let turn = seat.bot.hear(text);
                let delay = seat.delay.for_reply(&turn.reply);
                if delay.is_zero() {
                    return bot_says(&self.room, turn, now);
                }
                seat.pending = Some((tokio::time::Instant::now() + delay, turn));
                return Vec::new();
            }
            RoomEvent::Left {
                role: Role::Seller, ..
            } if self.room.is_present(Role::Buyer) => Ok(vec![RoomEvent::Left {
                role: Role::Buyer,
                at: now,
            }]),
            _ => return Vec::new(),
        };
        decided.unwrap_or_else(|e| {
            tracing::debug!(room = %self.room.id, error = %e, "bot action refused");
            Vec::new()
        })
    }

    /// When the bot's pending reply is due. A paused round holds it back, as it holds
    /// back everyone's chat; it comes once the trainer resumes.
    pub(super) fn bot_due(&self) -> Option<tokio::time::Instant> {
        if self.room.is_paused() {
            return None;
        }
        self.bot.as_ref()?.pending.as_ref().map(|(at, _)| *at)
    }

    /// Says the bot's pending reply now.
    pub(super) async fn flush_bot(&mut self) {
        let Some((_, turn)) = self.bot.as_mut().and_then(|s| s.pending.take()) else {
            return;
        };
        let events = bot_says(&self.room, turn, clock::now_ms());
        self.commit(events).await;
    }
}
