//! An event log the test controls, behind the server's `EventLog` trait: it can fail
//! every write, as a full disk does, or hold writes, as a slow disk does, then let them
//! through or fail them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;
use uncover::room::Millis;
use uncover::store::{
    CommitStats, EventId, EventLog, MemoryLog, Pending, Removed, StoreError, StoredEvent,
};
use uncover::ServerOptions;

use crate::{test_library, TestServer};

/// An append held back: stream, time, body and whom to answer.
type Held = (
    String,
    Millis,
    String,
    oneshot::Sender<Result<EventId, StoreError>>,
);

#[derive(Debug, Default)]
struct Faults {
    full: bool,
    held: bool,
    waiting: VecDeque<Held>,
}

/// A [`MemoryLog`] with a full-disk switch and a gate.
#[derive(Debug, Default)]
pub struct FaultLog {
    inner: MemoryLog,
    faults: Mutex<Faults>,
}

impl FaultLog {
    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// While `full`, every append fails, as a write that hits a full disk does.
    pub fn fill(&self, full: bool) {
        self.faults().full = full;
    }

    /// Holds every append from now on until [`open`](Self::open) or
    /// [`fail_held`](Self::fail_held).
    pub fn hold(&self) {
        self.faults().held = true;
    }

    fn release(&self) -> VecDeque<Held> {
        let mut faults = self.faults();
        faults.held = false;
        std::mem::take(&mut faults.waiting)
    }

    /// Saves what was held, in order, and holds nothing more.
    pub fn open(&self) {
        for (stream, at, body, done) in self.release() {
            let id = futures_util::FutureExt::now_or_never(self.inner.append_at(&stream, at, body))
                .expect("the memory log answers at once");
            let _ = done.send(id);
        }
    }

    /// Fails what was held, as a full disk would, and holds nothing more.
    pub fn fail_held(&self) {
        for (.., done) in self.release() {
            let _ = done.send(Err(StoreError::Write("disk full".into())));
        }
    }

    /// An in-process server on a new log of this kind.
    pub async fn server() -> (Arc<FaultLog>, TestServer) {
        let log = Arc::new(FaultLog::default());
        let server =
            TestServer::spawn_on(test_library(), log.clone(), ServerOptions::default()).await;
        (log, server)
    }
}

impl EventLog for FaultLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        let mut faults = self.faults();
        if faults.full {
            // Accepted, then failed by the writer, as a write that hits a full disk is.
            let (done, answer) = oneshot::channel();
            let _ = done.send(Err(StoreError::Write("disk full".into())));
            return Pending::waiting(answer);
        }
        if faults.held {
            let (done, answer) = oneshot::channel();
            faults
                .waiting
                .push_back((stream.to_owned(), at_ms, body, done));
            return Pending::waiting(answer);
        }
        self.inner.append_at(stream, at_ms, body)
    }

    fn load_all(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.load_all()
    }

    fn delete_streams(&self, root: &str) -> Pending<Removed> {
        self.inner.delete_streams(root)
    }

    fn purge_before(&self, cutoff_ms: Millis) -> Pending<Removed> {
        self.inner.purge_before(cutoff_ms)
    }

    fn flush(&self) -> Pending<()> {
        self.inner.flush()
    }

    fn stats(&self) -> CommitStats {
        self.inner.stats()
    }
}
