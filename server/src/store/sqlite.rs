//! The SQLite event log: one file in write-ahead-log mode, written by a single thread
//! that commits everything waiting for it in one transaction.
//!
//! SQLite calls block, so the writer is a plain thread rather than a tokio task. Each
//! append is queued with a oneshot sender; the writer answers it only after the
//! transaction holding the event has committed.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use super::{
    tree_root, CommitStats, EventId, EventLog, Pending, Removed, StatsCell, StoreError, StoredEvent,
};
use crate::room::Millis;

/// Most requests the writer takes into one batch. Large enough that a burst from
/// thousands of chatting participants shares a handful of commits, small enough that
/// one transaction never holds the file (or the callers waiting on it) for long.
pub const MAX_BATCH: usize = 512;

/// Most appends that may wait for the disk at once. Several seconds of a busy
/// workshop's traffic (a few MiB of memory at most); past that the disk is not keeping
/// up, and refusing new events beats growing without bound.
pub const QUEUE_CAPACITY: u64 = 16_384;

/// The schema this build writes; bump it and add a migration step when tables change.
const SCHEMA_VERSION: i64 = 1;

/// How long a statement waits for a lock held by another connection, such as a backup
/// taken with the `sqlite3` shell, before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Tables and index of schema version 1.
///
/// AUTOINCREMENT keeps ids from being reused after the newest events are deleted, so an
/// id always names one event.
const SCHEMA_V1: &str = "
    CREATE TABLE events (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        stream TEXT    NOT NULL,
        at_ms  INTEGER NOT NULL,
        body   TEXT    NOT NULL
    );
    -- Covers deleting a stream tree and finding each stream's newest event.
    CREATE INDEX events_by_stream ON events (stream, at_ms);
";

/// Names SQLite itself or schema version 1 puts in `sqlite_master`; anything else means
/// the file belongs to another program.
const OWN_TABLES: &str =
    "'schema_version', 'events', 'events_by_stream', 'sqlite_sequence', 'sqlite_stat1'";

/// Tuning for [`SqliteLog::open_with`]; the defaults suit production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Most requests committed in one transaction.
    pub max_batch: usize,
    /// Most appends waiting for the disk before new ones are refused.
    pub queue_capacity: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            max_batch: MAX_BATCH,
            queue_capacity: QUEUE_CAPACITY,
        }
    }
}

/// The [`EventLog`] kept in an SQLite file.
pub struct SqliteLog {
    path: PathBuf,
    /// `None` only while dropping, so the writer sees the queue close.
    requests: Option<mpsc::Sender<Request>>,
    /// Separate from the writer's, so reads never wait behind a batch.
    reader: Mutex<Connection>,
    stats: Arc<StatsCell>,
    queue_capacity: u64,
    writer: Option<JoinHandle<()>>,
    /// Stops the checkpoint thread when dropped; joined on drop.
    checkpointer: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
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
}

struct Append {
    stream: String,
    at_ms: i64,
    body: String,
    done: oneshot::Sender<Result<EventId, StoreError>>,
}

