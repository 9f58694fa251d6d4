//! The task that owns one room: it commits the room's events to the event log and then
//! applies them, tells each seat and observer what they may see, runs the phase clock,
//! holds a dropped seat for the grace window, and reports live figures to the workshop
//! session the room belongs to (if any).
//!
//! `room_task/handle.rs` is the way in (commands and the handle), `room_task/live.rs`
//! the live card's figures, `room_task/bot_seat.rs` the bot buyer's seat, and
//! `room_task/queue.rs` the room's bounded command queue.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};

use crate::bot::{self, Bot};
use crate::chat_frame;
use crate::clock;
use crate::hub::{Hub, Participant, SessionInfo};
use crate::meaning::{self, Context};
use crate::outbox::{Attached, Encoded};
use crate::protocol::{ClientMsg, ErrorCode, ParticipantId, Phase, Role, ServerMsg};
use crate::reader;
use crate::room::event_list::EventList;
use crate::room::{Millis, Room, RoomEvent};
use crate::store::{EventId, Pending, StoreError};
use crate::workshop::SessionCmd;

/// Commands queued per room. A room's commands come from two people typing; 64 absorbs
/// any burst, and a full queue only makes that room's senders wait.
pub const ROOM_QUEUE: usize = 64;

mod bot_seat;
mod handle;
mod live;
mod queue;
use bot_seat::BotSeat;
pub use handle::{Queued, RoomCmd, RoomHandle};
pub use live::{LiveSnapshot, RoomReport, LONG_MONOLOGUE_WORDS};
pub use queue::{channel, Receiver, Sender};
/// How long a finished room stays open so the buyer can judge the recap and both can
/// reread the debrief.
pub const DEBRIEF_LINGER: Duration = Duration::from_secs(30 * 60);

pub(crate) struct RoomTask {
    pub room: Room,
    /// The room's stream in the event log, shared with the appends queued to it.
    stream: Arc<str>,
    /// Every event applied so far, to rebuild a participant's view after a restart.
    /// Chat lines take no record of their own: the transcript holds them.
    log: EventList,
    /// When each seat's connection dropped (seller, buyer); none while connected.
    away: [Option<Millis>; 2],
    /// The workshop the room belongs to, to remind a trainee who comes back.
    session: Option<SessionInfo>,
    pub seller: Arc<Participant>,
    /// None: the bot buyer holds the seat.
    pub buyer: Option<Arc<Participant>>,
    pub observers: Vec<Arc<Participant>>,
    pub hub: Arc<Hub>,
    pub reporter: Option<mpsc::Sender<SessionCmd>>,
    last_report: Option<LiveSnapshot>,
    debrief_reported: usize,
    /// The bot buyer, when no person holds the buyer's seat. Boxed: nearly 1 KB, which
    /// every room with a person in the buyer's seat would carry unused.
    bot: Option<Box<BotSeat>>,
    /// Chat lines already shown to the room whose commit is still running, oldest
    /// first. A line's sender gets the echo (the acknowledgement) only once it is saved.
    unsaved: VecDeque<UnsavedLine>,
    /// Per seat (seller, buyer), frames waiting behind that seat's unacknowledged echo,
    /// so each seat still sees the room in transcript order.
    held: [VecDeque<Held>; 2],
    /// Lines relayed before their commit so far, to number them.
    lines_relayed: u64,
}

/// A chat line relayed before its commit finished.
struct UnsavedLine {
    number: u64,
    saved: Pending<EventId>,
}

/// A frame for one seat that must wait for an echo ahead of it.
enum Held {
    Frame(Encoded),
    /// The sender's own line, sent once line `number` is saved.
    Echo {
        number: u64,
        echo: Encoded,
    },
}

