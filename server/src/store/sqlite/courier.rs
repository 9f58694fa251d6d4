//! The writer thread's answers, carried onto the async runtime with one wake per commit.
//!
//! Each append's caller waits on a oneshot. Answered from the writer thread, every one of
//! them wakes its task from outside the runtime, and tokio then wakes the runtime's driver
//! for each: one `write` to an eventfd per line, the busiest system call after the
//! sockets' own (docs/benchmarks.md, "Ninth round"). At thousands of lines a second a
//! commit answers ten or more lines; here they go, in order, to one task on the runtime,
//! which answers them there, so a commit costs one wake. A commit that answers a single
//! line, with nothing waiting ahead of it, is answered at once as before: at a workshop's
//! pace the hop would cost more than it saves.
//!
//! Without a runtime (a tool opening the log), or once the runtime has gone, answers are
//! given straight from the writer thread.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::sync::oneshot;

use super::super::{EventId, Removed, StoreError};

/// One answer the writer owes a caller.
pub(super) enum Answer {
    /// An append's id, or why it was not kept.
    Id(
        oneshot::Sender<Result<EventId, StoreError>>,
        Result<EventId, StoreError>,
    ),
    /// A delete's or a purge's count.
    Removed(
        oneshot::Sender<Result<Removed, StoreError>>,
        Result<Removed, StoreError>,
    ),
    /// A flush or a backup.
    Done(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
}

impl Answer {
    /// Tells the caller (one that stopped waiting is simply not told).
    pub(super) fn give(self) {
        match self {
            Self::Id(to, result) => {
                let _ = to.send(result);
            }
            Self::Removed(to, result) => {
                let _ = to.send(result);
            }
            Self::Done(to, result) => {
                let _ = to.send(result);
            }
        }
    }
}

struct Mailbox {
    answers: Vec<Answer>,
    /// The delivering task is alive; once it is gone the writer answers directly.
    open: bool,
    /// The writer has finished: the task delivers what is left and ends.
    ended: bool,
}

struct Shared {
    mailbox: Mutex<Mailbox>,
    task: AtomicWaker,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Mailbox> {
        // An answer's send cannot panic; a poisoned lock still holds whole answers.
        self.mailbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer's end: hands over a commit's answers.
pub(super) struct Courier {
    shared: Option<Arc<Shared>>,
}

impl Courier {
    /// Starts the delivering task on the runtime the caller runs in, if there is one.
    pub(super) fn start() -> Self {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Self { shared: None };
        };
        let shared = Arc::new(Shared {
            mailbox: Mutex::new(Mailbox {
                answers: Vec::new(),
                open: true,
                ended: false,
            }),
            task: AtomicWaker::new(),
        });
        runtime.spawn(deliver(Arc::clone(&shared)));
        Self {
            shared: Some(shared),
        }
    }

    /// Gives every answer in `answers`, in order, and leaves it empty.
    pub(super) fn answer(&self, answers: &mut Vec<Answer>) {
        if let Some(shared) = &self.shared {
            let mut mailbox = shared.lock();
            // A lone answer may skip the hop, unless earlier ones still wait for it.
            if mailbox.open && (answers.len() > 1 || !mailbox.answers.is_empty()) {
                let first = mailbox.answers.is_empty();
                mailbox.answers.append(answers);
                drop(mailbox);
                // Whoever put the first answer in has woken the task, and it takes the
                // whole mailbox at once.
                if first {
                    shared.task.wake();
                }
                return;
            }
        }
        for answer in answers.drain(..) {
            answer.give();
        }
    }
}

impl Drop for Courier {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.lock().ended = true;
            shared.task.wake();
        }
    }
}

/// The delivering task: answers whatever the writer hands over, until the writer ends.
/// The guard is made outside the future, so a runtime that drops the task before it ever
/// ran still hands the answers back to the writer.
fn deliver(shared: Arc<Shared>) -> impl std::future::Future<Output = ()> {
    let closed = CloseOnDrop(Arc::clone(&shared));
    async move {
        let _closed = closed;
        let mut taken = Vec::new();
        loop {
            let ended = poll_fn(|cx| {
                shared.task.register(cx.waker());
                let mut mailbox = shared.lock();
                // Swapped, not drained: both vectors keep their room for the next commit.
                std::mem::swap(&mut mailbox.answers, &mut taken);
                if taken.is_empty() && !mailbox.ended {
                    Poll::Pending
                } else {
                    Poll::Ready(mailbox.ended)
                }
            })
            .await;
            for answer in taken.drain(..) {
                answer.give();
            }
            if ended {
                return;
            }
        }
    }
}

/// Closes the mailbox when the delivering task goes, and answers what it left.
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let left = {
            let mut mailbox = self.0.lock();
            mailbox.open = false;
            std::mem::take(&mut mailbox.answers)
        };
        for answer in left {
            answer.give();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(
        n: u64,
    ) -> (
        Vec<Answer>,
        Vec<oneshot::Receiver<Result<EventId, StoreError>>>,
    ) {
        (0..n)
            .map(|id| {
                let (to, from) = oneshot::channel();
                (Answer::Id(to, Ok(id)), from)
            })
            .unzip()
    }

    #[tokio::test]
    async fn a_commits_answers_all_arrive_in_order_through_the_runtime() {
        let courier = Courier::start();
        let (mut answers, waiting) = ids(5);
        courier.answer(&mut answers);
        assert!(answers.is_empty());
        for (id, from) in (0..).zip(waiting) {
            assert_eq!(from.await.unwrap().unwrap(), id);
        }
    }

    #[tokio::test]
    async fn a_lone_answer_behind_waiting_ones_does_not_overtake_them() {
        let courier = Courier::start();
        let (mut first, mut waiting) = ids(3);
        courier.answer(&mut first);
        // The delivering task has not run yet: the lone answer must queue behind.
        let (to, from) = oneshot::channel();
        courier.answer(&mut vec![Answer::Done(to, Ok(()))]);
        let mut lone = Box::pin(from);
        assert!(futures_util::poll!(&mut lone).is_pending());
        for from in waiting.drain(..) {
            from.await.unwrap().unwrap();
        }
        lone.await.unwrap().unwrap();
    }

    #[test]
    fn without_a_runtime_answers_are_given_at_once() {
        let courier = Courier::start();
        let (mut answers, waiting) = ids(2);
        courier.answer(&mut answers);
        for (id, mut from) in (0..).zip(waiting) {
            assert_eq!(from.try_recv().unwrap().unwrap(), id);
        }
    }

    #[test]
    fn answers_left_when_the_runtime_goes_are_still_given() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let courier = runtime.block_on(async { Courier::start() });
        let (mut answers, waiting) = ids(3);
        // Handed over, but the runtime ends before its task runs.
        courier.answer(&mut answers);
        drop(runtime);
        for (id, mut from) in (0..).zip(waiting) {
            assert_eq!(from.try_recv().unwrap().unwrap(), id);
        }
        // And later ones go straight to their callers.
        let (mut answers, mut waiting) = ids(2);
        courier.answer(&mut answers);
        assert!(waiting.remove(1).try_recv().unwrap().is_ok());
    }
}