impl SqliteLog {
    /// Opens (creating if needed, folder included) the event log at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// [`open`](Self::open) with explicit tuning.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(folder).map_err(|e| StoreError::CreateDir {
                path: folder.to_owned(),
                reason: e.to_string(),
            })?;
        }
        let writer_flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer =
            Connection::open_with_flags(path, writer_flags).map_err(|e| open_error(path, e))?;
        prepare_writer(&mut writer, path)?;

        let reader_flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let reader =
            Connection::open_with_flags(path, reader_flags).map_err(|e| open_error(path, e))?;
        reader
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(path, e))?;

        let stats = Arc::new(StatsCell::default());
        let (requests, queue) = mpsc::channel();
        let writer_stats = Arc::clone(&stats);
        let max_batch = options.max_batch.max(1);
        let handle = thread::Builder::new()
            .name("uncover-event-log".to_owned())
            .spawn(move || run_writer(writer, &queue, &writer_stats, max_batch))
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;

        let checkpoint_conn =
            Connection::open_with_flags(path, writer_flags).map_err(|e| open_error(path, e))?;
        checkpoint_conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(path, e))?;
        let (stop, stopped) = mpsc::channel();
        let checkpointer = thread::Builder::new()
            .name("uncover-checkpoint".to_owned())
            .spawn(move || run_checkpointer(checkpoint_conn, &stopped))
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;

        Ok(Self {
            path: path.to_owned(),
            requests: Some(requests),
            reader: Mutex::new(reader),
            stats,
            queue_capacity: options.queue_capacity,
            writer: Some(handle),
            checkpointer: Some((stop, checkpointer)),
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

impl Drop for SqliteLog {
    /// Closes the queue and waits for the writer to commit what was already queued.
    fn drop(&mut self) {
        self.requests = None;
        if let Some(writer) = self.writer.take() {
            // A writer that panicked has already failed its callers through their
            // dropped oneshots; there is nothing more to report here.
            let _ = writer.join();
        }
        if let Some((stop, checkpointer)) = self.checkpointer.take() {
            drop(stop);
            let _ = checkpointer.join();
        }
    }
}

impl EventLog for SqliteLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        let waiting = self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if waiting >= self.queue_capacity {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Pending::ready(Err(StoreError::Backlogged(waiting)));
        }
        let (done, answer) = oneshot::channel();
        let request = Request::Append(Append {
            stream: stream.to_owned(),
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

    fn load_all(&self) -> Result<Vec<StoredEvent>, StoreError> {
        let reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        read_all(&reader).map_err(|e| StoreError::Read(e.to_string()))
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

/// Sets the journal and sync modes and brings the schema up to [`SCHEMA_VERSION`].
fn prepare_writer(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| open_error(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: path.to_owned(),
            reason: format!("write-ahead logging is not available here (journal mode {mode})"),
        });
    }
    // NORMAL in WAL mode: a commit is in the OS before the writer answers, so it survives
    // the process being killed (kill -9, a crash), which is what Uncover promises. FULL
    // would add an fsync per commit to also survive power loss, which is not required.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .and_then(|()| conn.busy_timeout(BUSY_TIMEOUT))
        // Checkpoints fsync; done by the writer they stall every append queued behind
        // them, so the checkpointer thread does them instead (see `run_checkpointer`).
        .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", 0))
        .map_err(|e| open_error(path, e))?;
    migrate(conn, path)
}

/// How often the WAL is copied back into the database. Often enough that the WAL stays
/// small (a busy server writes a few MiB a minute), rarely enough to cost nothing.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Checkpoints the WAL from its own connection until `stop` closes. PASSIVE never waits
/// for the writer, so appends are not held up by the checkpoint's fsync.
fn run_checkpointer(conn: Connection, stop: &mpsc::Receiver<()>) {
    loop {
        match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "event log checkpoint failed");
                }
            }
            _ => {
                // One last pass so a clean stop leaves little in the WAL.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                return;
            }
        }
    }
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
            tx.execute_batch(SCHEMA_V1)
                .and_then(|()| {
                    tx.execute(
                        "INSERT INTO schema_version (version) VALUES (?1)",
                        [SCHEMA_VERSION],
                    )
                })
                .map_err(|e| open_error(path, e))?;
        }
    }
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

/// The writer thread: waits for work, takes everything waiting (up to `max_batch`)
/// and writes it; ends when every handle has been dropped and the queue is empty.
fn run_writer(
    mut conn: Connection,
    queue: &mpsc::Receiver<Request>,
    stats: &StatsCell,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        write_batch(&mut conn, &mut batch, stats);
    }
}

/// Writes a batch in order: runs of appends share one transaction; deletes and purges
/// get their own; a flush is answered once everything before it is written.
fn write_batch(conn: &mut Connection, batch: &mut Vec<Request>, stats: &StatsCell) {
    let mut appends = Vec::new();
    for request in batch.drain(..) {
        match request {
            Request::Append(append) => appends.push(append),
            Request::DeleteTree { root, done } => {
                commit_appends(conn, &mut appends, stats);
                let result = in_transaction(conn, stats, |tx| delete_tree(tx, &root));
                let _ = done.send(result);
            }
            Request::Purge { cutoff_ms, done } => {
                commit_appends(conn, &mut appends, stats);
                let result = in_transaction(conn, stats, |tx| purge(tx, cutoff_ms));
                let _ = done.send(result);
            }
            Request::Flush { done } => {
                commit_appends(conn, &mut appends, stats);
                let _ = done.send(Ok(()));
            }
        }
    }
    commit_appends(conn, &mut appends, stats);
}

