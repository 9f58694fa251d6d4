//! The writer thread's queue: requests in the order they were sent, taken by one thread
//! that parks while there are none.
//!
//! `std::sync::mpsc` did this job, but its receiver registers itself under a lock that
//! the sender holds while it wakes it, so a writer woken for each line met that lock
//! taken and spun on it: 1,500 of the 3,000 instructions a line spent in the channel
//! (docs/benchmarks.md, "Eighth round"). Here the sender wakes the writer after letting
//! go of the lock, and only when it is parked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Requests' worth of room the list keeps once it has emptied. A burst (a workshop's
/// twenty phones joining at once, or thousands of connections in a benchmark) can grow
/// it to the log's whole queue capacity; past this much, the room goes back to the
/// allocator when the writer catches up, as the channel's blocks did.
const KEEP_EMPTY: usize = 256;

/// Why [`Receiver::recv`] returned without a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Empty {
    /// Nothing came within the time given.
    Timeout,
    /// The sender is gone and every request it sent has been taken.
    Closed,
    /// Someone with a [`Nudge`] wants the receiver to look at its other work now.
    Nudged,
}

struct Inner<T> {
    items: VecDeque<T>,
    /// Set by either side's drop: the sender's means no more requests, the receiver's
    /// that none will be taken.
    closed: bool,
    /// The receiver's thread while it is parked, or about to park, on an empty queue.
    parked: Option<Thread>,
    /// A [`Nudge`] came since the receiver last returned [`Empty::Nudged`].
    nudged: bool,
}

struct Shared<T> {
    inner: Mutex<Inner<T>>,
}

impl<T> Shared<T> {
    /// A panic elsewhere cannot leave the list half changed (each change is one call),
    /// so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The one sending side; dropping it closes the queue once it is emptied.
pub(super) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The one receiving side; dropping it refuses every later request and drops the ones
/// still queued, so whoever waits on them learns the writer has stopped.
pub(super) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A new, empty queue.
pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            items: VecDeque::new(),
            closed: false,
            parked: None,
            nudged: false,
        }),
    });
    let sender = Sender {
        shared: Arc::clone(&shared),
    };
    (sender, Receiver { shared })
}

impl<T> Sender<T> {
    /// Queues `item`, or hands it back when the receiver is gone.
    pub(super) fn send(&self, item: T) -> Result<(), T> {
        let mut inner = self.shared.lock();
        if inner.closed {
            return Err(item);
        }
        inner.items.push_back(item);
        unlock_and_wake(inner);
        Ok(())
    }
}

