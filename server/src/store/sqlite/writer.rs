//! The writer thread: takes the queued requests in batches and answers them through the
//! courier (a tool's or a test's log commits its appends here, in one SQLite transaction
//! a batch); settles the server's journal into SQLite four times a second and before any
//! delete, purge, backup, flush or read; and keeps the WAL and `trees` in order.

use std::ffi::c_int;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{params, Connection, ErrorCode, Statement, Transaction, TransactionBehavior};

use super::commits::Commits;
use super::courier::{Answer, Courier};
use super::queue::{self, Empty};
use super::trees::{delete_tree, note_event, purge, write_trees, DirtyTrees};
use super::{Append, Request, SqliteOptions, TREES_EVERY};
use crate::store::{StatsCell, StoreError, StoredEvent};

mod settle;

pub(super) use settle::settle_left_over;

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
    /// Carries a batch's answers to their callers (see [`super::courier`]).
    courier: Courier,
    /// The batch's answers so far, handed over once it is written.
    answers: Vec<Answer>,
    /// The server's log: appends are committed to its journal on the runtime, and the
    /// writer settles them (see [`super::commits`]). `None` for a tool's or a test's log,
    /// whose appends come through the queue and commit to SQLite directly.
    commits: Option<Commits>,
}

/// The first id never given out: after the newest event and after `id_floor` (the
/// newest id a delete may have removed), and after AUTOINCREMENT's counter in files it
/// kept one for (it is copied into the floor on migrating, and still kept by SQLite).
pub(super) fn next_free_id(conn: &Connection) -> rusqlite::Result<i64> {
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
        let rows = (first_id..).zip(appends);
        self.insert_all(
            conn,
            rows.map(|(id, a)| (id, &*a.stream, a.at_ms, a.body.as_str())),
        )?;
        ids.extend((first_id..).take(appends.len()));
        Ok(())
    }

    /// Inserts `rows` (id, stream, time, body) in one immediate transaction; on any
    /// failure the transaction is rolled back, as [`in_cached_transaction`] does.
    fn insert_all<'a>(
        &mut self,
        conn: &Connection,
        rows: impl Iterator<Item = (i64, &'a str, i64, &'a str)>,
    ) -> rusqlite::Result<()> {
        self.begin.execute([])?;
        let (insert, commit) = (&mut self.insert, &mut self.commit);
        let result = (move || {
            for (id, stream, at_ms, body) in rows {
                insert.execute(params![id, stream, at_ms, body])?;
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

/// The writer thread: waits for work, lets a commit's worth of appends gather if the last
/// commit was moments ago, takes everything waiting (up to `max_batch`) and writes it; it
/// checkpoints after [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) without work, or while
/// busy once the WAL holds [`CHECKPOINT_FRAMES`](super::CHECKPOINT_FRAMES) and the last
/// checkpoint is [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) old, and writes `trees`
/// every [`TREES_EVERY`]. Ends when every handle has been dropped and the queue is empty.
pub(super) fn run_writer(
    mut conn: Connection,
    queue: &queue::Receiver<Request>,
    stats: &StatsCell,
    options: SqliteOptions,
    courier: Courier,
    commits: Option<Commits>,
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
        commits,
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
    let mut last_settle = Instant::now();
    let mut unchecked = false;
    // The server's log gets its lines from the runtime, not this queue: the writer wakes
    // every `checkpoint_every` to settle them, or sooner when nudged.
    let journaled = writer.commits.is_some();
    loop {
        let timeout = (unchecked || journaled).then_some(options.checkpoint_every);
        let first = match queue.recv(timeout) {
            Ok(first) => first,
            Err(Empty::Timeout | Empty::Nudged) => {
                let settled = writer.settle_quietly(stats);
                let now = Instant::now();
                last_settle = now;
                unchecked |= settled > 0;
                // Nothing new since the last wake: a good moment for `trees` and the
                // checkpoint. Busy, they come on their own clocks.
                let quiet = settled == 0;
                if quiet || now.saturating_duration_since(last_trees) >= TREES_EVERY {
                    writer.write_trees(stats);
                    last_trees = now;
                }
                let wal_full = now.saturating_duration_since(last_checkpoint)
                    >= options.checkpoint_every
                    && wal_frames.load(Ordering::Relaxed) >= options.checkpoint_frames;
                if (quiet && unchecked) || wal_full {
                    writer.checkpoint();
                    (last_checkpoint, unchecked) = (now, false);
                }
                continue;
            }
            Err(Empty::Closed) => break,
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
        // Settled as often as the WAL may be checkpointed, so that one checkpoint copies
        // what one settling wrote.
        if now.saturating_duration_since(last_settle) >= options.checkpoint_every {
            writer.settle_quietly(stats);
            last_settle = now;
        }
        if now.saturating_duration_since(last_checkpoint) >= options.checkpoint_every
            && wal_frames.load(Ordering::Relaxed) >= options.checkpoint_frames
        {
            writer.checkpoint();
            (last_checkpoint, unchecked) = (now, false);
        }
    }
    writer.close_journal(stats);
    writer.write_trees(stats);
    writer.checkpoint();
}

/// The number of frames in the WAL after the latest commit, kept up to date by SQLite's
/// WAL hook. If the hook cannot be set, it reads as full, and the writer checkpoints
/// every [`CHECKPOINT_EVERY`](super::CHECKPOINT_EVERY) as it did before it counted frames.
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
                // Everything before a delete, a purge, a backup or a read is settled
                // first: each works on SQLite's rows, and a delete that ran before its
                // session's journaled lines settled would see them come back after it.
                Request::DeleteTree { root, done } => {
                    self.commit_appends(&mut appends, stats);
                    let result = self.settle(stats).and_then(|_| {
                        let dirty = &mut self.dirty;
                        in_transaction(self.conn, stats, |tx| delete_tree(tx, dirty, &root))
                    });
                    self.answers.push(Answer::Removed(done, result));
                }
                Request::Purge { cutoff_ms, done } => {
                    self.commit_appends(&mut appends, stats);
                    let result = self.settle(stats).and_then(|_| {
                        let dirty = &mut self.dirty;
                        in_transaction(self.conn, stats, |tx| purge(tx, dirty, cutoff_ms))
                    });
                    self.answers.push(Answer::Removed(done, result));
                }
                Request::Flush { done } => {
                    self.commit_appends(&mut appends, stats);
                    let result = self.settle(stats).map(|_| ());
                    self.answers.push(Answer::Done(done, result));
                }
                Request::Backup { to, done } => {
                    self.commit_appends(&mut appends, stats);
                    let result = self.settle(stats).and_then(|_| backup(self.conn, &to));
                    self.answers.push(Answer::Done(done, result));
                }
                Request::ReadAll { done } => {
                    self.commit_appends(&mut appends, stats);
                    let result = self.settle(stats).and_then(|_| {
                        read_all(self.conn).map_err(|e| StoreError::Read(e.to_string()))
                    });
                    // Its caller blocks on a std channel: answered here, at once.
                    let _ = done.send(result);
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
        if let Some(commits) = &self.commits {
            // Not sent this way to a log with a journal; should one be, it commits there.
            for append in appends.drain(..) {
                commits.append(append);
            }
            return;
        }
        let started = self.batch_started.take().unwrap_or_else(Instant::now);
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        let first_id = self.next_id;
        let result = match self.appends.as_mut() {
            Some(statements) => statements.commit(self.conn, appends, &mut ids, first_id),
            None => in_cached_transaction(self.conn, |conn| {
                let rows = (first_id..).zip(appends.iter());
                insert_rows(
                    conn,
                    rows.map(|(id, a)| (id, &*a.stream, a.at_ms, a.body.as_str())),
                )
            })
            .map(|()| ids.extend((first_id..).take(appends.len()))),
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

/// Inserts `rows` (id, stream, time, body) with the cached insert statement, inside the
/// caller's transaction: for the commits made without the writer's prepared statements.
fn insert_rows<'a>(
    conn: &Connection,
    rows: impl Iterator<Item = (i64, &'a str, i64, &'a str)>,
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(INSERT_SQL)?;
    for (id, stream, at_ms, body) in rows {
        insert.execute(params![id, stream, at_ms, body])?;
    }
    Ok(())
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

pub(super) fn micros_between(started: Instant, ended: Instant) -> u64 {
    u64::try_from(ended.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX)
}
