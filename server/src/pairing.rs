//! Pairing a workshop round: random, avoiding partners who already met, swapping roles
//! so everyone sells and buys, and placing the odd trainee with the bot or as an observer.
//!
//! Pure: the caller passes the history and a random source, so plans are reproducible.

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::protocol::{OddOneOut, ParticipantId, PlannedPair, Role};
use crate::scenario::ScenarioId;

/// Random starts, each improved by local search; the cheapest plan wins. A handful is
/// plenty once each start is improved, and keeps planning 200 people instant.
const ATTEMPTS: usize = 8;
/// Meeting the same partner again is the worst outcome.
const COST_REPEAT: u32 = 100;
/// Playing the same role twice in a row is worth avoiding, but less.
const COST_SAME_ROLE: u32 = 10;
/// Sitting out twice (bot seller or observer) is mildly unfair.
const COST_ODD_AGAIN: u32 = 5;

/// What earlier rounds of the session left behind.
#[derive(Debug, Clone, Default)]
pub struct History {
    met: HashSet<(ParticipantId, ParticipantId)>,
    last_role: HashMap<ParticipantId, Role>,
    was_odd: HashSet<ParticipantId>,
    /// The scenarios each trainee has played or watched: they have seen its hidden
    /// story in the debrief, so selling it again teaches nothing.
    held: HashMap<ParticipantId, HashSet<ScenarioId>>,
}

fn key(a: ParticipantId, b: ParticipantId) -> (ParticipantId, ParticipantId) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

impl History {
    pub fn have_met(&self, a: ParticipantId, b: ParticipantId) -> bool {
        self.met.contains(&key(a, b))
    }

    pub fn last_role(&self, p: ParticipantId) -> Option<Role> {
        self.last_role.get(&p).copied()
    }

    /// Whether `p` has already played or watched `scenario` in this session.
    pub fn has_held(&self, p: ParticipantId, scenario: &ScenarioId) -> bool {
        self.held.get(&p).is_some_and(|s| s.contains(scenario))
    }

    /// Records a round as it was actually played. Observers count as having met the pair
    /// they watched only for fairness of sitting out, not as partners.
    pub fn record(&mut self, pairs: &[PlannedPair]) {
        let mut odd_now = HashSet::new();
        for p in pairs {
            for who in std::iter::once(p.seller)
                .chain(p.buyer)
                .chain(p.observers.iter().copied())
            {
                self.held.entry(who).or_default().insert(p.scenario.clone());
            }
            self.last_role.insert(p.seller, Role::Seller);
            match p.buyer {
                Some(b) => {
                    self.met.insert(key(p.seller, b));
                    self.last_role.insert(b, Role::Buyer);
                }
                None => {
                    odd_now.insert(p.seller);
                }
            }
            for o in &p.observers {
                odd_now.insert(*o);
                self.last_role.remove(o);
            }
        }
        self.was_odd = odd_now;
    }
}

/// A proposed round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub pairs: Vec<PlannedPair>,
    pub cost: u32,
}

/// Why no plan is possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    #[error("nobody is in the lobby yet")]
    Empty,
    #[error("one trainee cannot be paired with an observer role; choose the bot buyer for the odd one out")]
    AloneWithoutBot,
    #[error("no scenarios are loaded")]
    NoScenarios,
}

fn seller_cost(h: &History, p: ParticipantId) -> u32 {
    if h.last_role(p) == Some(Role::Seller) {
        COST_SAME_ROLE
    } else {
        0
    }
}

fn buyer_cost(h: &History, p: ParticipantId) -> u32 {
    if h.last_role(p) == Some(Role::Buyer) {
        COST_SAME_ROLE
    } else {
        0
    }
}

/// The cheaper orientation of a pair: `(seller, buyer, cost)`.
fn orient(h: &History, a: ParticipantId, b: ParticipantId) -> (ParticipantId, ParticipantId, u32) {
    let repeat = if h.have_met(a, b) { COST_REPEAT } else { 0 };
    let ab = seller_cost(h, a) + buyer_cost(h, b);
    let ba = seller_cost(h, b) + buyer_cost(h, a);
    if ab <= ba {
        (a, b, ab + repeat)
    } else {
        (b, a, ba + repeat)
    }
}