impl RoomTask {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        room: Room,
        stream: String,
        seller: Arc<Participant>,
        buyer: Option<Arc<Participant>>,
        observers: Vec<Arc<Participant>>,
        hub: Arc<Hub>,
        reporter: Option<mpsc::Sender<SessionCmd>>,
    ) -> Self {
        let bot = buyer.is_none().then(|| {
            let settings = hub.bot_settings();
            Box::new(BotSeat {
                bot: Bot::replayed(
                    room.scenario.clone(),
                    bot::room_seed(settings.seed, room.id),
                    &room.transcript,
                ),
                delay: settings.reply_delay,
                pending: None,
            })
        });
        Self {
            room,
            stream: stream.into(),
            log: EventList::default(),
            away: [None, None],
            session: None,
            seller,
            buyer,
            observers,
            hub,
            reporter,
            last_report: None,
            debrief_reported: 0,
            bot,
            unsaved: VecDeque::new(),
            held: [VecDeque::new(), VecDeque::new()],
            lines_relayed: 0,
        }
    }

    fn participant(&self, role: Role) -> Option<&Arc<Participant>> {
        match role {
            Role::Seller => Some(&self.seller),
            Role::Buyer => self.buyer.as_ref(),
        }
    }

    pub fn with_session(mut self, session: Option<SessionInfo>) -> Self {
        self.session = session;
        self
    }

    /// Seeds the log with events already applied (a room rebuilt from the event log).
    pub fn with_log(mut self, log: EventList) -> Self {
        self.log = log;
        self
    }

    /// Saves `events`, then applies them in order, tells each seat and observer what it
    /// may know, and lets the bot buyer (if any) react to each in turn. False if the log
    /// refused them: then nothing changed.
    ///
    /// Boxed: awaited from many places in the room's task, and inline it would make
    /// every room's future as large as its largest state for the room's whole life.
    fn commit(
        &mut self,
        events: Vec<RoomEvent>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        Box::pin(self.commit_now(events))
    }

    async fn commit_now(&mut self, events: Vec<RoomEvent>) -> bool {
        let mut queue: VecDeque<RoomEvent> = events.into();
        while !queue.is_empty() {
            let batch: Vec<RoomEvent> = queue.drain(..).collect();
            // Queue every append before awaiting any, so one batch is one commit.
            let mut pending = Vec::with_capacity(batch.len());
            for e in &batch {
                let Ok(body) = serde_json::to_string(e) else {
                    return false;
                };
                pending.push(self.hub.store().append_shared(&self.stream, e.at(), body));
            }
            for p in pending {
                if let Err(e) = p.await {
                    tracing::error!(room = %self.room.id, error = %e, "room event not saved");
                    self.settle_saved_lines();
                    return false;
                }
            }
            // Lines relayed earlier were queued first, so they are saved by now: their
            // echoes go out before anything these events say.
            self.settle_saved_lines();
            if batch.iter().any(|e| {
                matches!(
                    e,
                    RoomEvent::PhaseStarted {
                        phase: Phase::Debrief,
                        ..
                    }
                )
            }) {
                // The debrief reads every line by meaning: have them read off the relay
                // path first, so computing it here finds them ready.
                self.prepare_reading().await;
            }
            for event in batch {
                self.room.apply(&event);
                self.log.push(&event, &self.room);
                if shows_debrief(&event) {
                    // Building the debrief replays the round through the reader (a few
                    // milliseconds to a hundred for a long round): on the blocking pool,
                    // not on the worker thread other rooms share.
                    let room = self.room.clone();
                    if let Ok(debrief) = tokio::task::spawn_blocking(move || room.debrief()).await {
                        self.room.remember_debrief(debrief);
                    }
                }
                self.tell_applied(&event);
                queue.extend(self.bot_reacts(&event));
            }
        }
        true
    }

    /// Has the reader embed, on its own lane, every text the debrief will read: the
    /// seller's lines and the recap.
    async fn prepare_reading(&self) {
        let mut texts: Vec<String> = Vec::new();
        for line in self
            .room
            .transcript
            .iter()
            .filter(|l| l.from == Role::Seller)
        {
            texts.extend(meaning::texts_to_read(&line.text, &Context::default()));
        }
        if let Some(recap) = &self.room.recap {
            texts.extend(meaning::recap_texts(recap));
        }
        let scenario = self.room.scenario.clone();
        let _ = tokio::task::spawn_blocking(move || meaning::index(&scenario)).await;
        reader::shared().prepare(texts).await;
    }

    /// Tells every seat and observer what an event just applied means for them.
    fn tell_applied(&mut self, event: &RoomEvent) {
        if matches!(event, RoomEvent::Chat { .. }) {
            self.show_line(event, None);
            return;
        }
        // The session hears of a debrief before anyone in the room sees it, so a trainer
        // acting on what a phone shows never finds the round still running. Should its
        // queue be full, the report follows after the event, as other reports do.
        if shows_debrief(event) && !self.report_debrief_now() {
            self.debrief_reported += 1;
        }
        for role in [Role::Seller, Role::Buyer] {
            for msg in self.room.view(event, role) {
                if let Some(encoded) = Encoded::new(&msg) {
                    self.tell(role, encoded);
                }
            }
        }
        if !self.observers.is_empty() {
            let msgs = self.room.view_observer(event);
            for o in &self.observers {
                for msg in &msgs {
                    o.outbox.send(msg.clone());
                }
            }
        }
    }

    /// Hands the session the room's debrief without waiting; false when it could not
    /// take it now.
    fn report_debrief_now(&self) -> bool {
        let Some(reporter) = &self.reporter else {
            return true;
        };
        reporter
            .try_send(SessionCmd::Room {
                room: self.room.id,
                report: RoomReport::Debrief(Box::new(self.room.debrief())),
            })
            .is_ok()
    }

    /// Shows a chat line just applied to everyone in the room, serialised once. With
    /// `echo_after`, the sender's own copy waits for that line's commit.
    fn show_line(&mut self, event: &RoomEvent, echo_after: Option<(Role, u64)>) {
        for msg in self.room.view(event, Role::Seller) {
            if let Some(encoded) = Encoded::new(&msg) {
                self.show_frame(encoded, echo_after);
            }
        }
    }

    /// Sends one frame of a chat line to the observers and both seats; with
    /// `echo_after`, the sender's copy waits for that line's commit.
    fn show_frame(&mut self, encoded: Encoded, echo_after: Option<(Role, u64)>) {
        crate::metrics::chat_relayed();
        for o in &self.observers {
            o.outbox.send_encoded(&encoded);
        }
        for role in [Role::Seller, Role::Buyer] {
            match echo_after {
                Some((sender, number)) if sender == role => {
                    if self.room.is_present(role) {
                        self.held[slot(role)].push_back(Held::Echo {
                            number,
                            echo: encoded.clone(),
                        });
                    }
                }
                _ => self.tell(role, encoded.clone()),
            }
        }
    }

    /// Sends a frame to the person in `role`'s seat, behind any echo they still wait for.
    fn tell(&mut self, role: Role, frame: Encoded) {
        if !self.room.is_present(role) {
            return;
        }
        let held = &mut self.held[slot(role)];
        if !held.is_empty() {
            held.push_back(Held::Frame(frame));
        } else if let Some(p) = self.participant(role) {
            p.outbox.send_encoded(&frame);
        }
    }

    /// Shows a person's chat line to the room at once and saves it; the sender's echo
    /// waits for the commit. A line is the one event that changes nothing a later
    /// decision depends on but the transcript, so relaying it first costs no safety:
    /// the log still holds events in the order the room applied them, and what the
    /// sender counts as acknowledged is still saved. If the save fails after all, the
    /// sender is told instead of acknowledged.
    ///
    /// The line's text is escaped for JSON once, for both the log's body and the room's
    /// frame ([`chat_frame`]). Returns the line, for the reader and the bot.
    fn relay_line(&mut self, role: Role, event: RoomEvent) -> Result<RoomEvent, String> {
        let quoted = match &event {
            RoomEvent::Chat { text, .. } => chat_frame::quote(text),
            _ => None,
        };
        let body = match (&event, &quoted) {
            (
                RoomEvent::Chat {
                    from, at, index, ..
                },
                Some(quoted),
            ) => chat_frame::log_body(*from, quoted, *at, *index),
            _ => serde_json::to_string(&event).map_err(|e| e.to_string())?,
        };
        let mut saved = self
            .hub
            .store()
            .append_shared(&self.stream, event.at(), body);
        if let Some(e) = saved.refused() {
            return Err(e.to_string());
        }
        self.lines_relayed += 1;
        let number = self.lines_relayed;
        self.room.apply(&event);
        self.log.push(&event, &self.room);
        let echo_after = Some((role, number));
        // The frame is the transcript's newest line, as `Room::view` shows a chat event.
        let frame = quoted.as_deref().and_then(|quoted| {
            let line = self.room.transcript.last()?;
            Encoded::from_object(chat_frame::message(
                line.index, line.from, quoted, line.at_ms,
            ))
        });
        match frame {
            Some(frame) => self.show_frame(frame, echo_after),
            None => self.show_line(&event, echo_after),
        }
        self.unsaved.push_back(UnsavedLine { number, saved });
        Ok(event)
    }

    /// Line `number` is saved (or failed): its echo, and whatever waited behind it, go
    /// out.
    fn line_saved(&mut self, number: u64, result: Result<EventId, StoreError>) {
        if let Err(e) = result {
            tracing::error!(room = %self.room.id, error = %e, "chat line not saved");
            let refusal = Encoded::new(&ServerMsg::Error {
                code: ErrorCode::Unavailable,
                message: "the server could not save your last line: your partner saw it, \
                          but it may be missing if the server restarts"
                    .into(),
            });
            for held in &mut self.held {
                for h in held.iter_mut() {
                    if matches!(h, Held::Echo { number: n, .. } if *n == number) {
                        if let Some(refusal) = &refusal {
                            *h = Held::Frame(refusal.clone());
                        }
                    }
                }
            }
        }
        for role in [Role::Seller, Role::Buyer] {
            while let Some(front) = self.held[slot(role)].front() {
                let frame = match front {
                    Held::Frame(frame) => frame,
                    Held::Echo { number: n, echo } if *n <= number => echo,
                    Held::Echo { .. } => break,
                };
                if let Some(p) = self.participant(role) {
                    p.outbox.send_encoded(frame);
                }
                self.held[slot(role)].pop_front();
            }
        }
    }

    /// Acknowledges every relayed line whose commit has finished, oldest first.
    fn settle_saved_lines(&mut self) {
        while let Some(line) = self.unsaved.front_mut() {
            let Some(result) = (&mut line.saved).now_or_never() else {
                break;
            };
            let number = line.number;
            self.unsaved.pop_front();
            self.line_saved(number, result);
        }
    }

    /// Everything the room has told `who`'s role so far, then the clock as it stands
    /// now (the replayed phase messages carry the time left back then).
    fn rebuild_view(&self, who: &Participant) -> Vec<ServerMsg> {
        let mut view = Vec::new();
        let Some(first) = self.log.first() else {
            return view;
        };
        let Some(mut replay) = Room::open(first, self.room.scenario.clone()) else {
            return view;
        };
        let role = self.room.role_of(who.id);
        self.log
            .replay(&mut replay, &self.room.transcript, |replay, e| {
                let told = match role {
                    Some(r) => replay.view(e, r),
                    None => replay.view_observer(e),
                };
                // Acknowledgements of notes belong to the moment; the notes themselves
                // come back once, as `notes_restored`, below.
                view.extend(
                    told.into_iter()
                        .filter(|m| !matches!(m, ServerMsg::NotesSaved { .. })),
                );
            });
        view.push(self.room.phase_now(clock::now_ms()));
        if let Some(r) = role {
            let notes = &self.room.notes[slot(r)];
            if !notes.is_empty() {
                view.push(ServerMsg::NotesRestored {
                    text: notes.clone(),
                });
            }
            if self.away[slot(r.other())].is_some() {
                view.push(ServerMsg::PartnerAway {
                    name: self.room.seat(r.other()).name.clone(),
                    grace_ms: self.grace_left(r.other()),
                });
            }
        }
        view
    }

    fn grace_left(&self, role: Role) -> u64 {
        let grace = self.hub.grace().as_millis() as u64;
        self.away[slot(role)]
            .map(|t| (t + grace).saturating_sub(clock::now_ms()))
            .unwrap_or(grace)
    }

    /// When the first held seat is released.
    fn grace_due(&self) -> Option<tokio::time::Instant> {
        let grace = self.hub.grace().as_millis() as u64;
        self.away
            .iter()
            .flatten()
            .min()
            .map(|t| clock::instant_at(t + grace))
    }

    /// Releases seats whose grace window has passed: their partner is told they left.
    async fn release_expired_seats(&mut self) {
        let grace = self.hub.grace().as_millis() as u64;
        let now = clock::now_ms();
        for role in [Role::Seller, Role::Buyer] {
            if self.away[slot(role)].is_some_and(|t| t + grace <= now) {
                self.away[slot(role)] = None;
                if self.room.is_present(role) {
                    self.commit(vec![RoomEvent::Left { role, at: now }]).await;
                }
                if let Some(p) = self.participant(role) {
                    p.clear_room(self.room.id);
                }
            }
        }
    }

    fn seat_away(&mut self, role: Role, since: Millis) {
        self.away[slot(role)] = Some(since);
        if !self.room.is_present(role.other()) {
            return;
        }
        if let Some(other) = self.participant(role.other()) {
            other.outbox.send(ServerMsg::PartnerAway {
                name: self.room.seat(role).name.clone(),
                grace_ms: self.grace_left(role),
            });
        }
    }

    /// Has a seller's line read by meaning off the relay path as it arrives: a bot reads
    /// it at once (so its room waits for the reading, on the reader's own lane); other
    /// rooms read it in the background, so the debrief later finds it ready.
    async fn read_ahead(&self, role: Role, line: &RoomEvent) {
        let RoomEvent::Chat { text, .. } = line else {
            return;
        };
        if role != Role::Seller {
            return;
        }
        let reader = reader::shared().clone();
        match &self.bot {
            Some(seat) => {
                // The scenario's examples are embedded once, off this task, before its
                // first line is read.
                let scenario = seat.bot.scenario().clone();
                let _ = tokio::task::spawn_blocking(move || meaning::index(&scenario)).await;
                reader.prepare(seat.bot.texts_to_read(text)).await
            }
            None if reader.can_read_ahead() => {
                reader.read_ahead(meaning::texts_to_read(text, &Context::default()))
            }
            None => {}
        }
    }

    /// The room's life. Takes the task boxed: an `async fn`'s arguments keep their own
    /// place in its future beside the locals they move into, so a room task taken by
    /// value would take its 2.7 KB twice in every room's future (6.1 KB instead of 0.8
    /// KB plus the box).
    pub async fn run(mut self: Box<Self>, first: Vec<RoomEvent>, mut rx: Receiver<RoomCmd>) {
        // Stalls before this room existed are not its business.
        let mut stalls = next_stall(clock::stall_updates());
        let mut stalls_seen = clock::stalled_ms();
        if !self.commit(first).await && self.log.is_empty() {
            // The room could not even be recorded: tell the seats and give up on it.
            for p in std::iter::once(&self.seller).chain(self.buyer.iter()) {
                p.error(
                    ErrorCode::Unavailable,
                    "the server could not save the new room; try again",
                );
                p.clear_room(self.room.id);
            }
            self.hub.room_closed(self.room.id);
            return;
        }
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
            ])
            .await;
        }
        // A seat may be without a connection already (dropped while the room opened, or
        // the room was rebuilt after a restart): hold it for the grace window.
        let now = clock::now_ms();
        for role in [Role::Seller, Role::Buyer] {
            if self.room.is_present(role)
                && self
                    .participant(role)
                    .is_some_and(|p| !p.outbox.is_connected())
            {
                let since = self
                    .participant(role)
                    .and_then(|p| p.away_since())
                    .unwrap_or(now);
                self.seat_away(role, since);
            }
        }
        // A room rebuilt after a restart may be in its debrief already: have its lines read
        // before the debrief is shown again. Other rooms read theirs when they get there.
        if self.room.phase == Phase::Debrief {
            self.prepare_reading().await;
        }
        Box::pin(self.report(0)).await;
        // One timer for the room's life, moved only when its deadline moves: a new one per
        // command would enter and leave the runtime's timer wheel for every chat line.
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        // The bot's and the grace window's timers too: `select!` builds every branch's
        // future on each pass, even a disabled one, so a timer made in the branch was
        // made and dropped twice for every chat line.
        let bot_timer = tokio::time::sleep_until(tokio::time::Instant::now());
        let grace_timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer, bot_timer, grace_timer);
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
            if timer.deadline() != wake {
                timer.as_mut().reset(wake);
            }
            let before = self.debrief_reported;
            let bot_due = self.bot_due();
            let grace_due = self.grace_due();
            if let Some(due) = bot_due.filter(|due| *due != bot_timer.deadline()) {
                bot_timer.as_mut().reset(due);
            }
            if let Some(due) = grace_due.filter(|due| *due != grace_timer.deadline()) {
                grace_timer.as_mut().reset(due);
            }
            // In this order, not a random one: a pass is nearly always woken by a
            // command or a saved line, and polling the timers and the stall watch
            // before finding it (half of them on average) cost a few hundred
            // instructions a chat line. Nothing waits long behind a command: a room's
            // commands are a few a second, each handled before the next pass.
            tokio::select! {
                biased;
                cmd = rx.recv() => match cmd {
                    Some(RoomCmd::Close) | None => break,
                    Some(cmd) => Box::pin(self.handle(cmd)).await,
                },
                saved = oldest_line_saved(&mut self.unsaved), if !self.unsaved.is_empty() => {
                    if let Some(line) = self.unsaved.pop_front() {
                        self.line_saved(line.number, saved);
                    }
                }
                _ = &mut timer => {
                    if self.room.phase == Phase::Debrief {
                        break;
                    }
                    // A timer that fires late because the process did not run must not
                    // end the phase with time the people never had.
                    Box::pin(self.give_back_stall(&mut stalls_seen)).await;
                    let events = self.room.on_timer(clock::now_ms());
                    if !self.commit(events).await {
                        // The log refused the phase change; try again shortly.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                _ = &mut bot_timer, if bot_due.is_some() => {
                    Box::pin(self.flush_bot()).await;
                }
                _ = &mut grace_timer, if grace_due.is_some() => {
                    Box::pin(self.release_expired_seats()).await;
                }
                updates = &mut stalls => {
                    stalls = next_stall(updates);
                    Box::pin(self.give_back_stall(&mut stalls_seen)).await;
                }
            }
            // Only a workshop's room reports; boxing the future first would allocate
            // twice for every chat line (the command, then its commit) for nothing.
            if self.reporter.is_some() {
                Box::pin(self.report(before)).await;
            }
        }
        while let Some(line) = self.unsaved.pop_front() {
            let saved = line.saved.await;
            self.line_saved(line.number, saved);
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

    /// Gives a running phase the time the process spent stalled since `seen` (see
    /// [`clock::stalled_ms`]), as a [`RoomEvent::ClockStopped`] everyone is shown.
    async fn give_back_stall(&mut self, seen: &mut u64) {
        let stalled = clock::stalled_ms();
        if stalled <= *seen {
            return;
        }
        let ms = stalled - *seen;
        *seen = stalled;
        if self.room.phase != Phase::Debrief && !self.room.is_paused() {
            let at = clock::now_ms();
            self.commit(vec![RoomEvent::ClockStopped { ms, at }]).await;
        }
    }

    async fn handle(&mut self, cmd: RoomCmd) {
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
                    self.flush_bot().await;
                }
                if let ClientMsg::Recap { text } = &msg {
                    // Read the recap while the buyer finishes; the debrief then finds it ready.
                    reader::shared().read_ahead(meaning::recap_texts(text));
                }
                let result = self.room.decide(role, &msg, clock::now_ms());
                let refusal = match result {
                    Ok(mut events)
                        if events.len() == 1 && matches!(events[0], RoomEvent::Chat { .. }) =>
                    {
                        let line = events.remove(0);
                        match self.relay_line(role, line) {
                            Ok(line) => {
                                self.read_ahead(role, &line).await;
                                let reactions = self.bot_reacts(&line);
                                if !reactions.is_empty() {
                                    self.commit(reactions).await;
                                }
                                None
                            }
                            Err(e) => {
                                tracing::error!(room = %self.room.id, error = %e, "chat line refused by the log");
                                Some((
                                    ErrorCode::Unavailable,
                                    "the server could not save that; nothing changed, try again"
                                        .to_string(),
                                ))
                            }
                        }
                    }
                    Ok(events) => (!self.commit(events).await).then(|| {
                        (
                            ErrorCode::Unavailable,
                            "the server could not save that; nothing changed, try again"
                                .to_string(),
                        )
                    }),
                    Err(e) => Some((e.code, e.message)),
                };
                if let (Some((code, message)), Some(p)) = (refusal, self.participant(role)) {
                    p.error(code, message);
                }
            }
            RoomCmd::Disconnected { from } => {
                if let Some(role) = self.room.role_of(from) {
                    if self.room.is_present(role) && self.away[slot(role)].is_none() {
                        self.seat_away(role, now);
                    }
                }
            }
            RoomCmd::Reconnected { from } => self.back(from),
            RoomCmd::Rejoin {
                from,
                conn,
                last_seq,
                attached,
            } => {
                let who = match self.room.role_of(from) {
                    Some(r) => self.participant(r).cloned(),
                    None => self.observers.iter().find(|o| o.id == from).cloned(),
                };
                let Some(who) = who else {
                    return;
                };
                who.outbox.attach_then(conn, last_seq, |attached| {
                    let mut msgs = vec![ServerMsg::Reconnected {
                        you: who.id,
                        name: who.name(),
                        replayed: attached == Attached::Replayed,
                    }];
                    if attached == Attached::Rebuild {
                        if let Some(s) = &self.session {
                            msgs.push(ServerMsg::SessionJoined {
                                session: s.id,
                                title: s.title.clone(),
                                code: s.code.clone(),
                                name: who.name(),
                            });
                        }
                        msgs.extend(self.rebuild_view(&who));
                    }
                    msgs
                });
                self.back(from);
                let _ = attached.send(());
            }
            RoomCmd::Host(action) => {
                if let Ok(events) = self.room.decide_host(action, now) {
                    self.commit(events).await;
                }
            }
            RoomCmd::ObserverNote { from, text } => {
                let Some(o) = self.observers.iter().find(|o| o.id == from).cloned() else {
                    return;
                };
                match self.room.decide_observer_note(&o.name(), &text, now) {
                    Ok(events) => {
                        self.commit(events).await;
                    }
                    Err(e) => o.error(e.code, e.message),
                }
            }
            RoomCmd::Close => {}
        }
    }
}

