//! The cost workload: every server at the same fixed loads, in interleaved rounds so a
//! drift in the machine's speed touches them all alike, summarised as CPU time per
//! relayed message (median of the rounds) and set against what the saturation targets
//! ask of it.
//!
//! A server on one core holds a throughput inversely proportional to its CPU time per
//! message, so "at least 70% of the bare relay's throughput" is "at most 1/0.7 of its CPU
//! per message", and "at least twice Node's" is "at most half of Node's". Unlike the
//! saturation figures, which swing from run to run with the generator's own limits,
//! these ratios hold steady (`../shared/BENCHMARKING.md`).

use std::fmt::Write as _;

use serde::Serialize;

use crate::ServerKind;

/// The saturation target against the bare relay: at least this share of its throughput.
const SHARE_OF_BARE: f64 = 0.7;
/// The saturation target against the Node relay: at least this multiple of its throughput.
const MULTIPLE_OF_NODE: f64 = 2.0;

/// One server's CPU time per message in one round at one load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub round: usize,
    pub server: ServerKind,
    /// Total messages per second asked of the server.
    pub rate: f64,
    pub cpu_micros_per_message: f64,
}

/// The middle value (the mean of the middle two for an even count); none when empty.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

fn cpu_at(samples: &[Sample], server: ServerKind, rate: f64, round: usize) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.server == server && s.rate == rate && s.round == round)
        .map(|s| s.cpu_micros_per_message)
}

/// The median over rounds of `a`'s CPU per message divided by `b`'s in the same round:
/// both ran minutes apart at most, so the ratio cancels most of the machine's drift.
fn ratio(samples: &[Sample], a: ServerKind, b: ServerKind, rate: f64) -> Option<f64> {
    let mut rounds: Vec<usize> = samples.iter().map(|s| s.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    median(
        rounds
            .into_iter()
            .filter_map(|r| Some(cpu_at(samples, a, rate, r)? / cpu_at(samples, b, rate, r)?))
            .collect(),
    )
}

fn within(measured: f64, budget: f64) -> &'static str {
    if measured <= budget {
        "within budget"
    } else {
        "OVER BUDGET"
    }
}

