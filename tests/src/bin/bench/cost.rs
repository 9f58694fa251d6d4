//! The cost workload: every server at the same fixed loads, in interleaved rounds so a
//! drift in the machine's speed touches them all alike, summarised as CPU time per
//! relayed message (median of the rounds), with system calls and context switches per
//! message beside it, and set against the capacity targets.
//!
//! The targets (issue 16) are CPU budgets per message, which hold steady where
//! saturation figures swing with the generator's own limits (`../shared/BENCHMARKING.md`):
//! Uncover at most 1.3× the bare relay echoing each line to its sender (the floor for any
//! server that answers every line), and at most half of a Node `ws` relay that commits
//! each line to SQLite before echoing and relaying it (what a team would write instead).

use std::fmt::Write as _;

use serde::Serialize;

use crate::ServerKind;

/// Uncover's CPU per message may be at most this multiple of the echoing bare relay's.
const MULTIPLE_OF_ECHO: f64 = 1.3;
/// Uncover's CPU per message should be at most this multiple of the durable Node relay's.
const MULTIPLE_OF_NODE_DURABLE: f64 = 0.5;

/// One server's CPU time per message in one round at one load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub round: usize,
    pub server: ServerKind,
    /// Total messages per second asked of the server.
    pub rate: f64,
    pub cpu_micros_per_message: f64,
    /// Of that, background threads' (Uncover's reader reading ahead).
    pub background_cpu_micros_per_message: f64,
    /// System calls per message, when `perf` could count them.
    pub syscalls_per_message: Option<f64>,
    pub context_switches_per_message: f64,
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

fn cpu_at(
    samples: &[Sample],
    server: ServerKind,
    rate: f64,
    round: usize,
    cpu: fn(&Sample) -> f64,
) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.server == server && s.rate == rate && s.round == round)
        .map(cpu)
}

/// The median over rounds of `a`'s CPU per message divided by `b`'s in the same round:
/// both ran minutes apart at most, so the ratio cancels most of the machine's drift.
fn ratio(samples: &[Sample], a: ServerKind, b: ServerKind, rate: f64) -> Option<f64> {
    ratio_of(samples, a, b, rate, |s| s.cpu_micros_per_message)
}