impl RoomTask {
    /// A held seat is taken again: the partner is told.
    fn back(&mut self, from: ParticipantId) {
        let Some(r) = self.room.role_of(from) else {
            return;
        };
        let was_away = self.away[slot(r)].take().is_some();
        if was_away && self.room.is_present(r.other()) {
            if let Some(other) = self.participant(r.other()) {
                other.outbox.send(ServerMsg::PartnerBack {
                    name: self.room.seat(r).name.clone(),
                });
            }
        }
    }
}

/// Resolves when the oldest relayed line's commit is done (never, if there is none).
async fn oldest_line_saved(unsaved: &mut VecDeque<UnsavedLine>) -> Result<EventId, StoreError> {
    match unsaved.front_mut() {
        Some(line) => (&mut line.saved).await,
        None => std::future::pending().await,
    }
}

/// Whether the seats are shown the debrief (again) for this event.
fn shows_debrief(event: &RoomEvent) -> bool {
    matches!(
        event,
        RoomEvent::PhaseStarted {
            phase: Phase::Debrief,
            ..
        } | RoomEvent::CaptureJudged { .. }
    )
}

fn slot(role: Role) -> usize {
    match role {
        Role::Seller => 0,
        Role::Buyer => 1,
    }
}

/// The wire name of an error code, for metrics labels.
pub fn error_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadMessage => "bad_message",
        ErrorCode::UnsupportedProtocol => "unsupported_protocol",
        ErrorCode::NotIntroduced => "not_introduced",
        ErrorCode::InvalidInput => "invalid_input",
        ErrorCode::WrongPhase => "wrong_phase",
        ErrorCode::WrongRole => "wrong_role",
        ErrorCode::WrongState => "wrong_state",
        ErrorCode::NotFound => "not_found",
        ErrorCode::TooLarge => "too_large",
        ErrorCode::RateLimited => "rate_limited",
        ErrorCode::ReconnectFailed => "reconnect_failed",
        ErrorCode::Unavailable => "unavailable",
        ErrorCode::Paused => "paused",
    }
}

/// Waits for the next stall found ([`clock::stall_updates`]) and hands the receiver back.
/// Kept across the room loop's passes: a `changed()` made in `select!` joined the watch's
/// waiters and left them again on every pass, twice for every chat line. The sender
/// lives as long as the process; were it gone, this waits forever rather than spinning.
fn next_stall(
    mut updates: watch::Receiver<u64>,
) -> Pin<Box<dyn Future<Output = watch::Receiver<u64>> + Send>> {
    Box::pin(async move {
        if updates.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        updates
    })
}
