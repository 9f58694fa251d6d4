//! The figures a fault run adds up over its moments, prints so they can be quoted, and
//! holds against the targets.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::{BACK_WITHIN, CLOCK_TOLERANCE_MS};

/// The figures a fault run adds up over its moments and reports.
#[derive(Debug, Default)]
pub struct Figures {
    pub moments: Vec<String>,
    pub clients_back: usize,
    /// Acknowledged lines looked for in rebuilt views (one per line per client).
    pub checked: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub reordered: usize,
    /// Found, but at another index than acknowledged.
    pub moved: usize,
    pub slowest: Duration,
    /// Who that was.
    pub slowest_who: String,
    pub worst_clock_ms: i64,
    /// Remaining times compared.
    pub clocks: usize,
    /// Who was furthest off, and how.
    pub worst_clock: String,
}

impl Figures {
    /// Checks a rebuilt view's transcript against lines acknowledged to the client or
    /// its partner (text → index).
    pub fn transcript<'a>(
        &mut self,
        view: &[Value],
        acked: impl IntoIterator<Item = (&'a String, &'a u64)>,
    ) {
        let mut by_text: HashMap<&str, u64> = HashMap::new();
        let mut last_index = None;
        for v in view.iter().filter(|v| v["type"] == "chat") {
            let index = v["index"].as_u64().unwrap_or(u64::MAX);
            if last_index.is_some_and(|l| index <= l) {
                self.reordered += 1;
            }
            last_index = Some(index);
            if by_text
                .insert(v["text"].as_str().unwrap_or_default(), index)
                .is_some()
            {
                self.duplicated += 1;
            }
        }
        for (text, index) in acked {
            self.checked += 1;
            match by_text.get(text.as_str()) {
                None => self.lost += 1,
                Some(at) if at != index => self.moved += 1,
                Some(_) => {}
            }
        }
    }

    /// Notes that `who` was back in `took`.
    pub fn back(&mut self, who: &str, took: Duration) {
        self.clients_back += 1;
        if took > self.slowest {
            self.slowest = took;
            self.slowest_who = who.to_owned();
        }
    }

    /// Compares a remaining time with what it should be.
    pub fn clock(&mut self, who: &str, got: Option<i64>, want: Option<i64>) {
        let (Some(got), Some(want)) = (got, want) else {
            assert_eq!(got, want, "{who}: remaining time");
            return;
        };
        self.clock_off(
            who,
            (got - want).abs(),
            format!("{got} ms left, {want} expected"),
        );
    }

    fn clock_off(&mut self, who: &str, off: i64, how: String) {
        self.clocks += 1;
        if off > self.worst_clock_ms {
            self.worst_clock_ms = off;
            self.worst_clock = format!("{who}: {how}");
        }
    }

    /// Checks a remaining time that may lie anywhere in `earliest..=latest` (a phase that
    /// began at an unknown moment between two known ones).
    pub fn clock_between(&mut self, who: &str, got: Option<i64>, earliest: i64, latest: i64) {
        let got = got.unwrap_or_else(|| panic!("{who}: a running phase has a remaining time"));
        let off = (earliest - got).max(got - latest).max(0);
        self.clock_off(
            who,
            off,
            format!("{got} ms left, {earliest}..={latest} expected"),
        );
    }

    /// Prints the figures (run with `--nocapture` to see them).
    pub fn report(&self, run: &str) {
        println!(
            "{run}: {} moments ({}); {} clients back, slowest in {:?} ({}); {} acknowledged \
             lines checked: {} lost to clients, {} duplicated, {} reordered, {} at another \
             index; {} remaining times compared, off by {} ms at most",
            self.moments.len(),
            self.moments.join(", "),
            self.clients_back,
            self.slowest,
            self.slowest_who,
            self.checked,
            self.lost,
            self.duplicated,
            self.reordered,
            self.moved,
            self.clocks,
            self.worst_clock_ms
        );
    }

    /// The targets: nothing lost, doubled or reordered; every client back within
    /// [`BACK_WITHIN`]; every remaining time within [`CLOCK_TOLERANCE_MS`].
    pub fn assert_targets(&self, run: &str) {
        self.report(run);
        assert_eq!(
            (self.lost, self.duplicated, self.reordered, self.moved),
            (0, 0, 0, 0),
            "{run}: nothing lost, doubled, reordered or moved"
        );
        assert!(
            self.slowest <= BACK_WITHIN,
            "{run}: every client back within {BACK_WITHIN:?} (slowest {:?}, {})",
            self.slowest,
            self.slowest_who
        );
        assert!(
            self.worst_clock_ms <= CLOCK_TOLERANCE_MS,
            "{run}: remaining times within {CLOCK_TOLERANCE_MS} ms (worst {} ms, {})",
            self.worst_clock_ms,
            self.worst_clock
        );
    }
}
