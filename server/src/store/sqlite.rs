//! The SQLite event log: one file in write-ahead-log mode, written by a single thread
//! that commits everything waiting for it in one transaction.
//!
//! SQLite calls block, so the writer is a plain thread rather than a tokio task. Each
//! append is queued with a oneshot sender; the writer answers it only after the
//! transaction holding the event has committed, a batch's answers together
//! (`sqlite/courier.rs`). The writer also checkpoints the WAL
//! itself, between batches, so the WAL is rewritten from its start instead of growing.
//! Reads go through the same thread and connection: there is one read, at start.
//!
//! The server's log ([`SqliteLog::open_exclusive`]) runs SQLite in exclusive locking
//! mode. SQLite then keeps the WAL index in the process's heap instead of a `-shm` file
//! mapped into memory, so nothing done to a `-shm` file can crash the server with SIGBUS
//! (a mapped file that shrinks does that), and no other process can read or write the
//! file while the server runs, which the `<data>.lock` already promised.

mod courier;
mod queue;

use std::ffi::c_int;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Statement, Transaction,
    TransactionBehavior,
};
use tokio::sync::oneshot;

use super::{
    tree_root, CommitStats, EventId, EventLog, Pending, Removed, StatsCell, StoreError, StoredEvent,
};
use crate::room::Millis;
use courier::{Answer, Courier};
use queue::Empty;

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

/// Least WAL frames (pages) before a busy writer checkpoints, about 400 KiB with
/// [`PAGE_BYTES`]. Each restart of the WAL clears its 32 KiB index, which at a slow,
/// steady pace (no quiet moment for the idle checkpoint) cost more per line than the
/// line's own checksums when it came every [`CHECKPOINT_EVERY`]; but a longer WAL makes
/// each frame's entry in that index slower, because the pages every commit rewrites fill
/// one chain of it. Measured at 250 ms, 400, 700 and 1,000 frames, 400 cost least
/// (docs/benchmarks.md, "Eighth round"). At thousands of lines a second the WAL passes it
/// well within [`CHECKPOINT_EVERY`], so busy logs checkpoint as often as before.
pub const CHECKPOINT_FRAMES: u32 = 400;

/// How often the writer brings `trees` up to date: one row per active room each time,
/// so rarely; a crash loses nothing, the next open reads the missing tail.
pub const TREES_EVERY: Duration = Duration::from_secs(10);

/// WAL size kept on disk after a checkpoint: a burst may grow the WAL, and this much of
/// it is reused rather than given back, so the next burst does not grow the file again.
const WAL_KEEP_BYTES: i64 = 16 * 1024 * 1024;

/// Page size of a new log. Every commit writes each page it touched to the WAL in full
/// and checksums it: a chat line's commit touches the last page of `events` and the
/// AUTOINCREMENT counter's page, so with SQLite's default 4 KiB pages a 300-byte line
/// made 8 KiB of WAL. Rows stay far below a 1 KiB page's local limit (989 bytes); longer
/// lines spill to overflow pages as before.
const PAGE_BYTES: i64 = 1024;

/// The schema this build writes; bump it and add a migration step when tables change.
const SCHEMA_VERSION: i64 = 3;

