//! Wall-clock milliseconds that follow tokio's clock, so paused-time tests can move
//! round timers forward while event timestamps stay meaningful across restarts.

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
    w + Instant::now().saturating_duration_since(i).as_millis() as Millis
}

/// The tokio instant at which [`now_ms`] will read `at`.
pub fn instant_at(at: Millis) -> Instant {
    let (i, w) = base();
    i + Duration::from_millis(at.saturating_sub(w))
}
