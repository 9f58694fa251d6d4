//! The task that owns one room: it applies the room's events, tells each seat and
//! observer what they may see, runs the phase clock, and reports live figures to the
//! workshop session the room belongs to (if any).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::behaviour;
use crate::bot::{self, Bot, BotTurn, ReplyDelay};
use crate::clock;
use crate::console::LiveFlag;
use crate::hub::{Hub, Participant};
use crate::protocol::{ClientMsg, HostAction, ParticipantId, Phase, Role, RoomId};
use crate::room::{Millis, Room, RoomEvent};
use crate::scoring::{percent, Debrief};
use crate::workshop::SessionCmd;

/// Commands queued per room. A room's commands come from two people typing; 64 absorbs
/// any burst, and a full queue only makes that room's senders wait.
pub const ROOM_QUEUE: usize = 64;
/// How long a finished room stays open so the buyer can judge the recap and both can
/// reread the debrief.
pub const DEBRIEF_LINGER: Duration = Duration::from_secs(30 * 60);
/// A seller run longer than this many words without the buyer speaking is flagged live.
/// About a minute of speech at conversational pace.
pub const LONG_MONOLOGUE_WORDS: u32 = 150;

/// What a room task hears.
#[derive(Debug)]
pub enum RoomCmd {
    Client {
        from: ParticipantId,
        msg: ClientMsg,
    },
    /// The participant's connection ended.
    Disconnected {
        from: ParticipantId,
    },
    /// The trainer's control, from the workshop session.
    Host(HostAction),
    /// An observer's note.
    ObserverNote {
        from: ParticipantId,
        text: String,
    },
}

/// The way into a room's task.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: RoomId,
    tx: mpsc::Sender<RoomCmd>,
}

impl RoomHandle {
    pub fn new(id: RoomId, tx: mpsc::Sender<RoomCmd>) -> Self {
        Self { id, tx }
    }

    /// Queues a command; false if the room has closed.
    pub async fn send(&self, cmd: RoomCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// Queues a command without waiting; false if the room has closed or is flooded.
    pub fn try_send(&self, cmd: RoomCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }
}

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
}

/// What a room tells its workshop session.
#[derive(Debug)]
pub enum RoomReport {
    Live(LiveSnapshot),
    /// The debrief began, or changed (the buyer judged a recap match).
    Debrief(Box<Debrief>),
}

pub(crate) struct RoomTask {
    pub room: Room,
    pub seller: Arc<Participant>,
    /// None: the bot buyer holds the seat.
    pub buyer: Option<Arc<Participant>>,
    pub observers: Vec<Arc<Participant>>,
    pub hub: Arc<Hub>,
    pub reporter: Option<mpsc::Sender<SessionCmd>>,
    last_report: Option<LiveSnapshot>,
    debrief_reported: usize,
    /// The bot buyer, when no person holds the buyer's seat.
    bot: Option<BotSeat>,
}

/// The bot buyer in a room, and the reply it is still "typing".
struct BotSeat {
    bot: Bot,
    delay: ReplyDelay,
    pending: Option<(tokio::time::Instant, BotTurn)>,
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
    pub fn new(
        room: Room,
        seller: Arc<Participant>,
        buyer: Option<Arc<Participant>>,
        observers: Vec<Arc<Participant>>,
        hub: Arc<Hub>,
        reporter: Option<mpsc::Sender<SessionCmd>>,
    ) -> Self {
        let bot = buyer.is_none().then(|| {
            let settings = hub.bot_settings();
            BotSeat {
                bot: Bot::replayed(
                    room.scenario.clone(),
                    bot::room_seed(settings.seed, room.id),
                    &room.transcript,
                ),
                delay: settings.reply_delay,
                pending: None,
            }
        });
        Self {
            room,
            seller,
            buyer,
            observers,
            hub,
            reporter,
            last_report: None,
            debrief_reported: 0,
            bot,
        }
    }

    fn participant(&self, role: Role) -> Option<&Arc<Participant>> {
        match role {
            Role::Seller => Some(&self.seller),
            Role::Buyer => self.buyer.as_ref(),
        }
    }

    /// Applies events in order, tells each seat and observer what it may know, and lets
    /// the bot buyer (if any) react to each in turn.
    fn commit(&mut self, events: Vec<RoomEvent>) {
        let mut queue: VecDeque<RoomEvent> = events.into();
        while let Some(event) = queue.pop_front() {
            self.room.apply(&event);
            for role in [Role::Seller, Role::Buyer] {
                if !self.room.is_present(role) {
                    continue;
                }
                if let Some(p) = self.participant(role) {
                    for msg in self.room.view(&event, role) {
                        p.outbox.send(msg);
                    }
                }
            }
            if !self.observers.is_empty() {
                let msgs = self.room.view_observer(&event);
                for o in &self.observers {
                    for msg in &msgs {
                        o.outbox.send(msg.clone());
                    }
                }
            }
            if matches!(
                event,
                RoomEvent::PhaseStarted {
                    phase: Phase::Debrief,
                    ..
                } | RoomEvent::CaptureJudged { .. }
            ) {
                self.debrief_reported += 1;
            }
            queue.extend(self.bot_reacts(&event));
        }
    }

