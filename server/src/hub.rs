//! The hub: participants, the matchmaking queue, private pair links, workshop sessions
//! by join code, and the registry of open rooms.
//!
//! This file keeps the registries, identities (introduce, resume, sweep) and opening
//! rooms; `hub/participant.rs` is one participant and the name rules, `hub/lobby.rs`
//! what someone not in a room may ask for (matchmaking, pair links, sessions).
//!
//! Each room is owned by one task ([`crate::room_task`]) and each workshop session by
//! another ([`crate::workshop`]); the hub only keeps their channels' sending ends. The
//! queue and the links sit behind short-lived `std` mutexes never held across `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use rand::RngExt;
use tokio::sync::mpsc;

use crate::bot::BotSettings;
use crate::clock;
use crate::outbox::{Attached, Outbox, SEQ_LIMIT};
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, ParticipantId, Phase, RoomId, ServerMsg, SessionId,
};
use crate::room::Millis;
use crate::room::{Opening, Room, RoomEvent, Seat};
use crate::room_task::{RoomCmd, RoomHandle, RoomTask, ROOM_QUEUE};
use crate::scenario::{Library, Scenario, ScenarioId, Timings};
use crate::store::{EventLog, MemoryLog};
use crate::workshop::{self, SessionCmd, SessionHandle};

mod lobby;
mod participant;
pub use lobby::message_type;
use lobby::{PairLink, Waiter};
pub use participant::{clean_name, Participant, SessionSeat};

/// How long a dropped participant keeps their seat by default: long enough for a phone
/// to wake or Wi-Fi to come back, short enough that a partner is not left waiting.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(120);

/// The event-log stream of a participant's identity.
pub fn participant_stream(id: ParticipantId) -> String {
    format!("participant:{}", id.0)
}

/// The event-log stream of a room: under its session's stream, if it has one.
pub fn room_stream(session: Option<SessionId>, room: RoomId) -> String {
    match session {
        Some(s) => format!("{}/room:{}", workshop::stream_of(s), room.0),
        None => format!("room:{}", room.0),
    }
}

/// What a room knows of its workshop session, to remind a trainee who comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: SessionId,
    pub title: String,
    pub code: String,
}

/// What the log records about a participant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ParticipantEvent {
    Introduced {
        id: ParticipantId,
        name: String,
        token: String,
        at: Millis,
    },
    /// A pair link handed out: it still works after a restart, until someone joins it.
    PairLinkCreated {
        id: ParticipantId,
        code: String,
        scenario: Option<ScenarioId>,
        at: Millis,
    },
}

/// Pair-link and join codes: six characters without look-alikes (0/O, 1/I/L), easy to
/// read aloud and type on a phone.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const CODE_LEN: usize = 6;

/// A fresh code not yet in `taken`.
pub fn fresh_code(taken: impl Fn(&str) -> bool) -> String {
    let mut rng = rand::rng();
    loop {
        let c: String = (0..CODE_LEN)
            .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
            .collect();
        if !taken(&c) {
            return c;
        }
    }
}

/// The refusal when the log cannot write: nothing was acknowledged, nothing changed.
pub fn not_saved() -> (ErrorCode, String) {
    (
        ErrorCode::Unavailable,
        "the server cannot save right now; nothing changed, try again in a moment".into(),
    )
}

/// Everything needed to open a room.
#[derive(Debug)]
pub struct RoomSpec {
    /// A room id allocated in advance (a workshop records it before opening); else a new one.
    pub id: Option<RoomId>,
    /// The workshop session the room belongs to (its stream sits under the session's).
    pub session: Option<SessionInfo>,
    pub seller: Arc<Participant>,
    /// None: the bot buyer plays the buyer.
    pub buyer: Option<Arc<Participant>>,
    pub observers: Vec<Arc<Participant>>,
    pub scenario: Arc<Scenario>,
    pub channel: Channel,
    pub timings: Timings,
    /// The workshop session to report live figures to.
    pub reporter: Option<mpsc::Sender<SessionCmd>>,
}

/// Everything shared between connections.
#[derive(Debug)]
pub struct Hub {
    library: Arc<Library>,
    /// Addresses trainees on the LAN can reach this server at (empty on localhost).
    lan_urls: Vec<String>,
    next_id: AtomicU64,
    waiting: Mutex<Vec<Waiter>>,
    links: Mutex<HashMap<String, PairLink>>,
    rooms: DashMap<RoomId, RoomHandle>,
    sessions: DashMap<SessionId, SessionHandle>,
    session_codes: DashMap<String, SessionId>,
    bot_settings: Mutex<BotSettings>,
    store: Arc<dyn EventLog>,
    participants: DashMap<ParticipantId, Arc<Participant>>,
    tokens: DashMap<String, ParticipantId>,
    grace: Duration,
}

