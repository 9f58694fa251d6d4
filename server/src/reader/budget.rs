//! How much CPU reading ahead may take. Lines of human rounds are read in the background
//! so a debrief is ready the moment its round ends; that reading must never take the
//! relay's core. Two limits, both cheap to check on the relay path:
//!
//! - a share of one core, kept as a bucket of encoding time that refills with the clock
//!   and empties by what each background encoding really took;
//! - a rate: past [`MAX_LINES_PER_SEC`] lines offered in a second the server is carrying
//!   far more chat than any workshop, and the debriefs read their lines at the end.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Share of one core that reading ahead may use. A 60-person workshop offers about four
/// sentences a second at a few milliseconds each (2-3% of a core); a tenth leaves it
/// several times that, and leaves the relay nine tenths under any load.
const SHARE: f64 = 0.10;
/// Encoding time the bucket holds: a burst of lines (a round's opening questions) is
/// read at once, after a quiet spell.
const BURST: Duration = Duration::from_millis(500);
/// Lines offered in one second beyond which nothing is read ahead. A workshop of 60
/// says under 10 lines a second; this is fifty times that.
pub const MAX_LINES_PER_SEC: u32 = 500;

/// The bucket and the rate window.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Encoding time still allowed, in seconds (negative after an overrun).
    left: f64,
    refilled: Instant,
    window: Instant,
    offered: u32,
}

impl Default for Budget {
    fn default() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                left: BURST.as_secs_f64(),
                refilled: now,
                window: now,
                offered: 0,
            }),
        }
    }
}

impl Budget {
    /// Whether one more line may be read ahead now; counts it as offered.
    pub fn admit(&self, now: Instant) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
        s.left = (s.left + elapsed * SHARE).min(BURST.as_secs_f64());
        s.refilled = now;
        if now.saturating_duration_since(s.window) >= Duration::from_secs(1) {
            s.window = now;
            s.offered = 0;
        }
        s.offered = s.offered.saturating_add(1);
        s.offered <= MAX_LINES_PER_SEC && s.left > 0.0
    }

    /// Whether [`Budget::admit`] could say yes now, without counting a line (for a caller
    /// deciding whether to work out what it would read).
    pub fn open(&self) -> bool {
        self.state.lock().is_ok_and(|s| {
            s.offered < MAX_LINES_PER_SEC || s.window.elapsed() >= Duration::from_secs(1)
        })
    }

    /// Takes what a background encoding really cost out of the bucket.
    pub fn spent(&self, took: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.left -= took.as_secs_f64();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_ahead_stops_at_its_share_of_a_core_and_resumes_as_time_passes() {
        let b = Budget::default();
        let t0 = Instant::now();
        assert!(b.admit(t0));
        // A whole burst spent at once: nothing more until the bucket refills.
        b.spent(BURST + Duration::from_millis(1));
        assert!(!b.admit(t0));
        // A tenth of a core: each millisecond overspent takes ten of clock to earn back.
        assert!(!b.admit(t0 + Duration::from_millis(5)));
        assert!(b.admit(t0 + Duration::from_millis(20)));
    }

    #[test]
    fn past_the_line_rate_nothing_is_read_ahead_until_the_next_second() {
        let b = Budget::default();
        let t0 = Instant::now();
        for _ in 0..MAX_LINES_PER_SEC {
            assert!(b.admit(t0));
        }
        assert!(!b.admit(t0 + Duration::from_millis(900)));
        assert!(b.admit(t0 + Duration::from_millis(1_001)));
    }
}
