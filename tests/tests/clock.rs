//! Round clocks across a stall and a crash, on the real binary: a process stopped with
//! SIGSTOP does not spend phase time while it is stopped (no phase vanishes, none is cut
//! short), and a server killed after a quiet spell does not hand the quiet spell back.
//! Each keeps its remaining time within a second.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uncover_tests::fault::{join_workshop, link_pair, start_conversation, DataDir, Trainer};
use uncover_tests::{free_addr, Client, ServerProcess};

/// How far a remaining time may be from what it should be.
const TOLERANCE_MS: i64 = 1_000;
/// The stalled conversation's length in seconds.
const CONVERSATION_S: u64 = 10;

fn assert_near(what: &str, got: i64, want: i64) {
    assert!(
        (got - want).abs() <= TOLERANCE_MS,
        "{what}: {got} ms left, expected {want} ± {TOLERANCE_MS}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_neither_skips_nor_shortens_a_phase() {
    let dir = DataDir::new("stall");
    let server = ServerProcess::start(&dir.events(), free_addr());
    let addr = server.addr;
    let mut host = Trainer::open(addr, "Stall").await;
    let here = Ipv4Addr::LOCALHOST.into();
    let mut ana = join_workshop(addr, here, "Ana", &host.code).await;
    let _ben = join_workshop(addr, here, "Ben", &host.code).await;
    // The conversation is long enough that a test held up for seconds on a busy machine
    // still stops the server inside it; the times below are measured, not assumed.
    host.plan(json!({"briefing": 600, "conversation": CONVERSATION_S, "recap": 6}))
        .await;
    host.send(json!({"type": "start_round"})).await;
    ana.expect("room_opened").await;
    host.send(json!({"type": "end_phase"})).await;
    let conv = ana.expect_phase("conversation").await;
    let started = Instant::now();
    let conversation_ms = CONVERSATION_S as i64 * 1_000;
    assert_eq!(conv["remaining_ms"], conversation_ms);

    tokio::time::sleep(Duration::from_secs(1)).await;
    // The server has run at least this long since it sent the phase.
    let ran_ms = started.elapsed().as_millis() as i64;
    server.signal("-STOP");
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stall_ms = stopped.elapsed().as_millis() as i64;
    server.signal("-CONT");

    // The conversation carries on with the time it had left, then the recap gets all of
    // its six seconds.
    let next = ana.expect("phase").await;
    assert_eq!(
        next["phase"], "conversation",
        "the conversation goes on after the stall: {next}"
    );
    assert_near(
        "conversation after the stall",
        next["remaining_ms"].as_i64().unwrap(),
        conversation_ms - ran_ms,
    );
    let recap = ana.expect_phase("recap").await;
    let conversation_ran = started.elapsed().as_millis() as i64 - stall_ms;
    assert_near("recap", recap["remaining_ms"].as_i64().unwrap(), 6_000);
    assert!(
        (conversation_ran - conversation_ms).abs() <= TOLERANCE_MS,
        "the conversation ran {conversation_ran} ms of its {conversation_ms}"
    );
    server.kill();
}

/// The `phase` a rebuilt view ends on.
async fn phase_after_rebuild(c: &mut Client) -> Value {
    assert_eq!(c.expect("reconnected").await["replayed"], false);
    c.chat("back").await;
    let mut phase = Value::Null;
    loop {
        let v = c.next().await.unwrap();
        match v["type"].as_str() {
            Some("phase") => phase = v,
            Some("chat") if v["text"] == "back" => return phase,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_spell_before_a_crash_is_not_handed_back_after_it() {
    let dir = DataDir::new("quiet");
    let data = dir.events();
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = link_pair(addr, Ipv4Addr::LOCALHOST.into(), ["Ana", "Ben"]).await;
    start_conversation(&mut a, &mut b).await;
    let conv = a
        .seen
        .iter()
        .rev()
        .find(|v| v["phase"] == "conversation")
        .unwrap()
        .clone();
    let t0 = Instant::now();
    let r0 = conv["remaining_ms"].as_i64().unwrap();
    // Nothing happens for three seconds, then the server dies.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed_after = t0.elapsed().as_millis() as i64;
    let (token, last_seq) = (a.token(), a.last_seq());
    server.kill();
    drop((a, b));

    let server = ServerProcess::start(&data, addr);
    let up_after = t0.elapsed().as_millis() as i64;
    let mut a = Client::reconnect(server.addr, &token, last_seq).await;
    let phase = phase_after_rebuild(&mut a).await;
    let now = t0.elapsed().as_millis() as i64;
    assert_eq!(phase["phase"], "conversation");
    // The phase ran until the kill and again since the restart; the downtime between
    // is given back, the quiet spell before the kill is not.
    let want = r0 - killed_after - (now - up_after);
    assert_near(
        "conversation after the restart",
        phase["remaining_ms"].as_i64().unwrap(),
        want,
    );
    server.kill();
}
