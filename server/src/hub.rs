//! The hub: participants, the matchmaking queue, private pair links, and the rooms.
//!
//! Each room is owned by one task ([`run_room`]) fed by a bounded channel; the hub only
//! keeps the channel's sending end. The queue and the links sit behind short-lived
//! `std` mutexes that are never held across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use rand::RngExt;
use tokio::sync::mpsc;

use crate::clock;
use crate::outbox::Outbox;
use crate::protocol::{ClientMsg, ErrorCode, ParticipantId, Phase, Role, RoomId, ServerMsg};
use crate::room::{Room, RoomEvent, Seat};
use crate::scenario::{Library, Scenario, ScenarioId};

/// Commands queued per room. A room's commands come from two people typing; 64 absorbs
/// any burst, and a full queue only makes that room's senders wait.
pub const ROOM_QUEUE: usize = 64;
/// How long a finished room stays open so the buyer can judge the recap and both can
/// reread the debrief.
pub const DEBRIEF_LINGER: Duration = Duration::from_secs(30 * 60);
/// Pair-link codes: six characters without look-alikes (0/O, 1/I/L), easy to read aloud.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;

/// Someone connected and introduced.
#[derive(Debug)]
pub struct Participant {
    pub id: ParticipantId,
    pub name: String,
    pub outbox: Arc<Outbox>,
    room: Mutex<Option<RoomHandle>>,
}

impl Participant {
    pub fn room(&self) -> Option<RoomHandle> {
        self.room.lock().ok().and_then(|r| r.clone())
    }

    fn set_room(&self, handle: Option<RoomHandle>) {
        if let Ok(mut r) = self.room.lock() {
            *r = handle;
        }
    }

    pub fn error(&self, code: ErrorCode, message: impl Into<String>) {
        self.outbox.send(ServerMsg::Error {
            code,
            message: message.into(),
        });
    }
}

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
}

/// The way into a room's task.
#[derive(Debug, Clone)]
pub struct RoomHandle {
    pub id: RoomId,
    tx: mpsc::Sender<RoomCmd>,
}

impl RoomHandle {
    /// Queues a command; false if the room has closed.
    pub async fn send(&self, cmd: RoomCmd) -> bool {
        self.tx.send(cmd).await.is_ok()
    }
}

#[derive(Debug)]
struct Waiter {
    who: Arc<Participant>,
    scenario: Option<ScenarioId>,
}

#[derive(Debug)]
struct PairLink {
    creator: Arc<Participant>,
    scenario: Option<ScenarioId>,
}

/// Everything shared between connections.
#[derive(Debug)]
pub struct Hub {
    library: Arc<Library>,
    next_participant: AtomicU64,
    next_room: AtomicU64,
    waiting: Mutex<Vec<Waiter>>,
    links: Mutex<HashMap<String, PairLink>>,
    rooms: DashMap<RoomId, RoomHandle>,
}

impl Hub {
    pub fn new(library: Arc<Library>) -> Arc<Self> {
        Arc::new(Self {
            library,
            next_participant: AtomicU64::new(1),
            next_room: AtomicU64::new(1),
            waiting: Mutex::new(Vec::new()),
            links: Mutex::new(HashMap::new()),
            rooms: DashMap::new(),
        })
    }

    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub fn introduce(&self, name: String, outbox: Arc<Outbox>) -> Arc<Participant> {
        let id = ParticipantId(self.next_participant.fetch_add(1, Ordering::Relaxed));
        Arc::new(Participant {
            id,
            name,
            outbox,
            room: Mutex::new(None),
        })
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

    fn check_free(&self, p: &Participant) -> Result<(), (ErrorCode, String)> {
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
        Ok(())
    }

    fn check_scenario(&self, s: &Option<ScenarioId>) -> Result<(), (ErrorCode, String)> {
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
            ClientMsg::PractiseWithBot { .. } | ClientMsg::AcceptBot => Err((
                ErrorCode::NotFound,
                "the bot buyer is not available on this server yet".into(),
            )),
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
    ) -> Result<(), (ErrorCode, String)> {
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
            match pos {
                Some(i) => Some(waiting.remove(i)),
                None => {
                    waiting.push(Waiter {
                        who: p.clone(),
                        scenario: scenario.clone(),
                    });
                    None
                }
            }
        };
        match matched {
            Some(w) => {
                let chosen = w.scenario.or(scenario);
                self.open_room(w.who, p.clone(), chosen);
            }
            None => p.outbox.send(ServerMsg::Waiting { scenario }),
        }
        Ok(())
    }

    fn create_link(
        &self,
        p: &Arc<Participant>,
        scenario: Option<ScenarioId>,
    ) -> Result<(), (ErrorCode, String)> {
        self.check_free(p)?;
        self.check_scenario(&scenario)?;
        let code = {
            let mut links = self
                .links
                .lock()
                .map_err(|_| (ErrorCode::WrongState, "pair links are unavailable".into()))?;
            let mut rng = rand::rng();
            let code = loop {
                let c: String = (0..CODE_LEN)
                    .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
                    .collect();
                if !links.contains_key(&c) {
                    break c;
                }
            };
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

    fn join_link(
        self: &Arc<Self>,
        p: &Arc<Participant>,
        code: &str,
    ) -> Result<(), (ErrorCode, String)> {
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
                self.open_room(l.creator, p.clone(), l.scenario);
                Ok(())
            }
            _ => Err((
                ErrorCode::NotFound,
                format!("no open pair link `{code}`; ask your colleague for a new one"),
            )),
        }
    }

