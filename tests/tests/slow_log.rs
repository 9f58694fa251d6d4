//! A chat line reaches the partner without waiting for the disk, while its sender is
//! acknowledged only once it is saved, and each seat still sees the transcript in order.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use uncover::room::Millis;
use uncover::store::{CommitStats, EventId, EventLog, MemoryLog, Pending, Removed, StoreError};
use uncover::ServerOptions;
use uncover_tests::{test_library, TestServer};

/// Long enough that an answer which was going to come has come.
const QUIET: Duration = Duration::from_millis(300);

/// An event log whose appends can be held, as a slow disk would, then let through or
/// failed.
#[derive(Debug, Default)]
struct GatedLog {
    inner: MemoryLog,
    gate: Mutex<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    closed: bool,
    waiting: VecDeque<Held>,
}

type Held = (
    String,
    Millis,
    String,
    oneshot::Sender<Result<EventId, StoreError>>,
);

impl GatedLog {
    fn close(&self) {
        self.gate.lock().unwrap().closed = true;
    }

    /// Opens the gate and hands back what it held.
    fn release(&self) -> VecDeque<Held> {
        let mut gate = self.gate.lock().unwrap();
        gate.closed = false;
        std::mem::take(&mut gate.waiting)
    }

    /// Opens the gate: held appends are saved, in order.
    fn open(&self) {
        for (stream, at, body, done) in self.release() {
            let id = futures_util::FutureExt::now_or_never(self.inner.append_at(&stream, at, body))
                .unwrap();
            let _ = done.send(id);
        }
    }

    /// Fails every held append, as a full disk would, and opens the gate.
    fn fail_held(&self) {
        for (.., done) in self.release() {
            let _ = done.send(Err(StoreError::Write("disk full".into())));
        }
    }
}

impl EventLog for GatedLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        let mut gate = self.gate.lock().unwrap();
        if !gate.closed {
            return self.inner.append_at(stream, at_ms, body);
        }
        let (done, answer) = oneshot::channel();
        gate.waiting
            .push_back((stream.to_owned(), at_ms, body, done));
        Pending::waiting(answer)
    }

    fn load_all(&self) -> Result<Vec<uncover::store::StoredEvent>, StoreError> {
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

/// A server whose event log the test holds the gate of.
async fn gated_server() -> (Arc<GatedLog>, TestServer) {
    let log = Arc::new(GatedLog::default());
    let server = TestServer::spawn_on(test_library(), log.clone(), ServerOptions::default()).await;
    (log, server)
}

#[tokio::test]
async fn a_partner_sees_a_line_while_it_is_saved_and_its_sender_is_acknowledged_after() {
    let (log, server) = gated_server().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;

    log.close();
    seller.chat("What slows your team down most?").await;
    let line = buyer.expect_chat_from("seller").await;
    assert_eq!(line["text"], "What slows your team down most?");
    assert_eq!(
        seller.next_within(QUIET).await,
        None,
        "no echo before the line is saved"
    );

    buyer.chat("Counting stock by hand.").await;
    assert_eq!(
        seller.next_within(QUIET).await,
        None,
        "the reply waits behind the seller's own unacknowledged line"
    );

    log.open();
    let own = seller.expect("chat").await;
    let reply = seller.expect("chat").await;
    assert_eq!(
        (own["from"].as_str(), own["index"].as_u64()),
        (Some("seller"), line["index"].as_u64())
    );
    assert_eq!(reply["from"], "buyer");
    assert_eq!(
        reply["index"].as_u64(),
        line["index"].as_u64().map(|i| i + 1)
    );
    let echo = buyer.expect_chat_from("buyer").await;
    assert_eq!(echo["text"], "Counting stock by hand.");
}

#[tokio::test]
async fn a_line_the_log_cannot_save_is_reported_to_its_sender_instead_of_acknowledged() {
    let (log, server) = gated_server().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;

    log.close();
    seller.chat("Who else signs off on this?").await;
    buyer.expect_chat_from("seller").await;
    log.fail_held();
    let refusal = seller.expect_error("unavailable").await;
    assert!(
        refusal["message"]
            .as_str()
            .unwrap()
            .contains("could not save"),
        "{refusal}"
    );

    seller.chat("Let me ask that again.").await;
    let echo = seller.expect_chat_from("seller").await;
    assert_eq!(echo["text"], "Let me ask that again.");
    assert_eq!(
        buyer.expect_chat_from("seller").await["text"],
        "Let me ask that again."
    );
}
