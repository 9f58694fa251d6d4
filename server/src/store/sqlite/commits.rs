//! The server's commits: appends written to the journal from the async runtime, without a
//! hop to the writer thread.
//!
//! An append joins the list of lines waiting; the first one in wakes a task on the
//! runtime, which writes all of them to the journal with one `write` and answers them.
//! When the log is busy (the last write was under [`BUSY_WITHIN`] ago), the task first
//! lets every other task already woken run, so their lines join the same write. The
//! writer thread is not on this path: it takes what the journal holds and settles it into
//! SQLite four times a second, or sooner when [`SETTLE_SOON`] lines wait. Handing each
//! batch to the writer thread and its answers back cost about 0.3 context switches per
//! line on one core (docs/benchmarks.md, "Fifteenth round").
//!
//! The journal is two files. Appends go to one; a settling switches them to the other,
//! copies what the first holds into SQLite, and then empties the first, which the next
//! settling switches back to. So a file is only ever emptied once everything in it is in
//! SQLite, while appends never wait for SQLite.
//!
//! Without a runtime (a tool opening the server's log), or once the runtime has gone,
//! each append is written at once, on the caller's thread.

use std::future::{poll_fn, Future};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;

use super::courier::Answer;
use super::journal::{self, Journal};
use super::queue::Nudge;
use super::{Append, Request, SETTLE_LINES};
use crate::store::{StatsCell, StoreError};

/// Lines written and not yet settled past which the writer is asked to settle now rather
/// than at its next quarter second: half of [`SETTLE_LINES`], so that at 20,000 lines a
/// second the journal settles before new lines must wait for it.
pub(super) const SETTLE_SOON: usize = SETTLE_LINES / 2;

/// How soon after the last write a line finds the log busy. Busy, the writing task lets
/// every other task already woken run before it writes, so their lines share the write;
/// idle, it writes at once, as that wait would cost a turn of the runtime (about 1,000
/// instructions a line under callgrind) and gather nothing.
const BUSY_WITHIN: Duration = Duration::from_millis(1);

/// An event the journal holds and SQLite does not yet.
pub(super) struct Settling {
    pub id: i64,
    pub stream: Arc<str>,
    pub at_ms: i64,
    pub body: String,
}

/// What a settling takes: the events to copy into SQLite, and which file to empty after.
pub(super) struct Taken {
    pub events: Vec<Settling>,
    file: usize,
}