/// How long a statement waits for a lock held by another connection, such as a backup
/// taken with the `sqlite3` shell, before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Tables of schema version 3, for a new file.
///
/// An id always names one event: it is never reused, even after the newest events are
/// deleted. The writer gives every event its id, the next after the highest it knows of,
/// and `id_floor` keeps the highest id a delete may have removed, so a restart never
/// counts from below it. Versions 1 and 2 had SQLite do it with AUTOINCREMENT, which
/// reads and rewrites the `sqlite_sequence` row in every commit: one page more in the
/// WAL, its checksum and a second B-tree insert per line, about a sixth of a lone line's
/// commit. (Their files keep the keyword; ids given explicitly are the same ids.)
///
/// `events` has no index besides its id: an index by stream
/// would put every commit's events on as many index pages as there are rooms in it,
/// each rewritten in the WAL. `trees` says where each stream tree's events lie instead;
/// the writer keeps it current every [`TREES_EVERY`] and repairs it on open.
const SCHEMA_V3: &str = "
    CREATE TABLE events (
        id     INTEGER PRIMARY KEY,
        stream TEXT    NOT NULL,
        at_ms  INTEGER NOT NULL,
        body   TEXT    NOT NULL
    );
    CREATE TABLE trees (
        root       TEXT    PRIMARY KEY,
        first_id   INTEGER NOT NULL,
        last_id    INTEGER NOT NULL,
        last_at_ms INTEGER NOT NULL
    );
    CREATE TABLE id_floor (id INTEGER NOT NULL);
    INSERT INTO id_floor (id) VALUES (0);
";

/// From version 2 to version 3: the ids AUTOINCREMENT gave out stay behind the floor.
const MIGRATE_V2_TO_V3: &str = "
    CREATE TABLE id_floor (id INTEGER NOT NULL);
    INSERT INTO id_floor (id)
        SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0);
";

/// From version 1 (an index on `events (stream, at_ms)`) to version 2.
const MIGRATE_V1_TO_V2: &str = "
    CREATE TABLE trees (
        root       TEXT    PRIMARY KEY,
        first_id   INTEGER NOT NULL,
        last_id    INTEGER NOT NULL,
        last_at_ms INTEGER NOT NULL
    );
    DROP INDEX IF EXISTS events_by_stream;
";