    /// What the bot buyer does after `event`: says the opening line when the conversation
    /// starts, answers each seller line (at once, or after its typing delay), gives its
    /// feedback when the recap starts, and leaves when the seller does.
    fn bot_reacts(&mut self, event: &RoomEvent) -> Vec<RoomEvent> {
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

    /// When the bot's pending reply is due.
    fn bot_due(&self) -> Option<tokio::time::Instant> {
        self.bot.as_ref()?.pending.as_ref().map(|(at, _)| *at)
    }

    /// Says the bot's pending reply now.
    fn flush_bot(&mut self) {
        let Some((_, turn)) = self.bot.as_mut().and_then(|s| s.pending.take()) else {
            return;
        };
        let events = bot_says(&self.room, turn, clock::now_ms());
        self.commit(events);
    }

    fn snapshot(&self) -> LiveSnapshot {
        let total = self.room.scenario.total_weight();
        let uncovered: u32 = self
            .room
            .reveals
            .iter()
            .filter_map(|r| self.room.scenario.fact(&r.fact))
            .map(|f| u32::from(f.weight))
            .sum();
        let b = behaviour::analyse(
            &self.room.scenario,
            &self.room.transcript,
            &self.room.reveals,
        );
        let mut flags = Vec::new();
        if b.pitched_before_pain && b.first_pitch.is_some() {
            flags.push(LiveFlag::PitchedBeforePain);
        }
        if b.longest_monologue_words > LONG_MONOLOGUE_WORDS {
            flags.push(LiveFlag::LongMonologue);
        }
        let seller_connected =
            self.room.is_present(Role::Seller) && self.seller.outbox.is_connected();
        let buyer_connected = self.room.is_present(Role::Buyer)
            && self.buyer.as_ref().is_none_or(|b| b.outbox.is_connected());
        if !seller_connected || !buyer_connected {
            flags.push(LiveFlag::Disconnected);
        }
        let now = clock::now_ms();
        LiveSnapshot {
            taken_at: now,
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
    async fn report(&mut self, debriefs_before: usize) {
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

    pub async fn run(mut self, first: Vec<RoomEvent>, mut rx: mpsc::Receiver<RoomCmd>) {
        self.commit(first);
        if self.bot.is_some() && self.room.bot.is_none() {
            // The bot has read its brief: the conversation starts when the seller is ready.
            let at = clock::now_ms();
            self.commit(vec![
                RoomEvent::BotSeated {
                    role: Role::Buyer,
                    at,
                },
                RoomEvent::Ready {
                    role: Role::Buyer,
                    at,
                },
            ]);
        }
        // A seat may have disconnected while the room was being opened.
        for role in [Role::Seller, Role::Buyer] {
            if self
                .participant(role)
                .is_some_and(|p| !p.outbox.is_connected())
            {
                let at = clock::now_ms();
                self.commit(vec![RoomEvent::Left { role, at }]);
            }
        }
        self.report(0).await;
        loop {
            if self.room.is_abandoned() {
                break;
            }
            let wake = match self.room.deadline() {
                Some(d) => clock::instant_at(d),
                None if self.room.phase == Phase::Debrief => {
                    tokio::time::Instant::now() + DEBRIEF_LINGER
                }
                None => tokio::time::Instant::now() + Duration::from_secs(24 * 60 * 60),
            };
            let before = self.debrief_reported;
            let bot_due = self.bot_due();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                _ = tokio::time::sleep_until(wake) => {
                    if self.room.phase == Phase::Debrief {
                        break;
                    }
                    let events = self.room.on_timer(clock::now_ms());
                    self.commit(events);
                }
                _ = tokio::time::sleep_until(bot_due.unwrap_or(wake)), if bot_due.is_some() => {
                    self.flush_bot();
                }
            }
            self.report(before).await;
        }
        let id = self.room.id;
        for p in std::iter::once(&self.seller).chain(self.buyer.iter()) {
            p.clear_room(id);
        }
        for o in &self.observers {
            o.clear_observing(id);
        }
        self.hub.room_closed(id);
        tracing::info!(room = %id, "room closed");
    }

    fn handle(&mut self, cmd: RoomCmd) {
        let now = clock::now_ms();
        match cmd {
            RoomCmd::Client { from, msg } => {
                let Some(role) = self.room.role_of(from) else {
                    return;
                };
                if !self.room.is_present(role) {
                    return;
                }
                // The bot's answer always lands before the seller's next line.
                if role == Role::Seller
                    && matches!(msg, ClientMsg::Chat { .. } | ClientMsg::EndConversation)
                {
                    self.flush_bot();
                }
                match self.room.decide(role, &msg, clock::now_ms()) {
                    Ok(events) => self.commit(events),
                    Err(e) => {
                        if let Some(p) = self.participant(role) {
                            p.error(e.code, e.message);
                        }
                    }
                }
            }
            RoomCmd::Disconnected { from } => {
                if let Some(role) = self.room.role_of(from) {
                    if self.room.is_present(role) {
                        self.commit(vec![RoomEvent::Left { role, at: now }]);
                    }
                }
            }
            RoomCmd::Host(action) => {
                if let Ok(events) = self.room.decide_host(action, now) {
                    self.commit(events);
                }
            }
            RoomCmd::ObserverNote { from, text } => {
                let Some(o) = self.observers.iter().find(|o| o.id == from).cloned() else {
                    return;
                };
                match self.room.decide_observer_note(&o.name(), &text, now) {
                    Ok(events) => self.commit(events),
                    Err(e) => o.error(e.code, e.message),
                }
            }
        }
    }
}
