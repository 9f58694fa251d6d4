//! The durable event log: every accepted event is appended here, and the whole log is
//! read back at start to rebuild sessions, rooms and rounds after a restart.
//!
//! Session logic talks only to the [`EventLog`] trait, so another engine (PostgreSQL,
//! for deployments that outgrow one machine) can be added beside [`SqliteLog`] without
//! touching it. [`MemoryLog`] keeps the same semantics without a file, for tests and
//! throwaway servers.
//!
//! Events belong to streams named like paths: `session:abc` for a session and
//! `session:abc/room:12` for one of its rooms. Deleting or purging works on a whole
//! tree (a root stream and everything under `root/`), so a session never loses half of
//! its rooms.

mod memory;
mod sqlite;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::room::Millis;

pub use memory::MemoryLog;
pub use sqlite::{SqliteLog, SqliteOptions, MAX_BATCH, QUEUE_CAPACITY};

/// The location that selects [`MemoryLog`] in [`open`] instead of a file.
pub const MEMORY_LOCATION: &str = ":memory:";

/// Global position of an event in commit order; never reused, even after deletes.
pub type EventId = u64;

/// One committed event as read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Global commit order across all streams, starting at 1.
    pub id: EventId,
    /// The stream the event belongs to, e.g. `session:abc/room:12`.
    pub stream: String,
    /// When the event happened, in milliseconds since the Unix epoch.
    pub at_ms: Millis,
    /// The event itself, as the caller serialised it (JSON in practice).
    pub body: String,
}

/// What a delete or purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    /// Streams that no longer have any event.
    pub streams: u64,
    /// Events deleted.
    pub events: u64,
}

/// Why the log could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The folder that should hold the data file could not be created.
    #[error("cannot create the folder {} for the event log: {reason}", path.display())]
    CreateDir { path: PathBuf, reason: String },
    /// Another process (another `uncover serve`) has the log open: two writers would
    /// hand out the same ids and merge strangers into each other's rooms.
    #[error(
        "the event log {} is already in use by {holder} (its lock file {} is held); \
         stop that server first, or point --data at another file",
        path.display(),
        lock.display()
    )]
    InUse {
        path: PathBuf,
        lock: PathBuf,
        holder: String,
    },
    /// A file kept beside the log (SQLite's WAL, the journal) cannot be written; serving
    /// would fail later.
    #[error(
        "cannot write {}, which the event log {} needs beside it: {reason}; \
         fix its owner or permissions",
        side.display(),
        path.display()
    )]
    SideFile {
        path: PathBuf,
        side: PathBuf,
        reason: String,
    },
    /// The data file could not be opened or prepared.
    #[error("cannot open the event log {}: {reason}", path.display())]
    Open { path: PathBuf, reason: String },
    /// The data file exists but is not an SQLite database.
    #[error(
        "{} is not an Uncover event log (it is not an SQLite database); \
         point --data at a new path or at an existing event log",
        path.display()
    )]
    NotADatabase { path: PathBuf },
    /// The data file was written by a newer Uncover whose schema this build cannot read.
    #[error(
        "the event log {} has schema version {found}, but this build only knows up to \
         version {supported}; run a newer Uncover",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// Writing to the log failed; the events of that write were not stored.
    #[error("the event log could not be written: {0}")]
    Write(String),
    /// Reading the log failed.
    #[error("the event log could not be read: {0}")]
    Read(String),
    /// Too many events are waiting for the disk; new ones are refused rather than
    /// letting memory grow without bound.
    #[error("the event log has {0} events waiting to be written; try again shortly")]
    Backlogged(u64),
    /// The writer has stopped, so nothing more can be stored.
    #[error("the event log writer has stopped")]
    Closed,
    /// A backup could not be written (or this log keeps nothing to back up).
    #[error("cannot write a backup to {}: {reason}", to.display())]
    Backup { to: PathBuf, reason: String },
}

/// Counters about commits, for `/metrics`. Latency can be exported as a Prometheus
/// summary: `commit_micros_total` is the sum and `commits` the count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Events committed.
    pub events: u64,
    /// Events in the most recent commit.
    pub last_batch: u64,
    /// Most events ever committed in one transaction.
    pub largest_batch: u64,
    /// Time spent inside committed transactions, summed, in microseconds.
    pub commit_micros_total: u64,
    /// Time the most recent commit took, in microseconds.
    pub last_commit_micros: u64,
    /// Writes that failed (each failed every request it carried).
    pub failed_writes: u64,
    /// Appends accepted but not yet committed.
    pub queued: u64,
}

/// The durable event log every engine provides.
///
/// Operations take effect in the order they are called, whoever calls them: an append
/// or delete is queued when the method is called, not when its future is first polled,
/// and dropping the returned [`Pending`] does not cancel it.
pub trait EventLog: Send + Sync + fmt::Debug {
    /// Appends `body` to `stream`, stamped `at_ms`. Resolves to the event's id only once
    /// the event is committed, so a caller may acknowledge it to a user at that point.
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId>;

    /// [`append_at`](Self::append_at) for a stream name the caller keeps for its life (a
    /// room's): an engine that queues appends keeps a reference to the name rather than a
    /// copy of it per event.
    fn append_shared(&self, stream: &Arc<str>, at_ms: Millis, body: String) -> Pending<EventId> {
        self.append_at(stream, at_ms, body)
    }

    /// [`append_at`](Self::append_at) stamped with the current time of [`crate::clock`].
    fn append(&self, stream: &str, body: String) -> Pending<EventId> {
        self.append_at(stream, crate::clock::now_ms(), body)
    }

