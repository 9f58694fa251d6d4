//! A facilitated workshop session, owned by one task: its trainees, its host consoles,
//! the round plan, the rooms of each round and their results. Trainees join with a short
//! code; whoever holds the 128-bit host token is the host.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::clock;
use crate::console::{
    ConsoleState, FactTally, LiveFlag, LiveRoom, Member, MemberStatus, PairResult, RoundPlan,
    RoundResults,
};
use crate::hub::{clean_name, Hub, Participant, RoomSpec, SessionSeat};
use crate::pairing::{self, History};
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, HostAction, OddOneOut, ParticipantId, Phase, PlannedPair,
    RoomId, ServerMsg, SessionId,
};
use crate::room::Millis;
use crate::room_task::{LiveSnapshot, RoomCmd, RoomHandle, RoomReport};
use crate::scenario::{ScenarioId, Timings};
use crate::scoring::Debrief;

/// Commands queued per session: a room of 60 people joining at once fits comfortably.
pub const SESSION_QUEUE: usize = 1024;
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
/// A session nobody has touched for this long (no host, no trainee connected) ends.
pub const IDLE_SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// Host tokens are 128 random bits, written as 32 hex digits.
fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing reveals nothing.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
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
    Disconnected {
        who: ParticipantId,
    },
    Room {
        room: RoomId,
        report: RoomReport,
    },
    Export(oneshot::Sender<SessionExport>),
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
    pub fn token_matches(&self, token: &str) -> bool {
        same_secret(&self.token, token.trim())
    }

    pub async fn send(&self, cmd: SessionCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    pub fn try_send(&self, cmd: SessionCmd) -> bool {
        self.tx.try_send(cmd).is_ok()
    }

    /// The whole session's record, for exports.
    pub async fn export(&self) -> Option<SessionExport> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(SessionCmd::Export(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// Starts a session's task.
pub fn spawn(hub: Arc<Hub>, id: SessionId, code: String, title: String) -> SessionHandle {
    let (tx, rx) = mpsc::channel(SESSION_QUEUE);
    let token: Arc<str> = new_token().into();
    let handle = SessionHandle {
        id,
        code: code.clone(),
        token: token.clone(),
        tx: tx.clone(),
    };
    let session = Session {
        hub,
        id,
        code,
        title,
        token,
        created_at: clock::now_ms(),
        self_tx: tx,
        members: Vec::new(),
        hosts: Vec::new(),
        plan: None,
        rounds: Vec::new(),
        history: History::default(),
        rng: StdRng::from_rng(&mut rand::rng()),
    };
    tokio::spawn(session.run(rx));
    handle
}

struct MemberState {
    /// Stable within the session, even if the trainee reconnects.
    id: ParticipantId,
    name: String,
    current: Arc<Participant>,
    status: MemberStatus,
    sold: u32,
    bought: u32,
    observed: u32,
}

impl MemberState {
    fn connected(&self) -> bool {
        self.current.outbox.is_connected()
    }
}

struct RoomRecord {
    handle: RoomHandle,
    pair: PlannedPair,
    seller: String,
    buyer: String,
    observers: Vec<String>,
    channel: Channel,
    live: Option<LiveSnapshot>,
    debrief: Option<Debrief>,
}

struct Round {
    number: u32,
    channel: Channel,
    timings: Timings,
    started_at: Millis,
    rooms: Vec<RoomRecord>,
}

struct Session {
    hub: Arc<Hub>,
    id: SessionId,
    code: String,
    title: String,
    token: Arc<str>,
    created_at: Millis,
    self_tx: mpsc::Sender<SessionCmd>,
    members: Vec<MemberState>,
    hosts: Vec<Arc<Participant>>,
    plan: Option<RoundPlan>,
    rounds: Vec<Round>,
    history: History,
    rng: StdRng,
}

type HostResult = Result<(), (ErrorCode, String)>;

impl Session {
    async fn run(mut self, mut rx: mpsc::Receiver<SessionCmd>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        let mut last_active = tokio::time::Instant::now();
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => {
                        last_active = tokio::time::Instant::now();
                        self.handle(cmd);
                    }
                    None => break,
                },
                _ = sweep.tick() => {
                    self.sweep();
                    let anyone = self.hosts.iter().any(|h| h.outbox.is_connected())
                        || self.members.iter().any(MemberState::connected);
                    if anyone {
                        last_active = tokio::time::Instant::now();
                    } else if last_active.elapsed() > IDLE_SESSION_TTL {
                        break;
                    }
                }
            }
        }
        self.hub.session_closed(self.id, &self.code);
        tracing::info!(session = %self.id, "session closed");
    }

    fn handle(&mut self, cmd: SessionCmd) {
        match cmd {
            SessionCmd::Join { who } => self.join(who),
            SessionCmd::Host { who, created } => self.add_host(who, created),
            SessionCmd::FromHost { who, msg } => {
                let Some(host) = self.hosts.iter().find(|h| h.id == who).cloned() else {
                    return;
                };
                if let Err((code, message)) = self.host_action(msg) {
                    host.error(code, message);
                }
            }
            SessionCmd::Disconnected { who } => {
                self.hosts.retain(|h| h.id != who);
                if self.members.iter().any(|m| m.current.id == who) {
                    self.push_console();
                }
            }
            SessionCmd::Room { room, report } => self.room_report(room, report),
            SessionCmd::Export(reply) => {
                let _ = reply.send(self.export());
            }
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

    fn join(&mut self, who: Arc<Participant>) {
        let name = who.name();
        let lower = name.to_lowercase();
        if let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.name.to_lowercase() == lower)
        {
            if m.connected() {
                who.error(
                    ErrorCode::InvalidInput,
                    format!("someone called {name} is already in this workshop; add an initial"),
                );
                return;
            }
            // The same person back on a new connection: they keep their history.
            m.current = who.clone();
            m.status = MemberStatus::Lobby;
        } else {
            if self.members.len() >= MAX_MEMBERS {
                who.error(
                    ErrorCode::WrongState,
                    format!("this workshop is full ({MAX_MEMBERS} people)"),
                );
                return;
            }
            self.members.push(MemberState {
                id: who.id,
                name: name.clone(),
                current: who.clone(),
                status: MemberStatus::Lobby,
                sold: 0,
                bought: 0,
                observed: 0,
            });
        }
        who.set_session(Some(SessionSeat::Trainee(self.own_handle())));
        who.outbox.send(ServerMsg::SessionJoined {
            session: self.id,
            title: self.title.clone(),
            code: self.code.clone(),
            name,
        });
        self.push_console();
    }

    fn own_handle(&self) -> SessionHandle {
        SessionHandle {
            id: self.id,
            code: self.code.clone(),
            token: self.token.clone(),
            tx: self.self_tx.clone(),
        }
    }

    fn add_host(&mut self, who: Arc<Participant>, created: bool) {
        if created {
            who.outbox.send(ServerMsg::SessionCreated {
                session: self.id,
                title: self.title.clone(),
                code: self.code.clone(),
                host_token: self.token.to_string(),
                join_path: format!("/?join={}", self.code),
                host_path: format!("/host#{}", self.token),
            });
        }
        self.hosts.push(who.clone());
        who.outbox
            .send(ServerMsg::Console(Box::new(self.console())));
    }

    fn member(&self, id: ParticipantId) -> Option<&MemberState> {
        self.members.iter().find(|m| m.id == id)
    }

    fn name_of(&self, id: ParticipantId) -> String {
        self.member(id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "(gone)".into())
    }

    fn current_round(&self) -> Option<&Round> {
        self.rounds.last()
    }

    fn round_running(&self) -> bool {
        self.current_round()
            .is_some_and(|r| r.rooms.iter().any(|room| room.debrief.is_none()))
    }

    fn host_action(&mut self, msg: ClientMsg) -> HostResult {
        match msg {
            ClientMsg::PlanRound {
                scenario,
                channel,
                timings,
                odd,
            } => self.plan_round(scenario, channel, timings.unwrap_or(DEFAULT_TIMINGS), odd),
            ClientMsg::SetPairs { pairs } => self.set_pairs(pairs),
            ClientMsg::StartRound => self.start_round(),
            ClientMsg::Pause { room } => self.control(room, HostAction::Pause),
            ClientMsg::Resume { room } => self.control(room, HostAction::Resume),
            ClientMsg::Extend { room, seconds } => {
                self.control(room, HostAction::Extend { seconds })
            }
            ClientMsg::EndPhase { room } => self.control(room, HostAction::End),
            ClientMsg::Broadcast { text } => self.broadcast(&text),
            ClientMsg::Rename { participant, name } => self.rename(participant, &name),
            ClientMsg::Remove { participant } => self.remove(participant),
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

    fn plan_round(
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
            .members
            .iter()
            .filter(|m| m.connected())
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
            &self.history,
            odd,
            scenario.as_ref(),
            &all,
            &mut self.rng,
        )
        .map_err(|e| (ErrorCode::WrongState, e.to_string()))?;
        let warnings = pairing::warnings(&plan.pairs, &self.history, |p| self.name_of(p));
        self.plan = Some(RoundPlan {
            round: self.rounds.len() as u32 + 1,
            channel,
            timings,
            odd,
            pairs: plan.pairs,
            warnings,
        });
        self.push_console();
        Ok(())
    }

    fn set_pairs(&mut self, pairs: Vec<PlannedPair>) -> HostResult {
        let Some(plan) = &self.plan else {
            return Err((ErrorCode::WrongState, "plan a round first".into()));
        };
        let mut seen = std::collections::HashSet::new();
        for p in &pairs {
            if self.hub.library().get(&p.scenario).is_none() {
                return Err((ErrorCode::NotFound, format!("no scenario `{}`", p.scenario)));
            }
            for who in std::iter::once(p.seller)
                .chain(p.buyer)
                .chain(p.observers.iter().copied())
            {
                if self.member(who).is_none() {
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
        let mut warnings = pairing::warnings(&pairs, &self.history, |p| self.name_of(p));
        for m in self.members.iter().filter(|m| m.connected()) {
            if !seen.contains(&m.id) {
                warnings.push(format!("{} sits this round out", m.name));
            }
        }
        let plan = RoundPlan {
            pairs,
            warnings,
            ..plan.clone()
        };
        self.plan = Some(plan);
        self.push_console();
        Ok(())
    }

    fn start_round(&mut self) -> HostResult {
        if self.round_running() {
            return Err((ErrorCode::WrongState, "a round is already running".into()));
        }
        let Some(plan) = self.plan.take() else {
            return Err((ErrorCode::WrongState, "plan a round first".into()));
        };
        if plan.pairs.is_empty() {
            self.plan = Some(plan);
            return Err((ErrorCode::WrongState, "the plan has no pairs".into()));
        }
        let number = self.rounds.len() as u32 + 1;
        let mut rooms = Vec::new();
        for m in &mut self.members {
            m.status = MemberStatus::Lobby;
        }
        for pair in &plan.pairs {
            let Some(scenario) = self.hub.library().get(&pair.scenario).cloned() else {
                continue;
            };
            let find = |id: ParticipantId| self.member(id).map(|m| m.current.clone());
            let Some(seller) = find(pair.seller) else {
                continue;
            };
            let buyer = pair.buyer.and_then(find);
            if pair.buyer.is_some() && buyer.is_none() {
                continue;
            }
            let observers: Vec<Arc<Participant>> =
                pair.observers.iter().filter_map(|o| find(*o)).collect();
            // Anyone still sitting in last round's debrief moves on to the new room.
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
            let bot_name = format!("{} (bot)", scenario.buyer.name);
            let record = RoomRecord {
                handle: self.hub.open_room(RoomSpec {
                    seller: seller.clone(),
                    buyer: buyer.clone(),
                    observers: observers.clone(),
                    scenario,
                    channel: plan.channel,
                    timings: plan.timings,
                    reporter: Some(self.self_tx.clone()),
                }),
                seller: self.name_of(pair.seller),
                buyer: pair.buyer.map(|b| self.name_of(b)).unwrap_or(bot_name),
                observers: pair.observers.iter().map(|o| self.name_of(*o)).collect(),
                pair: pair.clone(),
                channel: plan.channel,
                live: None,
                debrief: None,
            };
            rooms.push(record);
        }
        for pair in &plan.pairs {
            let mut set = |id: ParticipantId, status: MemberStatus| {
                if let Some(m) = self.members.iter_mut().find(|m| m.id == id) {
                    m.status = status;
                    match status {
                        MemberStatus::Selling => m.sold += 1,
                        MemberStatus::Buying => m.bought += 1,
                        MemberStatus::Observing => m.observed += 1,
                        MemberStatus::Lobby => {}
                    }
                }
            };
            set(pair.seller, MemberStatus::Selling);
            if let Some(b) = pair.buyer {
                set(b, MemberStatus::Buying);
            }
            for o in &pair.observers {
                set(*o, MemberStatus::Observing);
            }
        }
        self.history.record(&plan.pairs);
        self.rounds.push(Round {
            number,
            channel: plan.channel,
            timings: plan.timings,
            started_at: clock::now_ms(),
            rooms,
        });
        tracing::info!(session = %self.id, round = number, "round started");
        self.push_console();
        Ok(())
    }

    fn control(&mut self, room: Option<RoomId>, action: HostAction) -> HostResult {
        let Some(round) = self.current_round() else {
            return Err((ErrorCode::WrongState, "no round has started".into()));
        };
        let targets: Vec<&RoomRecord> = round
            .rooms
            .iter()
            .filter(|r| room.is_none_or(|id| r.handle.id == id))
            .filter(|r| r.debrief.is_none())
            .collect();
        if targets.is_empty() {
            return Err((
                ErrorCode::NotFound,
                match room {
                    Some(id) => format!("room {id} is not playing in this round"),
                    None => "every pair has finished this round".into(),
                },
            ));
        }
        for r in targets {
            r.handle.try_send(RoomCmd::Host(action));
        }
        Ok(())
    }

    fn broadcast(&self, text: &str) -> HostResult {
        let text = text.trim();
        let n = text.chars().count();
        if n == 0 || n > MAX_BROADCAST_CHARS {
            return Err((
                ErrorCode::InvalidInput,
                format!("a broadcast must be 1 to {MAX_BROADCAST_CHARS} characters"),
            ));
        }
        let msg = ServerMsg::Broadcast {
            text: text.to_string(),
        };
        for m in &self.members {
            m.current.outbox.send(msg.clone());
        }
        self.to_hosts(msg);
        Ok(())
    }

    fn rename(&mut self, who: ParticipantId, name: &str) -> HostResult {
        let name = clean_name(name).map_err(|e| (ErrorCode::InvalidInput, e))?;
        let lower = name.to_lowercase();
        if self
            .members
            .iter()
            .any(|m| m.id != who && m.name.to_lowercase() == lower)
        {
            return Err((
                ErrorCode::InvalidInput,
                format!("someone is already called {name}"),
            ));
        }
        let m = self.members.iter_mut().find(|m| m.id == who).ok_or((
            ErrorCode::NotFound,
            format!("participant {who} is not in this workshop"),
        ))?;
        m.name = name.clone();
        m.current.set_name(name.clone());
        m.current.outbox.send(ServerMsg::Renamed { name });
        self.push_console();
        Ok(())
    }

    fn remove(&mut self, who: ParticipantId) -> HostResult {
        let pos = self.members.iter().position(|m| m.id == who).ok_or((
            ErrorCode::NotFound,
            format!("participant {who} is not in this workshop"),
        ))?;
        let m = self.members.remove(pos);
        if let Some(room) = m.current.room() {
            room.try_send(RoomCmd::Client {
                from: m.current.id,
                msg: ClientMsg::LeaveRoom,
            });
            m.current.set_room(None);
        }
        m.current.set_observing(None);
        m.current.set_session(None);
        m.current.outbox.send(ServerMsg::Removed);
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

    fn room_report(&mut self, room: RoomId, report: RoomReport) {
        let Some((ri, idx)) = self.rounds.iter().enumerate().rev().find_map(|(ri, r)| {
            r.rooms
                .iter()
                .position(|x| x.handle.id == room)
                .map(|i| (ri, i))
        }) else {
            return;
        };
        match report {
            RoomReport::Live(snap) => {
                self.rounds[ri].rooms[idx].live = Some(snap);
                if let Some(card) = self.live_card(ri, idx) {
                    self.to_hosts(ServerMsg::Live(Box::new(card)));
                }
            }
            RoomReport::Debrief(d) => {
                self.rounds[ri].rooms[idx].debrief = Some(*d);
                let results = self.results(ri);
                self.to_hosts(ServerMsg::RoundResults(Box::new(results)));
            }
        }
    }

    /// Flags pairs that have gone quiet; the room itself cannot notice silence.
    fn sweep(&mut self) {
        let now = clock::now_ms();
        let stuck_ms = STUCK_AFTER.as_millis() as u64;
        let Some(ri) = self.rounds.len().checked_sub(1) else {
            return;
        };
        let mut cards = Vec::new();
        for (i, r) in self.rounds[ri].rooms.iter_mut().enumerate() {
            let Some(live) = &mut r.live else { continue };
            let stuck = live.phase == Phase::Conversation
                && !live.paused
                && r.channel == Channel::Chat
                && now.saturating_sub(live.last_activity_at) > stuck_ms;
            let flagged = live.flags.contains(&LiveFlag::Stuck);
            if stuck != flagged {
                if stuck {
                    live.flags.push(LiveFlag::Stuck);
                } else {
                    live.flags.retain(|f| *f != LiveFlag::Stuck);
                }
                cards.push(i);
            }
        }
        for i in cards {
            if let Some(card) = self.live_card(ri, i) {
                self.to_hosts(ServerMsg::Live(Box::new(card)));
            }
        }
    }

    fn live_card(&self, ri: usize, idx: usize) -> Option<LiveRoom> {
        let round = self.rounds.get(ri)?;
        let r = round.rooms.get(idx)?;
        let live = r.live.as_ref()?;
        Some(LiveRoom {
            room: r.handle.id,
            round: round.number,
            scenario: r.pair.scenario.clone(),
            channel: r.channel,
            seller: r.seller.clone(),
            buyer: r.buyer.clone(),
            observers: r.observers.clone(),
            bot_buyer: r.pair.buyer.is_none(),
            phase: live.phase,
            remaining_ms: live.remaining_ms.map(|ms| {
                // The snapshot was taken earlier; count down to now unless paused.
                if live.paused {
                    ms
                } else {
                    ms.saturating_sub(clock::now_ms().saturating_sub(live.taken_at))
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
            idle_ms: clock::now_ms().saturating_sub(live.last_activity_at),
        })
    }

    fn pair_result(&self, ri: usize, r: &RoomRecord) -> PairResult {
        let d = r.debrief.as_ref();
        let live = r.live.as_ref();
        let uncovered = d
            .map(|d| d.headline.percent)
            .or(live.map(|l| l.uncovered_percent))
            .unwrap_or(0);
        // The seller's last finished round as seller, before this one.
        let previous = self.rounds[..ri].iter().rev().find_map(|round| {
            round
                .rooms
                .iter()
                .find(|x| x.pair.seller == r.pair.seller)
                .and_then(|x| x.debrief.as_ref())
                .map(|d| d.headline.percent)
        });
        PairResult {
            room: r.handle.id,
            scenario: r.pair.scenario.clone(),
            seller_id: r.pair.seller,
            seller: r.seller.clone(),
            buyer: r.buyer.clone(),
            finished: d.is_some(),
            uncovered_percent: uncovered,
            facts_uncovered: d
                .map(|d| d.headline.facts_uncovered)
                .or(live.map(|l| l.facts_uncovered))
                .unwrap_or(0),
            facts_total: d
                .map(|d| d.headline.facts_total)
                .or(live.map(|l| l.facts_total))
                .unwrap_or(0),
            captured_percent: d.map(|d| d.captured.percent).unwrap_or(0),
            heard: d.and_then(|d| d.feedback.as_ref().map(|f| f.heard)),
            seller_word_share: d.map(|d| d.behaviour.seller_word_share).unwrap_or(0),
            questions: d.map(|d| d.behaviour.questions.len() as u32).unwrap_or(0),
            open_share: d.and_then(|d| d.behaviour.open_share),
            pitched_before_pain: d.is_some_and(|d| d.behaviour.pitched_before_pain),
            asked_anything_else: d.is_some_and(|d| !d.behaviour.anything_else.is_empty()),
            change_from_previous: match (d, previous) {
                (Some(d), Some(p)) => Some(d.headline.percent as i32 - p as i32),
                _ => None,
            },
        }
    }

    fn results(&self, ri: usize) -> RoundResults {
        let round = &self.rounds[ri];
        let pairs: Vec<PairResult> = round
            .rooms
            .iter()
            .map(|r| self.pair_result(ri, r))
            .collect();
        let mut tallies: Vec<FactTally> = Vec::new();
        let mut index: HashMap<(ScenarioId, String), usize> = HashMap::new();
        for r in &round.rooms {
            let Some(d) = &r.debrief else { continue };
            for f in &d.facts {
                let key = (r.pair.scenario.clone(), f.id.0.clone());
                let i = *index.entry(key).or_insert_with(|| {
                    tallies.push(FactTally {
                        scenario: r.pair.scenario.clone(),
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
        let average = |round: &Round| -> Option<u32> {
            let done: Vec<u32> = round
                .rooms
                .iter()
                .filter_map(|r| r.debrief.as_ref().map(|d| d.headline.percent))
                .collect();
            (!done.is_empty()).then(|| done.iter().sum::<u32>() / done.len() as u32)
        };
        RoundResults {
            round: round.number,
            pairs,
            facts: tallies,
            average_uncovered: average(round),
            previous_average_uncovered: ri.checked_sub(1).and_then(|p| average(&self.rounds[p])),
            pairs_playing: round.rooms.iter().filter(|r| r.debrief.is_none()).count() as u32,
        }
    }

    fn console(&self) -> ConsoleState {
        let live = match self.rounds.len().checked_sub(1) {
            Some(ri) => (0..self.rounds[ri].rooms.len())
                .filter_map(|i| self.live_card(ri, i))
                .collect(),
            None => Vec::new(),
        };
        ConsoleState {
            session: self.id,
            title: self.title.clone(),
            code: self.code.clone(),
            join_path: format!("/?join={}", self.code),
            participants: self
                .members
                .iter()
                .map(|m| Member {
                    id: m.id,
                    name: m.name.clone(),
                    connected: m.connected(),
                    status: m.status,
                    rounds_sold: m.sold,
                    rounds_bought: m.bought,
                    rounds_observed: m.observed,
                })
                .collect(),
            rounds_started: self.rounds.len() as u32,
            plan: self.plan.clone(),
            live,
            results: (0..self.rounds.len()).map(|ri| self.results(ri)).collect(),
            lan_urls: self.hub.lan_urls().to_vec(),
        }
    }

    fn export(&self) -> SessionExport {
        SessionExport {
            session: self.id,
            title: self.title.clone(),
            code: self.code.clone(),
            created_at: self.created_at,
            participants: self
                .members
                .iter()
                .map(|m| ExportParticipant {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect(),
            rounds: self
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
                        .map(|room| ExportPair {
                            room: room.handle.id,
                            scenario: room.pair.scenario.clone(),
                            seller_id: room.pair.seller,
                            seller: room.seller.clone(),
                            buyer_id: room.pair.buyer,
                            buyer: room.buyer.clone(),
                            observers: room.observers.clone(),
                            debrief: room.debrief.clone(),
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
}