/// How a hub is set up.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Addresses trainees on the LAN can reach this server at.
    pub lan_urls: Vec<String>,
    /// How long a dropped participant keeps their seat.
    pub grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            lan_urls: Vec::new(),
            grace: DEFAULT_GRACE,
        }
    }
}

impl Hub {
    /// A hub that keeps its events in memory only.
    pub fn new(library: Arc<Library>, lan_urls: Vec<String>) -> Arc<Self> {
        Self::with_store(
            library,
            Arc::new(MemoryLog::new()),
            HubConfig {
                lan_urls,
                ..HubConfig::default()
            },
        )
    }

    pub fn with_store(
        library: Arc<Library>,
        store: Arc<dyn EventLog>,
        config: HubConfig,
    ) -> Arc<Self> {
        Arc::new(Self {
            library,
            lan_urls: config.lan_urls,
            store,
            participants: DashMap::new(),
            tokens: DashMap::new(),
            grace: config.grace,
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(Vec::new()),
            links: Mutex::new(HashMap::new()),
            rooms: DashMap::new(),
            sessions: DashMap::new(),
            session_codes: DashMap::new(),
            bot_settings: Mutex::new(BotSettings::default()),
        })
    }

    /// How bot buyers run from now on (reply delay, offer wait, seed).
    pub fn set_bot_settings(&self, settings: BotSettings) {
        if let Ok(mut s) = self.bot_settings.lock() {
            *s = settings;
        }
    }

