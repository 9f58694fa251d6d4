//! What a client gets back after a restart, a long drop or the grace window: every
//! transcript line it has not seen, in order, numbered above anything it saw before,
//! however long the round; the room it was put in; or `reconnect_failed` when its seat
//! is gone. The restart cases drive the real binary and kill it with SIGKILL.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use uncover_tests::{free_addr, Client, ServerProcess, TestServer};

/// A fresh folder for one test's data file.
fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uncover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn join(addr: SocketAddr, name: &str) -> Client {
    let mut c = Client::connect(addr).await;
    c.send(json!({"type": "hello", "protocol": 1, "name": name}))
        .await;
    c.expect("welcome").await;
    c
}

/// Two people in the conversation phase of a pair-link room.
async fn pair_in_conversation(addr: SocketAddr) -> (Client, Client) {
    let mut a = join(addr, "Ana").await;
    let mut b = join(addr, "Ben").await;
    a.send(json!({"type": "create_pair_link", "scenario": "distributor-inventory"}))
        .await;
    let code = a.expect("pair_link").await["code"].clone();
    b.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    a.expect("room_opened").await;
    b.expect("room_opened").await;
    for c in [&mut a, &mut b] {
        c.send(json!({"type": "ready"})).await;
    }
    a.expect_phase("conversation").await;
    b.expect_phase("conversation").await;
    (a, b)
}

/// Sends `text` and waits for its echo, the acknowledgement that it is saved.
async fn say(c: &mut Client, text: &str) {
    c.chat(text).await;
    loop {
        let v = c.next().await.expect("the socket stays open");
        assert_ne!(v["type"], "error", "{v}");
        if v["type"] == "chat" && v["text"] == text {
            return;
        }
    }
}

/// Reads until the chat line `marker` arrives; returns every message on the way.
async fn read_until_chat(c: &mut Client, marker: &str) -> Vec<Value> {
    let mut got = Vec::new();
    loop {
        let v = c
            .next()
            .await
            .unwrap_or_else(|| panic!("socket closed before {marker:?}; last: {:?}", got.last()));
        let done = v["type"] == "chat" && v["text"] == marker;
        got.push(v);
        if done {
            return got;
        }
    }
}

