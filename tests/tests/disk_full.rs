//! Nothing is acknowledged that is not durable: while the event log cannot write (a full
//! disk), greetings, new workshops, joins and broadcasts are refused with `unavailable`
//! instead of handing out identities and codes a restart would forget.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;
use tokio::sync::oneshot;
use uncover::room::Millis;
use uncover::store::{
    CommitStats, EventId, EventLog, MemoryLog, Pending, Removed, StoreError, StoredEvent,
};
use uncover::ServerOptions;
use uncover_tests::{test_library, Client, TestServer};

/// An event log that can be made to fail every write, as a full disk does.
#[derive(Debug, Default)]
struct FullableLog {
    inner: MemoryLog,
    full: AtomicBool,
}

impl FullableLog {
    fn fill(&self, full: bool) {
        self.full.store(full, Ordering::SeqCst);
    }
}

impl EventLog for FullableLog {
    fn append_at(&self, stream: &str, at_ms: Millis, body: String) -> Pending<EventId> {
        if self.full.load(Ordering::SeqCst) {
            // Accepted, then failed by the writer, as a write that hits a full disk is.
            let (done, answer) = oneshot::channel();
            let _ = done.send(Err(StoreError::Write("disk full".into())));
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

async fn fullable_server() -> (Arc<FullableLog>, TestServer) {
    let log = Arc::new(FullableLog::default());
    let server = TestServer::spawn_on(test_library(), log.clone(), ServerOptions::default()).await;
    (log, server)
}

async fn hello(c: &mut Client, name: &str) {
    c.send(json!({"type": "hello", "protocol": 1, "name": name}))
        .await;
}

#[tokio::test]
async fn hello_is_refused_as_unavailable_while_the_log_cannot_write() {
    let (log, server) = fullable_server().await;
    log.fill(true);
    let mut c = server.connect().await;
    hello(&mut c, "Ana").await;
    c.expect_error("unavailable").await;
    assert!(
        !c.seen.iter().any(|v| v["type"] == "welcome"),
        "no identity handed out that a restart would forget"
    );
    log.fill(false);
    hello(&mut c, "Ana").await;
    c.expect("welcome").await;
    let ids: Vec<String> = log
        .load_all()
        .unwrap()
        .into_iter()
        .map(|e| e.stream)
        .collect();
    assert_eq!(ids.len(), 1, "one identity saved: {ids:?}");
}

#[tokio::test]
async fn create_session_is_refused_as_unavailable_while_the_log_cannot_write() {
    let (log, server) = fullable_server().await;
    let mut host = server.join("Trainer").await;
    log.fill(true);
    host.send(json!({"type": "create_session", "title": "Lost?"}))
        .await;
    host.expect_error("unavailable").await;
    assert!(!host.seen.iter().any(|v| v["type"] == "session_created"));
    log.fill(false);
    host.send(json!({"type": "create_session", "title": "Kept"}))
        .await;
    assert_eq!(host.expect("session_created").await["title"], "Kept");
}

#[tokio::test]
async fn join_session_and_broadcast_are_refused_as_unavailable_while_the_log_cannot_write() {
    let (log, server) = fullable_server().await;
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session"})).await;
    let code = host.expect("session_created").await["code"].clone();
    let mut ana = server.join("Ana").await;
    log.fill(true);
    ana.send(json!({"type": "join_session", "code": code}))
        .await;
    ana.expect_error("unavailable").await;
    host.send(json!({"type": "broadcast", "text": "Back in five"}))
        .await;
    host.expect_error("unavailable").await;
}

#[tokio::test]
async fn an_acknowledged_line_keeps_its_index_after_a_line_before_it_was_lost() {
    let (log, server) = fullable_server().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    seller.chat("Saved first.").await;
    buyer.expect_chat_from("seller").await;
    log.fill(true);
    seller.chat("Lost to the full disk.").await;
    let lost = buyer.expect_chat_from("seller").await;
    seller.expect_error("unavailable").await;
    log.fill(false);
    buyer.chat("Saved after it.").await;
    let kept = loop {
        let v = buyer.expect("chat").await;
        if v["from"] == "buyer" {
            break v;
        }
    };
    assert_eq!(
        kept["index"].as_u64(),
        lost["index"].as_u64().map(|i| i + 1)
    );

    // A second server rebuilt from the same log, as after a restart.
    let again = TestServer::spawn_on(test_library(), log.clone(), ServerOptions::default()).await;
    let mut back = Client::reconnect(again.addr, &buyer.token(), buyer.last_seq()).await;
    back.expect("reconnected").await;
    let line = loop {
        let v = back.expect("chat").await;
        if v["text"] == "Saved after it." {
            break v;
        }
    };
    assert_eq!(
        line["index"], kept["index"],
        "an acknowledged line keeps its index"
    );
}

#[tokio::test]
async fn a_pair_link_is_refused_as_unavailable_while_the_log_cannot_write() {
    let (log, server) = fullable_server().await;
    let mut ana = server.join("Ana").await;
    log.fill(true);
    ana.send(json!({"type": "create_pair_link"})).await;
    ana.expect_error("unavailable").await;
    assert!(!ana.seen.iter().any(|v| v["type"] == "pair_link"));
    log.fill(false);
    ana.send(json!({"type": "create_pair_link"})).await;
    ana.expect("pair_link").await;
}
