//! The SQLite event log: one file in write-ahead-log mode, written by a single thread.
//!
//! SQLite calls block, so the writer is a plain thread rather than a tokio task. The
//! server's log commits appends to a journal on the runtime itself, a batch with one
//! `write` (see `commits`), and the writer settles the journal into SQLite four times a
//! second. Any other log (a tool's, a test's) queues each append with a oneshot sender,
//! and the writer commits a batch in one transaction and answers it after. The writer
//! also checkpoints the WAL itself, between batches, so the WAL is rewritten from its
//! start instead of growing. Reads go through the same thread and connection: there is
//! one read, at start.
//!
//! This file is the handle: opening (and locking) the file, queueing requests, the
//! [`EventLog`] calls. Beside it: `commits` (the server's appends, into the journal),
//! `journal` (its files and records), `queue` (requests to the writer), `writer` (the
//! thread, its commits and its settling), `courier` (answers back to the runtime),
//! `schema` (modes, tables, migrations) and `trees` (where each session's events lie,
//! for deletes and purges).
//!
//! The server's log ([`SqliteLog::open_exclusive`]) runs SQLite in exclusive locking
//! mode. SQLite then keeps the WAL index in the process's heap instead of a `-shm` file
//! mapped into memory, so nothing done to a `-shm` file can crash the server with SIGBUS
//! (a mapped file that shrinks does that), and no other process can read or write the
//! file while the server runs, which the `<data>.lock` already promised.

mod commits;
mod courier;
mod journal;
mod queue;
mod schema;
mod trees;
mod writer;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::{CommitStats, EventId, EventLog, Pending, Removed, StatsCell, StoreError, StoredEvent};
use crate::room::Millis;
use commits::Commits;
use courier::Courier;
use journal::Journal;
use schema::{open_error, prepare_writer};
use writer::{next_free_id, run_writer, settle_left_over};

/// Most requests the writer takes into one batch. Large enough that a burst from
/// thousands of chatting participants shares a handful of commits, small enough that
/// one transaction never holds the file (or the callers waiting on it) for long.
pub const MAX_BATCH: usize = 512;

/// Most appends that may wait for the disk at once. Several seconds of a busy
/// workshop's traffic (a few MiB of memory at most); past that the disk is not keeping
/// up, and refusing new events beats growing without bound.
pub const QUEUE_CAPACITY: u64 = 16_384;

/// Least time between the starts of two commits. Under load, appends arriving in this
/// window share the next commit; every commit rewrites the pages it touched, so a few
/// larger commits cost far less than many small ones. An idle log commits at once.
pub const COMMIT_EVERY: Duration = Duration::from_millis(1);

/// How often the writer copies the WAL back into the database file, at most, while busy,
/// and how long it waits for work before checkpointing while quiet.
/// The WAL restarts from its beginning only after a checkpoint that caught up with every
/// commit, which a checkpoint running beside a busy writer never does; between batches
/// it always does. Appends wait while it runs, so it runs often enough to stay short
/// (a few hundred pages at thousands of events a second).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Least WAL frames (pages) before a busy writer checkpoints, about 400 KiB with 1 KiB
/// pages (`schema.rs`). Each restart of the WAL clears its 32 KiB index, which at a slow,
/// steady pace (no quiet moment for the idle checkpoint) cost more per line than the line's
/// own checksums when it came every [`CHECKPOINT_EVERY`]; but a longer WAL makes each
/// frame's entry in that index slower, because the pages every commit rewrites fill one
/// chain of it. Measured at 250 ms, 400, 700 and 1,000 frames, 400 cost least
/// (docs/benchmarks.md, "Eighth round"). At thousands of lines a second the WAL passes it
/// well within [`CHECKPOINT_EVERY`], so busy logs checkpoint as often as before.
pub const CHECKPOINT_FRAMES: u32 = 400;

/// Most journaled events waiting to settle into SQLite before the next batch waits for
/// them to (see `commits`). They settle every [`CHECKPOINT_EVERY`] anyway, which at
/// 10,000 lines a second is 2,500; this bounds their memory (a few MiB) and one settling
/// transaction's length when SQLite cannot keep up or cannot write at all.
pub const SETTLE_LINES: usize = 4_096;

/// How often the writer brings `trees` up to date: one row per active room each time,
/// so rarely; a crash loses nothing, the next open reads the missing tail.
pub const TREES_EVERY: Duration = Duration::from_secs(10);

/// Tuning for [`SqliteLog::open_with`]; the defaults suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Most requests committed in one transaction.
    pub max_batch: usize,
    /// Most appends waiting for the disk before new ones are refused.
    pub queue_capacity: u64,
    /// Least time between the starts of two commits.
    pub commit_every: Duration,
    /// How often the writer checkpoints while busy, at most.
    pub checkpoint_every: Duration,
    /// Least frames in the WAL before a busy writer checkpoints.
    pub checkpoint_frames: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_batch: MAX_BATCH,
            queue_capacity: QUEUE_CAPACITY,
            commit_every: COMMIT_EVERY,
            checkpoint_every: CHECKPOINT_EVERY,
            checkpoint_frames: CHECKPOINT_FRAMES,
        }
    }
}