/// Names SQLite itself or any schema version puts in `sqlite_master`; anything else
/// means the file belongs to another program.
const OWN_TABLES: &str = "'schema_version', 'events', 'events_by_stream', 'trees', \
     'sqlite_autoindex_trees_1', 'sqlite_sequence', 'sqlite_stat1', 'id_floor'";

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

        let stats = Arc::new(StatsCell::default());
        let (requests, queue) = queue::channel();
        let writer_stats = Arc::clone(&stats);
        let courier = Courier::start();
        let handle = thread::Builder::new()
            .name("uncover-event-log".to_owned())
            .spawn(move || run_writer(writer, &queue, &writer_stats, options, courier))
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;

        Ok(Self {
            path: path.to_owned(),
            _lock: None,
            requests: Some(requests),
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
/// is left alone.
fn check_side_files(path: &Path, exclusive: bool) -> Result<(), StoreError> {
    let sides: &[&str] = if exclusive {
        &["-wal"]
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
        let request = Request::Append(Append {
            stream,
            at_ms: to_sql_millis(at_ms),
            body,
            done,
        });
        if self.send(request) {
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

/// Names the file in every open failure, and says plainly when it is not a database.
fn open_error(path: &Path, error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::NotADatabase {
            path: path.to_owned(),
        }
    } else {
        StoreError::Open {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// Sets a mode pragma and checks SQLite took it: "write-ahead logging is not available
/// here (journal_mode memory)" rather than a log that silently works another way.
fn set_mode(
    conn: &Connection,
    path: &Path,
    pragma: &str,
    value: &str,
    what: &str,
) -> Result<(), StoreError> {
    let got: String = conn
        .pragma_update_and_check(None, pragma, value, |row| row.get(0))
        .map_err(|e| open_error(path, e))?;
    if got.eq_ignore_ascii_case(value) {
        return Ok(());
    }
    Err(StoreError::Open {
        path: path.to_owned(),
        reason: format!("{what} is not available here ({pragma} {got})"),
    })
}

/// Sets the locking, journal and sync modes and brings the schema up to
/// [`SCHEMA_VERSION`].
fn prepare_writer(conn: &mut Connection, path: &Path, exclusive: bool) -> Result<(), StoreError> {
    if exclusive {
        // Before the first WAL access, or SQLite has already set up a `-shm` mapping.
        set_mode(conn, path, "locking_mode", "exclusive", "exclusive locking")?;
    }
    // Only a new file takes it (an existing one keeps its own). See [`PAGE_BYTES`].
    conn.pragma_update(None, "page_size", PAGE_BYTES)
        .map_err(|e| open_error(path, e))?;
    set_mode(conn, path, "journal_mode", "wal", "write-ahead logging")?;
    if exclusive {
        // Takes the file's lock now and keeps it (exclusive mode never lets go), so no
        // other connection sees the WAL without the index only this process holds.
        conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
            .map_err(|e| open_error(path, e))?;
    }
    // NORMAL in WAL mode: a commit is in the OS before the writer answers, so it survives
    // the process being killed (kill -9, a crash), which is what Uncover promises. FULL
    // would add an fsync per commit to also survive power loss, which is not required.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .and_then(|()| conn.busy_timeout(BUSY_TIMEOUT))
        // The writer checkpoints on its own schedule (see `run_writer`), never in the
        // middle of a commit.
        .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", 0))
        .and_then(|()| conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES))
        .map_err(|e| open_error(path, e))?;
    migrate(conn, path)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| open_error(path, e))?;
    let found = current_version(&tx).map_err(|e| open_error(path, e))?;
    match found {
        Some(found) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            })
        }
        Some(found @ (1 | 2)) => (if found == 1 {
            tx.execute_batch(MIGRATE_V1_TO_V2)
                .and_then(|()| fold_tail_into_trees(&tx, &mut DirtyTrees::default()))
        } else {
            Ok(())
        })
        .and_then(|()| tx.execute_batch(MIGRATE_V2_TO_V3))
        .and_then(|()| {
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [SCHEMA_VERSION],
            )
        })
        .map(|_| ())
        .map_err(|e| open_error(path, e))?,
        Some(_) => {}
        None => {
            let foreign: i64 = tx
                .query_row(
                    &format!("SELECT COUNT(*) FROM sqlite_master WHERE name NOT IN ({OWN_TABLES})"),
                    [],
                    |row| row.get(0),
                )
                .map_err(|e| open_error(path, e))?;
            if foreign > 0 {
                return Err(StoreError::Open {
                    path: path.to_owned(),
                    reason: "it is an SQLite database of another program, not an event log"
                        .to_owned(),
                });
            }
            tx.execute_batch(SCHEMA_V3)
                .and_then(|()| {
                    tx.execute(
                        "INSERT INTO schema_version (version) VALUES (?1)",
                        [SCHEMA_VERSION],
                    )
                })
                .map_err(|e| open_error(path, e))?;
        }
    }
    // The writer writes `trees` now and then; a crash may have left the latest out.
    fold_tail_into_trees(&tx, &mut DirtyTrees::default()).map_err(|e| open_error(path, e))?;
    tx.commit().map_err(|e| open_error(path, e))
}

/// The schema version recorded in the file, or `None` for a new file.
fn current_version(tx: &Transaction<'_>) -> rusqlite::Result<Option<i64>> {
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    tx.query_row("SELECT MAX(version) FROM schema_version", [], |row| {
        row.get(0)
    })
}

fn read_all(conn: &Connection) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut select =
        conn.prepare_cached("SELECT id, stream, at_ms, body FROM events ORDER BY id")?;
    let rows = select.query_map([], |row| {
        Ok(StoredEvent {
            id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
            stream: row.get(1)?,
            at_ms: u64::try_from(row.get::<_, i64>(2)?).unwrap_or_default(),
            body: row.get(3)?,
        })
    })?;
    rows.collect()
}

/// Where one stream tree's events lie in `events`, and when it last changed.
#[derive(Debug, Clone, Copy)]
struct TreeSpan {
    first_id: i64,
    last_id: i64,
    last_at_ms: i64,
}

/// Trees changed since `trees` was last written, by root.
/// Spans by tree root, noted for every event written. foldhash, not std's SipHash:
/// the roots are the server's own names, and hashing one per line with SipHash cost
/// about 250 instructions of a line's commit.
type DirtyTrees = foldhash::HashMap<String, TreeSpan>;