struct State {
    files: [Journal; 2],
    /// The file appends go to.
    current: usize,
    /// The id the next line is given: above every id in the file and the journal.
    next_id: i64,
    /// Appended and not yet written.
    waiting: Vec<Append>,
    /// Written and not yet settled, in id order.
    unsettled: Vec<Settling>,
    /// A batch's records, encoded; kept between batches for its allocation.
    encoded: Vec<u8>,
    /// The task has been woken for the lines waiting and has not yet written them.
    flush_wanted: bool,
    /// The writer has been nudged and has not yet taken what waits.
    settle_asked: bool,
    /// The last settling failed: lines held back for room stay held until one succeeds,
    /// so that memory stays bounded while SQLite cannot write.
    failing: bool,
    /// A task on the runtime writes the waiting lines; otherwise each append does.
    has_task: bool,
    /// The writer has stopped: appends are refused.
    closed: bool,
    /// When the last write ended.
    last_write: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    task: AtomicWaker,
    writer: Nudge<Request>,
    stats: Arc<StatsCell>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change to the state is made whole under the lock before anything that
        // could panic; a poisoned lock still holds whole lines.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The journal's commits, shared by the log's handle and its writer thread.
#[derive(Clone)]
pub(super) struct Commits {
    shared: Arc<Shared>,
}

impl Commits {
    /// Appends go to `files[0]` first; the next line is given `next_id`. Starts the
    /// writing task on the runtime the caller runs in, if there is one.
    pub(super) fn start(
        files: [Journal; 2],
        next_id: i64,
        writer: Nudge<Request>,
        stats: Arc<StatsCell>,
    ) -> Self {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                files,
                current: 0,
                next_id,
                waiting: Vec::new(),
                unsettled: Vec::new(),
                encoded: Vec::new(),
                flush_wanted: false,
                settle_asked: false,
                failing: false,
                has_task: runtime.is_some(),
                closed: false,
                last_write: None,
            }),
            task: AtomicWaker::new(),
            writer,
            stats,
        });
        if let Some(runtime) = runtime {
            runtime.spawn(write_waiting_lines(Arc::clone(&shared)));
        }
        Self { shared }
    }

    /// Adds `append` to the lines waiting to be written; its caller is answered once it
    /// is in the journal.
    pub(super) fn append(&self, append: Append) {
        let shared = &self.shared;
        let mut state = shared.lock();
        if state.closed {
            drop(state);
            shared.stats.queued.fetch_sub(1, Ordering::Relaxed);
            Answer::Id(append.done, Err(StoreError::Closed)).give();
            return;
        }
        state.waiting.push(append);
        if state.has_task {
            let wake = !std::mem::replace(&mut state.flush_wanted, true);
            drop(state);
            if wake {
                shared.task.wake();
            }
        } else {
            let answers = state.write_waiting(shared);
            drop(state);
            give(answers);
        }
    }

    /// For a settling: writes the lines still waiting (so a delete or a read sees every
    /// line appended before it), takes every unsettled event, and switches appends to the
    /// other file. `None` when there is nothing to settle.
    pub(super) fn take(&self) -> Option<Taken> {
        let mut state = self.shared.lock();
        let mut answers = state.write_waiting(&self.shared);
        let torn = state.files[state.current].is_torn();
        let taken = if state.unsettled.is_empty() && state.waiting.is_empty() && !torn {
            None
        } else {
            let file = state.current;
            state.current = 1 - file;
            let mut events = std::mem::take(&mut state.unsettled);
            // Lines held back (too many unsettled, or a torn file) go to the other file
            // now and settle with the rest, so they too are in SQLite before a delete.
            if !state.failing {
                answers.extend(state.write_waiting(&self.shared));
                events.append(&mut state.unsettled);
            }
            Some(Taken { events, file })
        };
        state.settle_asked = false;
        drop(state);
        give(answers);
        taken
    }

    /// After `taken` is in SQLite: empties the file it came from, and writes the lines
    /// that waited for room.
    pub(super) fn settled(&self, taken: Taken) {
        let mut state = self.shared.lock();
        state.failing = false;
        // A file not emptied is harmless: its events are skipped on the next open, as
        // SQLite has them; the next settling that leaves it tries again.
        if let Err(e) = state.files[taken.file].clear() {
            tracing::warn!(error = %e, "event log journal not emptied after settling");
        }
        let answers = state.write_waiting(&self.shared);
        drop(state);
        give(answers);
    }

    /// After `taken` could not be put into SQLite: keeps its events for the next try,
    /// and, if that leaves no room for the lines waiting, refuses them with `error`.
    pub(super) fn not_settled(&self, taken: Taken, error: &StoreError) {
        let mut state = self.shared.lock();
        state.failing = true;
        let mut events = taken.events;
        events.append(&mut state.unsettled);
        state.unsettled = events;
        let answers = if state.unsettled.len() >= SETTLE_LINES {
            state.refuse_waiting(&self.shared, error)
        } else {
            state.write_waiting(&self.shared)
        };
        drop(state);
        give(answers);
    }

    /// Whether nothing is left to settle.
    pub(super) fn is_settled(&self) -> bool {
        let state = self.shared.lock();
        state.unsettled.is_empty() && state.waiting.is_empty()
    }

    /// Refuses appends from now on and ends the task; what already waits is left for the
    /// writer's last settling.
    pub(super) fn close(&self) {
        self.shared.lock().closed = true;
        self.shared.task.wake();
    }

    /// The journal's two files.
    pub(super) fn paths(&self) -> [std::path::PathBuf; 2] {
        let state = self.shared.lock();
        [0, 1].map(|i| state.files[i].path().to_owned())
    }
}

fn give(answers: Vec<Answer>) {
    for answer in answers {
        answer.give();
    }
}

impl State {
    /// Writes every waiting line to the journal with one `write`, unless too many wait
    /// to settle; returns their answers, to give once the lock is let go.
    fn write_waiting(&mut self, shared: &Shared) -> Vec<Answer> {
        let mut answers = Vec::new();
        self.write_waiting_into(shared, Instant::now(), &mut answers);
        answers
    }