/// Commits `appends` in one transaction, then answers each (a caller that stopped
/// waiting is simply not told).
fn commit_appends(conn: &mut Connection, appends: &mut Vec<Append>, stats: &StatsCell) {
    if appends.is_empty() {
        return;
    }
    let started = Instant::now();
    let result = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut ids = Vec::with_capacity(appends.len());
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO events (stream, at_ms, body) VALUES (?1, ?2, ?3)")?;
            for append in appends.iter() {
                ids.push(insert.insert(params![append.stream, append.at_ms, append.body])?);
            }
        }
        tx.commit()?;
        Ok::<_, rusqlite::Error>(ids)
    })();
    let count = appends.len() as u64;
    stats.queued.fetch_sub(count, Ordering::Relaxed);
    match result {
        Ok(ids) => {
            stats.record_commit(count, elapsed_micros(started));
            for (append, id) in appends.drain(..).zip(ids) {
                let _ = append.done.send(Ok(u64::try_from(id).unwrap_or_default()));
            }
        }
        Err(error) => {
            stats.record_failure();
            let error = StoreError::Write(error.to_string());
            for append in appends.drain(..) {
                let _ = append.done.send(Err(error.clone()));
            }
        }
    }
}

/// Runs `work` in its own immediate transaction. Only failures reach the stats: the
/// commit figures describe appends, which is what users wait on.
fn in_transaction<T>(
    conn: &mut Connection,
    stats: &StatsCell,
    work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let result = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .and_then(|tx| {
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        });
    result.map_err(|error| {
        stats.record_failure();
        StoreError::Write(error.to_string())
    })
}

/// Deletes the stream `root` and every stream under `root/`.
fn delete_tree(tx: &Transaction<'_>, root: &str) -> rusqlite::Result<Removed> {
    // Names under `root/` sort between `root/` and `root0` ('0' follows '/' in ASCII),
    // a range the stream index answers without pattern escaping.
    let below = format!("{root}/");
    let above = format!("{root}0");
    let matches = "stream = ?1 OR (stream >= ?2 AND stream < ?3)";
    let (streams, events): (i64, i64) = tx.query_row(
        &format!("SELECT COUNT(DISTINCT stream), COUNT(*) FROM events WHERE {matches}"),
        params![root, below, above],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    tx.execute(
        &format!("DELETE FROM events WHERE {matches}"),
        params![root, below, above],
    )?;
    Ok(Removed {
        streams: u64::try_from(streams).unwrap_or_default(),
        events: u64::try_from(events).unwrap_or_default(),
    })
}

/// Deletes every stream tree whose newest event is older than `cutoff_ms`.
fn purge(tx: &Transaction<'_>, cutoff_ms: i64) -> rusqlite::Result<Removed> {
    let mut newest_by_root = std::collections::BTreeMap::<String, i64>::new();
    {
        let mut newest = tx.prepare("SELECT stream, MAX(at_ms) FROM events GROUP BY stream")?;
        let mut rows = newest.query([])?;
        while let Some(row) = rows.next()? {
            let stream: String = row.get(0)?;
            let at: i64 = row.get(1)?;
            let entry = newest_by_root
                .entry(tree_root(&stream).to_owned())
                .or_insert(at);
            *entry = (*entry).max(at);
        }
    }
    let mut removed = Removed::default();
    for (root, newest) in newest_by_root {
        if newest < cutoff_ms {
            let tree = delete_tree(tx, &root)?;
            removed.streams += tree.streams;
            removed.events += tree.events;
        }
    }
    Ok(removed)
}

fn elapsed_micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}
