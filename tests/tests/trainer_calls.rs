//! What a workshop trainer needs beyond running rounds, over real websockets: a refused
//! join says what to change and shows on the console, a pair can call the trainer and the
//! call is in the export, a paused round refuses chat with its own error code, and
//! `end_round` takes every pair to its debrief in one step.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use uncover_tests::{http_get_with, Client, TestServer};

struct Setup {
    host: Client,
    session: u64,
    code: String,
    token: String,
}

async fn session(server: &TestServer) -> Setup {
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session", "title": "Calls"}))
        .await;
    let created = host.expect("session_created").await;
    Setup {
        host,
        session: created["session"].as_u64().unwrap(),
        code: created["code"].as_str().unwrap().to_string(),
        token: created["host_token"].as_str().unwrap().to_string(),
    }
}

async fn trainee(server: &TestServer, code: &str, name: &str) -> Client {
    let mut t = server.join(name).await;
    t.send(json!({"type": "join_session", "code": code})).await;
    t.expect("session_joined").await;
    t
}

/// Plans and starts a round of one pair; returns (seller, buyer, room).
async fn one_pair(server: &TestServer, s: &mut Setup) -> (Client, Client, u64) {
    let mut a = trainee(server, &s.code, "Ana").await;
    let mut b = trainee(server, &s.code, "Ben").await;
    s.host
        .send(json!({"type": "plan_round", "scenario": "steady", "odd": "bot"}))
        .await;
    loop {
        let c = s.host.expect("console").await;
        if !c["plan"].is_null() {
            break;
        }
    }
    s.host.send(json!({"type": "start_round"})).await;
    let oa = a.expect("room_opened").await;
    b.expect("room_opened").await;
    let room = oa["room"].as_u64().unwrap();
    if oa["role"] == "seller" {
        (a, b, room)
    } else {
        (b, a, room)
    }
}

#[tokio::test]
async fn a_duplicate_name_is_refused_in_words_with_the_code_and_listed_on_the_console() {
    let server = TestServer::spawn().await;
    let mut s = session(&server).await;
    let _sam = trainee(&server, &s.code, "Sam").await;
    let mut again = server.join("sam").await;
    again
        .send(json!({"type": "join_session", "code": s.code}))
        .await;
    let refused = again.expect("join_refused").await;
    assert_eq!(refused["code"], s.code.as_str());
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains("Someone called Sam is already in this workshop"),
        "{reason}"
    );
    assert!(reason.contains("Add an initial"), "{reason}");
    again.expect_error("invalid_input").await;
    loop {
        let c = s.host.expect("console").await;
        let failed = c["failed_joins"].as_array().unwrap();
        if let Some(f) = failed.first() {
            assert_eq!(f["name"], "sam");
            assert_eq!(f["reason"], refused["reason"]);
            break;
        }
    }
}

#[tokio::test]
async fn a_raised_hand_shows_on_the_live_card_until_answered_and_is_exported() {
    let server = TestServer::spawn().await;
    let mut s = session(&server).await;
    let (mut seller, mut buyer, room) = one_pair(&server, &mut s).await;
    buyer.send(json!({"type": "raise_hand"})).await;
    let up = seller.expect("hand").await;
    assert_eq!(up["raised"], true);
    let by = up["by"].as_str().unwrap().to_string();
    assert!(by == "Ana" || by == "Ben", "{up}");
    assert_eq!(
        buyer.expect("hand").await["by"],
        by.as_str(),
        "the caller sees it too"
    );
    let card = loop {
        let l = s.host.expect("live").await;
        if !l["hand"].is_null() {
            break l;
        }
    };
    assert_eq!(card["room"], room);
    s.host
        .send(json!({"type": "answer_hand", "room": room}))
        .await;
    let down = buyer.expect("hand").await;
    assert_eq!(down["raised"], false);
    loop {
        let l = s.host.expect("live").await;
        if l["hand"].is_null() {
            break;
        }
    }
    // Nothing is up any more: answering again says so.
    s.host
        .send(json!({"type": "answer_hand", "room": room}))
        .await;
    s.host.expect_error("not_found").await;

    let auth = format!("Bearer {}", s.token);
    let (status, body) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=json", s.session),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200);
    let export: Value = serde_json::from_str(&body).unwrap();
    let hands = &export["rounds"][0]["pairs"][0]["hands"];
    assert_eq!(hands.as_array().unwrap().len(), 1, "{hands}");
    assert_eq!(hands[0]["answered"], true);
}

#[tokio::test]
async fn a_paused_round_refuses_chat_and_end_round_reaches_the_debrief() {
    let server = TestServer::spawn().await;
    let mut s = session(&server).await;
    let (mut seller, mut buyer, room) = one_pair(&server, &mut s).await;
    seller.send(json!({"type": "ready"})).await;
    buyer.send(json!({"type": "ready"})).await;
    seller.expect_phase("conversation").await;
    s.host.send(json!({"type": "pause", "room": room})).await;
    loop {
        let p = seller.expect("phase").await;
        if p["paused"] == true {
            break;
        }
    }
    seller
        .send(json!({"type": "chat", "text": "Still there?"}))
        .await;
    let e = seller.expect_error("paused").await;
    assert!(e["message"].as_str().unwrap().contains("paused"));
    s.host.send(json!({"type": "end_round"})).await;
    seller.expect("debrief").await;
    buyer.expect("debrief").await;
}
