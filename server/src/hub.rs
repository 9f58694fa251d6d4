//! The hub: participants, the matchmaking queue, private pair links, workshop sessions
//! by join code, and the registry of open rooms.
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
    MAX_NAME_CHARS,
};
use crate::room::Millis;
use crate::room::{Opening, Room, RoomEvent, Seat};
use crate::room_task::{RoomCmd, RoomHandle, RoomTask, ROOM_QUEUE};
use crate::scenario::{Library, Scenario, ScenarioId, Timings};
use crate::store::{EventLog, MemoryLog};
use crate::workshop::{self, SessionCmd, SessionEvent, SessionHandle, SessionState};

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

/// Characters that show nothing (zero-width spaces and joiners, direction marks, soft
/// hyphens, variation selectors, fillers, tags) or control the terminal: two names that
/// differ only by them look the same on a projector.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Checks and tidies a display name: Unicode NFKC (so full-width and composed look-alikes
/// are one name), invisible and control characters removed, runs of spaces made one.
/// Names are compared for uniqueness after this. Lengths count characters (Unicode
/// scalar values) of the tidied name.
pub fn clean_name(name: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    let visible: String = name.nfkc().filter(|c| !is_invisible(*c)).collect();
    let name = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS {
        return Err(format!("a name must be 1 to {MAX_NAME_CHARS} characters"));
    }
    Ok(name)
}

/// How a participant belongs to a workshop session.
#[derive(Debug, Clone)]
pub enum SessionSeat {
    Host(SessionHandle),
    Trainee(SessionHandle),
}

#[derive(Debug, Default)]
struct Links {
    room: Option<RoomHandle>,
    observing: Option<RoomHandle>,
    session: Option<SessionSeat>,
}

/// Someone introduced, connected or within their grace window.
#[derive(Debug)]
pub struct Participant {
    pub id: ParticipantId,
    name: Mutex<String>,
    /// Proves who they are when they `resume` on a new connection.
    resume_token: String,
    pub outbox: Arc<Outbox>,
    links: Mutex<Links>,
    /// When the last connection ended; none while connected.
    away_since: Mutex<Option<Millis>>,
}

impl Participant {
    pub fn resume_token(&self) -> &str {
        &self.resume_token
    }

    pub fn away_since(&self) -> Option<Millis> {
        self.away_since.lock().ok().and_then(|a| *a)
    }

    /// Marks the participant as without a connection since `since` (rebuilt after a restart).
    pub(crate) fn mark_away(&self, since: Millis) {
        self.set_away(Some(since));
    }

    fn set_away(&self, since: Option<Millis>) {
        if let Ok(mut a) = self.away_since.lock() {
            *a = since;
        }
    }

    pub fn name(&self) -> String {
        self.name.lock().map(|n| n.clone()).unwrap_or_default()
    }

    pub fn set_name(&self, name: String) {
        if let Ok(mut n) = self.name.lock() {
            *n = name;
        }
    }

    fn with_links<T>(&self, f: impl FnOnce(&mut Links) -> T) -> Option<T> {
        self.links.lock().ok().map(|mut l| f(&mut l))
    }

    pub fn room(&self) -> Option<RoomHandle> {
        self.with_links(|l| l.room.clone()).flatten()
    }

    pub fn set_room(&self, handle: Option<RoomHandle>) {
        self.with_links(|l| l.room = handle);
    }

    /// Forgets the room if it is still `id` (a newer room may have replaced it).
    pub fn clear_room(&self, id: RoomId) {
        self.with_links(|l| {
            if l.room.as_ref().is_some_and(|r| r.id == id) {
                l.room = None;
            }
        });
    }

    pub fn observing(&self) -> Option<RoomHandle> {
        self.with_links(|l| l.observing.clone()).flatten()
    }

    pub fn set_observing(&self, handle: Option<RoomHandle>) {
        self.with_links(|l| l.observing = handle);
    }

