//! Nothing is acknowledged that is not durable: while the event log cannot write (a full
//! disk), greetings, new workshops, joins and broadcasts are refused with `unavailable`
//! instead of handing out identities and codes a restart would forget. One run fills a
//! real disk (a small tmpfs) under the real binary while pairs chat; where no tmpfs can
//! be mounted it says so loudly and runs the same pairs on a store that fails its writes.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use uncover::store::EventLog;
use uncover::ServerOptions;
use uncover_tests::fault::{
    act_until_stopped, come_back, link_pair, source, start_conversation, FaultLog, Figures, Script,
    Seat, SmallDisk, Stop,
};
use uncover_tests::{free_addr, test_library, Client, ServerProcess, TestServer};

/// Pairs chatting while the disk fills.
const FILL_PAIRS: usize = 10;

/// The small disk: a few seconds of chat at [`LINE_PADDING`] fill what the filler
/// leaves, and SQLite's files fit with room to spare once it is gone.
const DISK_SIZE: &str = "8m";

/// Characters added to each line, so the log grows by hundreds of KiB a second.
const LINE_PADDING: usize = 1_500;

/// How long the pairs chat on a full disk before space comes back.
const FULL_FOR: Duration = Duration::from_secs(3);

async fn hello(c: &mut Client, name: &str) {
    c.send(json!({"type": "hello", "protocol": 1, "name": name}))
        .await;
}

#[tokio::test]
async fn hello_is_refused_as_unavailable_while_the_log_cannot_write() {
    let (log, server) = FaultLog::server().await;
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
    let (log, server) = FaultLog::server().await;
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
    let (log, server) = FaultLog::server().await;
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
    let (log, server) = FaultLog::server().await;
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
    let (log, server) = FaultLog::server().await;
    let mut ana = server.join("Ana").await;
    log.fill(true);
    ana.send(json!({"type": "create_pair_link"})).await;
    ana.expect_error("unavailable").await;
    assert!(!ana.seen.iter().any(|v| v["type"] == "pair_link"));
    log.fill(false);
    ana.send(json!({"type": "create_pair_link"})).await;
    ana.expect("pair_link").await;
}

/// What a fill did before the restart: the chatting seats' tasks, the newcomers welcomed
/// while it lasted (token, last seq) and how many hellos it refused.
struct Filled {
    tasks: Vec<tokio::task::JoinHandle<Seat>>,
    welcomed: Vec<(String, u64)>,
    refused_hellos: usize,
}

/// Ten pairs chatting; then `fill`, hellos that must not be welcomed while it lasts,
/// `free`, and more chat. The caller stops the server next.
async fn chat_through_a_fill(addr: SocketAddr, fill: impl FnOnce(), free: impl FnOnce()) -> Filled {
    let mut seats = Vec::new();
    for p in 0..FILL_PAIRS {
        let names = [format!("A{p}"), format!("B{p}")];
        let (mut a, mut b) = link_pair(addr, source(2 * p), [&names[0], &names[1]]).await;
        start_conversation(&mut a, &mut b).await;
        for (i, c) in [(2 * p, a), (2 * p + 1, b)] {
            let mut seat = Seat::new(c, format!("pair {p} {}", i % 2), i);
            seat.padding = LINE_PADDING;
            seats.push(seat);
        }
    }
    let tasks = seats
        .into_iter()
        .map(|s| tokio::spawn(act_until_stopped(s, Script::Chat)))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    fill();
    let mut filled = Filled {
        tasks,
        welcomed: Vec::new(),
        refused_hellos: 0,
    };
    let full_since = std::time::Instant::now();
    while full_since.elapsed() < FULL_FOR {
        let mut c = Client::connect(addr).await;
        c.send(json!({"type": "hello", "protocol": 1, "name": "Newcomer"}))
            .await;
        let v = c.next().await.unwrap();
        if v["type"] == "welcome" {
            filled.welcomed.push((c.token(), c.last_seq()));
        } else {
            assert_eq!(v["code"], "unavailable", "{v}");
            filled.refused_hellos += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    free();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    filled
}

/// After the restart on `addr`: every line acknowledged to its sender reaches both sides,
/// at its index, once; the senders of lines that could not be saved were told
/// `unavailable` in words; every newcomer welcomed during the fill can come back.
async fn check_after_the_fill(addr: SocketAddr, filled: Filled) -> Figures {
    let mut seats = Vec::new();
    for t in filled.tasks {
        seats.push(t.await.unwrap());
    }
    let mut figures = Figures::default();
    for (i, seat) in seats.iter().enumerate() {
        let last_seq = seat.client.last_seq();
        let back = come_back(addr, source(seat.index), &seat.token, last_seq, &seat.who).await;
        figures.back(&back.who, back.took);
        assert_eq!(back.phase_name(), "conversation", "{}", seat.who);
        figures.transcript(&back.view, seat.acked.iter().chain(&seats[i ^ 1].acked));
    }
    for (token, last_seq) in &filled.welcomed {
        let mut c = Client::reconnect(addr, token, *last_seq).await;
        c.expect("reconnected").await;
    }
    let refusals: Vec<&serde_json::Value> = seats.iter().flat_map(|s| &s.unavailable).collect();
    figures.moments.push(format!(
        "{} lines refused as unavailable, {} hellos refused, {} welcomed while full",
        refusals.len(),
        filled.refused_hellos,
        filled.welcomed.len()
    ));
    assert!(
        !refusals.is_empty() && filled.refused_hellos > 0,
        "the full disk refused lines and hellos: {:?}",
        figures.moments
    );
    for r in refusals {
        let message = r["message"].as_str().unwrap_or_default();
        assert!(message.contains("could not save"), "a clear refusal: {r}");
    }
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_while_pairs_chat_acknowledges_only_what_it_saved() {
    let disk = match SmallDisk::mount("small-disk", DISK_SIZE) {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!(
                "\n!!!!!!!! NO TMPFS: {why}\n!!!!!!!! A REAL FULL DISK IS NOT TESTED HERE: \
                 the same pairs run on a store that fails its writes instead.\n"
            );
            println!("disk fill: NO TMPFS ({why}); fault-injecting store instead");
            on_a_store_that_fails_its_writes().await;
            return;
        }
    };
    let data = disk.dir().join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start_under(&disk.enter(), &data, addr, &[]);
    let filled = chat_through_a_fill(
        addr,
        || {
            disk.fill();
            let left = disk.free_kib();
            assert!(left < 64, "the disk is full ({left} KiB left)");
        },
        || disk.free(),
    )
    .await;
    server.stop(Stop::Kill);
    let _server = ServerProcess::start_under(&disk.enter(), &data, addr, &[]);
    let figures = check_after_the_fill(addr, filled).await;
    figures.assert_targets(&format!(
        "a {DISK_SIZE} tmpfs filling under {FILL_PAIRS} pairs, then kill -9"
    ));
}

/// Without a tmpfs: the same pairs on the in-process server whose log fails every write
/// while "full", rebuilt from that log afterwards.
async fn on_a_store_that_fails_its_writes() {
    let (log, server) = FaultLog::server().await;
    let filled = chat_through_a_fill(server.addr, || log.fill(true), || log.fill(false)).await;
    drop(server);
    let again = TestServer::spawn_on(test_library(), log.clone(), ServerOptions::default()).await;
    let figures = check_after_the_fill(again.addr, filled).await;
    figures.assert_targets("a store failing its writes (NO TMPFS)");
}