    /// [`write_waiting`](Self::write_waiting), the write having started at `started`,
    /// its answers added to `answers`.
    fn write_waiting_into(&mut self, shared: &Shared, started: Instant, answers: &mut Vec<Answer>) {
        self.flush_wanted = false;
        if self.waiting.is_empty() {
            return;
        }
        let torn = self.files[self.current].is_torn();
        if self.unsettled.len() >= SETTLE_LINES || torn {
            // SQLite is not keeping up, or a failed write left the file unusable: the
            // lines wait for the writer's settling, which writes them after it.
            self.ask_to_settle(shared);
            return;
        }
        let mut encoded = std::mem::take(&mut self.encoded);
        encoded.clear();
        let first_id = self.next_id;
        for (id, append) in (first_id..).zip(&self.waiting) {
            journal::encode(&mut encoded, id, append.at_ms, &append.stream, &append.body);
        }
        let written = self.files[self.current].append(&encoded);
        self.encoded = encoded;
        let count = self.waiting.len() as u64;
        shared.stats.queued.fetch_sub(count, Ordering::Relaxed);
        answers.reserve(self.waiting.len());
        match written {
            Ok(()) => {
                let ended = Instant::now();
                self.last_write = Some(ended);
                shared
                    .stats
                    .record_commit(count, super::writer::micros_between(started, ended));
                self.next_id = first_id.saturating_add(self.waiting.len() as i64);
                for (append, id) in self.waiting.drain(..).zip(first_id..) {
                    let Append {
                        stream,
                        at_ms,
                        body,
                        done,
                    } = append;
                    self.unsettled.push(Settling {
                        id,
                        stream,
                        at_ms,
                        body,
                    });
                    let id = u64::try_from(id).unwrap_or_default();
                    answers.push(Answer::Id(done, Ok(id)));
                }
                if self.unsettled.len() >= SETTLE_SOON {
                    self.ask_to_settle(shared);
                }
            }
            Err(e) => {
                shared.stats.record_failure();
                let error = StoreError::Write(format!("cannot write the journal: {e}"));
                for append in self.waiting.drain(..) {
                    answers.push(Answer::Id(append.done, Err(error.clone())));
                }
                if self.files[self.current].is_torn() {
                    self.ask_to_settle(shared);
                }
            }
        }
    }

    /// Refuses every waiting line with `error`.
    fn refuse_waiting(&mut self, shared: &Shared, error: &StoreError) -> Vec<Answer> {
        let count = self.waiting.len() as u64;
        if count > 0 {
            shared.stats.queued.fetch_sub(count, Ordering::Relaxed);
            shared.stats.record_failure();
        }
        self.waiting
            .drain(..)
            .map(|append| Answer::Id(append.done, Err(error.clone())))
            .collect()
    }

    fn ask_to_settle(&mut self, shared: &Shared) {
        if !std::mem::replace(&mut self.settle_asked, true) {
            shared.writer.nudge();
        }
    }
}

/// The task that writes the waiting lines. Made outside the future, the guard also runs
/// if the runtime drops the task before it ever ran: appends are then written by their
/// callers.
fn write_waiting_lines(shared: Arc<Shared>) -> impl Future<Output = ()> {
    let guard = WriteInlineOnDrop(Arc::clone(&shared));
    async move {
        let _guard = guard;
        let mut answers = Vec::new();
        loop {
            let closed = poll_fn(|cx| {
                shared.task.register(cx.waker());
                let state = shared.lock();
                if state.closed {
                    Poll::Ready(true)
                } else if state.flush_wanted {
                    Poll::Ready(false)
                } else {
                    Poll::Pending
                }
            })
            .await;
            if closed {
                return;
            }
            let busy = {
                let mut state = shared.lock();
                let now = Instant::now();
                let busy = state
                    .last_write
                    .is_some_and(|at| now.saturating_duration_since(at) < BUSY_WITHIN);
                if !busy {
                    state.write_waiting_into(&shared, now, &mut answers);
                }
                busy
            };
            if busy {
                // Every other task already woken runs before this one: their lines join
                // the same write.
                tokio::task::yield_now().await;
                let mut state = shared.lock();
                state.write_waiting_into(&shared, Instant::now(), &mut answers);
            }
            // Kept for its allocation.
            for answer in answers.drain(..) {
                answer.give();
            }
        }
    }
}

/// Hands the writing back to the callers when the task goes.
struct WriteInlineOnDrop(Arc<Shared>);

impl Drop for WriteInlineOnDrop {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.has_task = false;
        let answers = state.write_waiting(&self.0);
        drop(state);
        give(answers);
    }
}

#[cfg(test)]
mod tests;