    pub fn clear_observing(&self, id: RoomId) {
        self.with_links(|l| {
            if l.observing.as_ref().is_some_and(|r| r.id == id) {
                l.observing = None;
            }
        });
    }

    pub fn session(&self) -> Option<SessionSeat> {
        self.with_links(|l| l.session.clone()).flatten()
    }

    pub fn set_session(&self, seat: Option<SessionSeat>) {
        self.with_links(|l| l.session = seat);
    }

    pub fn error(&self, code: ErrorCode, message: impl Into<String>) {
        crate::metrics::rejected(crate::room_task::error_name(code));
        self.outbox.send(ServerMsg::Error {
            code,
            message: message.into(),
        });
    }
}

#[derive(Debug)]
struct Waiter {
    who: Arc<Participant>,
    scenario: Option<ScenarioId>,
    /// Tells this wait apart from a later one by the same person.
    ticket: u64,
    /// `bot_available` was sent, so `accept_bot` may take the bot buyer.
    bot_offered: bool,
}

#[derive(Debug)]
struct PairLink {
    creator: Arc<Participant>,
    scenario: Option<ScenarioId>,
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

type LobbyResult = Result<(), (ErrorCode, String)>;

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
        let p = Arc::new(Participant {
            id,
            name: Mutex::new(name),
            resume_token: token.clone(),
            outbox,
            links: Mutex::new(Links::default()),
            away_since: Mutex::new(None),
        });
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
            self.tokens.remove(&p.resume_token);
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
                self.tokens.remove(&p.resume_token);
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

    fn is_waiting(&self, p: &Participant) -> bool {
        let in_queue = self
            .waiting
            .lock()
            .map(|w| w.iter().any(|x| x.who.id == p.id))
            .unwrap_or(false);
        in_queue
            || self
                .links
                .lock()
                .map(|l| l.values().any(|x| x.creator.id == p.id))
                .unwrap_or(false)
    }

    fn check_free(&self, p: &Participant) -> LobbyResult {
        if p.room().is_some() {
            return Err((
                ErrorCode::WrongState,
                "you are in a room; leave it first".into(),
            ));
        }
        if self.is_waiting(p) {
            return Err((
                ErrorCode::WrongState,
                "you are already waiting for a partner; cancel first".into(),
            ));
        }
        if p.session().is_some() {
            return Err((
                ErrorCode::WrongState,
                "you are in a workshop session; the trainer pairs you".into(),
            ));
        }
        Ok(())
    }

    fn check_scenario(&self, s: &Option<ScenarioId>) -> LobbyResult {
        match s {
            Some(id) if self.library.get(id).is_none() => {
                Err((ErrorCode::NotFound, format!("no scenario `{id}`")))
            }
            _ => Ok(()),
        }
    }

    /// Handles a message from someone not in a room.
    /// A pair link rebuilt from the log after a restart.
    pub(crate) fn restore_link(
        &self,
        code: String,
        creator: Arc<Participant>,
        scenario: Option<ScenarioId>,
    ) {
        if let Ok(mut links) = self.links.lock() {
            links.insert(code, PairLink { creator, scenario });
        }
    }

    /// Handles a lobby message; returns the refusal's code if it was refused.
    pub async fn lobby(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        msg: ClientMsg,
    ) -> Option<ErrorCode> {
        let result = match msg {
            ClientMsg::FindPartner { scenario } => self.find_partner(p, scenario),
            ClientMsg::CreatePairLink { scenario } => self.create_link(p, scenario).await,
            ClientMsg::JoinPairLink { code } => self.join_link(p, &code),
            ClientMsg::CancelWaiting => self.cancel_waiting(p),
            ClientMsg::PractiseWithBot { scenario } => self.practise_with_bot(p, scenario),
            ClientMsg::AcceptBot => self.accept_bot(p),
            ClientMsg::JoinSession { code } => self.join_session(p, &code),
            ClientMsg::HostSession { token } => self.host_session(p, &token),
            ClientMsg::Hello { .. } => Err((
                ErrorCode::WrongState,
                "you have already said hello on this connection".into(),
            )),
            other => Err((
                ErrorCode::WrongState,
                format!(
                    "`{}` needs a room; find a partner first",
                    message_type(&other)
                ),
            )),
        };
        match result {
            Ok(()) => None,
            Err((code, message)) => {
                p.error(code, message);
                Some(code)
            }
        }
    }

