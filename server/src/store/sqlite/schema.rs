//! The event log's file: the modes the writer's connection runs in, the schema each
//! version wrote, and the steps that bring an older file up to this build's.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use super::trees::{fold_tail_into_trees, DirtyTrees};
use crate::store::StoreError;

/// WAL size kept on disk after a checkpoint: a burst may grow the WAL, and this much of
/// it is reused rather than given back, so the next burst does not grow the file again.
const WAL_KEEP_BYTES: i64 = 16 * 1024 * 1024;

/// Page size of a new log. Every commit writes each page it touched to the WAL in full
/// and checksums it: a chat line's commit touches the last page of `events` and the
/// AUTOINCREMENT counter's page, so with SQLite's default 4 KiB pages a 300-byte line
/// made 8 KiB of WAL. Rows stay far below a 1 KiB page's local limit (989 bytes); longer
/// lines spill to overflow pages as before.
const PAGE_BYTES: i64 = 1024;

/// Page size of a new server's log, which commits lines to its journal and writes them
/// to SQLite thousands at a time (see `journal.rs`): there, every page is written about
/// once per settling however large it is, and larger pages mean fewer WAL frames, so
/// fewer system calls and checksums per line.
const JOURNALED_PAGE_BYTES: i64 = 4096;

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
/// `events` has no index besides its id: an index by stream would put every commit's events
/// on as many index pages as there are rooms in it, each rewritten in the WAL. `trees` says
/// where each stream tree's events lie instead; the writer keeps it current every
/// [`TREES_EVERY`](super::TREES_EVERY) and repairs it on open.
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

/// Names the file in every open failure, and says plainly when it is not a database.
pub(super) fn open_error(path: &Path, error: rusqlite::Error) -> StoreError {
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
pub(super) fn prepare_writer(
    conn: &mut Connection,
    path: &Path,
    exclusive: bool,
) -> Result<(), StoreError> {
    if exclusive {
        // Before the first WAL access, or SQLite has already set up a `-shm` mapping.
        set_mode(conn, path, "locking_mode", "exclusive", "exclusive locking")?;
    }
    // Only a new file takes it (an existing one keeps its own). See [`PAGE_BYTES`].
    let page_bytes = if exclusive {
        JOURNALED_PAGE_BYTES
    } else {
        PAGE_BYTES
    };
    conn.pragma_update(None, "page_size", page_bytes)
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
