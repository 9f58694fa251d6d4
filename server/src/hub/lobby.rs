//! The lobby: what someone not in a room may ask for. Matchmaking (and the bot buyer
//! offered after a wait), private pair links, joining or hosting a workshop session by
//! its code or host link, and creating one.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{
    fresh_code, not_saved, participant_stream, Hub, Participant, ParticipantEvent, RoomSpec,
    SessionSeat,
};
use crate::clock;
use crate::protocol::{Channel, ClientMsg, ErrorCode, ServerMsg, SessionId};
use crate::room_task::RoomHandle;
use crate::scenario::ScenarioId;
use crate::workshop::{self, SessionCmd, SessionEvent, SessionHandle, SessionState};

type LobbyResult = Result<(), (ErrorCode, String)>;

/// Someone in the matchmaking queue.
#[derive(Debug)]
pub(super) struct Waiter {
    who: Arc<Participant>,
    scenario: Option<ScenarioId>,
    /// Tells this wait apart from a later one by the same person.
    ticket: u64,
    /// `bot_available` was sent, so `accept_bot` may take the bot buyer.
    bot_offered: bool,
}

/// A pair link handed out and not yet joined.
#[derive(Debug)]
pub(super) struct PairLink {
    creator: Arc<Participant>,
    scenario: Option<ScenarioId>,
}

impl Hub {
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
    pub(super) fn forget_waiting(&self, p: &Participant) -> bool {
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
}

/// The short name of a client message, for error texts.
pub fn message_type(msg: &ClientMsg) -> String {
    serde_json::to_value(msg)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_default()
}