/// Pairs are consecutive positions in `order`; an odd last position is the odd one out.
fn units(n: usize) -> usize {
    n.div_ceil(2)
}

fn unit_cost(order: &[ParticipantId], unit: usize, h: &History, odd: OddOneOut) -> u32 {
    match order.get(2 * unit..2 * unit + 2) {
        Some([a, b]) => orient(h, *a, *b).2,
        _ => {
            let p = order[2 * unit];
            let again = if h.was_odd.contains(&p) {
                COST_ODD_AGAIN
            } else {
                0
            };
            match odd {
                OddOneOut::Bot => again + seller_cost(h, p),
                OddOneOut::Observe => again,
            }
        }
    }
}

/// Swaps people between units while that lowers the cost (a local search after each
/// random start, so good plans are found reliably rather than by luck).
fn improve(order: &mut [ParticipantId], h: &History, odd: OddOneOut) {
    let n = order.len();
    let mut improved = true;
    while improved {
        improved = false;
        for i in 0..n {
            for j in (i + 1)..n {
                let (ui, uj) = (i / 2, j / 2);
                if ui == uj {
                    continue;
                }
                let before = unit_cost(order, ui, h, odd) + unit_cost(order, uj, h, odd);
                order.swap(i, j);
                let after = unit_cost(order, ui, h, odd) + unit_cost(order, uj, h, odd);
                if after < before {
                    improved = true;
                } else {
                    order.swap(i, j);
                }
            }
        }
    }
}

/// Plans a round for `present` trainees (lobby order). `scenario` none draws one per pair.
pub fn plan(
    present: &[ParticipantId],
    history: &History,
    odd: OddOneOut,
    scenario: Option<&ScenarioId>,
    scenarios: &[ScenarioId],
    rng: &mut impl Rng,
) -> Result<Plan, PairingError> {
    if present.is_empty() {
        return Err(PairingError::Empty);
    }
    if present.len() == 1 && odd == OddOneOut::Observe {
        return Err(PairingError::AloneWithoutBot);
    }
    if scenario.is_none() && scenarios.is_empty() {
        return Err(PairingError::NoScenarios);
    }
    let mut best: Option<(u32, Vec<ParticipantId>)> = None;
    let mut order: Vec<ParticipantId> = present.to_vec();
    for _ in 0..ATTEMPTS {
        order.shuffle(rng);
        improve(&mut order, history, odd);
        let cost = (0..units(order.len()))
            .map(|u| unit_cost(&order, u, history, odd))
            .sum();
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, order.clone()));
            if cost == 0 {
                break;
            }
        }
    }
    let Some((cost, order)) = best else {
        return Err(PairingError::Empty);
    };
    let mut pairs: Vec<(ParticipantId, Option<ParticipantId>)> = order
        .chunks_exact(2)
        .map(|c| {
            let (s, b, _) = orient(history, c[0], c[1]);
            (s, Some(b))
        })
        .collect();
    let mut observer = None;
    if order.len() % 2 == 1 {
        let odd_one = order[order.len() - 1];
        match odd {
            OddOneOut::Bot => pairs.push((odd_one, None)),
            OddOneOut::Observe => observer = Some(odd_one),
        }
    }
    let mut planned: Vec<PlannedPair> = pairs
        .into_iter()
        .map(|(seller, buyer)| PlannedPair {
            seller,
            buyer,
            observers: Vec::new(),
            scenario: match scenario {
                Some(s) => s.clone(),
                None => fresh_scenario(history, &[Some(seller), buyer], scenarios, rng),
            },
        })
        .collect();
    if let Some(o) = observer {
        // Prefer a pair whose scenario the observer has not seen yet.
        let fresh: Vec<usize> = (0..planned.len())
            .filter(|i| !history.has_held(o, &planned[*i].scenario))
            .collect();
        let i = if fresh.is_empty() {
            rng.random_range(0..planned.len())
        } else {
            fresh[rng.random_range(0..fresh.len())]
        };
        planned[i].observers.push(o);
    }
    Ok(Plan {
        pairs: planned,
        cost,
    })
}