/// The [`EventLog`] kept in an SQLite file.
pub struct SqliteLog {
    path: PathBuf,
    /// `<data>.lock`, locked exclusively for as long as this log is open (the kernel
    /// releases it when the process dies, even by SIGKILL). It holds the owner's pid.
    /// Only the server's log takes it ([`open_exclusive`](Self::open_exclusive)).
    _lock: Option<fs::File>,
    /// `None` only while dropping, so the writer sees the queue close.
    requests: Option<queue::Sender<Request>>,
    /// The server's log commits appends here, on the runtime (see `commits`); any other
    /// log queues them for the writer.
    commits: Option<Commits>,
    stats: Arc<StatsCell>,
    queue_capacity: u64,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SqliteLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLog")
            .field("path", &self.path)
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

/// One queued piece of work for the writer.
enum Request {
    Append(Append),
    DeleteTree {
        root: String,
        done: oneshot::Sender<Result<Removed, StoreError>>,
    },
    Purge {
        cutoff_ms: i64,
        done: oneshot::Sender<Result<Removed, StoreError>>,
    },
    Flush {
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// A copy of the log written to `to`.
    Backup {
        to: PathBuf,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Every event, in order; answered on a std channel, as the caller blocks.
    ReadAll {
        done: mpsc::Sender<Result<Vec<StoredEvent>, StoreError>>,
    },
}

struct Append {
    /// Shared with the room that appends to it (see [`EventLog::append_shared`]).
    stream: Arc<str>,
    at_ms: i64,
    body: String,
    done: oneshot::Sender<Result<EventId, StoreError>>,
}

impl SqliteLog {
    /// Opens (creating if needed, folder included) the event log at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`open`](Self::open) for a server: refuses, naming the other process, if
    /// another has the log open this way, and keeps it from doing so until dropped.
    /// Appends commit to `<path>.journal` and `<path>.journal2` (see `commits`), which
    /// only the lock's holder may write.
    pub fn open_exclusive(path: &Path) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(folder).map_err(|e| StoreError::CreateDir {
                path: folder.to_owned(),
                reason: e.to_string(),
            })?;
        }
        let lock = lock_exclusively(path)?;
        let mut log = Self::open_locked(path, SqliteOptions::default(), true)?;
        log._lock = Some(lock);
        Ok(log)
    }

    /// [`open`](Self::open) with explicit tuning.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        Self::open_locked(path, options, false)
    }

    /// [`open_with`](Self::open_with), in SQLite's exclusive locking mode when
    /// `exclusive`: no `-shm` file, and no other connection to the file while open.
    fn open_locked(
        path: &Path,
        options: SqliteOptions,
        exclusive: bool,
    ) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(folder).map_err(|e| StoreError::CreateDir {
                path: folder.to_owned(),
                reason: e.to_string(),
            })?;
        }
        check_side_files(path, exclusive)?;
        let writer_flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer =
            Connection::open_with_flags(path, writer_flags).map_err(|e| open_error(path, e))?;
        prepare_writer(&mut writer, path, exclusive)?;
        settle_left_over(&writer, path)?;

        let stats = Arc::new(StatsCell::default());
        let (requests, queue) = queue::channel();
        // Only the server's log, which holds the lock, commits through the journal: two
        // logs appending to one journal would interleave their records.
        let commits = if exclusive {
            let [first, second] = journal::journal_paths(path).map(|at| {
                Journal::open(&at).map_err(|e| StoreError::Open {
                    path: path.to_owned(),
                    reason: format!("cannot open its journal {}: {e}", at.display()),
                })
            });
            let next_id = next_free_id(&writer).map_err(|e| open_error(path, e))?;
            Some(Commits::start(
                [first?, second?],
                next_id,
                requests.nudge(),
                Arc::clone(&stats),
            ))
        } else {
            None
        };

        let writer_stats = Arc::clone(&stats);
        let courier = Courier::start();
        let writer_commits = commits.clone();
        let handle = thread::Builder::new()
            .name("uncover-event-log".to_owned())
            .spawn(move || {
                run_writer(
                    writer,
                    &queue,
                    &writer_stats,
                    options,
                    courier,
                    writer_commits,
                )
            })
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;

        Ok(Self {
            path: path.to_owned(),
            _lock: None,
            requests: Some(requests),
            commits,
            stats,
            queue_capacity: options.queue_capacity,
            writer: Some(handle),
        })
    }

    /// The file this log lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `request`; false when the writer has stopped.
    fn send(&self, request: Request) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|requests| requests.send(request).is_ok())
    }

    /// Queues a request that answers through a oneshot, for the operations that are
    /// never refused for backlog (they are rare and a person is waiting on them).
    fn control<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Request,
    ) -> Pending<T> {
        let (done, answer) = oneshot::channel();
        if self.send(request(done)) {
            Pending::waiting(answer)
        } else {
            Pending::ready(Err(StoreError::Closed))
        }
    }
}

/// Where the server notes it is alive, beside `path`.
fn alive_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".alive");
    PathBuf::from(name)
}