    /// Every committed event, in commit order. Blocks while reading: call it at start,
    /// or from `spawn_blocking`.
    fn load_all(&self) -> Result<Vec<StoredEvent>, StoreError>;

    /// Deletes the stream `root` and every stream under `root/` (a session and its
    /// rooms). `session:ab` does not touch `session:abc`.
    fn delete_streams(&self, root: &str) -> Pending<Removed>;

    /// Retention: deletes every stream tree (a root stream and the streams under it)
    /// whose newest event is older than `cutoff_ms`. A tree with any newer event is kept
    /// whole.
    fn purge_before(&self, cutoff_ms: Millis) -> Pending<Removed>;

    /// Resolves once everything queued before this call has been written (committed, or
    /// reported failed to its caller). Used to drain on shutdown.
    fn flush(&self) -> Pending<()>;

    /// Commit counters so far.
    fn stats(&self) -> CommitStats;

    /// Notes that the server is running at `at_ms`, cheaply and without an event (it is
    /// called twice a second); a crash loses at most the latest note. Blocks briefly.
    fn mark_alive(&self, _at_ms: Millis) {}

    /// The latest [`mark_alive`](Self::mark_alive) note that survived, if the engine
    /// keeps them.
    fn last_alive(&self) -> Option<Millis> {
        None
    }

    /// Writes a consistent copy of everything committed so far to `to`, replacing it.
    /// The server's SQLite file admits no other process while it runs, so this is how
    /// a running server is backed up (on SIGUSR1).
    fn backup(&self, to: &Path) -> Pending<()> {
        Pending::ready(Err(StoreError::Backup {
            to: to.to_owned(),
            reason: "this event log is kept in memory".to_owned(),
        }))
    }
}

/// Opens the log at `location`: [`MEMORY_LOCATION`] keeps it in memory, anything else
/// is an SQLite file (created, with its folder, if missing), locked against a second
/// server opening it (see [`SqliteLog::open_exclusive`]).
pub fn open(location: &Path) -> Result<Arc<dyn EventLog>, StoreError> {
    if location.as_os_str() == MEMORY_LOCATION {
        return Ok(Arc::new(MemoryLog::new()));
    }
    Ok(Arc::new(SqliteLog::open_exclusive(location)?))
}

/// The answer to a log operation, resolving when the operation is done.
///
/// A concrete type (not a boxed future) so [`EventLog`] stays object-safe without an
/// allocation per append.
#[must_use = "the operation is queued either way; await this to know it is committed"]
pub struct Pending<T> {
    state: PendingState<T>,
}

enum PendingState<T> {
    Ready(Option<Result<T, StoreError>>),
    Waiting(oneshot::Receiver<Result<T, StoreError>>),
}

impl<T> Pending<T> {
    /// An operation that is already done.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        Self {
            state: PendingState::Ready(Some(result)),
        }
    }

    /// An operation that another thread finishes by sending on the paired sender; a
    /// dropped sender reads as [`StoreError::Closed`].
    pub fn waiting(receiver: oneshot::Receiver<Result<T, StoreError>>) -> Self {
        Self {
            state: PendingState::Waiting(receiver),
        }
    }

    /// The error, if the log refused the operation outright (it was never queued).
    pub fn refused(&mut self) -> Option<StoreError> {
        match &mut self.state {
            PendingState::Ready(result) if matches!(result, Some(Err(_))) => {
                result.take().and_then(Result::err)
            }
            _ => None,
        }
    }
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            PendingState::Ready(_) => "ready",
            PendingState::Waiting(_) => "waiting",
        };
        f.debug_struct("Pending").field("state", &state).finish()
    }
}

// Nothing inside is ever pinned in place: the receiver is Unpin and the ready value is
// only moved out.
impl<T> Unpin for Pending<T> {}

impl<T> Future for Pending<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            PendingState::Ready(result) => {
                Poll::Ready(result.take().unwrap_or(Err(StoreError::Closed)))
            }
            PendingState::Waiting(receiver) => Pin::new(receiver)
                .poll(cx)
                .map(|answer| answer.unwrap_or(Err(StoreError::Closed))),
        }
    }
}

/// Whether `stream` is `root` itself or lies under `root/`.
fn in_tree(stream: &str, root: &str) -> bool {
    stream
        .strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The root of the tree `stream` belongs to: its name up to the first `/`.
fn tree_root(stream: &str) -> &str {
    stream.split_once('/').map_or(stream, |(root, _)| root)
}

/// Commit counters shared between a writer and the handles that read them.
#[derive(Debug, Default)]
struct StatsCell {
    commits: AtomicU64,
    events: AtomicU64,
    last_batch: AtomicU64,
    largest_batch: AtomicU64,
    commit_micros_total: AtomicU64,
    last_commit_micros: AtomicU64,
    failed_writes: AtomicU64,
    queued: AtomicU64,
}

impl StatsCell {
    fn record_commit(&self, events: u64, micros: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.last_batch.store(events, Ordering::Relaxed);
        self.largest_batch.fetch_max(events, Ordering::Relaxed);
        self.commit_micros_total
            .fetch_add(micros, Ordering::Relaxed);
        self.last_commit_micros.store(micros, Ordering::Relaxed);
    }

    fn record_failure(&self) {
        self.failed_writes.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> CommitStats {
        CommitStats {
            commits: self.commits.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            last_batch: self.last_batch.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            commit_micros_total: self.commit_micros_total.load(Ordering::Relaxed),
            last_commit_micros: self.last_commit_micros.load(Ordering::Relaxed),
            failed_writes: self.failed_writes.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
        }
    }
}
