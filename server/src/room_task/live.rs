//! What a room tells its workshop session: the figures on the trainer's live card, read
//! off the room after each change and sent only when something shown changed, and the
//! debrief once it begins.

use super::RoomTask;
use crate::behaviour;
use crate::clock;
use crate::console::LiveFlag;
use crate::protocol::{Phase, Role};
use crate::room::Millis;
use crate::scoring::{percent, Debrief};
use crate::workshop::SessionCmd;

/// A seller run longer than this many words without the buyer speaking is flagged live.
/// About a minute of speech at conversational pace.
pub const LONG_MONOLOGUE_WORDS: u32 = 150;

/// Figures the trainer's live card shows, read off the room after each change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSnapshot {
    pub phase: Phase,
    pub remaining_ms: Option<u64>,
    pub paused: bool,
    pub messages: u32,
    pub facts_uncovered: u32,
    pub facts_total: u32,
    pub uncovered_percent: u32,
    pub flags: Vec<LiveFlag>,
    pub seller_connected: bool,
    pub buyer_connected: bool,
    pub last_activity_at: Millis,
    /// When the snapshot was read, so `remaining_ms` can be brought up to date.
    pub taken_at: Millis,
    /// When the phase ends on the clock (none while paused): an extension moves it, and
    /// that is news for the live card even though nothing else changed.
    pub ends_at: Option<Millis>,
}

/// What a room tells its workshop session.
#[derive(Debug)]
pub enum RoomReport {
    Live(LiveSnapshot),
    /// The debrief began, or changed (the buyer judged a recap match).
    Debrief(Box<Debrief>),
}

impl RoomTask {
    fn snapshot(&self) -> LiveSnapshot {
        let total = self.room.scenario.total_weight();
        let uncovered: u32 = self
            .room
            .reveals
            .iter()
            .filter_map(|r| self.room.scenario.fact(&r.fact))
            .map(|f| u32::from(f.weight))
            .sum();
        let (pitched_early, longest_monologue) = behaviour::live(
            &self.room.scenario,
            &self.room.transcript,
            &self.room.reveals,
        );
        let mut flags = Vec::new();
        if pitched_early {
            flags.push(LiveFlag::PitchedBeforePain);
        }
        if longest_monologue > LONG_MONOLOGUE_WORDS {
            flags.push(LiveFlag::LongMonologue);
        }
        let seller_connected = self.room.is_present(Role::Seller)
            && self.away[0].is_none()
            && self.seller.outbox.is_connected();
        let buyer_connected = self.room.is_present(Role::Buyer)
            && self.buyer.as_ref().is_none_or(|b| b.outbox.is_connected());
        if !seller_connected || !buyer_connected {
            flags.push(LiveFlag::Disconnected);
        }
        let now = clock::now_ms();
        LiveSnapshot {
            taken_at: now,
            ends_at: self.room.deadline(),
            phase: self.room.phase,
            remaining_ms: self.room.remaining_ms(now),
            paused: self.room.is_paused(),
            messages: self.room.transcript.len() as u32,
            facts_uncovered: self.room.reveals.len() as u32,
            facts_total: self.room.scenario.facts.len() as u32,
            uncovered_percent: percent(uncovered, total),
            flags,
            seller_connected,
            buyer_connected,
            last_activity_at: self.room.last_activity_at,
        }
    }

    /// Tells the session what changed, if anything it shows did.
    pub(super) async fn report(&mut self, debriefs_before: usize) {
        let Some(reporter) = self.reporter.clone() else {
            return;
        };
        let snap = self.snapshot();
        let changed = self.last_report.as_ref().is_none_or(|last| {
            let mut a = last.clone();
            let mut b = snap.clone();
            // The clock alone moving is not news: consoles count down by themselves.
            (a.remaining_ms, a.taken_at) = (None, 0);
            (b.remaining_ms, b.taken_at) = (None, 0);
            a != b
        });
        if changed {
            self.last_report = Some(snap.clone());
            let _ = reporter
                .send(SessionCmd::Room {
                    room: self.room.id,
                    report: RoomReport::Live(snap),
                })
                .await;
        }
        if self.debrief_reported > debriefs_before {
            let _ = reporter
                .send(SessionCmd::Room {
                    room: self.room.id,
                    report: RoomReport::Debrief(Box::new(self.room.debrief())),
                })
                .await;
        }
    }
}