    fn find_partner(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        scenario: Option<ScenarioId>,
    ) -> LobbyResult {
        self.check_free(p)?;
        self.check_scenario(&scenario)?;
        let matched = {
            let mut waiting = self
                .waiting
                .lock()
                .map_err(|_| (ErrorCode::WrongState, "matchmaking is unavailable".into()))?;
            let pos = waiting.iter().position(|w| {
                w.who.outbox.is_connected()
                    && match (&w.scenario, &scenario) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            });
            // Ok: a partner was waiting; Err: now waiting, with this ticket.
            match pos {
                Some(i) => Ok(waiting.remove(i)),
                None => {
                    let ticket = self.next_id();
                    waiting.push(Waiter {
                        who: p.clone(),
                        scenario: scenario.clone(),
                        ticket,
                        bot_offered: false,
                    });
                    Err(ticket)
                }
            }
        };
        match matched {
            Ok(w) => {
                let chosen = w.scenario.or(scenario);
                self.open_pair(w.who, p.clone(), chosen);
            }
            Err(ticket) => {
                p.outbox.send(ServerMsg::Waiting { scenario });
                self.offer_bot_later(p, ticket);
            }
        }
        Ok(())
    }

    /// After the offer wait, tells `p` the bot buyer is available if that wait (`ticket`)
    /// is still going.
    fn offer_bot_later(self: &Arc<Self>, p: &Arc<Participant>, ticket: u64) {
        let hub = Arc::downgrade(self);
        let p = p.clone();
        let after = self.bot_settings().offer_after;
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let Some(hub) = hub.upgrade() else { return };
            let offered = hub
                .waiting
                .lock()
                .map(|mut w| match w.iter_mut().find(|x| x.ticket == ticket) {
                    Some(x) if x.who.outbox.is_connected() => {
                        x.bot_offered = true;
                        true
                    }
                    _ => false,
                })
                .unwrap_or(false);
            if offered {
                p.outbox.send(ServerMsg::BotAvailable);
            }
        });
    }

    fn practise_with_bot(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        scenario: Option<ScenarioId>,
    ) -> LobbyResult {
        self.check_free(p)?;
        self.check_scenario(&scenario)?;
        self.open_bot_room(p.clone(), scenario.as_ref()).map(|_| ())
    }

    fn accept_bot(self: &Arc<Self>, p: &Arc<Participant>) -> LobbyResult {
        let waiter = {
            let mut waiting = self
                .waiting
                .lock()
                .map_err(|_| (ErrorCode::WrongState, "matchmaking is unavailable".into()))?;
            match waiting.iter().position(|w| w.who.id == p.id) {
                None => {
                    return Err((
                        ErrorCode::WrongState,
                        "you are not waiting for a partner; send practise_with_bot to \
                         practise with the bot buyer"
                            .into(),
                    ))
                }
                Some(i) if !waiting[i].bot_offered => {
                    return Err((
                        ErrorCode::WrongState,
                        format!(
                            "the bot buyer is offered after {} seconds of waiting \
                             (bot_available); keep waiting, or send practise_with_bot",
                            self.bot_settings().offer_after.as_secs()
                        ),
                    ))
                }
                Some(i) => waiting.remove(i),
            }
        };
        self.open_bot_room(p.clone(), waiter.scenario.as_ref())
            .map(|_| ())
    }

    /// Seats `p` as the seller opposite the bot buyer, on `wanted` (or a random
    /// scenario) with its suggested timings. A workshop's odd one out gets the bot through
    /// [`Hub::open_room`] with no buyer.
    pub fn open_bot_room(
        self: &Arc<Self>,
        p: Arc<Participant>,
        wanted: Option<&ScenarioId>,
    ) -> Result<RoomHandle, (ErrorCode, String)> {
        let scenario = self
            .pick_scenario(wanted)
            .ok_or((ErrorCode::NotFound, "no scenarios are loaded".to_string()))?;
        let timings = scenario.timings;
        Ok(self.open_room(RoomSpec {
            id: None,
            session: None,
            seller: p,
            buyer: None,
            observers: Vec::new(),
            scenario,
            channel: Channel::Chat,
            timings,
            reporter: None,
        }))
    }

    /// Hands `p` a pair link once it is saved, so it still works after a restart.
    async fn create_link(&self, p: &Arc<Participant>, scenario: Option<ScenarioId>) -> LobbyResult {
        self.check_free(p)?;
        self.check_scenario(&scenario)?;
        let code = {
            let mut links = self
                .links
                .lock()
                .map_err(|_| (ErrorCode::WrongState, "pair links are unavailable".into()))?;
            let code = fresh_code(|c| links.contains_key(c));
            links.insert(
                code.clone(),
                PairLink {
                    creator: p.clone(),
                    scenario: scenario.clone(),
                },
            );
            code
        };
        let event = ParticipantEvent::PairLinkCreated {
            id: p.id,
            code: code.clone(),
            scenario: scenario.clone(),
            at: clock::now_ms(),
        };
        let saved = match serde_json::to_string(&event) {
            Ok(body) => self
                .store
                .append(&participant_stream(p.id), body)
                .await
                .is_ok(),
            Err(_) => false,
        };
        if !saved {
            if let Ok(mut links) = self.links.lock() {
                links.remove(&code);
            }
            return Err(not_saved());
        }
        p.outbox.send(ServerMsg::PairLink {
            path: format!("/?pair={code}"),
            code,
            scenario,
        });
        Ok(())
    }

    fn join_link(self: &Arc<Self>, p: &Arc<Participant>, code: &str) -> LobbyResult {
        self.check_free(p)?;
        let code = code.trim().to_uppercase();
        let link = {
            let mut links = self
                .links
                .lock()
                .map_err(|_| (ErrorCode::WrongState, "pair links are unavailable".into()))?;
            match links.get(&code) {
                None => None,
                Some(l) if l.creator.id == p.id => {
                    return Err((
                        ErrorCode::WrongState,
                        "this is your own link; send it to a colleague".into(),
                    ))
                }
                Some(_) => links.remove(&code),
            }
        };
        match link {
            Some(l) if l.creator.outbox.is_connected() => {
                self.open_pair(l.creator, p.clone(), l.scenario);
                Ok(())
            }
            _ => Err((
                ErrorCode::NotFound,
                format!("no open pair link `{code}`; ask your colleague for a new one"),
            )),
        }
    }

    fn cancel_waiting(&self, p: &Participant) -> LobbyResult {
        if !self.forget_waiting(p) {
            return Err((ErrorCode::WrongState, "you are not waiting".into()));
        }
        p.outbox.send(ServerMsg::WaitingCancelled);
        Ok(())
    }

    /// Removes `p` from the queue and their links; true if they were in either.
    fn forget_waiting(&self, p: &Participant) -> bool {
        let mut found = false;
        if let Ok(mut w) = self.waiting.lock() {
            let before = w.len();
            w.retain(|x| x.who.id != p.id);
            found |= w.len() != before;
        }
        if let Ok(mut l) = self.links.lock() {
            let before = l.len();
            l.retain(|_, x| x.creator.id != p.id);
            found |= l.len() != before;
        }
        found
    }

    fn join_session(&self, p: &Arc<Participant>, code: &str) -> LobbyResult {
        self.check_free(p)?;
        let code = code.trim().to_uppercase();
        let handle = self
            .session_codes
            .get(&code)
            .and_then(|id| self.session(*id))
            .ok_or_else(|| {
                (
                    ErrorCode::NotFound,
                    format!("no workshop with the code `{code}`; check it with your trainer"),
                )
            })?;
        if !handle.try_send(SessionCmd::Join { who: p.clone() }) {
            return Err((
                ErrorCode::WrongState,
                "that workshop is busy; try again in a moment".into(),
            ));
        }
        Ok(())
    }

    /// Creates a workshop hosted by `p`. The session exists, and `session_created`
    /// hands out its host token and join code, only once its first event is committed.
    pub async fn create_session(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        title: String,
    ) -> LobbyResult {
        self.check_free(p)?;
        let title = title.trim();
        let title = if title.is_empty() {
            format!("{}'s workshop", p.name())
        } else {
            title.chars().take(workshop::MAX_TITLE_CHARS).collect()
        };
        let id = SessionId(self.next_id());
        let code = fresh_code(|c| self.session_codes.contains_key(c));
        let created = SessionEvent::Created {
            session: id,
            code: code.clone(),
            title,
            token: workshop::new_token(),
            at: clock::now_ms(),
        };
        let Some(state) = SessionState::open(&created) else {
            return Err((
                ErrorCode::Unavailable,
                "could not create the session".into(),
            ));
        };
        let body = serde_json::to_string(&created).map_err(|_| not_saved())?;
        self.store
            .append_at(&workshop::stream_of(id), created.at(), body)
            .await
            .map_err(|_| not_saved())?;
        let (tx, rx) = mpsc::channel(workshop::SESSION_QUEUE);
        let handle = SessionHandle::new(id, code, &state.token, tx.clone());
        workshop::spawn(self.clone(), state, Vec::new(), tx, rx, Vec::new());
        self.add_session(handle.clone());
        p.set_session(Some(SessionSeat::Host(handle.clone())));
        handle.try_send(SessionCmd::Host {
            who: p.clone(),
            created: true,
        });
        Ok(())
    }

    fn host_session(&self, p: &Arc<Participant>, token: &str) -> LobbyResult {
        // A console that reconnects asks again; it is already the host.
        if let Some(SessionSeat::Host(s)) = p.session() {
            if s.token_matches(token) {
                s.try_send(SessionCmd::Host {
                    who: p.clone(),
                    created: false,
                });
                return Ok(());
            }
        }
        if p.room().is_some() || p.session().is_some() {
            return Err((
                ErrorCode::WrongState,
                "this connection is already in use; open the host link in a new tab".into(),
            ));
        }
        let handle = self
            .sessions
            .iter()
            .find(|s| s.value().token_matches(token))
            .map(|s| s.value().clone())
            .ok_or_else(|| {
                (
                    ErrorCode::NotFound,
                    "that host link is not valid on this server".to_string(),
                )
            })?;
        p.set_session(Some(SessionSeat::Host(handle.clone())));
        handle.try_send(SessionCmd::Host {
            who: p.clone(),
            created: false,
        });
        Ok(())
    }

    /// Host actions that the hub handles itself rather than the session.
    pub async fn delete_hosted_session(&self, p: &Arc<Participant>) -> LobbyResult {
        match p.session() {
            Some(SessionSeat::Host(s)) => {
                if s.delete().await {
                    Ok(())
                } else {
                    Err((
                        ErrorCode::Unavailable,
                        "the session could not be deleted; try again".into(),
                    ))
                }
            }
            _ => Err((
                ErrorCode::WrongRole,
                "only the trainer's console can do that".into(),
            )),
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

/// The short name of a client message, for error texts.
pub fn message_type(msg: &ClientMsg) -> String {
    serde_json::to_value(msg)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default()
}
