//! A facilitated workshop session, owned by one task: its trainees, its host consoles,
//! the round plan, the rooms of each round and their results. Trainees join with a short
//! code; whoever holds the 128-bit host token is the host.
//!
//! Like a room, a session changes only by [`SessionEvent`]s applied to a
//! [`SessionState`]; each event is committed to the event log before it is applied, so a
//! restarted server rebuilds the session from the log.
//!
//! This file holds the task: its commands, its hosts, the log and room reports. Beside
//! it, `workshop/state.rs` is the pure event-sourced state, `workshop/members.rs` admits,
//! renames and removes trainees, `workshop/rounds.rs` plans, opens and steers a round,
//! and `workshop/views.rs` builds what consoles and exports show.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::{mpsc, oneshot};

use crate::clock;
use crate::console::{FailedJoin, LiveFlag, RoundPlan};
use crate::hub::{Hub, Participant};
use crate::pairing;
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, HostAction, ParticipantId, Phase, PlannedPair, RoomId,
    ServerMsg, SessionId,
};
use crate::room::Millis;
use crate::room_task::{LiveSnapshot, RoomCmd, RoomReport};
use crate::scenario::Timings;
use crate::scoring::Debrief;

mod members;
mod rounds;
mod state;
mod views;

pub use state::{HandRecord, MemberRecord, PlanRecord, RoundRecord, SessionEvent, SessionState};
pub use views::{ExportHand, ExportPair, ExportParticipant, ExportRound, SessionExport};

/// Commands queued per session: a room of 60 people joining at once fits comfortably.
pub const SESSION_QUEUE: usize = 1024;
/// How long a trainer's pause, resume, extend or end waits for a busy room's queue
/// (64 commands deep) to take it: long enough for a room catching up on a burst of lines,
/// short enough that the console answers while the trainer is still looking at it.
pub const CONTROL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Titles show in the console header; longer ones are cut.
pub const MAX_TITLE_CHARS: usize = 80;
/// The most trainees one session admits. A workshop is 6-60 people; 200 leaves room for
/// a large event without letting one session swallow the server.
pub const MAX_MEMBERS: usize = 200;
/// Broadcasts are one-liners read on phones.
pub const MAX_BROADCAST_CHARS: usize = 280;
/// Defaults that match common facilitation practice: a few minutes to read, about ten to
/// talk, two to write the recap.
pub const DEFAULT_TIMINGS: Timings = Timings {
    briefing: 180,
    conversation: 600,
    recap: 120,
};
/// A pair in the conversation with nothing said or revealed for this long is flagged.
pub const STUCK_AFTER: Duration = Duration::from_secs(120);
/// How often the session re-checks its rooms for stuck pairs.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Host tokens are 128 random bits, written as 32 hex digits.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing reveals nothing.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The event-log stream of a session; its rooms' streams sit under it.
pub fn stream_of(id: SessionId) -> String {
    format!("session:{}", id.0)
}

/// What a session task hears.
#[derive(Debug)]
pub enum SessionCmd {
    Join {
        who: Arc<Participant>,
    },
    Host {
        who: Arc<Participant>,
        created: bool,
    },
    FromHost {
        who: ParticipantId,
        msg: ClientMsg,
    },
    /// A trainee's message for the session itself (`raise_hand`, `lower_hand`).
    FromMember {
        who: ParticipantId,
        msg: ClientMsg,
    },
    /// A member's or host's connection ended, or came back; with `rebuild`, they need
    /// their whole view again (the server restarted since they last saw it).
    Presence {
        who: ParticipantId,
        rebuild: bool,
    },
    Room {
        room: RoomId,
        report: RoomReport,
    },
    /// Rooms of the latest round that the log shows were never opened: the server
    /// stopped between recording the round's start and opening them. Opened now, as
    /// planned, with fresh clocks.
    OpenUnopened {
        rooms: Vec<RoomId>,
    },
    Export(oneshot::Sender<SessionExport>),
    /// Delete the session and its data; replies when the log no longer holds it.
    Delete(oneshot::Sender<bool>),
    /// Retention: close the session if nothing happened since `before` (the log is
    /// purged separately).
    Expire {
        before: Millis,
    },
}

/// The way into a session's task.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub id: SessionId,
    pub code: String,
    token: Arc<str>,
    tx: mpsc::Sender<SessionCmd>,
}

impl SessionHandle {
    pub fn new(id: SessionId, code: String, token: &str, tx: mpsc::Sender<SessionCmd>) -> Self {
        Self {
            id,
            code,
            token: token.into(),
            tx,
        }
    }

    pub fn token_matches(&self, token: &str) -> bool {
        same_secret(&self.token, token.trim())
    }