/// Checks that `msgs` (what a client received after reconnecting with `last_seq`) are
/// numbered from `last_seq + 1` with no gap, and that their transcript lines are the
/// whole transcript `0..=last`, each once, in order.
fn assert_whole_view(msgs: &[Value], last_seq: u64, last_index: u64) {
    let seqs: Vec<u64> = msgs.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (last_seq + 1..last_seq + 1 + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "numbering goes on from last_seq + 1");
    let indices: Vec<u64> = msgs
        .iter()
        .filter(|v| v["type"] == "chat")
        .map(|v| v["index"].as_u64().unwrap())
        .collect();
    let whole: Vec<u64> = (0..=last_index).collect();
    assert_eq!(indices, whole, "every line once, in transcript order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_a_client_gets_every_line_it_has_not_seen() {
    let dir = data_dir("restart-seq");
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = pair_in_conversation(addr).await;
    for i in 0..3 {
        say(&mut a, &format!("a before {i}")).await;
        say(&mut b, &format!("b before {i}")).await;
    }
    let (ta, tb, sb) = (a.token(), b.token(), b.last_seq());
    server.kill();
    drop((a, b));

    let server = ServerProcess::start(&data, addr);
    let mut a = Client::reconnect(server.addr, &ta, 1).await;
    assert_eq!(a.expect("reconnected").await["replayed"], false);
    for i in 0..20 {
        say(&mut a, &format!("a after {i}")).await;
    }
    let mut b = Client::reconnect(server.addr, &tb, sb).await;
    b.chat("b back").await;
    let got = read_until_chat(&mut b, "b back").await;
    assert_eq!(got[0]["type"], "reconnected", "{}", got[0]);
    assert_eq!(
        got[0]["replayed"], false,
        "frames from before the restart cannot be replayed"
    );
    assert_whole_view(&got, sb, 26);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Moments after `start_round` at which the server is killed: across the first 60 ms,
/// while rooms are being opened and trainees told.
const KILL_AFTER_MS: [u64; 6] = [2, 5, 9, 14, 25, 45];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_killed_just_after_start_round_puts_everyone_back_in_their_room() {
    for ms in KILL_AFTER_MS {
        kill_after_start_round(ms).await;
    }
}

async fn kill_after_start_round(kill_after_ms: u64) {
    let dir = data_dir(&format!("restart-round-{kill_after_ms}"));
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let mut host = join(addr, "Trainer").await;
    host.send(json!({"type": "create_session", "title": "Kill at start"}))
        .await;
    let code = host.expect("session_created").await["code"]
        .as_str()
        .unwrap()
        .to_string();
    const TRAINEES: usize = 20;
    let mut people = Vec::new();
    for i in 0..TRAINEES {
        let mut t = join(addr, &format!("T{i}")).await;
        t.send(json!({"type": "join_session", "code": code})).await;
        t.expect("session_joined").await;
        people.push(t);
    }
    host.send(json!({"type": "plan_round", "scenario": "distributor-inventory"}))
        .await;
    while host.expect("console").await["plan"].is_null() {}
    host.send(json!({"type": "start_round"})).await;
    tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
    server.kill();
    // Whatever reached each trainee before the kill is all they saw of the old server.
    let mut seen = Vec::new();
    for t in &mut people {
        while t.next_within(Duration::from_millis(20)).await.is_some() {}
        seen.push((t.token(), t.last_seq()));
    }
    drop(people);

    let server = ServerProcess::start(&data, addr);
    // The console shows the round, or none if the kill came before it was recorded.
    let mut console = join(addr, "Trainer").await;
    let token = host.expect_seen("session_created")["host_token"]
        .as_str()
        .unwrap()
        .to_string();
    console
        .send(json!({"type": "host_session", "token": token}))
        .await;
    let started = console.expect("console").await["rounds_started"].as_u64() == Some(1);
    let mut in_room = 0;
    for (token, last_seq) in &seen {
        let mut t = Client::reconnect(server.addr, token, *last_seq).await;
        let back = t.expect("reconnected").await;
        loop {
            let Some(v) = t.next_within(Duration::from_secs(2)).await else {
                assert!(
                    !started,
                    "killed {kill_after_ms} ms after start_round: no room_opened after \
                     {back} in a started round; seen {:?}",
                    t.seen
                );
                break;
            };
            assert!(v["seq"].as_u64().unwrap() > *last_seq);
            if v["type"] == "room_opened" || v["type"] == "observing" {
                in_room += 1;
                break;
            }
        }
    }
    if started {
        assert_eq!(in_room, TRAINEES, "every trainee is back in their room");
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Plays `lines` chat lines into a conversation, alternating sides, at a pace the
/// per-connection rate limit allows.
async fn long_round(a: &mut Client, b: &mut Client, lines: usize) {
    for i in 0..lines / 2 {
        a.chat(&format!("a line {i}")).await;
        b.chat(&format!("b line {i}")).await;
        tokio::time::sleep(Duration::from_millis(55)).await;
    }
    read_until_chat(a, &format!("b line {}", lines / 2 - 1)).await;
    read_until_chat(b, &format!("b line {}", lines / 2 - 1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_300_line_round_is_rebuilt_whole_after_a_restart() {
    let dir = data_dir("restart-long");
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = pair_in_conversation(addr).await;
    long_round(&mut a, &mut b, 300).await;
    let (ta, sa) = (a.token(), a.last_seq());
    server.kill();
    drop((a, b));

    let server = ServerProcess::start(&data, addr);
    let mut a = Client::reconnect(server.addr, &ta, sa).await;
    a.chat("a back").await;
    let got = read_until_chat(&mut a, "a back").await;
    assert_eq!(got[0]["type"], "reconnected");
    assert_whole_view(&got, sa, 300);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_300_line_round_is_rebuilt_whole_after_a_long_drop() {
    let server = TestServer::spawn().await;
    let (mut a, b) = server.conversation("steady").await;
    let (tb, sb) = (b.token(), b.last_seq());
    b.close().await;
    for i in 0..150 {
        a.chat(&format!("a line {i}")).await;
        a.chat(&format!("a more {i}")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    read_until_chat(&mut a, "a more 149").await;
    let mut b = Client::reconnect(server.addr, &tb, sb).await;
    b.chat("b back").await;
    let got = read_until_chat(&mut b, "b back").await;
    assert_eq!(got[0]["type"], "reconnected");
    assert_eq!(
        got[0]["replayed"], false,
        "300 lines are too many to replay"
    );
    assert_whole_view(&got, sb, 300);
}

#[tokio::test]
async fn reconnecting_after_the_grace_window_is_refused() {
    let server = TestServer::spawn_with_options(|o| o.hub.grace = Duration::from_millis(300)).await;
    let (a, mut b) = server.conversation("steady").await;
    let (ta, sa) = (a.token(), a.last_seq());
    a.close().await;
    b.expect("partner_away").await;
    b.expect("partner_left").await;
    let mut a = Client::reconnect(server.addr, &ta, sa).await;
    a.expect_error("reconnect_failed").await;
    a.send(json!({"type": "hello", "protocol": 1, "name": "Ana again"}))
        .await;
    a.expect("welcome").await;
}

#[tokio::test]
async fn an_in_process_rebuild_numbers_from_last_seq_plus_one() {
    let server = TestServer::spawn().await;
    let (mut a, b) = server.conversation("steady").await;
    let (tb, sb) = (b.token(), b.last_seq());
    b.close().await;
    // More than the replay history holds, so the view is rebuilt.
    for i in 0..12 {
        let words = "words enough to fill the replay history soon ".repeat(5);
        let words = words.trim_end();
        say(&mut a, &format!("line {i}: {words}")).await;
    }
    let mut b = Client::reconnect(server.addr, &tb, sb).await;
    b.chat("b back").await;
    let got = read_until_chat(&mut b, "b back").await;
    assert_eq!(got[0]["replayed"], false, "{}", got[0]);
    assert_whole_view(&got, sb, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_link_handed_out_before_a_restart_still_works_after_it() {
    let dir = data_dir("restart-link");
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let mut a = join(addr, "Ana").await;
    a.send(json!({"type": "create_pair_link"})).await;
    let code = a.expect("pair_link").await["code"].clone();
    let (token, last_seq) = (a.token(), a.last_seq());
    server.kill();
    drop(a);

    let server = ServerProcess::start(&data, addr);
    let mut a = Client::reconnect(server.addr, &token, last_seq).await;
    a.expect("reconnected").await;
    let mut b = join(addr, "Ben").await;
    b.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    b.expect("room_opened").await;
    a.expect("room_opened").await;
    // A link once used stays used after another restart.
    server.kill();
    let server = ServerProcess::start(&data, addr);
    let mut c = join(addr, "Cy").await;
    c.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    c.expect_error("not_found").await;
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_typed_before_a_crash_in_the_recap_count_when_it_runs_out_after_it() {
    let dir = data_dir("restart-drafts");
    let data = dir.join("events.sqlite");
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let mut host = join(addr, "Trainer").await;
    host.send(json!({"type": "create_session"})).await;
    let code = host.expect("session_created").await["code"].clone();
    let mut people = Vec::new();
    for name in ["Ana", "Ben"] {
        let mut t = join(addr, name).await;
        t.send(json!({"type": "join_session", "code": code})).await;
        t.expect("session_joined").await;
        people.push(t);
    }
    host.send(
        json!({"type": "plan_round", "scenario": "distributor-inventory",
                     "timings": {"briefing": 600, "conversation": 600, "recap": 4}}),
    )
    .await;
    while host.expect("console").await["plan"].is_null() {}
    host.send(json!({"type": "start_round"})).await;
    let mut seller_first = false;
    for (i, t) in people.iter_mut().enumerate() {
        let role = t.expect("room_opened").await["role"].clone();
        if i == 0 {
            seller_first = role == "seller";
        }
    }
    if !seller_first {
        people.swap(0, 1);
    }
    for _ in 0..2 {
        host.send(json!({"type": "end_phase"})).await;
    }
    for t in &mut people {
        t.expect_phase("recap").await;
    }
    people[0]
        .send(json!({"type": "recap_draft", "text": "Typed before the crash"}))
        .await;
    people[1]
        .send(json!({"type": "feedback_draft", "heard": 3}))
        .await;
    // A round trip each, so the drafts are in before the kill.
    for t in &mut people {
        t.send(json!({"type": "notes", "text": "n"})).await;
        t.expect("notes_saved").await;
    }
    let seen: Vec<(String, u64)> = people.iter().map(|t| (t.token(), t.last_seq())).collect();
    server.kill();
    drop(people);

    let server = ServerProcess::start(&data, addr);
    let mut seller = Client::reconnect(server.addr, &seen[0].0, seen[0].1).await;
    let debrief = seller.expect("debrief").await;
    assert_eq!(debrief["recap"], "Typed before the crash");
    assert_eq!(debrief["feedback"]["heard"], 3);
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