/// A scenario for a pair, at random among those nobody in it has played or watched;
/// if every scenario has been seen by someone, one seen by the fewest of them.
fn fresh_scenario(
    history: &History,
    people: &[Option<ParticipantId>],
    scenarios: &[ScenarioId],
    rng: &mut impl Rng,
) -> ScenarioId {
    let seen_by = |s: &ScenarioId| {
        people
            .iter()
            .flatten()
            .filter(|p| history.has_held(**p, s))
            .count()
    };
    let least = scenarios.iter().map(seen_by).min().unwrap_or(0);
    let best: Vec<&ScenarioId> = scenarios.iter().filter(|s| seen_by(s) == least).collect();
    best[rng.random_range(0..best.len())].clone()
}

/// Warnings, in words, for pairs given a scenario someone in them has already played or
/// watched: a new seller who has read its hidden story has nothing left to discover.
pub fn scenario_warnings(
    pairs: &[PlannedPair],
    history: &History,
    name: impl Fn(ParticipantId) -> String,
    title: impl Fn(&ScenarioId) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for p in pairs {
        let seen: Vec<ParticipantId> = std::iter::once(p.seller)
            .chain(p.buyer)
            .filter(|who| history.has_held(*who, &p.scenario))
            .collect();
        if seen.is_empty() {
            continue;
        }
        let who = seen
            .iter()
            .map(|w| name(*w))
            .collect::<Vec<_>>()
            .join(" and ");
        let seller_saw = seen.contains(&p.seller);
        out.push(format!(
            "{who} {} already played “{}”{}. Choose another scenario for this pair.",
            if seen.len() == 1 { "has" } else { "have" },
            title(&p.scenario),
            if seller_saw {
                format!(
                    ": {} would sell already knowing the buyer's hidden story",
                    name(p.seller)
                )
            } else {
                String::new()
            }
        ));
    }
    out
}