    fn cancel_waiting(&self, p: &Participant) -> Result<(), (ErrorCode, String)> {
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

    /// The participant's connection ended.
    pub async fn disconnected(&self, p: &Arc<Participant>) {
        self.forget_waiting(p);
        if let Some(room) = p.room() {
            room.send(RoomCmd::Disconnected { from: p.id }).await;
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

    fn pick_scenario(&self, wanted: Option<ScenarioId>) -> Option<Arc<Scenario>> {
        if let Some(s) = wanted.and_then(|id| self.library.get(&id).cloned()) {
            return Some(s);
        }
        let all = self.library.all();
        if all.is_empty() {
            return None;
        }
        Some(all[rand::rng().random_range(0..all.len())].clone())
    }

    /// Seats two participants in a new room (roles drawn at random) and starts its task.
    pub fn open_room(
        self: &Arc<Self>,
        a: Arc<Participant>,
        b: Arc<Participant>,
        wanted: Option<ScenarioId>,
    ) {
        let Some(scenario) = self.pick_scenario(wanted) else {
            a.error(ErrorCode::NotFound, "no scenarios are loaded");
            b.error(ErrorCode::NotFound, "no scenarios are loaded");
            return;
        };
        let (seller, buyer) = if rand::random::<bool>() {
            (a, b)
        } else {
            (b, a)
        };
        let id = RoomId(self.next_room.fetch_add(1, Ordering::Relaxed));
        let now = clock::now_ms();
        let opened = RoomEvent::Opened {
            room: id,
            scenario: scenario.id.clone(),
            seller: Seat {
                participant: seller.id,
                name: seller.name.clone(),
            },
            buyer: Seat {
                participant: buyer.id,
                name: buyer.name.clone(),
            },
            timings: scenario.timings,
            at: now,
        };
        let Some(room) = Room::open(&opened, scenario) else {
            return;
        };
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let handle = RoomHandle { id, tx };
        self.rooms.insert(id, handle.clone());
        seller.set_room(Some(handle.clone()));
        buyer.set_room(Some(handle.clone()));
        tracing::info!(room = %id, scenario = %room.scenario.id, seller = %seller.id, buyer = %buyer.id, "room opened");
        let task = RoomTask {
            room,
            seller: seller.clone(),
            buyer: buyer.clone(),
            hub: self.clone(),
        };
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
    }
}

/// The short name of a client message, for error texts.
pub fn message_type(msg: &ClientMsg) -> String {
    serde_json::to_value(msg)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// The task that owns one room.
struct RoomTask {
    room: Room,
    seller: Arc<Participant>,
    buyer: Arc<Participant>,
    hub: Arc<Hub>,
}

impl RoomTask {
    fn participant(&self, role: Role) -> &Arc<Participant> {
        match role {
            Role::Seller => &self.seller,
            Role::Buyer => &self.buyer,
        }
    }

    /// Applies events in order and tells each role what it may know of them.
    fn commit(&mut self, events: Vec<RoomEvent>) {
        for event in events {
            self.room.apply(&event);
            for role in [Role::Seller, Role::Buyer] {
                if !self.room.is_present(role) {
                    continue;
                }
                let outbox = &self.participant(role).outbox;
                for msg in self.room.view(&event, role) {
                    outbox.send(msg);
                }
            }
        }
    }

    async fn run(mut self, first: Vec<RoomEvent>, mut rx: mpsc::Receiver<RoomCmd>) {
        self.commit(first);
        // A seat may have disconnected while the room was being opened.
        for role in [Role::Seller, Role::Buyer] {
            if !self.participant(role).outbox.is_connected() {
                let at = clock::now_ms();
                self.commit(vec![RoomEvent::Left { role, at }]);
            }
        }
        loop {
            if self.room.is_abandoned() {
                break;
            }
            let wake = match self.room.deadline() {
                Some(d) => clock::instant_at(d),
                None => tokio::time::Instant::now() + DEBRIEF_LINGER,
            };
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
            }
        }
        for p in [&self.seller, &self.buyer] {
            if p.room().is_some_and(|h| h.id == self.room.id) {
                p.set_room(None);
            }
        }
        self.hub.rooms.remove(&self.room.id);
        tracing::info!(room = %self.room.id, "room closed");
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
                match self.room.decide(role, &msg, now) {
                    Ok(events) => self.commit(events),
                    Err(e) => self.participant(role).error(e.code, e.message),
                }
            }
            RoomCmd::Disconnected { from } => {
                if let Some(role) = self.room.role_of(from) {
                    if self.room.is_present(role) {
                        self.commit(vec![RoomEvent::Left { role, at: now }]);
                    }
                }
            }
        }
    }
}
