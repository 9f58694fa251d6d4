//! A room's command queue: bounded, in order, with senders that wait for room (or time
//! out, or try once) as with tokio's bounded channel.
//!
//! Not tokio's channel: that one allocates its slots 32 at a time, up front (1.8 KB of
//! 56-byte commands), keeps two such blocks once a few dozen commands have gone through,
//! and pads its header to cache lines; every room kept about 4 KB in its queue. A room
//! mostly has one command queued, so this list grows on demand and gives back what a
//! burst made it take. The bound is a semaphore of [`super::ROOM_QUEUE`] permits: a
//! sender takes one (waiting in turn if none is left), and the room gives it back once it
//! has taken the command off the queue.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::sync::Semaphore;

/// Slots an empty queue keeps after a burst; a larger list is given back.
const KEEP_SLOTS: usize = 8;

struct State<T> {
    items: VecDeque<T>,
    receiver_gone: bool,
    /// The room's task, woken when a command is queued or the last sender goes.
    waker: Option<Waker>,
}

struct Shared<T> {
    /// Free places in the queue; closed once the receiver has gone.
    permits: Semaphore,
    /// Live [`Sender`]s: once none is left and the queue is empty, the receiver ends.
    /// Counted outside the lock: a room's handle is cloned for every line sent to it.
    senders: AtomicUsize,
    state: Mutex<State<T>>,
}

/// A queue of at most `capacity` commands.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        permits: Semaphore::new(capacity),
        senders: AtomicUsize::new(1),
        state: Mutex::new(State {
            items: VecDeque::new(),
            receiver_gone: false,
            waker: None,
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// Queues commands for the room.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Queues `item`, waiting for a free place; gives it back if the room has gone.
    ///
    /// A block, not an `async fn`, so `item` has one place in the future, not two: every
    /// connection's future holds this one while a line waits for room.
    #[allow(clippy::manual_async_fn)] // see above: an `async fn` is larger
    pub fn send(&self, item: T) -> impl Future<Output = Result<(), T>> + '_ {
        async move {
            match self.shared.permits.acquire().await {
                Ok(permit) => permit.forget(),
                Err(_) => return Err(item),
            }
            self.push(item)
        }
    }

    /// Queues `item` if there is a free place now; gives it back if not.
    pub fn try_send(&self, item: T) -> Result<(), T> {
        match self.shared.permits.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(item),
        }
        self.push(item)
    }

    /// Puts `item` in the place its permit holds.
    fn push(&self, item: T) -> Result<(), T> {
        let Ok(mut st) = self.shared.state.lock() else {
            return Err(item);
        };
        if st.receiver_gone {
            return Err(item);
        }
        st.items.push_back(item);
        if let Some(waker) = &st.waker {
            waker.wake_by_ref();
        }
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // The last one: taken under the lock, so a receiver that saw a sender left has
        // registered its waker by now.
        let waker = self
            .shared
            .state
            .lock()
            .ok()
            .and_then(|mut st| st.waker.take());
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The room's end of its queue.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next command; `None` once every sender has gone and nothing is left.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Ok(mut st) = self.shared.state.lock() else {
            return Poll::Ready(None);
        };
        if let Some(item) = st.items.pop_front() {
            if st.items.is_empty() && st.items.capacity() > KEEP_SLOTS {
                st.items = VecDeque::new();
            }
            drop(st);
            self.shared.permits.add_permits(1);
            return Poll::Ready(Some(item));
        }
        if self.shared.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(None);
        }
        // Registered under the lock: a command queued after it is unlocked wakes it.
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Senders waiting for a place are told the room has gone; what is queued is
        // dropped now (a waiting rejoin hears that its room closed).
        self.shared.permits.close();
        let items = self.shared.state.lock().ok().map(|mut st| {
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
    use std::time::Duration;

    #[tokio::test]
    async fn commands_come_in_order_and_a_full_queue_makes_senders_wait() {
        let (tx, mut rx) = channel::<u32>(2);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        assert_eq!(tx.try_send(3), Err(3), "full");
        let tx2 = tx.clone();
        let waiting = tokio::spawn(async move { tx2.send(3).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "waits for a place");
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        drop(tx);
        assert_eq!(rx.recv().await, None, "every sender gone");
    }

    #[tokio::test]
    async fn a_gone_room_gives_commands_back_to_waiting_and_later_senders() {
        let (tx, rx) = channel::<u32>(1);
        tx.send(1).await.unwrap();
        let tx2 = tx.clone();
        let waiting = tokio::spawn(async move { tx2.send(2).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(rx);
        assert_eq!(waiting.await.unwrap(), Err(2));
        assert_eq!(tx.send(3).await, Err(3));
        assert_eq!(tx.try_send(4), Err(4));
    }

    #[tokio::test]
    async fn a_burst_gives_its_room_back() {
        let (tx, mut rx) = channel::<u32>(64);
        for i in 0..64 {
            tx.try_send(i).unwrap();
        }
        for i in 0..64 {
            assert_eq!(rx.recv().await, Some(i));
        }
        let st = rx.shared.state.lock().unwrap();
        assert!(st.items.capacity() <= KEEP_SLOTS);
        assert_eq!(rx.shared.permits.available_permits(), 64);
    }
}