/// Plain-language notes on a plan the trainer may want to change.
pub fn warnings(
    pairs: &[PlannedPair],
    history: &History,
    name: impl Fn(ParticipantId) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for p in pairs {
        if let Some(b) = p.buyer {
            if history.have_met(p.seller, b) {
                out.push(format!(
                    "{} and {} have already played together",
                    name(p.seller),
                    name(b)
                ));
            }
            if history.last_role(b) == Some(Role::Buyer) {
                out.push(format!("{} buys again", name(b)));
            }
        }
        if history.last_role(p.seller) == Some(Role::Seller) {
            out.push(format!("{} sells again", name(p.seller)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn people(n: u64) -> Vec<ParticipantId> {
        (1..=n).map(ParticipantId).collect()
    }

    fn sid() -> ScenarioId {
        ScenarioId("s".into())
    }

    fn everyone(plan: &Plan) -> Vec<ParticipantId> {
        let mut v: Vec<ParticipantId> = plan
            .pairs
            .iter()
            .flat_map(|p| {
                std::iter::once(p.seller)
                    .chain(p.buyer)
                    .chain(p.observers.iter().copied())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn everyone_is_placed_exactly_once() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in 1..=21 {
            let plan = plan(
                &people(n),
                &History::default(),
                OddOneOut::Bot,
                Some(&sid()),
                &[],
                &mut rng,
            )
            .unwrap();
            assert_eq!(everyone(&plan), people(n), "n = {n}");
            assert_eq!(plan.pairs.len() as u64, n.div_ceil(2));
        }
    }

    #[test]
    fn second_round_swaps_roles_and_avoids_repeat_partners() {
        let mut rng = StdRng::seed_from_u64(42);
        let ids = people(10);
        let mut h = History::default();
        let first = plan(&ids, &h, OddOneOut::Bot, Some(&sid()), &[], &mut rng).unwrap();
        h.record(&first.pairs);
        let second = plan(&ids, &h, OddOneOut::Bot, Some(&sid()), &[], &mut rng).unwrap();
        assert_eq!(second.cost, 0);
        for p in &second.pairs {
            let b = p.buyer.unwrap();
            assert!(!h.have_met(p.seller, b));
            assert_eq!(
                h.last_role(p.seller),
                Some(Role::Buyer),
                "sellers bought last time"
            );
            assert_eq!(h.last_role(b), Some(Role::Seller), "buyers sold last time");
        }
        assert!(warnings(&second.pairs, &h, |p| p.to_string()).is_empty());
    }

    #[test]
    fn five_rounds_of_twenty_never_repeat_a_partner() {
        let mut rng = StdRng::seed_from_u64(11);
        let ids = people(20);
        let mut h = History::default();
        let mut met = std::collections::HashSet::new();
        for round in 0..5 {
            let p = plan(&ids, &h, OddOneOut::Bot, Some(&sid()), &[], &mut rng).unwrap();
            assert_eq!(p.cost, 0, "round {round}");
            for pair in &p.pairs {
                assert!(met.insert(key(pair.seller, pair.buyer.unwrap())));
                if round > 0 {
                    assert_eq!(h.last_role(pair.seller), Some(Role::Buyer), "round {round}");
                }
            }
            h.record(&p.pairs);
        }
    }

    #[test]
    fn the_odd_one_out_gets_the_bot_or_observes() {
        let mut rng = StdRng::seed_from_u64(3);
        let bot = plan(
            &people(5),
            &History::default(),
            OddOneOut::Bot,
            Some(&sid()),
            &[],
            &mut rng,
        )
        .unwrap();
        assert_eq!(bot.pairs.iter().filter(|p| p.buyer.is_none()).count(), 1);
        let watch = plan(
            &people(5),
            &History::default(),
            OddOneOut::Observe,
            Some(&sid()),
            &[],
            &mut rng,
        )
        .unwrap();
        assert_eq!(watch.pairs.len(), 2);
        assert_eq!(
            watch.pairs.iter().map(|p| p.observers.len()).sum::<usize>(),
            1
        );
    }

    #[test]
    fn a_lone_trainee_needs_the_bot() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            plan(
                &people(1),
                &History::default(),
                OddOneOut::Observe,
                Some(&sid()),
                &[],
                &mut rng
            ),
            Err(PairingError::AloneWithoutBot)
        );
        assert_eq!(
            plan(
                &[],
                &History::default(),
                OddOneOut::Bot,
                Some(&sid()),
                &[],
                &mut rng
            ),
            Err(PairingError::Empty)
        );
    }

    #[test]
    fn second_round_draws_a_scenario_neither_player_has_held() {
        let mut rng = StdRng::seed_from_u64(7);
        let ids: Vec<ScenarioId> = ["a", "b", "c"]
            .iter()
            .map(|s| ScenarioId((*s).into()))
            .collect();
        let present = people(6);
        let mut h = History::default();
        let first = plan(&present, &h, OddOneOut::Bot, Some(&ids[0]), &ids, &mut rng).unwrap();
        h.record(&first.pairs);
        for _ in 0..20 {
            let second = plan(&present, &h, OddOneOut::Bot, None, &ids, &mut rng).unwrap();
            for p in &second.pairs {
                assert_ne!(
                    p.scenario, ids[0],
                    "nobody gets the scenario they all played"
                );
            }
            let w = scenario_warnings(&second.pairs, &h, |p| p.to_string(), |s| s.to_string());
            assert!(w.is_empty(), "{w:?}");
        }
    }

    #[test]
    fn a_trainers_repeated_scenario_is_warned_about_in_words() {
        let mut rng = StdRng::seed_from_u64(3);
        let ids = vec![sid()];
        let present = people(2);
        let mut h = History::default();
        let first = plan(&present, &h, OddOneOut::Bot, Some(&ids[0]), &ids, &mut rng).unwrap();
        h.record(&first.pairs);
        let second = plan(&present, &h, OddOneOut::Bot, Some(&ids[0]), &ids, &mut rng).unwrap();
        let w = scenario_warnings(
            &second.pairs,
            &h,
            |p| format!("P{}", p.0),
            |_| "Favour".into(),
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("already played “Favour”"), "{}", w[0]);
        assert!(w[0].contains("hidden story"), "{}", w[0]);
    }

    #[test]
    fn warnings_name_repeats_and_unswapped_roles() {
        let mut h = History::default();
        let pair = PlannedPair {
            seller: ParticipantId(1),
            buyer: Some(ParticipantId(2)),
            observers: vec![],
            scenario: sid(),
        };
        h.record(std::slice::from_ref(&pair));
        let w = warnings(&[pair], &h, |p| format!("P{}", p.0));
        assert_eq!(
            w,
            vec![
                "P1 and P2 have already played together".to_string(),
                "P2 buys again".to_string(),
                "P1 sells again".to_string()
            ]
        );
    }
}
