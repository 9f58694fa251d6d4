//! Rebuilding the server from its event log at start: participants (so they can
//! reconnect with their tokens), workshop sessions, and every room still in play, whose
//! clocks get back the time the server was down.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::clock;
use crate::hub::{room_stream, Hub, Participant, ParticipantEvent, SessionSeat};
use crate::outbox::{restart_base, Outbox};
use crate::protocol::{ParticipantId, Phase, Role, RoomId, SessionId};
use crate::room::event_list::EventList;
use crate::room::{Millis, Room, RoomEvent};
use crate::room_task::{RoomHandle, RoomTask, DEBRIEF_LINGER, ROOM_QUEUE};
use crate::scenario::ScenarioId;
use crate::scoring::Debrief;
use crate::store::StoredEvent;
use crate::workshop::{self, SessionEvent, SessionHandle, SessionState};

/// What was rebuilt, for the start-up log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub participants: usize,
    pub sessions: usize,
    pub rooms_resumed: usize,
    pub rooms_finished: usize,
    /// Events that could not be read (a newer server's, or damaged); they are skipped.
    pub unreadable: usize,
}

fn parse<T: serde::de::DeserializeOwned>(e: &StoredEvent, bad: &mut usize) -> Option<T> {
    match serde_json::from_str(&e.body) {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::warn!(stream = %e.stream, id = e.id, error = %err, "skipping an unreadable event");
            *bad += 1;
            None
        }
    }
}

fn id_after(stream: &str, prefix: &str) -> Option<u64> {
    stream.strip_prefix(prefix)?.parse().ok()
}

/// The session a room stream sits under, and the room's id.
fn room_of(stream: &str) -> Option<(Option<SessionId>, RoomId)> {
    match stream.split_once('/') {
        Some((session, room)) => Some((
            Some(SessionId(id_after(session, "session:")?)),
            RoomId(id_after(room, "room:")?),
        )),
        None => Some((None, RoomId(id_after(stream, "room:")?))),
    }
}

