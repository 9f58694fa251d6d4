//! How much CPU reading ahead may take. Lines of human rounds are read in the background
//! so a debrief is ready the moment its round ends; that reading must never take the
//! relay's core. Two limits, both cheap to check on the relay path:
//!
//! - a share of one core, kept as a bucket of encoding time that refills with the clock
//!   and empties by what each background encoding really took;
//! - a rate: past [`MAX_LINES_PER_SEC`] lines offered in a second the server is carrying
//!   far more chat than any workshop, and the debriefs read their lines at the end. It
//!   stays closed while the chat stays that busy: it opens again after a second under the
//!   rate, so an overloaded server gives the relay every cycle (and the cache no memory).

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
    /// The last whole window was over the rate: nothing is read ahead in this one.
    busy: bool,
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
                busy: false,
            }),
        }
    }
}

impl Budget {
    /// Counts one line offered for reading ahead, and says whether the rate lets it be
    /// read: not past [`MAX_LINES_PER_SEC`] in this second, nor in the one before it. The
    /// room asks before working out what it would read, so a busy server does none of it.
    pub fn offer(&self, now: Instant) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        let since = now.saturating_duration_since(s.window);
        if since >= Duration::from_secs(1) {
            // A window that ended more than a second ago was followed by a quiet one.
            s.busy = s.offered > MAX_LINES_PER_SEC && since < Duration::from_secs(2);
            s.window = now;
            s.offered = 0;
        }
        s.offered = s.offered.saturating_add(1);
        !s.busy && s.offered <= MAX_LINES_PER_SEC
    }

    /// Whether the bucket allows one more background encoding now (the rate is
    /// [`Budget::offer`]'s to judge; a busy server reads nothing ahead).
    pub fn admit(&self, now: Instant) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
        s.left = (s.left + elapsed * SHARE).min(BURST.as_secs_f64());
        s.refilled = now;
        !s.busy && s.left > 0.0
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
    fn past_the_line_rate_nothing_is_read_ahead_until_a_second_under_it() {
        let b = Budget::default();
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        for _ in 0..MAX_LINES_PER_SEC {
            assert!(b.offer(t0));
        }
        assert!(!b.offer(t0 + Duration::from_millis(900)));
        // Still busy: the second after a busy one reads nothing, and counts its lines.
        for _ in 0..=MAX_LINES_PER_SEC {
            assert!(!b.offer(t0 + second));
        }
        assert!(!b.admit(t0 + second));
        assert!(!b.offer(t0 + 2 * second));
        // A quiet second (a few lines) opens it again.
        assert!(b.offer(t0 + 3 * second));
        assert!(b.admit(t0 + 3 * second));
    }

    #[test]
    fn a_quiet_spell_after_a_busy_second_opens_reading_ahead_at_once() {
        let b = Budget::default();
        let t0 = Instant::now();
        for _ in 0..=MAX_LINES_PER_SEC {
            b.offer(t0);
        }
        // Nothing offered for more than a second: the busy window is long past.
        assert!(b.offer(t0 + Duration::from_millis(2_500)));
    }
}
