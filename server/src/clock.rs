//! Wall-clock milliseconds that follow tokio's clock, so paused-time tests can move
//! round timers forward while event timestamps stay meaningful across restarts.
//!
//! The mapping is linear in both directions: several runtimes (each test has its own,
//! some paused) may read earlier or later than the moment the base was taken, so no
//! difference is clamped at zero.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::room::Millis;

static BASE: OnceLock<(Instant, Millis)> = OnceLock::new();

fn base() -> (Instant, Millis) {
    *BASE.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0);
        (Instant::now(), wall)
    })
}

/// Milliseconds since the Unix epoch, advancing with tokio's (possibly paused) clock.
pub fn now_ms() -> Millis {
    let (i, w) = base();
    let now = Instant::now();
    match now.checked_duration_since(i) {
        Some(ahead) => w + ahead.as_millis() as Millis,
        None => w.saturating_sub(i.duration_since(now).as_millis() as Millis),
    }
}

/// The tokio instant at which [`now_ms`] will read `at`.
pub fn instant_at(at: Millis) -> Instant {
    let (i, w) = base();
    if at >= w {
        i + Duration::from_millis(at - w)
    } else {
        i.checked_sub(Duration::from_millis(w - at)).unwrap_or(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn instants_and_milliseconds_round_trip_on_a_paused_clock() {
        let t = now_ms();
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(now_ms(), t + 90_000);
        // Milliseconds drop the sub-millisecond part, so the round trip is exact to 1 ms.
        let back = Instant::now() - instant_at(t + 30_000);
        assert!(
            back >= Duration::from_secs(60) && back < Duration::from_millis(60_001),
            "{back:?}"
        );
    }
}
