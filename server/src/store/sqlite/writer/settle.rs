//! The writer's side of the journal (see `journal.rs`): committing a batch of appends with
//! one write, settling what the journal holds into SQLite in one transaction, and, at
//! open, settling what a crash left.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;

use super::{in_cached_transaction, insert_rows, micros_between, next_free_id, Writer};
use crate::store::sqlite::courier::Answer;
use crate::store::sqlite::journal::{self, Journal};
use crate::store::sqlite::trees::{note_event, write_trees, DirtyTrees};
use crate::store::sqlite::Append;
use crate::store::sqlite::SETTLE_LINES;
use crate::store::{StatsCell, StoreError};

/// An event the journal holds and SQLite does not yet.
pub(super) struct Settling {
    id: i64,
    stream: Arc<str>,
    at_ms: i64,
    body: String,
}

/// Inserts what a crash left in the journal beside `path` and SQLite does not hold yet,
/// then empties it; returns how many events that was. Run by every open, before anything
/// reads the log. Events the file already holds (a crash after settling, before the
/// journal was emptied) or once held (removed since by a delete, below the id floor) are
/// skipped, so nothing is stored twice or comes back.
pub(in crate::store::sqlite) fn settle_left_over(
    conn: &Connection,
    path: &Path,
) -> Result<usize, StoreError> {
    let journal_path = journal::journal_path(path);
    let failed = |reason: String| StoreError::Open {
        path: path.to_owned(),
        reason: format!(
            "cannot settle the journal {} left by the last run: {reason}",
            journal_path.display()
        ),
    };
    let contents = journal::read(&journal_path).map_err(|e| failed(e.to_string()))?;
    if contents.dropped_bytes > 0 {
        // Never answered: the write that held them had not returned.
        tracing::warn!(
            journal = %journal_path.display(),
            bytes = contents.dropped_bytes,
            "event log journal ended in a record cut short; dropped it"
        );
    }
    let first_new = next_free_id(conn).map_err(|e| failed(e.to_string()))?;
    let new: Vec<_> = contents
        .records
        .into_iter()
        .filter(|record| record.id >= first_new)
        .collect();
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
    if journal_path.exists() {
        Journal::open(&journal_path)
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
    /// Commits `appends` to the journal in one write, then queues each one's answer for
    /// the end of the batch; they settle into SQLite later.
    pub(super) fn journal_appends(&mut self, appends: &mut Vec<Append>, stats: &StatsCell) {
        let started = self.batch_started.take().unwrap_or_else(Instant::now);
        let count = appends.len() as u64;
        stats.queued.fetch_sub(count, Ordering::Relaxed);
        let torn = self.journal.as_ref().is_some_and(Journal::is_torn);
        // Lines wait in memory until they settle; past the limit SQLite is not keeping
        // up (a held lock, a full disk), and the batch must wait for it or fail.
        let ready = if torn || self.unsettled.len() >= SETTLE_LINES {
            self.settle(stats)
        } else {
            Ok(())
        };
        let first_id = self.next_id;
        let written = ready.and_then(|()| {
            let mut encoded = std::mem::take(&mut self.encoded);
            encoded.clear();
            for (id, append) in (first_id..).zip(appends.iter()) {
                journal::encode(&mut encoded, id, append.at_ms, &append.stream, &append.body);
            }
            let result = match self.journal.as_mut() {
                Some(journal) => journal.append(&encoded),
                None => Ok(()),
            };
            self.encoded = encoded;
            result.map_err(|e| StoreError::Write(format!("cannot write the journal: {e}")))
        });
        match written {
            Ok(()) => {
                self.next_id = first_id.saturating_add(appends.len() as i64);
                let ended = Instant::now();
                self.commit_ended = Some(ended);
                stats.record_commit(count, micros_between(started, ended));
                for (append, id) in appends.drain(..).zip(first_id..) {
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
                    self.answers.push(Answer::Id(done, Ok(id)));
                }
            }
            Err(error) => {
                stats.record_failure();
                for append in appends.drain(..) {
                    self.answers
                        .push(Answer::Id(append.done, Err(error.clone())));
                }
            }
        }
    }

    /// Inserts the journal's unsettled events into SQLite in one transaction, then
    /// empties the journal. On failure they stay in both, for the next try.
    pub(super) fn settle(&mut self, stats: &StatsCell) -> Result<(), StoreError> {
        if self.unsettled.is_empty() {
            // Only a torn record, never answered, can be left to clear.
            if let Some(journal) = self.journal.as_mut().filter(|j| j.is_torn()) {
                journal
                    .clear()
                    .map_err(|e| StoreError::Write(format!("cannot repair the journal: {e}")))?;
            }
            return Ok(());
        }
        let events = &self.unsettled;
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
            return Err(StoreError::Write(format!(
                "cannot settle the journal into the database: {e}"
            )));
        }
        for event in self.unsettled.drain(..) {
            note_event(&mut self.dirty, &event.stream, event.id, event.at_ms);
        }
        if let Some(journal) = self.journal.as_mut() {
            // A journal not emptied is harmless: its events are skipped on the next open,
            // as SQLite has them.
            if let Err(e) = journal.clear() {
                tracing::warn!(error = %e, "event log journal not emptied after settling");
            }
        }
        Ok(())
    }

    /// [`settle`](Self::settle) between batches, where nobody waits on the outcome.
    pub(super) fn settle_quietly(&mut self, stats: &StatsCell) {
        if let Err(e) = self.settle(stats) {
            // Not lost: the events stay in the journal and in memory.
            tracing::warn!(error = %e, "event log journal not settled; will try again");
        }
    }

    /// Closes the journal at the writer's end, removing it when all of it settled.
    pub(super) fn close_journal(&mut self) {
        if let Some(journal) = self.journal.take() {
            let path = journal.path().to_owned();
            drop(journal);
            if self.unsettled.is_empty() {
                journal::remove_if_empty(&path);
            }
        }
    }
}
