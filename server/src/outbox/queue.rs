//! The bounded queue between a participant's outbox and the connection's task that writes
//! its socket: at most a fixed number of frames, taken off in order by the one task.
//!
//! Not tokio's bounded channel: that one allocates its slots 32 at a time, up front, and
//! keeps two such blocks (about 1.3 KB each here) per connection once a few dozen frames
//! have gone through, beside a channel header padded to cache lines. A connection mostly
//! has one or two frames queued, so this queue's list grows on demand and gives back what
//! a burst made it take. The bound is the same: a sender never waits, and a full queue is
//! an error, on which the outbox cuts the slow reader off.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::Outgoing;

/// Slots an empty queue keeps after a burst; a larger list is given back, so a connection
/// that once had a rebuilt view or a burst queued does not keep the room for it.
const KEEP_SLOTS: usize = 8;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError {
    /// The queue holds its capacity: the reader is not keeping up.
    Full,
    /// The connection's task has gone.
    Closed,
}

/// Nothing is queued (for tests, which read the queue without a task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

struct State {
    items: VecDeque<Outgoing>,
    capacity: usize,
    /// Live [`Sender`]s: once none is left and the queue is empty, the receiver ends.
    senders: usize,
    receiver_gone: bool,
    /// The connection's task, woken when a frame is queued or the last sender goes.
    waker: Option<Waker>,
}

impl State {
    fn wake(&mut self) {
        if let Some(waker) = &self.waker {
            waker.wake_by_ref();
        }
    }
}

type Shared = Arc<Mutex<State>>;

/// A bounded queue of `capacity` frames.
pub fn channel(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Mutex::new(State {
        items: VecDeque::new(),
        capacity,
        senders: 1,
        receiver_gone: false,
        waker: None,
    }));
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Queues frames; cloned for every handle a participant keeps on its connection.
pub struct Sender {
    shared: Shared,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Sender {
    /// Queues `item` unless the queue is full or its receiver has gone; never waits.
    pub fn try_send(&self, item: Outgoing) -> Result<(), TrySendError> {
        let Ok(mut st) = self.shared.lock() else {
            return Err(TrySendError::Closed);
        };
        if st.receiver_gone {
            return Err(TrySendError::Closed);
        }
        if st.items.len() >= st.capacity {
            return Err(TrySendError::Full);
        }
        st.items.push_back(item);
        st.wake();
        Ok(())
    }

    /// Whether the connection's task has gone.
    pub fn is_closed(&self) -> bool {
        self.shared
            .lock()
            .map(|st| st.receiver_gone)
            .unwrap_or(true)
    }
}

impl Clone for Sender {
    fn clone(&self) -> Self {
        if let Ok(mut st) = self.shared.lock() {
            st.senders += 1;
        }
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.lock() {
            st.senders = st.senders.saturating_sub(1);
            if st.senders == 0 {
                st.wake();
            }
        }
    }
}

/// The connection's end: frames in the order they were queued.
pub struct Receiver {
    shared: Shared,
}

impl Receiver {
    /// The next frame; `Ready(None)` once every sender has gone and nothing is left.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        let Ok(mut st) = self.shared.lock() else {
            return Poll::Ready(None);
        };
        if let Some(item) = st.items.pop_front() {
            if st.items.is_empty() && st.items.capacity() > KEEP_SLOTS {
                st.items = VecDeque::new();
            }
            return Poll::Ready(Some(item));
        }
        if st.senders == 0 {
            return Poll::Ready(None);
        }
        // Registered under the lock: a frame queued after it is unlocked wakes this waker.
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Result<Outgoing, Empty> {
        self.shared
            .lock()
            .ok()
            .and_then(|mut st| st.items.pop_front())
            .ok_or(Empty)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The frames still queued are freed now, not when the last handle goes.
        let items = self.shared.lock().ok().map(|mut st| {
            st.receiver_gone = true;
            st.waker = None;
            std::mem::take(&mut st.items)
        });
        drop(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn woken(count: &Arc<Count>) -> usize {
        count.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn frames_come_out_in_order_and_a_full_queue_refuses_more() {
        let (tx, mut rx) = channel(3);
        for _ in 0..3 {
            assert_eq!(tx.try_send(Outgoing::Ping), Ok(()));
        }
        assert_eq!(tx.try_send(Outgoing::Ping), Err(TrySendError::Full));
        assert!(matches!(rx.try_recv(), Ok(Outgoing::Ping)));
        assert_eq!(tx.try_send(Outgoing::Close(1000, "bye")), Ok(()));
        assert!(matches!(rx.try_recv(), Ok(Outgoing::Ping)));
        assert!(matches!(rx.try_recv(), Ok(Outgoing::Ping)));
        assert!(matches!(rx.try_recv(), Ok(Outgoing::Close(1000, "bye"))));
        assert_eq!(rx.try_recv().err(), Some(Empty));
    }

    #[test]
    fn the_receiver_is_woken_by_a_frame_and_ends_when_every_sender_is_gone() {
        let (tx, mut rx) = channel(4);
        let count = Arc::new(Count(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        let tx2 = tx.clone();
        tx2.try_send(Outgoing::Ping).unwrap();
        assert_eq!(woken(&count), 1);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Some(_))));
        assert!(rx.poll_recv(&mut cx).is_pending());
        drop(tx2);
        assert!(rx.poll_recv(&mut cx).is_pending(), "one sender is left");
        drop(tx);
        assert_eq!(woken(&count), 2);
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_gone_receiver_closes_the_queue_and_a_burst_gives_its_room_back() {
        let (tx, mut rx) = channel(300);
        for _ in 0..200 {
            tx.try_send(Outgoing::Ping).unwrap();
        }
        while rx.try_recv().is_ok() {}
        let waker = Waker::from(Arc::new(Count(Default::default())));
        let mut cx = Context::from_waker(&waker);
        tx.try_send(Outgoing::Ping).unwrap();
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(Some(_))));
        assert!(rx.shared.lock().unwrap().items.capacity() <= KEEP_SLOTS);
        assert!(!tx.is_closed());
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.try_send(Outgoing::Ping), Err(TrySendError::Closed));
    }
}