/// The lock file beside `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock on `<path>.lock` and writes this process's id in it; if
/// another process holds it, says which.
fn lock_exclusively(path: &Path) -> Result<fs::File, StoreError> {
    use std::io::{Read, Seek, Write};
    let lock = lock_path(path);
    let open_error = |e: std::io::Error| StoreError::Open {
        path: path.to_owned(),
        reason: format!("cannot open its lock file {}: {e}", lock.display()),
    };
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(open_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut held = String::new();
            let _ = file.read_to_string(&mut held);
            let holder = match held.trim() {
                "" => "another process".to_owned(),
                pid => pid.to_owned(),
            };
            return Err(StoreError::InUse {
                path: path.to_owned(),
                lock,
                holder,
            });
        }
        Err(fs::TryLockError::Error(e)) => return Err(open_error(e)),
    }
    let stamp = format!("pid {} (uncover serve)\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(stamp.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(open_error)?;
    Ok(file)
}

/// SQLite keeps `<path>-wal` beside the log and, unless `exclusive`, maps `<path>-shm`
/// into memory; one it cannot write would fail later, the `-shm` one with SIGBUS, so it
/// is refused now. In exclusive mode SQLite never opens a `-shm` file, so a stray one
/// is left alone, and the server's `<path>.journal` must be writable instead (checked by
/// its mode too: a root-run server could write it, but a later one under its own user
/// could not settle it).
fn check_side_files(path: &Path, exclusive: bool) -> Result<(), StoreError> {
    let sides: &[&str] = if exclusive {
        &["-wal", ".journal", ".journal2"]
    } else {
        &["-wal", "-shm"]
    };
    for suffix in sides {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let side = PathBuf::from(name);
        let Ok(meta) = fs::metadata(&side) else {
            continue;
        };
        let writable = !meta.permissions().readonly()
            && fs::OpenOptions::new().write(true).open(&side).is_ok();
        if !writable || !meta.is_file() {
            return Err(StoreError::SideFile {
                path: path.to_owned(),
                side,
                reason: if meta.is_file() {
                    "permission denied".to_owned()
                } else {
                    "it is not a regular file".to_owned()
                },
            });
        }
    }
    Ok(())
}

impl Drop for SqliteLog {
    /// Closes the queue and waits for the writer to commit what was already queued.
    fn drop(&mut self) {
        self.requests = None;
        if let Some(writer) = self.writer.take() {
            // A writer that panicked has already failed its callers through their
            // dropped oneshots; there is nothing more to report here.
            let _ = writer.join();
        }
    }
}

impl SqliteLog {
    /// Queues an append, unless too many are waiting for the disk already.
    fn queue_append(&self, stream: Arc<str>, at_ms: Millis, body: String) -> Pending<EventId> {
        let waiting = self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if waiting >= self.queue_capacity {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Pending::ready(Err(StoreError::Backlogged(waiting)));
        }
        let (done, answer) = oneshot::channel();
        let append = Append {
            stream,
            at_ms: to_sql_millis(at_ms),
            body,
            done,
        };
        if let Some(commits) = &self.commits {
            commits.append(append);
            return Pending::waiting(answer);
        }
        if self.send(Request::Append(append)) {
            Pending::waiting(answer)
        } else {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            Pending::ready(Err(StoreError::Closed))
        }
    }
}

impl EventLog for SqliteLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        self.queue_append(Arc::from(stream), at_ms, body)
    }

    fn append_shared(&self, stream: &Arc<str>, at_ms: Millis, body: String) -> Pending<EventId> {
        self.queue_append(Arc::clone(stream), at_ms, body)
    }

    fn load_all(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let (done, answer) = mpsc::channel();
        if !self.send(Request::ReadAll { done }) {
            return Err(StoreError::Closed);
        }
        answer.recv().unwrap_or(Err(StoreError::Closed))
    }

    fn delete_streams(&self, root: &str) -> Pending<Removed> {
        let root = root.to_owned();
        self.control(|done| Request::DeleteTree { root, done })
    }

    fn purge_before(&self, cutoff_ms: Millis) -> Pending<Removed> {
        let cutoff_ms = to_sql_millis(cutoff_ms);
        self.control(|done| Request::Purge { cutoff_ms, done })
    }

    fn flush(&self) -> Pending<()> {
        self.control(|done| Request::Flush { done })
    }

    fn stats(&self) -> CommitStats {
        self.stats.snapshot()
    }

    fn backup(&self, to: &Path) -> Pending<()> {
        let to = to.to_owned();
        self.control(|done| Request::Backup { to, done })
    }

    /// Writes `<data>.alive` (a decimal millisecond count). No fsync: the note survives
    /// the process being killed, which is what it is for.
    fn mark_alive(&self, at_ms: Millis) {
        let _ = fs::write(alive_path(&self.path), at_ms.to_string());
    }

    fn last_alive(&self) -> Option<Millis> {
        fs::read_to_string(alive_path(&self.path))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Milliseconds as SQLite stores them; dates past the year 292 million are clamped.
fn to_sql_millis(at_ms: Millis) -> i64 {
    i64::try_from(at_ms).unwrap_or(i64::MAX)
}