impl<T> Sender<T> {
    /// A handle that wakes the receiver without sending anything, and without keeping
    /// the queue open.
    pub(super) fn nudge(&self) -> Nudge<T> {
        Nudge {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Wakes the receiver: its next [`Receiver::recv`] with nothing queued returns
/// [`Empty::Nudged`] at once. Used by the journal's commits to ask for an early settling.
pub(super) struct Nudge<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Nudge<T> {
    pub(super) fn nudge(&self) {
        let mut inner = self.shared.lock();
        inner.nudged = true;
        unlock_and_wake(inner);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.closed = true;
        unlock_and_wake(inner);
    }
}

/// Lets go of the lock, then wakes the receiver if it is parked: in that order, so the
/// receiver never wakes to find the lock still taken (what made the channel spin).
fn unlock_and_wake<T>(mut inner: MutexGuard<'_, Inner<T>>) {
    let parked = inner.parked.take();
    drop(inner);
    if let Some(receiver) = parked {
        receiver.unpark();
    }
}

impl<T> Receiver<T> {
    /// The oldest request, waiting for one as long as `timeout` (forever if `None`).
    pub(super) fn recv(&self, timeout: Option<Duration>) -> Result<T, Empty> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            {
                let mut inner = self.shared.lock();
                if let Some(item) = inner.items.pop_front() {
                    return Ok(item);
                }
                if inner.closed {
                    return Err(Empty::Closed);
                }
                if std::mem::take(&mut inner.nudged) {
                    return Err(Empty::Nudged);
                }
                if inner.items.capacity() > KEEP_EMPTY {
                    inner.items.shrink_to(KEEP_EMPTY);
                }
                inner.parked = Some(thread::current());
            }
            // A send between the unlock and the park unparks first, and the park then
            // returns at once; waking without one (it may) only means looking again.
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        self.shared.lock().parked = None;
                        return Err(Empty::Timeout);
                    }
                    thread::park_timeout(left);
                }
            }
        }
    }

    /// Moves queued requests into `batch`, oldest first, until it holds `max`.
    pub(super) fn take_into(&self, batch: &mut Vec<T>, max: usize) {
        let mut inner = self.shared.lock();
        let room = max.saturating_sub(batch.len()).min(inner.items.len());
        batch.extend(inner.items.drain(..room));
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.closed = true;
        let left = std::mem::take(&mut inner.items);
        drop(inner);
        // Outside the lock: dropping a request answers its caller.
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_come_out_in_the_order_they_went_in() {
        let (tx, rx) = channel();
        for n in 0..5 {
            tx.send(n).unwrap();
        }
        assert_eq!(rx.recv(None), Ok(0));
        let mut batch = vec![1_000];
        rx.take_into(&mut batch, 3);
        assert_eq!(batch, [1_000, 1, 2]);
        rx.take_into(&mut batch, 10);
        assert_eq!(batch, [1_000, 1, 2, 3, 4]);
    }

    #[test]
    fn a_quiet_queue_times_out_and_a_closed_one_says_so_once_emptied() {
        let (tx, rx) = channel();
        assert_eq!(rx.recv(Some(Duration::from_millis(5))), Err(Empty::Timeout));
        tx.send("last").unwrap();
        drop(tx);
        assert_eq!(rx.recv(None), Ok("last"));
        assert_eq!(rx.recv(None), Err(Empty::Closed));
    }

    #[test]
    fn the_room_a_burst_took_is_given_back_once_the_writer_catches_up() {
        let (tx, rx) = channel();
        for n in 0..10_000 {
            tx.send(n).unwrap();
        }
        let mut batch = Vec::new();
        rx.take_into(&mut batch, usize::MAX);
        assert_eq!(batch.len(), 10_000);
        assert_eq!(rx.recv(Some(Duration::from_millis(1))), Err(Empty::Timeout));
        assert!(rx.shared.lock().items.capacity() <= KEEP_EMPTY);
    }

    #[test]
    fn a_nudge_wakes_a_parked_receiver_once_without_a_request() {
        let (tx, rx) = channel::<u8>();
        let nudge = tx.nudge();
        let waiting = thread::spawn(move || {
            let first = rx.recv(None);
            let second = rx.recv(Some(Duration::from_millis(5)));
            (first, second)
        });
        thread::sleep(Duration::from_millis(20));
        nudge.nudge();
        assert_eq!(
            waiting.join().unwrap(),
            (Err(Empty::Nudged), Err(Empty::Timeout))
        );
    }

    #[test]
    fn a_request_sent_after_the_receiver_is_gone_comes_back() {
        let (tx, rx) = channel();
        tx.send(Arc::new(1)).unwrap();
        let queued = Arc::new(2);
        tx.send(Arc::clone(&queued)).unwrap();
        drop(rx);
        // What was queued is dropped with the receiver, so its waiter hears of it.
        assert_eq!(Arc::strong_count(&queued), 1);
        assert_eq!(tx.send(Arc::new(3)).map_err(|n| *n), Err(3));
    }

    #[test]
    fn a_parked_writer_wakes_for_every_request_from_another_thread() {
        let (tx, rx) = channel();
        let (back_tx, back_rx) = std::sync::mpsc::channel();
        let writer = thread::spawn(move || {
            while let Ok(n) = rx.recv(None) {
                back_tx.send(n).unwrap();
            }
        });
        // One at a time, so the writer parks before nearly every request: a lost wake-up
        // would hang here.
        for n in 0..5_000 {
            tx.send(n).unwrap();
            assert_eq!(back_rx.recv_timeout(Duration::from_secs(10)), Ok(n));
        }
        drop(tx);
        writer.join().unwrap();
    }
}
