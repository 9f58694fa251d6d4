//! Planning and running a round: timings, the pairing plan, opening rooms, and the
//! trainer's pause, resume, extend and end.

use std::collections::HashSet;
use std::sync::Arc;

use crate::clock;
use crate::console::RoundPlan;
use crate::hub::{Participant, RoomSpec};
use crate::pairing::{self};
use crate::protocol::{
    Channel, ClientMsg, ErrorCode, HostAction, OddOneOut, ParticipantId, PlannedPair, RoomId,
};
use crate::room_task::{Queued, RoomCmd};
use crate::scenario::{ScenarioId, Timings};

use super::{saving_failed, HostResult, PlanRecord, RoomView, Session, SessionEvent, CONTROL_WAIT};

impl Session {
    pub(super) fn check_timings(t: &Timings) -> HostResult {
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

    pub(super) async fn plan_round(
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
    pub(super) async fn keep_plan(&mut self, record: PlanRecord, more: Vec<String>) -> HostResult {
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
    pub(super) fn plan_from(&self, record: PlanRecord, more: Vec<String>) -> RoundPlan {
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

    pub(super) async fn set_pairs(&mut self, pairs: Vec<PlannedPair>) -> HostResult {
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

    pub(super) async fn start_round(&mut self) -> HostResult {
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
    pub(super) fn open_room(
        &mut self,
        pair: &PlannedPair,
        id: RoomId,
        channel: Channel,
        timings: Timings,
    ) {
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
    pub(super) async fn control(&mut self, room: Option<RoomId>, action: HostAction) -> HostResult {
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
}
