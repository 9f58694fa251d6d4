//! What the session shows: live cards, pair results, the room debrief, the console and
//! the export, all read from its state and its rooms' reports.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::console::{
    ConsoleState, FactTally, LiveRoom, Member, MemberStatus, PairResult, RaisedHand, RoundResults,
};
use crate::protocol::{Channel, ParticipantId, PlannedPair, RoomId, SessionId};
use crate::room::Millis;
use crate::scenario::{ScenarioId, Timings};
use crate::scoring::Debrief;

use super::{MemberRecord, RoundRecord, Session};

impl Session {
    pub(super) fn buyer_name(&self, pair: &PlannedPair) -> String {
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

    pub(super) fn live_card(&self, room: RoomId) -> Option<LiveRoom> {
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

    pub(super) fn pair_result(&self, ri: usize, room: RoomId, pair: &PlannedPair) -> PairResult {
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

    pub(super) fn debriefs(&self, round: &RoundRecord) -> Vec<(ScenarioId, Option<&Debrief>)> {
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

    pub(super) fn results(&self, ri: usize) -> RoundResults {
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

    pub(super) fn status(&self, m: &MemberRecord) -> MemberStatus {
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

    pub(super) fn console(&self) -> ConsoleState {
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

    pub(super) fn export(&self) -> SessionExport {
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