fn note_event(dirty: &mut DirtyTrees, stream: &str, id: i64, at_ms: i64) {
    let root = tree_root(stream);
    match dirty.get_mut(root) {
        Some(span) => {
            span.first_id = span.first_id.min(id);
            span.last_id = span.last_id.max(id);
            span.last_at_ms = span.last_at_ms.max(at_ms);
        }
        None => {
            dirty.insert(
                root.to_owned(),
                TreeSpan {
                    first_id: id,
                    last_id: id,
                    last_at_ms: at_ms,
                },
            );
        }
    }
}

/// Writes the changed spans into `trees`, widening what is there.
fn write_trees(tx: &Transaction<'_>, dirty: &mut DirtyTrees) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO trees (root, first_id, last_id, last_at_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (root) DO UPDATE SET
             first_id = MIN(first_id, excluded.first_id),
             last_id = MAX(last_id, excluded.last_id),
             last_at_ms = MAX(last_at_ms, excluded.last_at_ms)",
    )?;
    for (root, span) in dirty.drain() {
        upsert.execute(params![root, span.first_id, span.last_id, span.last_at_ms])?;
    }
    Ok(())
}

/// Brings `trees` up to date with events written after its newest span: the writer
/// writes `trees` every [`TREES_EVERY`], so a crash can leave that much out. Reads only
/// that tail, by id.
fn fold_tail_into_trees(tx: &Transaction<'_>, dirty: &mut DirtyTrees) -> rusqlite::Result<()> {
    let known: i64 = tx.query_row("SELECT COALESCE(MAX(last_id), 0) FROM trees", [], |row| {
        row.get(0)
    })?;
    {
        let mut tail = tx.prepare("SELECT id, stream, at_ms FROM events WHERE id > ?1")?;
        let mut rows = tail.query([known])?;
        while let Some(row) = rows.next()? {
            let stream: String = row.get(1)?;
            note_event(dirty, &stream, row.get(0)?, row.get(2)?);
        }
    }
    write_trees(tx, dirty)
}

/// The writer thread's connection, the statements every commit of appends runs, and
/// what it has not yet written to `trees`.
struct Writer<'c> {
    conn: &'c Connection,
    /// `None` only if they could not be prepared; commits then prepare them each time.
    appends: Option<AppendStatements<'c>>,
    dirty: DirtyTrees,
    /// When the batch being written started, read once by the loop for its own pacing
    /// and reused as the first commit's start; and when the latest commit ended, reused
    /// by the loop for its checks. Reading the clock is a few hundred instructions under
    /// callgrind, and a line committed alone read it six times.
    batch_started: Option<Instant>,
    commit_ended: Option<Instant>,
    /// A batch's appends and their ids, kept empty between batches so that committing a
    /// line does not allocate two lists for it.
    appends_waiting: Vec<Append>,
    ids: Vec<i64>,
    /// The id the next event is given: above every id in `events` and the floor.
    next_id: i64,
    /// Carries a batch's answers to their callers (see [`courier`]).
    courier: Courier,
    /// The batch's answers so far, handed over once it is written.
    answers: Vec<Answer>,
}

/// The first id never given out: after the newest event and after `id_floor` (the
/// newest id a delete may have removed), and after AUTOINCREMENT's counter in files it
/// kept one for (it is copied into the floor on migrating, and still kept by SQLite).
fn next_free_id(conn: &Connection) -> rusqlite::Result<i64> {
    let floor: i64 = conn.query_row(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM events), 0),
                    COALESCE((SELECT MAX(id) FROM id_floor), 0))",
        [],
        |row| row.get(0),
    )?;
    Ok(floor.saturating_add(1))
}

