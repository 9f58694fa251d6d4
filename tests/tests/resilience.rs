//! Nothing lost: reconnection with replay, a workshop across a restart, a drain on
//! SIGTERM, a reader that stops reading, and floods of bad input. (Servers killed under
//! load are in `kill_under_load.rs`.)

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::process::Command;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use uncover::ws::MessageRate;
use uncover_tests::fault::{
    join, join_workshop, link_pair, say, start_conversation, DataDir, Trainer,
};
use uncover_tests::{free_addr, Client, ServerProcess, TestServer};

#[tokio::test]
async fn a_dropped_connection_resumes_with_nothing_missed_or_duplicated() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    seller.chat("First question?").await;
    buyer.expect_chat_from("seller").await;
    let token = buyer.token();
    let seen = buyer.last_seq();
    buyer.close().await;

    // The seller keeps talking while the buyer is away.
    let away = seller.expect("partner_away").await;
    assert_eq!(away["name"], seller_partner(&seller).as_str());
    for i in 0..3 {
        seller.chat(&format!("While you were away {i}")).await;
        seller.expect_chat_from("seller").await;
    }

    let mut back = server.reconnect(&token, seen).await;
    let mut replayed = Vec::new();
    loop {
        let v = back.next().await.unwrap();
        if v["type"] == "reconnected" {
            assert_eq!(v["replayed"], true);
            break;
        }
        replayed.push(v);
    }
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (seen + 1..seen + 1 + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every missed frame, in order, none twice");
    let texts: Vec<&str> = replayed
        .iter()
        .filter(|v| v["type"] == "chat")
        .map(|v| v["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "While you were away 0",
            "While you were away 1",
            "While you were away 2"
        ]
    );
    seller.expect("partner_back").await;

    // The round carries on over the new connection.
    back.chat("I'm back.").await;
    assert_eq!(seller.expect_chat_from("buyer").await["text"], "I'm back.");
    back.send(json!({"type": "reveal", "fact": "steady-goal"}))
        .await;
    back.expect("revealed").await;
}

