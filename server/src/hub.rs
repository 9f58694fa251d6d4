//! The hub: participants, the matchmaking queue, private pair links, workshop sessions
//! by join code, and the registry of open rooms.
//!
//! Each room is owned by one task ([`crate::room_task`]) and each workshop session by
//! another ([`crate::workshop`]); the hub only keeps their channels' sending ends. The
//! queue and the links sit behind short-lived `std` mutexes never held across `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use rand::RngExt;
use tokio::sync::mpsc;

use crate::bot::BotSettings;
use crate::clock;
use crate::outbox::Outbox;
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, ParticipantId, Phase, RoomId, ServerMsg, SessionId,
    MAX_NAME_CHARS,
};
use crate::room::{Room, RoomEvent, Seat};
use crate::room_task::{RoomCmd, RoomHandle, RoomTask, ROOM_QUEUE};
use crate::scenario::{Library, Scenario, ScenarioId, Timings};
use crate::workshop::{self, SessionCmd, SessionHandle};

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

/// Checks and tidies a display name.
pub fn clean_name(name: &str) -> Result<String, String> {
    let name = name.trim().to_string();
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

/// Someone connected and introduced.
#[derive(Debug)]
pub struct Participant {
    pub id: ParticipantId,
    name: Mutex<String>,
    pub outbox: Arc<Outbox>,
    links: Mutex<Links>,
}

impl Participant {
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
}

type LobbyResult = Result<(), (ErrorCode, String)>;

impl Hub {
    pub fn new(library: Arc<Library>, lan_urls: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            library,
            lan_urls,
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

    pub fn introduce(&self, name: String, outbox: Arc<Outbox>) -> Arc<Participant> {
        Arc::new(Participant {
            id: ParticipantId(self.next_id()),
            name: Mutex::new(name),
            outbox,
            links: Mutex::new(Links::default()),
        })
    }

    pub fn session(&self, id: SessionId) -> Option<SessionHandle> {
        self.sessions.get(&id).map(|s| s.clone())
    }

    pub(crate) fn room_closed(&self, id: RoomId) {
        self.rooms.remove(&id);
    }

    pub(crate) fn session_closed(&self, id: SessionId, code: &str) {
        self.sessions.remove(&id);
        self.session_codes.remove(code);
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
    pub fn lobby(self: &Arc<Self>, p: &Arc<Participant>, msg: ClientMsg) {
        let result = match msg {
            ClientMsg::FindPartner { scenario } => self.find_partner(p, scenario),
            ClientMsg::CreatePairLink { scenario } => self.create_link(p, scenario),
            ClientMsg::JoinPairLink { code } => self.join_link(p, &code),
            ClientMsg::CancelWaiting => self.cancel_waiting(p),
            ClientMsg::PractiseWithBot { scenario } => self.practise_with_bot(p, scenario),
            ClientMsg::AcceptBot => self.accept_bot(p),
            ClientMsg::JoinSession { code } => self.join_session(p, &code),
            ClientMsg::CreateSession { title } => self.create_session(p, title),
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
        if let Err((code, message)) = result {
            p.error(code, message);
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
            seller: p,
            buyer: None,
            observers: Vec::new(),
            scenario,
            channel: Channel::Chat,
            timings,
            reporter: None,
        }))
    }

    fn create_link(&self, p: &Arc<Participant>, scenario: Option<ScenarioId>) -> LobbyResult {
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

    fn create_session(self: &Arc<Self>, p: &Arc<Participant>, title: String) -> LobbyResult {
        self.check_free(p)?;
        let title = title.trim();
        let title = if title.is_empty() {
            format!("{}'s workshop", p.name())
        } else {
            title.chars().take(workshop::MAX_TITLE_CHARS).collect()
        };
        let id = SessionId(self.next_id());
        let code = fresh_code(|c| self.session_codes.contains_key(c));
        let handle = workshop::spawn(self.clone(), id, code.clone(), title);
        self.session_codes.insert(code, id);
        self.sessions.insert(id, handle.clone());
        p.set_session(Some(SessionSeat::Host(handle.clone())));
        handle.try_send(SessionCmd::Host {
            who: p.clone(),
            created: true,
        });
        Ok(())
    }

    fn host_session(&self, p: &Arc<Participant>, token: &str) -> LobbyResult {
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

    /// The participant's connection ended.
    pub async fn disconnected(&self, p: &Arc<Participant>) {
        self.forget_waiting(p);
        if let Some(room) = p.room() {
            room.send(RoomCmd::Disconnected { from: p.id }).await;
        }
        match p.session() {
            Some(SessionSeat::Host(s) | SessionSeat::Trainee(s)) => {
                s.send(SessionCmd::Disconnected { who: p.id }).await;
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
        let id = RoomId(self.next_id());
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
        let opened = RoomEvent::Opened {
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
        };
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
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
        let task = RoomTask::new(
            room,
            spec.seller,
            spec.buyer,
            spec.observers,
            self.clone(),
            spec.reporter,
        );
        tokio::spawn(task.run(
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