/// The cost section of the bench summary: each server's CPU per message at each load,
/// then the targets as CPU budgets at each load.
pub fn summary(samples: &[Sample], servers: &[ServerKind], pairs: usize) -> String {
    let mut out = String::new();
    let mut rates: Vec<f64> = samples.iter().map(|s| s.rate).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    if rates.is_empty() {
        return out;
    }
    let rounds = samples.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let _ = writeln!(
        out,
        "CPU per relayed message, {pairs} pairs, median of {rounds} interleaved rounds (lowest-highest):"
    );
    for &rate in &rates {
        let figures: Vec<String> = servers
            .iter()
            .filter_map(|&k| {
                let values: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.server == k && s.rate == rate)
                    .map(|s| s.cpu_micros_per_message)
                    .collect();
                let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mid = median(values)?;
                Some(format!("{} {mid:.1} µs ({low:.1}-{high:.1})", k.label()))
            })
            .collect();
        let _ = writeln!(out, "  {rate:.0} msg/s: {}", figures.join("; "));
    }
    for &rate in &rates {
        let uncover_over = |other| ratio(samples, ServerKind::Uncover, other, rate);
        let mut lines = Vec::new();
        if let Some(r) = uncover_over(ServerKind::Bare) {
            let budget = 1.0 / SHARE_OF_BARE;
            lines.push(format!(
                "  >= {:.0}% of the bare relay's throughput: Uncover may cost at most {budget:.2}x the bare relay per message; it costs {r:.2}x ({})",
                SHARE_OF_BARE * 100.0,
                within(r, budget)
            ));
        }
        if let Some(r) = uncover_over(ServerKind::Node) {
            let budget = 1.0 / MULTIPLE_OF_NODE;
            let mut line = format!(
                "  >= {MULTIPLE_OF_NODE:.0}x the Node ws relay's throughput: Uncover may cost at most {budget:.2}x Node per message; it costs {r:.2}x ({})",
                within(r, budget)
            );
            if let Some(floor) = ratio(samples, ServerKind::Bare, ServerKind::Node, rate) {
                let _ = write!(
                    line,
                    "; the bare relay, which does nothing but forward, costs {floor:.2}x"
                );
                if floor > budget {
                    line.push_str(
                        ": no server on this stack can meet this target on one core here",
                    );
                }
            }
            lines.push(line);
        }
        if let Some(r) = uncover_over(ServerKind::BareEcho) {
            lines.push(format!(
                "  reference (not a target): Uncover costs {r:.2}x the bare relay echoing each line to its sender"
            ));
        }
        if !lines.is_empty() {
            let _ = writeln!(
                out,
                "The saturation targets as CPU budgets at {rate:.0} msg/s (median of the rounds' ratios):"
            );
            for line in lines {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounds of samples at 20,000 msg/s: (Uncover, bare, echoing bare, Node) per round.
    fn rounds(figures: &[(f64, f64, f64, f64)]) -> Vec<Sample> {
        let mut samples = Vec::new();
        for (round, &(u, b, e, n)) in figures.iter().enumerate() {
            for (server, cpu) in [
                (ServerKind::Uncover, u),
                (ServerKind::Bare, b),
                (ServerKind::BareEcho, e),
                (ServerKind::Node, n),
            ] {
                samples.push(Sample {
                    round,
                    server,
                    rate: 20_000.0,
                    cpu_micros_per_message: cpu,
                });
            }
        }
        samples
    }

    const ALL: [ServerKind; 4] = [
        ServerKind::Uncover,
        ServerKind::Bare,
        ServerKind::BareEcho,
        ServerKind::Node,
    ];

    #[test]
    fn each_server_is_shown_by_its_median_and_range() {
        let out = summary(
            &rounds(&[
                (40.0, 18.0, 25.0, 32.0),
                (50.0, 20.0, 26.0, 33.0),
                (44.0, 19.0, 24.0, 31.0),
            ]),
            &ALL,
            1000,
        );
        assert!(out.contains("median of 3 interleaved rounds"), "{out}");
        assert!(out.contains("Uncover 44.0 µs (40.0-50.0)"), "{out}");
        assert!(
            out.contains("bare tokio-tungstenite 19.0 µs (18.0-20.0)"),
            "{out}"
        );
    }

    #[test]
    fn ratios_are_taken_within_each_round() {
        // The machine slowed down in round two: every server cost more, the ratios held.
        let out = summary(
            &rounds(&[(36.0, 18.0, 24.0, 30.0), (60.0, 30.0, 40.0, 50.0)]),
            &ALL,
            1000,
        );
        assert!(out.contains("it costs 2.00x (OVER BUDGET)"), "{out}");
        assert!(out.contains("echoing each line to its sender"), "{out}");
    }

    #[test]
    fn a_server_within_both_budgets_is_said_to_be() {
        let out = summary(&rounds(&[(20.0, 16.0, 22.0, 44.0)]), &ALL, 1000);
        assert!(
            out.contains(
                "at most 1.43x the bare relay per message; it costs 1.25x (within budget)"
            ),
            "{out}"
        );
        assert!(out.contains("it costs 0.45x (within budget)"), "{out}");
        assert!(!out.contains("no server on this stack"), "{out}");
    }

    #[test]
    fn a_node_target_beyond_the_bare_relay_is_called_out() {
        let out = summary(&rounds(&[(43.0, 18.0, 25.0, 32.0)]), &ALL, 1000);
        assert!(
            out.contains("the bare relay, which does nothing but forward, costs 0.56x: no server on this stack can meet this target on one core here"),
            "{out}"
        );
    }

    #[test]
    fn budgets_need_both_servers_of_a_ratio() {
        let only_uncover: Vec<Sample> = rounds(&[(43.0, 18.0, 25.0, 32.0)])
            .into_iter()
            .filter(|s| s.server == ServerKind::Uncover)
            .collect();
        let out = summary(&only_uncover, &[ServerKind::Uncover], 1000);
        assert!(out.contains("Uncover 43.0 µs"), "{out}");
        assert!(!out.contains("budget"), "{out}");
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }
}