    pub async fn send(&self, cmd: SessionCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    pub fn try_send(&self, cmd: SessionCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    pub fn sender(&self) -> mpsc::Sender<SessionCmd> {
        self.tx.clone()
    }

    /// The whole session's record, for exports.
    pub async fn export(&self) -> Option<SessionExport> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(SessionCmd::Export(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Deletes the session's data; false if that failed or the session is gone.
    pub async fn delete(&self) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(SessionCmd::Delete(tx)).await.is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }
}

/// Starts the task of a session whose events are already applied to `state`.
/// `pending` are events to commit first (the `Created` event of a new session).
/// `debriefs` are the finished rooms' debriefs, when the session was rebuilt.
pub fn spawn(
    hub: Arc<Hub>,
    state: SessionState,
    pending: Vec<SessionEvent>,
    tx: mpsc::Sender<SessionCmd>,
    rx: mpsc::Receiver<SessionCmd>,
    debriefs: Vec<(RoomId, Debrief)>,
) {
    let views = debriefs
        .into_iter()
        .map(|(id, d)| {
            (
                id,
                RoomView {
                    live: None,
                    debrief: Some(d),
                },
            )
        })
        .collect();
    let mut session = Session {
        stream: stream_of(state.id),
        state,
        hub,
        self_tx: tx,
        hosts: Vec::new(),
        plan: None,
        views,
        rng: StdRng::from_rng(&mut rand::rng()),
        failed_joins: Vec::new(),
    };
    session.plan = session
        .state
        .planned
        .clone()
        .map(|p| session.plan_from(p, Vec::new()));
    tokio::spawn(session.run(pending, rx));
}

/// What the session knows of a room from its reports.
#[derive(Debug, Default)]
struct RoomView {
    live: Option<LiveSnapshot>,
    debrief: Option<Debrief>,
}

struct Session {
    state: SessionState,
    stream: String,
    hub: Arc<Hub>,
    self_tx: mpsc::Sender<SessionCmd>,
    hosts: Vec<Arc<Participant>>,
    plan: Option<RoundPlan>,
    views: HashMap<RoomId, RoomView>,
    rng: StdRng,
    /// Recent refused joins, newest last, so the console can say who could not get in.
    failed_joins: Vec<FailedJoin>,
}

/// How many refused joins the console lists.
const FAILED_JOINS_KEPT: usize = 10;

type HostResult = Result<(), (ErrorCode, String)>;

fn saving_failed() -> (ErrorCode, String) {
    (
        ErrorCode::Unavailable,
        "the server could not save that; nothing changed, try again".into(),
    )
}

impl Session {
    async fn run(mut self, pending: Vec<SessionEvent>, mut rx: mpsc::Receiver<SessionCmd>) {
        for e in pending {
            if self.commit(e).await.is_err() {
                tracing::error!(session = %self.state.id, "could not save a new session");
            }
        }
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(SessionCmd::Delete(reply)) => {
                        let ok = self.delete().await;
                        let _ = reply.send(ok);
                        if ok {
                            break;
                        }
                    }
                    Some(SessionCmd::Expire { before }) => {
                        if self.state.last_event_at < before && self.idle() {
                            break;
                        }
                    }
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = sweep.tick() => self.sweep(),
            }
        }
        self.hub.session_closed(self.state.id, &self.state.code);
        tracing::info!(session = %self.state.id, "session closed");
    }

    /// Persists `event`, then applies it. Nothing changes if the log refuses it.
    async fn commit(&mut self, event: SessionEvent) -> Result<(), ()> {
        let body = serde_json::to_string(&event).map_err(|_| ())?;
        if let Err(e) = self
            .hub
            .store()
            .append_at(&self.stream, event.at(), body)
            .await
        {
            tracing::error!(session = %self.state.id, error = %e, "session event not saved");
            return Err(());
        }
        self.state.apply(&event);
        Ok(())
    }

    fn idle(&self) -> bool {
        !self.hosts.iter().any(|h| h.outbox.is_connected())
            && !self.state.members.iter().any(|m| self.connected(m))
    }

    fn participant(&self, id: ParticipantId) -> Option<Arc<Participant>> {
        self.hub.participant(id)
    }

    fn connected(&self, m: &MemberRecord) -> bool {
        self.participant(m.participant)
            .is_some_and(|p| p.outbox.is_connected())
    }

    async fn handle(&mut self, cmd: SessionCmd) {
        match cmd {
            SessionCmd::Join { who } => self.join(who).await,
            SessionCmd::Host { who, created } => self.add_host(who, created),
            SessionCmd::OpenUnopened { rooms } => {
                let Some(round) = self.state.rounds.last().cloned() else {
                    return;
                };
                for (pair, room) in round.pairs.iter().zip(&round.rooms) {
                    if rooms.contains(room) {
                        tracing::info!(session = %self.state.id, room = %room, "opening a room the restart found unopened");
                        self.open_room(pair, *room, round.channel, round.timings);
                    }
                }
                self.push_console();
            }
            SessionCmd::FromHost { who, msg } => {
                let Some(host) = self.hosts.iter().find(|h| h.id == who).cloned() else {
                    return;
                };
                if let Err((code, message)) = self.host_action(msg).await {
                    host.error(code, message);
                }
            }
            SessionCmd::FromMember { who, msg } => {
                if let Err((code, message)) = self.member_action(who, msg).await {
                    if let Some(p) = self.participant(who) {
                        p.error(code, message);
                    }
                }
            }
            SessionCmd::Presence { who, rebuild } => {
                self.hosts
                    .retain(|h| h.id != who || h.outbox.is_connected());
                if let Some(host) = self.hosts.iter().find(|h| h.id == who) {
                    if rebuild {
                        host.outbox
                            .send(ServerMsg::Console(Box::new(self.console())));
                    }
                }
                if self.state.member_by_participant(who).is_some() {
                    if rebuild {
                        if let Some(p) = self.participant(who) {
                            p.outbox.send(ServerMsg::SessionJoined {
                                session: self.state.id,
                                title: self.state.title.clone(),
                                code: self.state.code.clone(),
                                name: p.name(),
                            });
                            // A hand still up in their pair's room comes back with the view.
                            let hand = self
                                .state
                                .member_by_participant(who)
                                .and_then(|m| self.state.room_of_member(m.id))
                                .and_then(|room| self.state.raised_hand(room));
                            if let Some(h) = hand {
                                p.outbox.send(ServerMsg::Hand {
                                    raised: true,
                                    by: Some(self.name_of(h.member)),
                                });
                            }
                        }
                    }
                    self.push_console();
                }
            }
            SessionCmd::Room { room, report } => self.room_report(room, report),
            SessionCmd::Export(reply) => {
                let _ = reply.send(self.export());
            }
            SessionCmd::Delete(_) | SessionCmd::Expire { .. } => {}
        }
    }

    fn to_hosts(&self, msg: ServerMsg) {
        for h in &self.hosts {
            h.outbox.send(msg.clone());
        }
    }

    fn push_console(&self) {
        self.to_hosts(ServerMsg::Console(Box::new(self.console())));
    }

    fn own_handle(&self) -> SessionHandle {
        SessionHandle::new(
            self.state.id,
            self.state.code.clone(),
            &self.state.token,
            self.self_tx.clone(),
        )
    }

    fn add_host(&mut self, who: Arc<Participant>, created: bool) {
        if created {
            who.outbox.send(ServerMsg::SessionCreated {
                session: self.state.id,
                title: self.state.title.clone(),
                code: self.state.code.clone(),
                host_token: self.state.token.clone(),
                join_path: format!("/?join={}", self.state.code),
                host_path: format!("/host#{}", self.state.token),
            });
        }
        if !self.hosts.iter().any(|h| h.id == who.id) {
            self.hosts.push(who.clone());
        }
        who.outbox
            .send(ServerMsg::Console(Box::new(self.console())));
    }

    /// Pairs whose scenario someone in them has already played, in words.
    fn scenario_warnings(&self, pairs: &[PlannedPair]) -> Vec<String> {
        pairing::scenario_warnings(
            pairs,
            &self.state.history,
            |p| self.name_of(p),
            |s| {
                self.hub
                    .library()
                    .get(s)
                    .map(|sc| sc.title.clone())
                    .unwrap_or_else(|| s.to_string())
            },
        )
    }

    fn name_of(&self, id: ParticipantId) -> String {
        self.state
            .member(id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "(gone)".into())
    }

    fn round_running(&self) -> bool {
        self.state.rounds.last().is_some_and(|r| {
            r.rooms.iter().any(|id| {
                self.views.get(id).is_none_or(|v| v.debrief.is_none()) && self.hub.has_room(*id)
            })
        })
    }

    async fn host_action(&mut self, msg: ClientMsg) -> HostResult {
        match msg {
            ClientMsg::PlanRound {
                scenario,
                channel,
                timings,
                odd,
            } => {
                let timings = timings.unwrap_or(DEFAULT_TIMINGS);
                self.plan_round(scenario, channel, timings, odd).await
            }
            ClientMsg::SetPairs { pairs } => self.set_pairs(pairs).await,
            ClientMsg::StartRound => self.start_round().await,
            ClientMsg::Pause { room } => self.control(room, HostAction::Pause).await,
            ClientMsg::Resume { room } => self.control(room, HostAction::Resume).await,
            ClientMsg::Extend { room, seconds } => {
                self.control(room, HostAction::Extend { seconds }).await
            }
            ClientMsg::EndPhase { room } => self.control(room, HostAction::End).await,
            ClientMsg::EndRound { room } => self.control(room, HostAction::EndRound).await,
            ClientMsg::AnswerHand { room } => self.answer_hand(room).await,
            ClientMsg::Broadcast { text } => self.broadcast(&text).await,
            ClientMsg::Rename { participant, name } => self.rename(participant, &name).await,
            ClientMsg::Remove { participant } => self.remove(participant).await,
            other => Err((
                ErrorCode::WrongState,
                format!(
                    "`{}` is not a console action",
                    crate::hub::message_type(&other)
                ),
            )),
        }
    }

    async fn broadcast(&mut self, text: &str) -> HostResult {
        let text = text.trim();
        let n = text.chars().count();
        if n == 0 || n > MAX_BROADCAST_CHARS {
            return Err((
                ErrorCode::InvalidInput,
                format!("a broadcast must be 1 to {MAX_BROADCAST_CHARS} characters"),
            ));
        }
        let event = SessionEvent::Broadcast {
            text: text.to_string(),
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        let msg = ServerMsg::Broadcast {
            text: text.to_string(),
        };
        for m in &self.state.members {
            if let Some(p) = self.participant(m.participant) {
                p.outbox.send(msg.clone());
            }
        }
        self.to_hosts(msg);
        Ok(())
    }

    async fn delete(&mut self) -> bool {
        match self.hub.store().delete_streams(&self.stream).await {
            Ok(_) => {
                // Unlisted first, so nobody reaches it once anyone has been told it is gone.
                self.hub.session_closed(self.state.id, &self.state.code);
                for round in &self.state.rounds {
                    for id in &round.rooms {
                        if let Some(room) = self.hub.room(*id) {
                            room.try_send(RoomCmd::Close);
                        }
                    }
                }
                for m in &self.state.members {
                    if let Some(p) = self.participant(m.participant) {
                        p.set_session(None);
                        p.outbox.send(ServerMsg::Removed);
                    }
                }
                for h in &self.hosts {
                    h.set_session(None);
                    h.outbox.send(ServerMsg::SessionDeleted);
                }
                true
            }
            Err(e) => {
                tracing::error!(session = %self.state.id, error = %e, "could not delete session data");
                false
            }
        }
    }

    fn room_report(&mut self, room: RoomId, report: RoomReport) {
        let view = self.views.entry(room).or_default();
        match report {
            RoomReport::Live(snap) => {
                view.live = Some(snap);
                if let Some(card) = self.live_card(room) {
                    self.to_hosts(ServerMsg::Live(Box::new(card)));
                }
            }
            RoomReport::Debrief(d) => {
                let first = view.debrief.is_none();
                view.debrief = Some(*d);
                if let Some(ri) = self.round_of(room) {
                    let results = self.results(ri);
                    self.to_hosts(ServerMsg::RoundResults(Box::new(results)));
                }
                if first {
                    // The pair is back in the lobby: the participants list must stop
                    // saying "Selling" and "Buying".
                    self.push_console();
                }
            }
        }
    }

    fn round_of(&self, room: RoomId) -> Option<usize> {
        self.state
            .rounds
            .iter()
            .rposition(|r| r.rooms.contains(&room))
    }

    fn pair_of(&self, room: RoomId) -> Option<(&RoundRecord, &PlannedPair)> {
        let ri = self.round_of(room)?;
        let round = &self.state.rounds[ri];
        let i = round.rooms.iter().position(|r| *r == room)?;
        Some((round, round.pairs.get(i)?))
    }

    /// Flags pairs that have gone quiet; the room itself cannot notice silence.
    fn sweep(&mut self) {
        let now = clock::now_ms();
        let stuck_ms = STUCK_AFTER.as_millis() as u64;
        let Some(round) = self.state.rounds.last() else {
            return;
        };
        let channel = round.channel;
        let mut changed = Vec::new();
        for id in &round.rooms {
            let Some(live) = self.views.get_mut(id).and_then(|v| v.live.as_mut()) else {
                continue;
            };
            let stuck = live.phase == Phase::Conversation
                && !live.paused
                && channel == Channel::Chat
                && now.saturating_sub(live.last_activity_at) > stuck_ms;
            let flagged = live.flags.contains(&LiveFlag::Stuck);
            if stuck != flagged {
                if stuck {
                    live.flags.push(LiveFlag::Stuck);
                } else {
                    live.flags.retain(|f| *f != LiveFlag::Stuck);
                }
                changed.push(*id);
            }
        }
        for id in changed {
            if let Some(card) = self.live_card(id) {
                self.to_hosts(ServerMsg::Live(Box::new(card)));
            }
        }
    }
}