const BEGIN_SQL: &str = "BEGIN IMMEDIATE";
const INSERT_SQL: &str = "INSERT INTO events (id, stream, at_ms, body) VALUES (?1, ?2, ?3, ?4)";
const COMMIT_SQL: &str = "COMMIT";

/// The three statements every commit of appends runs, prepared once for the writer's
/// life. `prepare_cached` finds a statement by hashing its SQL and puts it back into the
/// cache after use: about 3,800 instructions a commit under callgrind (the writer's work
/// for a line committed on its own, as at a workshop's pace, fell from 21,900 to 18,100).
struct AppendStatements<'c> {
    begin: Statement<'c>,
    insert: Statement<'c>,
    commit: Statement<'c>,
}

impl<'c> AppendStatements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            begin: conn.prepare(BEGIN_SQL)?,
            insert: conn.prepare(INSERT_SQL)?,
            commit: conn.prepare(COMMIT_SQL)?,
        })
    }

    /// Inserts `appends` in one immediate transaction and puts their ids in `ids`; on any
    /// failure the transaction is rolled back, as [`in_cached_transaction`] does.
    ///
    /// A lone append (every line at a workshop's pace) is inserted in autocommit mode
    /// instead: SQLite commits the statement's own transaction before `insert` returns,
    /// exactly as `COMMIT` would, so it is as durable, without running `BEGIN` and
    /// `COMMIT` as two more statements (about 2,000 instructions a line under callgrind).
    /// A failed statement is rolled back by SQLite itself.
    fn commit(
        &mut self,
        conn: &Connection,
        appends: &[Append],
        ids: &mut Vec<i64>,
        first_id: i64,
    ) -> rusqlite::Result<()> {
        if let [append] = appends {
            if conn.is_autocommit() {
                self.insert
                    .execute(params![first_id, append.stream, append.at_ms, append.body])?;
                ids.push(first_id);
                return Ok(());
            }
        }
        self.begin.execute([])?;
        let (insert, commit) = (&mut self.insert, &mut self.commit);
        let result = (|| {
            for (id, append) in (first_id..).zip(appends) {
                insert.execute(params![id, append.stream, append.at_ms, append.body])?;
                ids.push(id);
            }
            commit.execute([])
        })()
        .map(|_| ());
        if result.is_err() && !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "event log transaction not rolled back");
            }
        }
        result
    }
}

/// The writer thread: waits for work, lets a commit's worth of appends gather if the
/// last commit was moments ago, takes everything waiting (up to `max_batch`) and writes
/// it; it checkpoints after [`CHECKPOINT_EVERY`] without work, or while busy once the WAL
/// holds [`CHECKPOINT_FRAMES`] and the last checkpoint is [`CHECKPOINT_EVERY`] old, and
/// writes `trees` every [`TREES_EVERY`]. Ends when every handle has been dropped and the
/// queue is empty.
fn run_writer(
    mut conn: Connection,
    queue: &queue::Receiver<Request>,
    stats: &StatsCell,
    options: SqliteOptions,
    courier: Courier,
) {
    let wal_frames = count_wal_frames(&mut conn);
    let appends = match AppendStatements::prepare(&conn) {
        Ok(statements) => Some(statements),
        Err(e) => {
            tracing::error!(error = %e, "event log statements not prepared; preparing them per commit");
            None
        }
    };
    let mut writer = Writer {
        conn: &conn,
        appends,
        dirty: DirtyTrees::default(),
        batch_started: None,
        commit_ended: None,
        appends_waiting: Vec::new(),
        ids: Vec::new(),
        courier,
        answers: Vec::new(),
        next_id: next_free_id(&conn).unwrap_or_else(|e| {
            // Every append then fails until the commits' own retry reads it.
            tracing::error!(error = %e, "event log ids not read");
            1
        }),
    };
    let max_batch = options.max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_commit = Instant::now();
    let mut last_checkpoint = Instant::now();
    let mut last_trees = Instant::now();
    let mut unchecked = false;
    loop {
        let first = if unchecked {
            // Nothing waiting for a while: a good moment for the checkpoint.
            match queue.recv(Some(options.checkpoint_every)) {
                Ok(first) => first,
                Err(Empty::Timeout) => {
                    writer.write_trees(stats);
                    writer.checkpoint();
                    (last_checkpoint, last_trees, unchecked) =
                        (Instant::now(), Instant::now(), false);
                    continue;
                }
                Err(Empty::Closed) => break,
            }
        } else {
            match queue.recv(None) {
                Ok(first) => first,
                Err(_) => break,
            }
        };
        let now = Instant::now();
        let since = now.saturating_duration_since(last_commit);
        last_commit = if since < options.commit_every {
            thread::sleep(options.commit_every - since);
            Instant::now()
        } else {
            now
        };
        batch.push(first);
        queue.take_into(&mut batch, max_batch);
        writer.batch_started = Some(last_commit);
        writer.write_batch(&mut batch, stats);
        writer.batch_started = None;
        unchecked = true;
        let now = writer.commit_ended.take().unwrap_or_else(Instant::now);
        if now.saturating_duration_since(last_trees) >= TREES_EVERY {
            writer.write_trees(stats);
            last_trees = now;
        }
        if now.saturating_duration_since(last_checkpoint) >= options.checkpoint_every
            && wal_frames.load(Ordering::Relaxed) >= options.checkpoint_frames
        {
            writer.checkpoint();
            (last_checkpoint, unchecked) = (now, false);
        }
    }
    writer.write_trees(stats);
    writer.checkpoint();
}

