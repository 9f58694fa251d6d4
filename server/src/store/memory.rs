//! An event log held in memory: the semantics of the SQLite log without a file, for
//! tests and for servers whose data may vanish with the process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::{
    in_tree, tree_root, CommitStats, EventId, EventLog, Pending, Removed, StatsCell, StoreError,
    StoredEvent,
};
use crate::room::Millis;

/// An [`EventLog`] in memory. Every operation commits at once, one event per commit.
#[derive(Debug, Default)]
pub struct MemoryLog {
    inner: Mutex<Inner>,
    stats: StatsCell,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<StoredEvent>,
    /// Ids are never reused, even once the newest events are deleted.
    last_id: EventId,
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-updated: every change is one push
        // or one retain.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Deletes every event whose stream `doomed` picks, counting what went.
    fn remove_where(&mut self, doomed: impl Fn(&str) -> bool) -> Removed {
        let mut streams = BTreeSet::new();
        let before = self.events.len();
        self.events.retain(|event| {
            let remove = doomed(&event.stream);
            if remove {
                streams.insert(event.stream.clone());
            }
            !remove
        });
        Removed {
            streams: streams.len() as u64,
            events: (before - self.events.len()) as u64,
        }
    }
}

impl EventLog for MemoryLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        let started = Instant::now();
        let id = {
            let mut inner = self.lock();
            inner.last_id += 1;
            let id = inner.last_id;
            inner.events.push(StoredEvent {
                id,
                stream: stream.to_owned(),
                at_ms,
                body,
            });
            id
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.stats.record_commit(1, micros);
        Pending::ready(Ok(id))
    }

    fn load_all(&self) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.lock().events.clone())
    }

    fn delete_streams(&self, root: &str) -> Pending<Removed> {
        let removed = self.lock().remove_where(|stream| in_tree(stream, root));
        Pending::ready(Ok(removed))
    }

    fn purge_before(&self, cutoff_ms: Millis) -> Pending<Removed> {
        // One lock for both steps, so an append in between cannot be purged unseen.
        let mut inner = self.lock();
        let mut newest_by_root: BTreeMap<String, Millis> = BTreeMap::new();
        for event in &inner.events {
            let newest = newest_by_root
                .entry(tree_root(&event.stream).to_owned())
                .or_default();
            *newest = (*newest).max(event.at_ms);
        }
        let removed = inner.remove_where(|stream| {
            newest_by_root
                .get(tree_root(stream))
                .is_some_and(|newest| *newest < cutoff_ms)
        });
        Pending::ready(Ok(removed))
    }

    fn flush(&self) -> Pending<()> {
        Pending::ready(Ok(()))
    }

    fn stats(&self) -> CommitStats {
        self.stats.snapshot()
    }
}