    pub fn bot_settings(&self) -> BotSettings {
        self.bot_settings.lock().map(|s| *s).unwrap_or_default()
    }

    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    pub fn lan_urls(&self) -> &[String] {
        &self.lan_urls
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A fresh id for a participant, room or session; one counter keeps logs unambiguous.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn store(&self) -> &Arc<dyn EventLog> {
        &self.store
    }

    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Makes sure new ids start above `id` (after rebuilding from the log).
    pub(crate) fn reserve_ids_up_to(&self, id: u64) {
        self.next_id.fetch_max(id + 1, Ordering::Relaxed);
    }

    pub fn participant(&self, id: ParticipantId) -> Option<Arc<Participant>> {
        self.participants.get(&id).map(|p| p.clone())
    }

    pub fn room(&self, id: RoomId) -> Option<RoomHandle> {
        self.rooms.get(&id).map(|r| r.clone())
    }

    pub fn has_room(&self, id: RoomId) -> bool {
        self.rooms.contains_key(&id)
    }

    /// A new participant on `outbox`'s connection, once their identity is committed to
    /// the log: a `welcome` is a promise that `reconnect` works after a restart, so
    /// nothing is registered if the log cannot write.
    pub async fn introduce(
        &self,
        name: String,
        outbox: Arc<Outbox>,
    ) -> Result<Arc<Participant>, (ErrorCode, String)> {
        let id = ParticipantId(self.next_id());
        let token = workshop::new_token();
        let event = ParticipantEvent::Introduced {
            id,
            name: name.clone(),
            token: token.clone(),
            at: clock::now_ms(),
        };
        let saved = match serde_json::to_string(&event) {
            Ok(body) => self
                .store
                .append(&participant_stream(id), body)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !saved {
            return Err(not_saved());
        }
        Ok(self.register(id, name, token, outbox))
    }

    /// Adds a participant to the registry (new, or rebuilt from the log).
    pub(crate) fn register(
        &self,
        id: ParticipantId,
        name: String,
        token: String,
        outbox: Arc<Outbox>,
    ) -> Arc<Participant> {
        let p = Arc::new(Participant::new(id, name, token.clone(), outbox));
        self.tokens.insert(token, id);
        self.participants.insert(id, p.clone());
        p
    }

    /// Puts the participant holding `token` on the connection now in `fresh`, replaying
    /// what they missed. Their room, session and console catch up too.
    pub async fn resume(
        &self,
        token: &str,
        last_seq: u64,
        fresh: &Outbox,
    ) -> Result<Arc<Participant>, (ErrorCode, String)> {
        let gone = || {
            (
                ErrorCode::ReconnectFailed,
                "that seat is no longer held; say hello to start again".to_string(),
            )
        };
        if last_seq >= SEQ_LIMIT {
            return Err((
                ErrorCode::InvalidInput,
                format!(
                    "last_seq {last_seq} is not a number this server sends (all are below 2^53)"
                ),
            ));
        }
        let id = self.tokens.get(token.trim()).map(|i| *i).ok_or_else(gone)?;
        let p = self.participant(id).ok_or_else(gone)?;
        if self.seat_released(&p) {
            self.tokens.remove(p.resume_token());
            self.participants.remove(&p.id);
            return Err(gone());
        }
        let mut conn = fresh.take_connection().ok_or_else(gone)?;
        p.set_away(None);
        crate::metrics::reconnected();
        let room = p.room().or_else(|| p.observing());
        let session = match p.session() {
            Some(SessionSeat::Host(s) | SessionSeat::Trainee(s)) => Some(s),
            None => None,
        };
        if let Some(room) = room.as_ref().filter(|_| !p.outbox.can_replay(last_seq)) {
            // The room rebuilds the view itself, attaching the connection as it starts, so
            // nothing it says in the meantime reaches the participant twice.
            match room.rejoin(p.id, conn, last_seq).await {
                Ok(()) => {
                    if let Some(s) = &session {
                        s.send(SessionCmd::Presence {
                            who: p.id,
                            rebuild: false,
                        })
                        .await;
                    }
                    return Ok(p);
                }
                Err(back) => conn = back,
            }
        }
        let mut rebuild = false;
        p.outbox.attach_then(conn, last_seq, |attached| {
            rebuild = attached == Attached::Rebuild;
            vec![ServerMsg::Reconnected {
                you: p.id,
                name: p.name(),
                replayed: !rebuild,
            }]
        });
        if let Some(room) = &room {
            room.send(RoomCmd::Reconnected { from: p.id }).await;
        }
        if let Some(s) = &session {
            s.send(SessionCmd::Presence { who: p.id, rebuild }).await;
        }
        Ok(p)
    }

    /// Whether `p` has been away longer than the grace window and holds nothing it
    /// could come back to: no room, no observed room, no workshop seat. Their seat is
    /// released; a `reconnect` is refused, as for an unknown token.
    fn seat_released(&self, p: &Participant) -> bool {
        let cutoff = clock::now_ms().saturating_sub(self.grace.as_millis() as Millis);
        p.away_since().is_some_and(|t| t <= cutoff)
            && p.room().is_none()
            && p.observing().is_none()
            && p.session().is_none()
    }

    /// Forgets participants who have been away longer than the grace window and hold
    /// no seat anywhere, so the registry does not grow without bound.
    pub fn sweep_away(&self) {
        self.participants.retain(|_, p| {
            let keep = !self.seat_released(p);
            if !keep {
                self.tokens.remove(p.resume_token());
            }
            keep
        });
    }

    /// Every connected participant, for a server-wide notice.
    pub fn connected(&self) -> Vec<Arc<Participant>> {
        self.participants
            .iter()
            .filter(|p| p.outbox.is_connected())
            .map(|p| p.clone())
            .collect()
    }

    pub fn session(&self, id: SessionId) -> Option<SessionHandle> {
        self.sessions.get(&id).map(|s| s.clone())
    }

    /// Registers a room's task (new, or rebuilt from the log).
    pub(crate) fn add_room(&self, handle: RoomHandle) {
        self.rooms.insert(handle.id, handle);
    }

    pub(crate) fn room_closed(&self, id: RoomId) {
        self.rooms.remove(&id);
    }

    pub(crate) fn session_closed(&self, id: SessionId, code: &str) {
        self.sessions.remove(&id);
        self.session_codes.remove(code);
    }

    /// Registers a session's task (new, or rebuilt from the log).
    pub(crate) fn add_session(&self, handle: SessionHandle) {
        self.session_codes.insert(handle.code.clone(), handle.id);
        self.sessions.insert(handle.id, handle);
    }

    /// Retention: asks sessions untouched since `before` to close.
    pub fn expire_sessions(&self, before: Millis) {
        for s in self.sessions.iter() {
            s.try_send(SessionCmd::Expire { before });
        }
    }

    /// Deletes a session and everything recorded about it.
    pub async fn delete_session(&self, id: SessionId) -> bool {
        match self.session(id) {
            Some(s) => s.delete().await,
            None => false,
        }
    }

    /// Connection `conn` of the participant ended. Nothing happens if they are already
    /// back on a newer connection; otherwise their seat is held for the grace window.
    pub async fn disconnected(&self, p: &Arc<Participant>, conn: u64) {
        if !p.outbox.detach(conn) {
            return;
        }
        p.set_away(Some(clock::now_ms()));
        self.forget_waiting(p);
        if let Some(room) = p.room() {
            room.send(RoomCmd::Disconnected { from: p.id }).await;
        }
        match p.session() {
            Some(SessionSeat::Host(s) | SessionSeat::Trainee(s)) => {
                s.send(SessionCmd::Presence {
                    who: p.id,
                    rebuild: false,
                })
                .await;
            }
            None => {}
        }
    }

    /// Leaves the current room at the participant's request.
    pub async fn leave_room(&self, p: &Arc<Participant>) {
        if let Some(room) = p.room() {
            p.set_room(None);
            room.send(RoomCmd::Client {
                from: p.id,
                msg: ClientMsg::LeaveRoom,
            })
            .await;
        }
    }

    pub fn pick_scenario(&self, wanted: Option<&ScenarioId>) -> Option<Arc<Scenario>> {
        if let Some(s) = wanted.and_then(|id| self.library.get(id).cloned()) {
            return Some(s);
        }
        let all = self.library.all();
        if all.is_empty() {
            return None;
        }
        Some(all[rand::rng().random_range(0..all.len())].clone())
    }

    /// Seats two trainees from matchmaking or a pair link (roles drawn at random).
    fn open_pair(
        self: &Arc<Self>,
        a: Arc<Participant>,
        b: Arc<Participant>,
        wanted: Option<ScenarioId>,
    ) {
        let Some(scenario) = self.pick_scenario(wanted.as_ref()) else {
            a.error(ErrorCode::NotFound, "no scenarios are loaded");
            b.error(ErrorCode::NotFound, "no scenarios are loaded");
            return;
        };
        let (seller, buyer) = if rand::random::<bool>() {
            (a, b)
        } else {
            (b, a)
        };
        let timings = scenario.timings;
        self.open_room(RoomSpec {
            id: None,
            session: None,
            seller,
            buyer: Some(buyer),
            observers: Vec::new(),
            scenario,
            channel: Channel::Chat,
            timings,
            reporter: None,
        });
    }

    /// Opens a room and starts its task.
    pub fn open_room(self: &Arc<Self>, spec: RoomSpec) -> RoomHandle {
        let id = spec.id.unwrap_or_else(|| RoomId(self.next_id()));
        let now = clock::now_ms();
        let seat = |p: &Arc<Participant>| Seat {
            participant: p.id,
            name: p.name(),
        };
        let buyer_seat = match &spec.buyer {
            Some(b) => seat(b),
            None => Seat {
                participant: ParticipantId(0),
                name: format!("{} (bot)", spec.scenario.buyer.name),
            },
        };
        let opened = RoomEvent::Opened(Box::new(Opening {
            room: id,
            scenario: spec.scenario.id.clone(),
            seller: seat(&spec.seller),
            buyer: buyer_seat,
            timings: spec.timings,
            at: now,
            // The bot buyer only converses in chat, even in a spoken workshop round.
            channel: if spec.buyer.is_none() {
                Channel::Chat
            } else {
                spec.channel
            },
            observers: spec.observers.iter().map(seat).collect(),
        }));
        let (tx, rx) = crate::room_task::channel(ROOM_QUEUE);
        let handle = RoomHandle::new(id, tx);
        self.rooms.insert(id, handle.clone());
        spec.seller.set_room(Some(handle.clone()));
        if let Some(b) = &spec.buyer {
            b.set_room(Some(handle.clone()));
        }
        for o in &spec.observers {
            o.set_observing(Some(handle.clone()));
        }
        tracing::info!(room = %id, scenario = %spec.scenario.id, seller = %spec.seller.id, "room opened");
        let Some(room) = Room::open(&opened, spec.scenario) else {
            return handle;
        };
        let session = spec.session.clone();
        let task = RoomTask::new(
            room,
            room_stream(spec.session.as_ref().map(|s| s.id), id),
            spec.seller,
            spec.buyer,
            spec.observers,
            self.clone(),
            spec.reporter,
        )
        .with_session(session);
        tokio::spawn(Box::new(task).run(
            vec![
                opened,
                RoomEvent::PhaseStarted {
                    phase: Phase::Briefing,
                    at: now,
                },
            ],
            rx,
        ));
        handle
    }
}