/// Rebuilds everything in `events` (in commit order) into `hub` and starts the tasks.
/// `alive` is when the previous server last noted it was running, if known: it went
/// down then or after its last event, whichever is later, and running phases get the
/// time since back.
pub fn rebuild(hub: &Arc<Hub>, events: Vec<StoredEvent>, alive: Option<Millis>) -> Recovered {
    let mut out = Recovered::default();
    let Some(last_event) = events.iter().map(|e| e.at_ms).max() else {
        return out;
    };
    let down_since = last_event.max(alive.unwrap_or(0));
    let now = clock::now_ms();
    let downtime = now.saturating_sub(down_since);
    let mut streams: BTreeMap<String, Vec<StoredEvent>> = BTreeMap::new();
    for e in events {
        streams.entry(e.stream.clone()).or_default().push(e);
    }
    let mut max_id = 0u64;
    // Above every number the previous process can have sent anyone (see the
    // outbox), even if the wall clock went back since its last event.
    let seq_base = restart_base(now.max(down_since + 1));
    // Each participant's latest pair link, and when each last had a room opened (a link
    // older than that was used).
    let mut links: HashMap<ParticipantId, (String, Option<ScenarioId>, Millis)> = HashMap::new();
    let mut last_room_at: HashMap<ParticipantId, Millis> = HashMap::new();

    for (stream, evs) in &streams {
        let Some(id) = id_after(stream, "participant:") else {
            continue;
        };
        max_id = max_id.max(id);
        for e in evs {
            match parse::<ParticipantEvent>(e, &mut out.unreadable) {
                Some(ParticipantEvent::Introduced {
                    id, name, token, ..
                }) => {
                    let p = hub.register(id, name, token, Arc::new(Outbox::restored(seq_base)));
                    // Nobody could come back while the server was down: the grace window
                    // starts now, as the room clocks get the downtime back.
                    p.mark_away(now);
                    out.participants += 1;
                }
                Some(ParticipantEvent::PairLinkCreated {
                    id,
                    code,
                    scenario,
                    at,
                }) => {
                    links.insert(id, (code, scenario, at));
                }
                None => {}
            }
        }
    }

    struct Pending {
        state: SessionState,
        tx: mpsc::Sender<workshop::SessionCmd>,
        rx: mpsc::Receiver<workshop::SessionCmd>,
        debriefs: Vec<(RoomId, Debrief)>,
    }
    let mut sessions: HashMap<SessionId, Pending> = HashMap::new();
    for (stream, evs) in &streams {
        if stream.contains('/') {
            continue;
        }
        let Some(id) = id_after(stream, "session:") else {
            continue;
        };
        max_id = max_id.max(id);
        let mut parsed = evs
            .iter()
            .filter_map(|e| parse::<SessionEvent>(e, &mut out.unreadable));
        let Some(mut state) = parsed.next().as_ref().and_then(SessionState::open) else {
            continue;
        };
        for e in parsed {
            state.apply(&e);
        }
        let (tx, rx) = mpsc::channel(workshop::SESSION_QUEUE);
        let handle = SessionHandle::new(state.id, state.code.clone(), &state.token, tx.clone());
        for m in &state.members {
            if let Some(p) = hub.participant(m.participant) {
                p.set_name(m.name.clone());
                p.set_session(Some(SessionSeat::Trainee(handle.clone())));
            }
        }
        hub.add_session(handle);
        sessions.insert(
            state.id,
            Pending {
                state,
                tx,
                rx,
                debriefs: Vec::new(),
            },
        );
    }

    // Rooms oldest first (by id, not by stream name, where "room:99" sorts after
    // "room:150"): someone with a room still lingering in its debrief and a newer one
    // must end up seated in the newer.
    let mut rooms: Vec<(RoomId, Option<SessionId>, &String, &Vec<StoredEvent>)> = streams
        .iter()
        .filter_map(|(stream, evs)| room_of(stream).map(|(s, id)| (id, s, stream, evs)))
        .collect();
    rooms.sort_by_key(|(id, ..)| *id);
    for (room_id, session, stream, evs) in rooms {
        if !stream.starts_with("room:") && session.is_none() {
            continue;
        }
        max_id = max_id.max(room_id.0);
        let log: Vec<RoomEvent> = evs
            .iter()
            .filter_map(|e| parse::<RoomEvent>(e, &mut out.unreadable))
            .collect();
        let Some(first) = log.first() else { continue };
        let RoomEvent::Opened(opening) = first else {
            continue;
        };
        for seat in [&opening.seller, &opening.buyer] {
            let at = last_room_at.entry(seat.participant).or_default();
            *at = (*at).max(opening.at);
        }
        let scenario = &opening.scenario;
        let Some(scenario) = hub.library().get(scenario).cloned() else {
            tracing::warn!(room = %room_id, scenario = %scenario, "room skipped: its scenario is no longer loaded");
            continue;
        };
        let Some(mut room) = Room::open(first, scenario) else {
            continue;
        };
        // The room's own list of its events, kept as the room applied them.
        let mut kept = EventList::default();
        for e in &log {
            room.apply(e);
            kept.push(e, &room);
        }
        let mut pending = session.and_then(|s| sessions.get_mut(&s));
        if room.phase == Phase::Debrief {
            if let Some(p) = pending.as_mut() {
                p.debriefs.push((room_id, room.debrief()));
            }
            out.rooms_finished += 1;
            let last = log.last().map(RoomEvent::at).unwrap_or(0);
            if last + DEBRIEF_LINGER.as_millis() as Millis <= now || room.is_abandoned() {
                continue;
            }
        } else if room.is_abandoned() {
            continue;
        } else {
            out.rooms_resumed += 1;
        }
        let person = |role: Role| hub.participant(room.seat(role).participant);
        let Some(seller) = person(Role::Seller) else {
            continue;
        };
        let buyer = if room.bot.is_some() {
            None
        } else {
            match person(Role::Buyer) {
                Some(b) => Some(b),
                None => continue,
            }
        };
        let observers: Vec<Arc<Participant>> = room
            .observers
            .iter()
            .filter_map(|s| hub.participant(s.participant))
            .collect();
        let (tx, rx) = crate::room_task::channel(ROOM_QUEUE);
        let handle = RoomHandle::new(room_id, tx);
        hub.add_room(handle.clone());
        seller.set_room(Some(handle.clone()));
        if let Some(b) = &buyer {
            b.set_room(Some(handle.clone()));
        }
        for o in &observers {
            o.set_observing(Some(handle.clone()));
        }
        let info = pending.as_ref().map(|p| crate::hub::SessionInfo {
            id: p.state.id,
            title: p.state.title.clone(),
            code: p.state.code.clone(),
        });
        let reporter = pending.map(|p| p.tx.clone());
        let resume = if room.phase != Phase::Debrief && !room.is_paused() && downtime > 0 {
            vec![RoomEvent::ClockStopped {
                ms: downtime,
                at: now,
            }]
        } else {
            Vec::new()
        };
        let task = RoomTask::new(
            room,
            room_stream(session, room_id),
            seller,
            buyer,
            observers,
            hub.clone(),
            reporter,
        )
        .with_log(kept)
        .with_session(info);
        tokio::spawn(Box::new(task).run(resume, rx));
    }

    out.sessions = sessions.len();
    // Every room the log has any event of was opened, even if it is over now.
    let opened: std::collections::HashSet<RoomId> = streams
        .keys()
        .filter_map(|s| room_of(s))
        .map(|(_, room)| room)
        .collect();
    for p in sessions.values() {
        // Ids handed to rooms that never opened are taken all the same.
        for round in &p.state.rounds {
            for room in &round.rooms {
                max_id = max_id.max(room.0);
            }
        }
        let Some(round) = p.state.rounds.last() else {
            continue;
        };
        let rooms: Vec<RoomId> = round
            .rooms
            .iter()
            .filter(|r| !opened.contains(r))
            .copied()
            .collect();
        if !rooms.is_empty() {
            // Queued before the task starts, so it is handled before anyone's reconnect.
            let _ = p.tx.try_send(workshop::SessionCmd::OpenUnopened { rooms });
        }
    }
    for (_, p) in sessions {
        workshop::spawn(hub.clone(), p.state, Vec::new(), p.tx, p.rx, p.debriefs);
    }
    for (creator, (code, scenario, at)) in links {
        let used = last_room_at.get(&creator).is_some_and(|r| *r >= at);
        if let Some(p) = hub.participant(creator).filter(|_| !used) {
            hub.restore_link(code, p, scenario);
        }
    }
    hub.reserve_ids_up_to(max_id);
    out
}
