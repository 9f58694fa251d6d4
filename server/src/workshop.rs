//! A facilitated workshop session, owned by one task: its trainees, its host consoles,
//! the round plan, the rooms of each round and their results. Trainees join with a short
//! code; whoever holds the 128-bit host token is the host.
//!
//! Like a room, a session changes only by [`SessionEvent`]s applied to a
//! [`SessionState`]; each event is committed to the event log before it is applied, so a
//! restarted server rebuilds the session from the log.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::clock;
use crate::console::{
    ConsoleState, FactTally, FailedJoin, LiveFlag, LiveRoom, Member, MemberStatus, PairResult,
    RaisedHand, RoundPlan, RoundResults,
};
use crate::hub::{clean_name, Hub, Participant, RoomSpec, SessionSeat};
use crate::pairing::{self, History};
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, HostAction, OddOneOut, ParticipantId, Phase, PlannedPair,
    RoomId, ServerMsg, SessionId,
};
use crate::room::Millis;
use crate::room_task::{LiveSnapshot, Queued, RoomCmd, RoomReport};
use crate::scenario::{ScenarioId, Timings};
use crate::scoring::Debrief;

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

    async fn join(&mut self, who: Arc<Participant>) {
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
    fn refuse_join(&mut self, who: &Participant, name: &str, reason: String, code: ErrorCode) {
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
    async fn member_action(&mut self, who: ParticipantId, msg: ClientMsg) -> HostResult {
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
    fn hand_changed(&self, room: RoomId) {
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

    async fn answer_hand(&mut self, room: RoomId) -> HostResult {
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

    fn check_timings(t: &Timings) -> HostResult {
        for (name, secs) in [
            ("briefing", t.briefing),
            ("conversation", t.conversation),
            ("recap", t.recap),
        ] {
            if secs == 0 || secs > crate::scenario::MAX_PHASE_SECS {
                return Err((
                    ErrorCode::InvalidInput,
                    format!(
                        "the {name} must last 1 to {} seconds",
                        crate::scenario::MAX_PHASE_SECS
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn plan_round(
        &mut self,
        scenario: Option<ScenarioId>,
        channel: Channel,
        timings: Timings,
        odd: OddOneOut,
    ) -> HostResult {
        if self.round_running() {
            return Err((
                ErrorCode::WrongState,
                "a round is still running; end it before planning the next".into(),
            ));
        }
        Self::check_timings(&timings)?;
        if let Some(s) = &scenario {
            if self.hub.library().get(s).is_none() {
                return Err((ErrorCode::NotFound, format!("no scenario `{s}`")));
            }
        }
        let present: Vec<ParticipantId> = self
            .state
            .members
            .iter()
            .filter(|m| self.connected(m))
            .map(|m| m.id)
            .collect();
        let all: Vec<ScenarioId> = self
            .hub
            .library()
            .all()
            .iter()
            .map(|s| s.id.clone())
            .collect();
        let plan = pairing::plan(
            &present,
            &self.state.history,
            odd,
            scenario.as_ref(),
            &all,
            &mut self.rng,
        )
        .map_err(|e| (ErrorCode::WrongState, e.to_string()))?;
        let record = PlanRecord {
            round: self.state.rounds.len() as u32 + 1,
            channel,
            timings,
            odd,
            pairs: plan.pairs,
        };
        self.keep_plan(record, Vec::new()).await
    }

    /// Saves `record` as the next round's plan, then shows it with its warnings
    /// (`more` after the ones the pairs themselves raise).
    async fn keep_plan(&mut self, record: PlanRecord, more: Vec<String>) -> HostResult {
        let event = SessionEvent::Planned {
            round: record.round,
            channel: record.channel,
            timings: record.timings,
            odd: record.odd,
            pairs: record.pairs.clone(),
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        self.plan = Some(self.plan_from(record, more));
        self.push_console();
        Ok(())
    }

    /// The console's plan for `record`: repeated partners, roles not swapped and
    /// scenarios that do not suit, then `more`.
    fn plan_from(&self, record: PlanRecord, more: Vec<String>) -> RoundPlan {
        let mut warnings =
            pairing::warnings(&record.pairs, &self.state.history, |p| self.name_of(p));
        warnings.extend(self.scenario_warnings(&record.pairs));
        warnings.extend(more);
        RoundPlan {
            round: record.round,
            channel: record.channel,
            timings: record.timings,
            odd: record.odd,
            pairs: record.pairs,
            warnings,
        }
    }

    async fn set_pairs(&mut self, pairs: Vec<PlannedPair>) -> HostResult {
        let Some(plan) = &self.plan else {
            return Err((ErrorCode::WrongState, "plan a round first".into()));
        };
        let mut seen = HashSet::new();
        for p in &pairs {
            if self.hub.library().get(&p.scenario).is_none() {
                return Err((ErrorCode::NotFound, format!("no scenario `{}`", p.scenario)));
            }
            for who in std::iter::once(p.seller)
                .chain(p.buyer)
                .chain(p.observers.iter().copied())
            {
                if self.state.member(who).is_none() {
                    return Err((
                        ErrorCode::NotFound,
                        format!("participant {who} is not in this workshop"),
                    ));
                }
                if !seen.insert(who) {
                    return Err((
                        ErrorCode::InvalidInput,
                        format!("{} is placed twice", self.name_of(who)),
                    ));
                }
            }
        }
        let sitting_out = self
            .state
            .members
            .iter()
            .filter(|m| self.connected(m) && !seen.contains(&m.id))
            .map(|m| format!("{} sits this round out", m.name))
            .collect();
        let record = PlanRecord {
            round: plan.round,
            channel: plan.channel,
            timings: plan.timings,
            odd: plan.odd,
            pairs,
        };
        self.keep_plan(record, sitting_out).await
    }

    async fn start_round(&mut self) -> HostResult {
        if self.round_running() {
            return Err((ErrorCode::WrongState, "a round is already running".into()));
        }
        let Some(plan) = self.plan.clone() else {
            return Err((ErrorCode::WrongState, "plan a round first".into()));
        };
        if plan.pairs.is_empty() {
            return Err((ErrorCode::WrongState, "the plan has no pairs".into()));
        }
        let pairs: Vec<PlannedPair> = plan
            .pairs
            .iter()
            .filter(|p| {
                self.hub.library().get(&p.scenario).is_some()
                    && std::iter::once(p.seller)
                        .chain(p.buyer)
                        .all(|m| self.state.member(m).is_some())
            })
            .cloned()
            .collect();
        let rooms: Vec<RoomId> = pairs.iter().map(|_| RoomId(self.hub.next_id())).collect();
        let number = self.state.rounds.len() as u32 + 1;
        let event = SessionEvent::RoundStarted {
            round: number,
            channel: plan.channel,
            timings: plan.timings,
            pairs: pairs.clone(),
            rooms: rooms.clone(),
            at: clock::now_ms(),
        };
        self.commit(event).await.map_err(|_| saving_failed())?;
        self.plan = None;
        for (pair, room) in pairs.iter().zip(&rooms) {
            self.open_room(pair, *room, plan.channel, plan.timings);
        }
        tracing::info!(session = %self.state.id, round = number, "round started");
        self.push_console();
        Ok(())
    }

    /// Seats a planned pair in room `id`, moving anyone still in last round's room.
    fn open_room(&mut self, pair: &PlannedPair, id: RoomId, channel: Channel, timings: Timings) {
        let Some(scenario) = self.hub.library().get(&pair.scenario).cloned() else {
            return;
        };
        let find = |m: ParticipantId| {
            self.state
                .member(m)
                .and_then(|m| self.participant(m.participant))
        };
        let Some(seller) = find(pair.seller) else {
            return;
        };
        let buyer = pair.buyer.and_then(find);
        if pair.buyer.is_some() && buyer.is_none() {
            return;
        }
        let observers: Vec<Arc<Participant>> =
            pair.observers.iter().filter_map(|o| find(*o)).collect();
        for p in std::iter::once(&seller)
            .chain(buyer.iter())
            .chain(observers.iter())
        {
            if let Some(old) = p.room() {
                old.try_send(RoomCmd::Client {
                    from: p.id,
                    msg: ClientMsg::LeaveRoom,
                });
                p.set_room(None);
            }
            p.set_observing(None);
        }
        self.views.insert(id, RoomView::default());
        self.hub.open_room(RoomSpec {
            id: Some(id),
            seller,
            buyer,
            observers,
            scenario,
            channel,
            timings,
            session: Some(crate::hub::SessionInfo {
                id: self.state.id,
                title: self.state.title.clone(),
                code: self.state.code.clone(),
            }),
            reporter: Some(self.self_tx.clone()),
        });
    }

    /// Sends a trainer's control to one room or every playing room. A room whose queue
    /// is full gets until [`CONTROL_WAIT`] to take it; one that does not is named in the
    /// answer, so the trainer knows to try again rather than find it still running.
    async fn control(&mut self, room: Option<RoomId>, action: HostAction) -> HostResult {
        let Some(round) = self.state.rounds.last() else {
            return Err((ErrorCode::WrongState, "no round has started".into()));
        };
        let targets: Vec<RoomId> = round
            .rooms
            .iter()
            .copied()
            .filter(|id| room.is_none_or(|r| r == *id))
            .filter(|id| self.views.get(id).is_none_or(|v| v.debrief.is_none()))
            .collect();
        let mut sent = false;
        let mut busy: Vec<RoomId> = Vec::new();
        let deadline = tokio::time::Instant::now() + CONTROL_WAIT;
        for id in targets {
            if let Some(handle) = self.hub.room(id) {
                match handle.send_by(RoomCmd::Host(action), deadline).await {
                    Queued::Yes => sent = true,
                    Queued::Busy => busy.push(id),
                    Queued::Closed => {}
                }
            }
        }
        if !busy.is_empty() {
            let rooms: Vec<String> = busy.iter().map(|r| r.to_string()).collect();
            return Err((
                ErrorCode::Unavailable,
                format!(
                    "room {} did not take that in time{}; try again",
                    rooms.join(", "),
                    if sent { " (the other rooms did)" } else { "" }
                ),
            ));
        }
        if !sent {
            return Err((
                ErrorCode::NotFound,
                match room {
                    Some(id) => format!("room {id} is not playing in this round"),
                    None => "every pair has finished this round".into(),
                },
            ));
        }
        Ok(())
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

    async fn rename(&mut self, who: ParticipantId, name: &str) -> HostResult {
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
        let Some(m) = self.state.member(who).cloned() else {
            return Err((
                ErrorCode::NotFound,
                format!("participant {who} is not in this workshop"),
            ));
        };
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

    async fn remove(&mut self, who: ParticipantId) -> HostResult {
        let Some(m) = self.state.member(who).cloned() else {
            return Err((
                ErrorCode::NotFound,
                format!("participant {who} is not in this workshop"),
            ));
        };
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

    fn buyer_name(&self, pair: &PlannedPair) -> String {
        match pair.buyer {
            Some(b) => self.name_of(b),
            None => self
                .hub
                .library()
                .get(&pair.scenario)
                .map(|s| format!("{} (bot)", s.buyer.name))
                .unwrap_or_else(|| "Bot buyer".into()),
        }
    }

    fn live_card(&self, room: RoomId) -> Option<LiveRoom> {
        let (round, pair) = self.pair_of(room)?;
        let live = self.views.get(&room)?.live.as_ref()?;
        let now = clock::now_ms();
        Some(LiveRoom {
            room,
            round: round.number,
            scenario: pair.scenario.clone(),
            channel: round.channel,
            seller: self.name_of(pair.seller),
            buyer: self.buyer_name(pair),
            observers: pair.observers.iter().map(|o| self.name_of(*o)).collect(),
            bot_buyer: pair.buyer.is_none(),
            phase: live.phase,
            // The snapshot was taken earlier; count down to now unless paused.
            remaining_ms: live.remaining_ms.map(|ms| {
                if live.paused {
                    ms
                } else {
                    ms.saturating_sub(now.saturating_sub(live.taken_at))
                }
            }),
            paused: live.paused,
            messages: live.messages,
            facts_uncovered: live.facts_uncovered,
            facts_total: live.facts_total,
            uncovered_percent: live.uncovered_percent,
            flags: live.flags.clone(),
            seller_connected: live.seller_connected,
            buyer_connected: live.buyer_connected,
            idle_ms: now.saturating_sub(live.last_activity_at),
            hand: self.state.raised_hand(room).map(|h| RaisedHand {
                by: self.name_of(h.member),
                raised_ms_ago: now.saturating_sub(h.raised_at),
            }),
        })
    }

    fn pair_result(&self, ri: usize, room: RoomId, pair: &PlannedPair) -> PairResult {
        let view = self.views.get(&room);
        let d = view.and_then(|v| v.debrief.as_ref());
        let live = view.and_then(|v| v.live.as_ref());
        // The seller's last finished round as seller, before this one.
        let previous = self.state.rounds[..ri].iter().rev().find_map(|round| {
            let i = round.pairs.iter().position(|p| p.seller == pair.seller)?;
            let id = round.rooms.get(i)?;
            self.views
                .get(id)
                .and_then(|v| v.debrief.as_ref())
                .map(|d| d.headline.percent)
        });
        PairResult {
            room,
            scenario: pair.scenario.clone(),
            seller_id: pair.seller,
            seller: self.name_of(pair.seller),
            buyer: self.buyer_name(pair),
            finished: d.is_some(),
            uncovered_percent: d
                .map(|d| d.headline.percent)
                .or(live.map(|l| l.uncovered_percent))
                .unwrap_or(0),
            facts_uncovered: d
                .map(|d| d.headline.facts_uncovered)
                .or(live.map(|l| l.facts_uncovered))
                .unwrap_or(0),
            facts_total: d
                .map(|d| d.headline.facts_total)
                .or(live.map(|l| l.facts_total))
                .unwrap_or(0),
            captured_percent: d.map(|d| d.captured.percent).unwrap_or(0),
            captured_automatic: d.is_some_and(Debrief::captured_automatic),
            heard: d.and_then(|d| d.feedback.as_ref().map(|f| f.heard)),
            seller_word_share: d.map(|d| d.behaviour.seller_word_share).unwrap_or(0),
            questions: d.map(|d| d.behaviour.questions.len() as u32).unwrap_or(0),
            open_share: d.and_then(|d| d.behaviour.open_share),
            pitched_before_pain: d.is_some_and(|d| d.behaviour.pitched_early),
            asked_anything_else: d.is_some_and(|d| !d.behaviour.anything_else.is_empty()),
            change_from_previous: match (d, previous) {
                (Some(d), Some(p)) => Some(d.headline.percent as i32 - p as i32),
                _ => None,
            },
        }
    }

    fn debriefs(&self, round: &RoundRecord) -> Vec<(ScenarioId, Option<&Debrief>)> {
        round
            .rooms
            .iter()
            .zip(&round.pairs)
            .map(|(id, p)| {
                (
                    p.scenario.clone(),
                    self.views.get(id).and_then(|v| v.debrief.as_ref()),
                )
            })
            .collect()
    }

    fn results(&self, ri: usize) -> RoundResults {
        let round = &self.state.rounds[ri];
        let pairs: Vec<PairResult> = round
            .rooms
            .iter()
            .zip(&round.pairs)
            .map(|(id, p)| self.pair_result(ri, *id, p))
            .collect();
        let mut tallies: Vec<FactTally> = Vec::new();
        let mut index: HashMap<(ScenarioId, String), usize> = HashMap::new();
        for (scenario, d) in self.debriefs(round) {
            let Some(d) = d else { continue };
            for f in &d.facts {
                let key = (scenario.clone(), f.id.0.clone());
                let i = *index.entry(key).or_insert_with(|| {
                    tallies.push(FactTally {
                        scenario: scenario.clone(),
                        id: f.id.clone(),
                        kind: f.kind,
                        weight: f.weight,
                        text: f.text.clone(),
                        pairs: 0,
                        uncovered_by: 0,
                        captured_by: 0,
                    });
                    tallies.len() - 1
                });
                let t = &mut tallies[i];
                t.pairs += 1;
                t.uncovered_by += u32::from(f.uncovered);
                t.captured_by += u32::from(f.captured);
            }
        }
        // Most missed first: the lowest share uncovered, heavier facts first on ties.
        tallies.sort_by(|a, b| {
            (u64::from(a.uncovered_by) * u64::from(b.pairs))
                .cmp(&(u64::from(b.uncovered_by) * u64::from(a.pairs)))
                .then(b.weight.cmp(&a.weight))
                .then(a.id.cmp(&b.id))
        });
        let average = |round: &RoundRecord| -> Option<u32> {
            let done: Vec<u32> = self
                .debriefs(round)
                .iter()
                .filter_map(|(_, d)| d.map(|d| d.headline.percent))
                .collect();
            (!done.is_empty()).then(|| done.iter().sum::<u32>() / done.len() as u32)
        };
        RoundResults {
            round: round.number,
            pairs_playing: pairs.iter().filter(|p| !p.finished).count() as u32,
            pairs,
            facts: tallies,
            average_uncovered: average(round),
            previous_average_uncovered: ri
                .checked_sub(1)
                .and_then(|p| average(&self.state.rounds[p])),
        }
    }

    fn status(&self, m: &MemberRecord) -> MemberStatus {
        let Some(round) = self.state.rounds.last() else {
            return MemberStatus::Lobby;
        };
        for (id, p) in round.rooms.iter().zip(&round.pairs) {
            if self.views.get(id).is_some_and(|v| v.debrief.is_some()) {
                continue;
            }
            if p.seller == m.id {
                return MemberStatus::Selling;
            }
            if p.buyer == Some(m.id) {
                return MemberStatus::Buying;
            }
            if p.observers.contains(&m.id) {
                return MemberStatus::Observing;
            }
        }
        MemberStatus::Lobby
    }

    fn console(&self) -> ConsoleState {
        let live = self
            .state
            .rounds
            .last()
            .map(|r| {
                r.rooms
                    .iter()
                    .filter_map(|id| self.live_card(*id))
                    .collect()
            })
            .unwrap_or_default();
        ConsoleState {
            session: self.state.id,
            title: self.state.title.clone(),
            code: self.state.code.clone(),
            join_path: format!("/?join={}", self.state.code),
            participants: self
                .state
                .members
                .iter()
                .map(|m| Member {
                    id: m.id,
                    name: m.name.clone(),
                    connected: self.connected(m),
                    status: self.status(m),
                    rounds_sold: m.sold,
                    rounds_bought: m.bought,
                    rounds_observed: m.observed,
                })
                .collect(),
            rounds_started: self.state.rounds.len() as u32,
            plan: self.plan.clone(),
            live,
            results: (0..self.state.rounds.len())
                .map(|ri| self.results(ri))
                .collect(),
            lan_urls: self.hub.lan_urls().to_vec(),
            failed_joins: self.failed_joins.clone(),
        }
    }

    fn export(&self) -> SessionExport {
        SessionExport {
            session: self.state.id,
            title: self.state.title.clone(),
            code: self.state.code.clone(),
            created_at: self.state.created_at,
            participants: self
                .state
                .members
                .iter()
                .map(|m| ExportParticipant {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect(),
            rounds: self
                .state
                .rounds
                .iter()
                .enumerate()
                .map(|(ri, r)| ExportRound {
                    round: r.number,
                    channel: r.channel,
                    timings: r.timings,
                    started_at: r.started_at,
                    results: self.results(ri),
                    pairs: r
                        .rooms
                        .iter()
                        .zip(&r.pairs)
                        .map(|(id, p)| ExportPair {
                            room: *id,
                            scenario: p.scenario.clone(),
                            seller_id: p.seller,
                            seller: self.name_of(p.seller),
                            buyer_id: p.buyer,
                            buyer: self.buyer_name(p),
                            observers: p.observers.iter().map(|o| self.name_of(*o)).collect(),
                            debrief: self.views.get(id).and_then(|v| v.debrief.clone()),
                            hands: self
                                .state
                                .hands
                                .iter()
                                .filter(|h| h.room == *id)
                                .map(|h| ExportHand {
                                    by: self.name_of(h.member),
                                    raised_at: h.raised_at,
                                    lowered_at: h.lowered_at,
                                    answered: h.answered,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Everything a session recorded, as exported to JSON (and flattened to CSV).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionExport {
    pub session: SessionId,
    pub title: String,
    pub code: String,
    pub created_at: Millis,
    pub participants: Vec<ExportParticipant>,
    pub rounds: Vec<ExportRound>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportParticipant {
    pub id: ParticipantId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportRound {
    pub round: u32,
    pub channel: Channel,
    pub timings: Timings,
    pub started_at: Millis,
    /// The room debrief as the console shows it.
    pub results: RoundResults,
    pub pairs: Vec<ExportPair>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportPair {
    pub room: RoomId,
    pub scenario: ScenarioId,
    pub seller_id: ParticipantId,
    pub seller: String,
    /// None for the bot buyer.
    pub buyer_id: Option<ParticipantId>,
    pub buyer: String,
    pub observers: Vec<String>,
    /// None while the pair is still playing.
    pub debrief: Option<Debrief>,
    /// Every time the pair called the trainer over (`raise_hand`), oldest first.
    #[serde(default)]
    pub hands: Vec<ExportHand>,
}

/// A raised hand as exported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportHand {
    /// Who raised it.
    pub by: String,
    pub raised_at: Millis,
    /// None: still up when exported.
    pub lowered_at: Option<Millis>,
    /// The trainer answered it (false: the trainee took it back).
    pub answered: bool,
}
