//! What a client gets back after a restart, a long drop or the grace window: every
//! transcript line it has not seen, in order, numbered above anything it saw before,
//! however long the round; the room it was put in; or `reconnect_failed` when its seat
//! is gone. The restart cases drive the real binary and kill it with SIGKILL (a
//! workshop killed at its round start is in `kill_under_load.rs`, with 100 trainees).

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};
use uncover_tests::fault::{
    join, join_workshop, link_pair, say, start_conversation, DataDir, FaultLog, Trainer,
};
use uncover_tests::{free_addr, Client, ServerProcess, TestServer};

/// Two people in the conversation phase of a pair-link room.
async fn pair_in_conversation(addr: SocketAddr) -> (Client, Client) {
    let (mut a, mut b) = link_pair(addr, Ipv4Addr::LOCALHOST.into(), ["Ana", "Ben"]).await;
    start_conversation(&mut a, &mut b).await;
    (a, b)
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
    let dir = DataDir::new("restart-seq");
    let data = dir.events();
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
    let dir = DataDir::new("restart-long");
    let data = dir.events();
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
    let dir = DataDir::new("restart-link");
    let data = dir.events();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_typed_before_a_crash_in_the_recap_count_when_it_runs_out_after_it() {
    let dir = DataDir::new("restart-drafts");
    let data = dir.events();
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let mut host = Trainer::open(addr, "Drafts").await;
    let mut people = Vec::new();
    for name in ["Ana", "Ben"] {
        people.push(join_workshop(addr, Ipv4Addr::LOCALHOST.into(), name, &host.code).await);
    }
    host.plan(json!({"briefing": 600, "conversation": 600, "recap": 4}))
        .await;
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
}

#[tokio::test]
async fn a_frame_sent_right_after_reconnect_is_answered_after_the_rebuilt_view() {
    let (log, server) = FaultLog::server().await;
    let (mut a, b) = server.conversation("steady").await;
    let (tb, sb) = (b.token(), b.last_seq());
    b.close().await;
    // More than the replay history holds, so the room rebuilds the view.
    for i in 0..12 {
        let words = "words enough to fill the replay history soon ".repeat(5);
        say(&mut a, &format!("line {i}: {}", words.trim_end())).await;
    }
    // The room is busy saving notes on a slow disk when the buyer comes back.
    log.hold();
    a.send(json!({"type": "notes", "text": "held"})).await;
    let mut b = Client::reconnect(server.addr, &tb, sb).await;
    // Not waiting for `reconnected`: the refusal must not be lost while the room has
    // yet to attach the connection.
    b.send_text("[]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.open();
    let mut got = Vec::new();
    loop {
        let v = b.next().await.expect("the socket stays open");
        let refused = v["type"] == "error";
        got.push(v);
        if refused {
            break;
        }
    }
    assert_eq!(got.last().unwrap()["code"], "bad_message");
    assert_eq!(got[0]["replayed"], false, "{}", got[0]);
    let seqs: Vec<u64> = got.iter().map(|v| v["seq"].as_u64().unwrap()).collect();
    let want: Vec<u64> = (sb + 1..=sb + seqs.len() as u64).collect();
    assert_eq!(seqs, want, "the refusal is numbered on after the view");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_planned_before_a_restart_starts_after_it_with_the_same_pairs() {
    let dir = DataDir::new("restart-plan");
    let data = dir.events();
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);
    let mut trainer = Trainer::open(addr, "Plan kept").await;
    let mut trainees = Vec::new();
    for name in ["Ana", "Ben", "Cy", "Di"] {
        trainees.push(join_workshop(addr, Ipv4Addr::LOCALHOST.into(), name, &trainer.code).await);
    }
    trainer
        .plan(json!({"briefing": 60, "conversation": 60, "recap": 60}))
        .await;
    let before = trainer
        .console
        .seen
        .iter()
        .rev()
        .find(|v| v["type"] == "console");
    let pairs = before.map(|c| c["plan"]["pairs"].clone()).unwrap();
    assert_eq!(pairs.as_array().map(Vec::len), Some(2), "{pairs}");
    server.kill();

    let server = ServerProcess::start(&data, addr);
    let console = trainer.come_back(addr).await;
    assert_eq!(
        console["plan"]["pairs"], pairs,
        "the plan the console showed is kept"
    );
    let mut back = Vec::new();
    for t in &trainees {
        let mut c = Client::reconnect(server.addr, &t.token(), t.last_seq()).await;
        c.expect("reconnected").await;
        back.push(c);
    }
    trainer.send(json!({"type": "start_round"})).await;
    let mut rooms = Vec::new();
    for c in &mut back {
        rooms.push(c.expect("room_opened").await["room"].clone());
    }
    // Two rooms of two, as planned.
    rooms.sort_by_key(|r| r.as_u64());
    assert_eq!(rooms[0], rooms[1]);
    assert_eq!(rooms[2], rooms[3]);
    assert_ne!(rooms[1], rooms[2]);
    server.kill();
}