/// The number of frames in the WAL after the latest commit, kept up to date by SQLite's
/// WAL hook. If the hook cannot be set, it reads as full, and the writer checkpoints
/// every [`CHECKPOINT_EVERY`] as it did before it counted frames.
fn count_wal_frames(conn: &mut Connection) -> Arc<AtomicU32> {
    let frames = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&frames);
    let hook = move |_: &mut Wal, pages: c_int| {
        counter.store(u32::try_from(pages).unwrap_or(0), Ordering::Relaxed);
        Ok(())
    };
    if let Err(e) = conn.wal_hook(Some(hook)) {
        tracing::warn!(error = %e, "event log WAL size not followed; checkpointing by time alone");
        frames.store(u32::MAX, Ordering::Relaxed);
    }
    frames
}

impl Writer<'_> {
    /// Writes the spans changed since the last time into `trees`.
    fn write_trees(&mut self, stats: &StatsCell) {
        if self.dirty.is_empty() {
            return;
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        if let Err(e) = in_transaction(self.conn, stats, |tx| write_trees(tx, &mut dirty)) {
            // Not lost: the spans are rebuilt from the events on the next open.
            tracing::warn!(error = %e, "event log tree spans not written");
        }
    }

    /// Copies the WAL into the database. Run between batches, so it always catches up
    /// and the next commit starts the WAL over.
    fn checkpoint(&self) {
        // The C call, not `PRAGMA wal_checkpoint`: the statement was parsed again for
        // every checkpoint, and a cached one is prepared again anyway.
        match self
            .conn
            .wal_checkpoint_v2(Some(rusqlite::MAIN_DB), CheckpointMode::PASSIVE)
        {
            Ok(_) => {}
            // Another connection (a backup with the `sqlite3` shell) is checkpointing:
            // the pragma reported that as a row, not an error; the next one catches up.
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
                tracing::debug!(error = %e, "event log checkpoint deferred");
            }
            Err(e) => tracing::warn!(error = %e, "event log checkpoint failed"),
        }
    }

    /// Writes a batch in order: runs of appends share one transaction; deletes and purges
    /// get their own; a flush is answered once everything before it is written.
    fn write_batch(&mut self, batch: &mut Vec<Request>, stats: &StatsCell) {
        let mut appends = std::mem::take(&mut self.appends_waiting);
        for request in batch.drain(..) {
            match request {
                Request::Append(append) => appends.push(append),
                Request::DeleteTree { root, done } => {
                    self.commit_appends(&mut appends, stats);
                    let dirty = &mut self.dirty;
                    let result =
                        in_transaction(self.conn, stats, |tx| delete_tree(tx, dirty, &root));
                    self.answers.push(Answer::Removed(done, result));
                }
                Request::Purge { cutoff_ms, done } => {
                    self.commit_appends(&mut appends, stats);
                    let dirty = &mut self.dirty;
                    let result = in_transaction(self.conn, stats, |tx| purge(tx, dirty, cutoff_ms));
                    self.answers.push(Answer::Removed(done, result));
                }
                Request::Flush { done } => {
                    self.commit_appends(&mut appends, stats);
                    self.answers.push(Answer::Done(done, Ok(())));
                }
                Request::Backup { to, done } => {
                    self.commit_appends(&mut appends, stats);
                    self.answers
                        .push(Answer::Done(done, backup(self.conn, &to)));
                }
                Request::ReadAll { done } => {
                    self.commit_appends(&mut appends, stats);
                    // Its caller blocks on a std channel: answered here, at once.
                    let _ =
                        done.send(read_all(self.conn).map_err(|e| StoreError::Read(e.to_string())));
                }
            }
        }
        self.commit_appends(&mut appends, stats);
        self.appends_waiting = appends;
        self.courier.answer(&mut self.answers);
    }

    /// Commits `appends` in one transaction, then queues each one's answer for the end of
    /// the batch (a caller that stopped waiting is simply not told).
    fn commit_appends(&mut self, appends: &mut Vec<Append>, stats: &StatsCell) {
        if appends.is_empty() {
            return;
        }
        let started = self.batch_started.take().unwrap_or_else(Instant::now);
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        let first_id = self.next_id;
        let result = match self.appends.as_mut() {
            Some(statements) => statements.commit(self.conn, appends, &mut ids, first_id),
            None => in_cached_transaction(self.conn, |conn| {
                let mut insert = conn.prepare_cached(INSERT_SQL)?;
                for (id, append) in (first_id..).zip(appends.iter()) {
                    insert.execute(params![id, append.stream, append.at_ms, append.body])?;
                    ids.push(id);
                }
                Ok(())
            }),
        };
        let count = appends.len() as u64;
        stats.queued.fetch_sub(count, Ordering::Relaxed);
        match result {
            Ok(()) => {
                self.next_id = first_id.saturating_add(ids.len() as i64);
                let ended = Instant::now();
                self.commit_ended = Some(ended);
                stats.record_commit(count, micros_between(started, ended));
                for (append, &id) in appends.drain(..).zip(&ids) {
                    note_event(&mut self.dirty, &append.stream, id, append.at_ms);
                    let id = u64::try_from(id).unwrap_or_default();
                    self.answers.push(Answer::Id(append.done, Ok(id)));
                }
            }
            Err(error) => {
                stats.record_failure();
                // Nothing of the batch was kept; should the ids have been the cause (an
                // id taken by someone else's write), the next batch counts from the file.
                if let Ok(id) = next_free_id(self.conn) {
                    self.next_id = self.next_id.max(id);
                }
                let error = StoreError::Write(error.to_string());
                for append in appends.drain(..) {
                    self.answers
                        .push(Answer::Id(append.done, Err(error.clone())));
                }
            }
        }
        self.ids = ids;
    }
}