/// [`ratio`] with `a`'s CPU per message read by `cpu_a`.
fn ratio_of(
    samples: &[Sample],
    a: ServerKind,
    b: ServerKind,
    rate: f64,
    cpu_a: fn(&Sample) -> f64,
) -> Option<f64> {
    let mut rounds: Vec<usize> = samples.iter().map(|s| s.round).collect();
    rounds.sort_unstable();
    rounds.dedup();
    median(
        rounds
            .into_iter()
            .filter_map(|r| {
                let b = cpu_at(samples, b, rate, r, |s| s.cpu_micros_per_message)?;
                Some(cpu_at(samples, a, rate, r, cpu_a)? / b)
            })
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
                let mine: Vec<&Sample> = samples
                    .iter()
                    .filter(|s| s.server == k && s.rate == rate)
                    .collect();
                let values: Vec<f64> = mine.iter().map(|s| s.cpu_micros_per_message).collect();
                let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mid = median(values)?;
                let syscalls = median(mine.iter().filter_map(|s| s.syscalls_per_message).collect())
                    .map_or_else(|| "?".to_string(), |n| format!("{n:.2}"));
                let switches = median(mine.iter().map(|s| s.context_switches_per_message).collect())
                    .unwrap_or(0.0);
                let background =
                    median(mine.iter().map(|s| s.background_cpu_micros_per_message).collect())
                        .unwrap_or(0.0);
                let background = if background > 0.0 {
                    format!(" (background threads {background:.1} µs of it)")
                } else {
                    String::new()
                };
                Some(format!(
                    "{} {mid:.1} µs ({low:.1}-{high:.1}){background}, {syscalls} syscalls, {switches:.2} context switches",
                    k.label()
                ))
            })
            .collect();
        let _ = writeln!(out, "  {rate:.0} msg/s, per message:");
        for f in figures {
            let _ = writeln!(out, "    {f}");
        }
    }
    for &rate in &rates {
        let uncover_over = |other| ratio(samples, ServerKind::Uncover, other, rate);
        let mut lines = Vec::new();
        if let Some(r) = uncover_over(ServerKind::BareEcho) {
            lines.push(format!(
                "  target: at most {MULTIPLE_OF_ECHO:.2}x the bare relay echoing each line to its sender; Uncover costs {r:.2}x ({})",
                within(r, MULTIPLE_OF_ECHO)
            ));
        }
        if let Some(r) = uncover_over(ServerKind::NodeDurable) {
            lines.push(format!(
                "  target: at most {MULTIPLE_OF_NODE_DURABLE:.2}x the Node ws + better-sqlite3 relay (each line committed before its echo); Uncover costs {r:.2}x ({})",
                within(r, MULTIPLE_OF_NODE_DURABLE)
            ));
        }
        let foreground =
            |s: &Sample| s.cpu_micros_per_message - s.background_cpu_micros_per_message;
        if let Some(r) = ratio_of(
            samples,
            ServerKind::Uncover,
            ServerKind::BareEcho,
            rate,
            foreground,
        ) {
            lines.push(format!(
                "  reference: Uncover without its background threads (the reader reading ahead) costs {r:.2}x the echoing relay"
            ));
        }
        for (other, what) in [
            (ServerKind::Node, "the plain Node ws relay"),
            (ServerKind::Bare, "the bare relay"),
        ] {
            if let Some(r) = uncover_over(other) {
                lines.push(format!("  reference: Uncover costs {r:.2}x {what}"));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(
                out,
                "CPU per message against the others at {rate:.0} msg/s (median of the rounds' ratios):"
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

    /// Rounds of samples at 20,000 msg/s: (Uncover, echoing bare, Node ws + SQLite) per
    /// round.
    fn rounds(figures: &[(f64, f64, f64)]) -> Vec<Sample> {
        let mut samples = Vec::new();
        for (round, &(u, e, d)) in figures.iter().enumerate() {
            for (server, cpu) in [
                (ServerKind::Uncover, u),
                (ServerKind::BareEcho, e),
                (ServerKind::NodeDurable, d),
            ] {
                samples.push(Sample {
                    round,
                    server,
                    rate: 20_000.0,
                    cpu_micros_per_message: cpu,
                    background_cpu_micros_per_message: 0.0,
                    syscalls_per_message: Some(3.0),
                    context_switches_per_message: 0.25,
                });
            }
        }
        samples
    }

    const ALL: [ServerKind; 3] = [
        ServerKind::Uncover,
        ServerKind::BareEcho,
        ServerKind::NodeDurable,
    ];

    #[test]
    fn each_server_is_shown_by_its_median_and_range() {
        let out = summary(
            &rounds(&[(40.0, 25.0, 80.0), (50.0, 26.0, 90.0), (44.0, 24.0, 85.0)]),
            &ALL,
            1000,
        );
        assert!(out.contains("median of 3 interleaved rounds"), "{out}");
        assert!(
            out.contains("Uncover 44.0 µs (40.0-50.0), 3.00 syscalls, 0.25 context switches"),
            "{out}"
        );
    }

    #[test]
    fn ratios_are_taken_within_each_round() {
        // The machine slowed down in round two: every server cost more, the ratios held.
        let out = summary(
            &rounds(&[(48.0, 24.0, 96.0), (80.0, 40.0, 160.0)]),
            &ALL,
            1000,
        );
        assert!(out.contains("Uncover costs 2.00x (OVER BUDGET)"), "{out}");
        assert!(out.contains("Uncover costs 0.50x (within budget)"), "{out}");
    }

    #[test]
    fn budgets_need_both_servers_of_a_ratio() {
        let only_uncover: Vec<Sample> = rounds(&[(43.0, 25.0, 80.0)])
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