fn seller_partner(seller: &Client) -> String {
    seller
        .seen
        .iter()
        .find(|v| v["type"] == "room_opened")
        .and_then(|v| v["partner"].as_str())
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_unknown_token_is_refused_and_hello_still_works() {
    let server = TestServer::spawn().await;
    let mut c = server.reconnect("not-a-token", 5).await;
    c.expect_error("reconnect_failed").await;
    c.send(json!({"type": "hello", "protocol": 1, "name": "Ana"}))
        .await;
    c.expect("welcome").await;
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_while_its_partner_keeps_flowing() {
    let server = TestServer::spawn_with_options(|o| {
        o.message_rate = MessageRate {
            per_second: 100_000,
            burst: 100_000,
        };
    })
    .await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    // From here on the buyer reads nothing.
    let line = "x".repeat(1_900);
    let mut dropped_at = None;
    for i in 0..20_000 {
        seller.chat(&line).await;
        loop {
            let v = seller.next().await.expect("the seller stays connected");
            if v["type"] == "partner_away" {
                dropped_at = Some(i);
            }
            if v["type"] == "chat" && v["from"] == "seller" {
                break;
            }
        }
        if dropped_at.is_some() {
            break;
        }
    }
    let at = dropped_at.expect("the silent buyer was cut off");
    assert!(at > 256, "only after its queue filled ({at} messages)");
    // After the drop the seller's own chat still flows.
    seller.chat("still here").await;
    assert_eq!(
        seller.expect_chat_from("seller").await["text"],
        "still here"
    );
    // The buyer's socket was closed by the server: reading it reaches the end.
    let mut frames = 0;
    while buyer.next().await.is_some() {
        frames += 1;
    }
    assert!(
        frames < at + 50,
        "the buyer got no more than what was queued"
    );
}

#[tokio::test]
async fn flooding_is_refused_then_cut_off_and_other_rooms_are_unaffected() {
    let server = TestServer::spawn().await;
    let (mut s1, mut b1) = server.conversation("steady").await;
    let mut flooder = server.join("Flo").await;
    for _ in 0..400 {
        // The server may cut the flood off before it has all been sent.
        if !flooder.try_send(json!({"type": "cancel_waiting"})).await {
            break;
        }
    }
    // Refusals first, then the server closes the socket (`next` ends; it would fail on
    // a timeout if the connection stayed open). Closing while the flood is still unread
    // resets the TCP connection, so some refusals in flight are lost: count at least one.
    let mut limited = 0;
    while let Some(v) = flooder.next().await {
        if v["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 1, "floods are refused with rate_limited");
    s1.chat("Unaffected?").await;
    assert_eq!(b1.expect_chat_from("seller").await["text"], "Unaffected?");
}

#[tokio::test]
async fn garbage_frames_never_break_the_server() {
    let server = TestServer::spawn().await;
    let (mut s1, mut b1) = server.conversation("steady").await;
    let mut c = server.join("Gus").await;
    let junk = [
        "",
        "null",
        "[]",
        "{}",
        "{\"type\":1}",
        "{\"type\":\"chat\",\"text\":{\"nested\":[1,2,3]}}",
        "{\"type\":\"hello\",\"protocol\":-1,\"name\":\"x\"}",
        "{\"type\":\"reveal\",\"fact\":null}",
        "\u{0000}\u{ffff}",
        "{\"type\":\"extend\",\"seconds\":99999999999}",
    ];
    for j in junk {
        c.send_text(j).await;
        let v = c.next().await.expect("an answer, not a dropped connection");
        assert_eq!(v["type"], "error", "for {j:?}");
    }
    c.send_raw(Message::Binary(vec![0xff; 1000].into())).await;
    c.expect_error("bad_message").await;
    s1.chat("Still fine?").await;
    assert_eq!(b1.expect_chat_from("seller").await["text"], "Still fine?");
}

/// The chat lines a client got as its rebuilt view, and the phase it ends on.
async fn rebuilt(c: &mut Client, marker: &str) -> (Vec<Value>, Value) {
    let v = c.next().await.unwrap();
    assert_eq!(v["type"], "reconnected", "{v}");
    assert_eq!(v["replayed"], false, "a restarted server rebuilds the view");
    c.chat(marker).await;
    let mut chats = Vec::new();
    let mut phase = Value::Null;
    loop {
        let v = c.next().await.unwrap();
        match v["type"].as_str() {
            Some("chat") if v["text"] == marker => return (chats, phase),
            Some("chat") => chats.push(v),
            Some("phase") => phase = v,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_survives_a_restart_and_can_then_be_deleted() {
    let dir = DataDir::new("session");
    let data = dir.events();
    let addr = free_addr();
    let server = ServerProcess::start(&data, addr);

    let mut host = Trainer::open(addr, "Tuesday cohort").await;
    let session = host.console.expect_seen("session_created")["session"]
        .as_u64()
        .unwrap();
    let (token, code) = (host.token.clone(), host.code.clone());
    let mut people = Vec::new();
    for name in ["Ana", "Ben"] {
        people.push(join_workshop(addr, Ipv4Addr::LOCALHOST.into(), name, &code).await);
    }
    host.plan(json!({"briefing": 180, "conversation": 600, "recap": 120}))
        .await;
    host.send(json!({"type": "start_round"})).await;
    for t in &mut people {
        t.expect("room_opened").await;
    }
    host.send(json!({"type": "end_phase"})).await;
    for t in &mut people {
        t.expect_phase("conversation").await;
    }
    for _ in 0..2 {
        host.send(json!({"type": "end_phase"})).await;
    }
    for t in &mut people {
        t.expect("debrief").await;
    }
    loop {
        let r = host.console.expect("round_results").await;
        if r["pairs_playing"] == 0 {
            break;
        }
    }
    server.kill();

    // After the restart the host link still opens the same workshop, with its round.
    let server = ServerProcess::start(&data, addr);
    let mut console = join(addr, "Trainer").await;
    console
        .send(json!({"type": "host_session", "token": token}))
        .await;
    let c = console.expect("console").await;
    assert_eq!(c["title"], "Tuesday cohort");
    assert_eq!(c["code"], code.as_str());
    assert_eq!(c["participants"].as_array().unwrap().len(), 2);
    assert_eq!(c["rounds_started"], 1);
    assert_eq!(c["results"][0]["pairs"][0]["finished"], true);
    let auth = format!("Bearer {token}");
    let path = format!("/api/sessions/{session}/export?format=json");
    let (status, body) =
        uncover_tests::http_get_with(addr, &path, &[("Authorization", &auth)]).await;
    assert_eq!(status, 200);
    let export: Value = serde_json::from_str(&body).unwrap();
    assert!(export["rounds"][0]["pairs"][0]["debrief"]["facts"].is_array());

    // The trainer deletes it: gone now, and still gone after another restart.
    console.send(json!({"type": "delete_session"})).await;
    console.expect("session_deleted").await;
    let (status, _) = uncover_tests::http_get_with(addr, &path, &[("Authorization", &auth)]).await;
    assert_eq!(status, 401);
    server.kill();
    let server = ServerProcess::start(&data, addr);
    let mut again = join(addr, "Trainer").await;
    again
        .send(json!({"type": "host_session", "token": token}))
        .await;
    again.expect_error("not_found").await;
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_tells_clients_flushes_the_log_and_exits_cleanly() {
    let dir = DataDir::new("term");
    let data = dir.events();
    let addr = free_addr();
    let mut server = ServerProcess::start(&data, addr);
    let (mut a, mut b) = link_pair(addr, Ipv4Addr::LOCALHOST.into(), ["Ana", "Ben"]).await;
    start_conversation(&mut a, &mut b).await;
    say(&mut a, "Saved before the stop?").await;
    a.send(json!({"type": "notes", "text": "third depot? who decides?"}))
        .await;
    a.expect("notes_saved").await;

    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(a.expect("server_closing").await["type"], "server_closing");
    assert!(
        a.next().await.is_none(),
        "the socket is closed after the notice"
    );
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "a drain exits cleanly: {exit:?}");

    let server = ServerProcess::start(&data, addr);
    let mut back = Client::reconnect(server.addr, &a.token(), a.last_seq()).await;
    let (chats, _) = rebuilt(&mut back, "after the restart").await;
    assert!(chats.iter().any(|c| c["text"] == "Saved before the stop?"));
    assert_eq!(
        back.expect_seen("notes_restored")["text"],
        "third depot? who decides?",
        "private notes come back too"
    );
    server.kill();
}

#[tokio::test]
async fn metrics_count_connections_messages_and_refusals() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    seller.chat("Counted?").await;
    buyer.expect_chat_from("seller").await;
    buyer.chat("").await;
    buyer.expect_error("invalid_input").await;
    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200);
    for name in [
        "uncover_connections",
        "uncover_rooms",
        "uncover_sessions",
        "uncover_messages_relayed_total",
        "uncover_event_log_commits",
        "uncover_rejected_inputs_total{reason=\"invalid_input\"}",
    ] {
        assert!(body.contains(name), "{name} missing from:\n{body}");
    }
    assert!(
        !body.contains("steady-goal"),
        "no hidden fact leaves through metrics"
    );
}
