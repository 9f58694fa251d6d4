//! Wall-clock milliseconds that follow tokio's clock, so paused-time tests can move
//! round timers forward while event timestamps stay meaningful across restarts.
//!
//! The mapping is linear in both directions: several runtimes (each test has its own,
//! some paused) may read earlier or later than the moment the base was taken, so no
//! difference is clamped at zero.
//!
//! It also watches for stalls: time the process did not run at all (SIGSTOP, a paused
//! VM, heavy swapping). Round clocks must not spend that time, or a phase ends the
//! instant the process wakes and the next one starts already late. [`watch_stalls`]
//! looks at the real clock every [`STALL_TICK`]; [`stalled_ms`] is the total found so
//! far, and rooms give every running phase the time they have not yet been given.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
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

/// How often the stall watch looks at the clock.
pub const STALL_TICK: Duration = Duration::from_millis(200);
/// A gap between two looks longer than this means the process did not run; shorter
/// ones are ordinary scheduling delays and count as running time. So a phase keeps its
/// remaining time to within this much across a stall.
pub const STALL_MIN: Duration = Duration::from_millis(1_000);

/// The real (never paused) clock the stall watch reads, as milliseconds since first use.
fn real_ms() -> u64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

/// When the watch last looked ([`real_ms`]); 0 while no watch runs.
static LAST_LOOK: AtomicU64 = AtomicU64::new(0);
/// Milliseconds of stalls found so far.
static STALLED: AtomicU64 = AtomicU64::new(0);

fn stall_updates_sender() -> &'static watch::Sender<u64> {
    static SENDER: OnceLock<watch::Sender<u64>> = OnceLock::new();
    SENDER.get_or_init(|| watch::channel(0).0)
}

/// Looks at the clock and returns the milliseconds of stalls found so far, counting one
/// that has just ended (so a room woken by a timer after a stall learns of it before it
/// acts, whether or not the watch has run yet). Always 0 while no watch runs.
pub fn stalled_ms() -> u64 {
    let now = real_ms();
    let mut last = LAST_LOOK.load(Ordering::Acquire);
    while last != 0 && now > last {
        match LAST_LOOK.compare_exchange_weak(last, now, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                let gap = now - last;
                if gap > STALL_MIN.as_millis() as u64 {
                    let stall = gap - STALL_TICK.as_millis() as u64;
                    let total = STALLED.fetch_add(stall, Ordering::AcqRel) + stall;
                    tracing::warn!(
                        stall_ms = stall,
                        "the process did not run for a while; round clocks get the time back"
                    );
                    stall_updates_sender().send_replace(total);
                }
                break;
            }
            Err(actual) => last = actual,
        }
    }
    STALLED.load(Ordering::Acquire)
}

/// Changes whenever a stall is found; rooms watch it to give their phases the time
/// back at once, before any phone's countdown runs out.
pub fn stall_updates() -> watch::Receiver<u64> {
    stall_updates_sender().subscribe()
}

/// Looks at the clock every [`STALL_TICK`] for as long as the server runs. Starting it
/// does not count the time since an earlier watch stopped.
pub async fn watch_stalls() {
    LAST_LOOK.store(real_ms(), Ordering::Release);
    let mut tick = tokio::time::interval(STALL_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        stalled_ms();
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
