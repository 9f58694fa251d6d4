//! The writer's side of the journal (see `journal.rs` and `commits.rs`): settling what
//! the journal holds into SQLite in one transaction, and, at open, settling what a crash
//! left.

use std::path::Path;

use rusqlite::Connection;

use super::{in_cached_transaction, insert_rows, next_free_id, Writer};
use crate::store::sqlite::journal::{self, Journal};
use crate::store::sqlite::trees::{note_event, write_trees, DirtyTrees};
use crate::store::{StatsCell, StoreError};

/// Inserts what a crash left in the journal beside `path` and SQLite does not hold yet,
/// then empties it; returns how many events that was. Run by every open, before anything
/// reads the log. Events the file already holds (a crash after settling, before the
/// journal was emptied) or once held (removed since by a delete, below the id floor) are
/// skipped, so nothing is stored twice or comes back.
pub(in crate::store::sqlite) fn settle_left_over(
    conn: &Connection,
    path: &Path,
) -> Result<usize, StoreError> {
    let paths = journal::journal_paths(path);
    let failed = |reason: String| StoreError::Open {
        path: path.to_owned(),
        reason: format!(
            "cannot settle the journal {} left by the last run: {reason}",
            paths[0].display()
        ),
    };
    let mut records = Vec::new();
    for journal_path in &paths {
        let contents = journal::read(journal_path).map_err(|e| failed(e.to_string()))?;
        if contents.dropped_bytes > 0 {
            // Never answered: the write that held them had not returned.
            tracing::warn!(
                journal = %journal_path.display(),
                bytes = contents.dropped_bytes,
                "event log journal ended in a record cut short; dropped it"
            );
        }
        records.extend(contents.records);
    }
    let first_new = next_free_id(conn).map_err(|e| failed(e.to_string()))?;
    // Either file may hold the newer lines (appends switch between them), and a file
    // a failed settling left may hold some a later settling took again.
    records.retain(|record| record.id >= first_new);
    records.sort_by_key(|record| record.id);
    records.dedup_by_key(|record| record.id);
    let new = records;
    if !new.is_empty() {
        // `trees` is brought up to date in the same transaction: the open folded the
        // file's own tail into it before the journal was read, and a delete finds a
        // session's events only through it.
        in_cached_transaction(conn, |conn| {
            let rows = new.iter();
            insert_rows(
                conn,
                rows.map(|r| (r.id, r.stream.as_str(), r.at_ms, r.body.as_str())),
            )?;
            let mut dirty = DirtyTrees::default();
            for record in &new {
                note_event(&mut dirty, &record.stream, record.id, record.at_ms);
            }
            write_trees(conn, &mut dirty)
        })
        .map_err(|e| failed(e.to_string()))?;
    }
    for journal_path in paths.iter().filter(|p| p.exists()) {
        Journal::open(journal_path)
            .and_then(|mut journal| journal.clear())
            .map_err(|e| failed(e.to_string()))?;
    }
    if !new.is_empty() {
        tracing::info!(
            events = new.len(),
            "event log journal settled after an unclean stop"
        );
    }
    Ok(new.len())
}

impl Writer<'_> {
    /// Inserts every event the journal holds into SQLite in one transaction, then empties
    /// the file they were in; returns how many. On failure they stay in the journal and
    /// in memory, for the next try. A log without a journal has nothing to settle.
    pub(super) fn settle(&mut self, stats: &StatsCell) -> Result<usize, StoreError> {
        let Some(commits) = self.commits.as_ref() else {
            return Ok(0);
        };
        let Some(taken) = commits.take() else {
            return Ok(0);
        };
        let events = &taken.events;
        let result = match self.appends.as_mut() {
            Some(statements) => statements.insert_all(
                self.conn,
                events
                    .iter()
                    .map(|e| (e.id, &*e.stream, e.at_ms, e.body.as_str())),
            ),
            None => in_cached_transaction(self.conn, |conn| {
                let rows = events.iter();
                insert_rows(
                    conn,
                    rows.map(|e| (e.id, &*e.stream, e.at_ms, e.body.as_str())),
                )
            }),
        };
        if let Err(e) = result {
            stats.record_failure();
            let error =
                StoreError::Write(format!("cannot settle the journal into the database: {e}"));
            commits.not_settled(taken, &error);
            return Err(error);
        }
        for event in &taken.events {
            note_event(&mut self.dirty, &event.stream, event.id, event.at_ms);
        }
        let count = taken.events.len();
        commits.settled(taken);
        Ok(count)
    }

    /// [`settle`](Self::settle) where nobody waits on the outcome; returns how many
    /// events settled.
    pub(super) fn settle_quietly(&mut self, stats: &StatsCell) -> usize {
        self.settle(stats).unwrap_or_else(|e| {
            // Not lost: the events stay in the journal and in memory.
            tracing::warn!(error = %e, "event log journal not settled; will try again");
            0
        })
    }

    /// Ends the journal's commits at the writer's end, settles what they left, and
    /// removes the journal's files when all of it settled.
    pub(super) fn close_journal(&mut self, stats: &StatsCell) {
        let Some(commits) = self.commits.as_ref() else {
            return;
        };
        commits.close();
        self.settle_quietly(stats);
        let Some(commits) = self.commits.take() else {
            return;
        };
        if commits.is_settled() {
            let paths = commits.paths();
            drop(commits);
            for path in &paths {
                journal::remove_if_empty(path);
            }
        }
    }
}