/// Runs `work` in an immediate transaction begun and committed by cached statements:
/// rusqlite's `Transaction` runs `BEGIN` and `COMMIT` through `execute_batch`, which
/// parses both again on every commit, and appends commit up to a thousand times a second.
/// On any failure the transaction is rolled back, as dropping a `Transaction` does.
fn in_cached_transaction<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(BEGIN_SQL)?.execute([])?;
    let result = work(conn).and_then(|value| {
        conn.prepare_cached(COMMIT_SQL)?.execute([])?;
        Ok(value)
    });
    if result.is_err() && !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "event log transaction not rolled back");
        }
    }
    result
}

/// Runs `work` in its own immediate transaction. Only failures reach the stats: the
/// commit figures describe appends, which is what users wait on.
fn in_transaction<T>(
    conn: &Connection,
    stats: &StatsCell,
    work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    // Unchecked: the writer keeps its append statements prepared on this connection, so
    // it holds it shared; it is the only thread writing, and nothing else nests.
    let result = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).and_then(|tx| {
        let value = work(&tx)?;
        tx.commit()?;
        Ok(value)
    });
    result.map_err(|error| {
        stats.record_failure();
        StoreError::Write(error.to_string())
    })
}

/// Writes a compact copy of the database to `<to>.partial` with `VACUUM INTO` (one
/// read transaction, so consistent), then renames it over `to`, so `to` is always a
/// whole backup, the new one or the one before.
fn backup(conn: &Connection, to: &Path) -> Result<(), StoreError> {
    let failed = |reason: String| StoreError::Backup {
        to: to.to_owned(),
        reason,
    };
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = fs::remove_file(&partial);
    let target = partial
        .to_str()
        .ok_or_else(|| failed("the path is not valid UTF-8".to_owned()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|e| failed(e.to_string()))?;
    fs::rename(&partial, to).map_err(|e| failed(e.to_string()))
}

/// Deletes the stream `root` and every stream under `root/`. Only the ids of the tree
/// the streams belong to are read, so the cost follows the tree's lifetime, not the
/// size of the log.
fn delete_tree(
    tx: &Transaction<'_>,
    dirty: &mut DirtyTrees,
    root: &str,
) -> rusqlite::Result<Removed> {
    write_trees(tx, dirty)?;
    let top = tree_root(root);
    let span: Option<(i64, i64)> = tx
        .query_row(
            "SELECT first_id, last_id FROM trees WHERE root = ?1",
            [top],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((first, last)) = span else {
        return Ok(Removed::default());
    };
    // The newest event may be among those deleted: its id stays given out.
    tx.execute(
        "UPDATE id_floor SET id = MAX(id, COALESCE((SELECT MAX(id) FROM events), 0))",
        [],
    )?;
    // Names under `root/` sort between `root/` and `root0` ('0' follows '/' in ASCII),
    // a range compared without pattern escaping.
    let below = format!("{root}/");
    let above = format!("{root}0");
    let matches = "id BETWEEN ?4 AND ?5 AND (stream = ?1 OR (stream >= ?2 AND stream < ?3))";
    let (streams, events): (i64, i64) = tx.query_row(
        &format!("SELECT COUNT(DISTINCT stream), COUNT(*) FROM events WHERE {matches}"),
        params![root, below, above, first, last],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    tx.execute(
        &format!("DELETE FROM events WHERE {matches}"),
        params![root, below, above, first, last],
    )?;
    if top == root {
        tx.execute("DELETE FROM trees WHERE root = ?1", [top])?;
    }
    Ok(Removed {
        streams: u64::try_from(streams).unwrap_or_default(),
        events: u64::try_from(events).unwrap_or_default(),
    })
}

/// Deletes every stream tree whose newest event is older than `cutoff_ms`.
fn purge(
    tx: &Transaction<'_>,
    dirty: &mut DirtyTrees,
    cutoff_ms: i64,
) -> rusqlite::Result<Removed> {
    write_trees(tx, dirty)?;
    let stale: Vec<String> = {
        let mut select = tx.prepare("SELECT root FROM trees WHERE last_at_ms < ?1")?;
        let rows = select.query_map([cutoff_ms], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut removed = Removed::default();
    for root in stale {
        let tree = delete_tree(tx, dirty, &root)?;
        removed.streams += tree.streams;
        removed.events += tree.events;
    }
    Ok(removed)
}

fn micros_between(started: Instant, ended: Instant) -> u64 {
    u64::try_from(ended.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX)
}
