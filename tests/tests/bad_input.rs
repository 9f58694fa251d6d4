//! Bad input gets an error event naming the problem; the connection and the room carry on.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use uncover_tests::TestServer;

#[tokio::test]
async fn malformed_and_unknown_messages_get_errors_and_the_connection_survives() {
    let server = TestServer::spawn().await;
    let mut c = server.connect().await;

    c.send_text("{not json").await;
    let e = c.expect_error("bad_message").await;
    assert!(!e["message"].as_str().unwrap().is_empty());

    c.send(json!({"type": "teleport", "to": "mars"})).await;
    let e = c.expect_error("bad_message").await;
    assert!(e["message"].as_str().unwrap().contains("teleport"));

    c.send(json!({"type": "chat"})).await;
    let e = c.expect_error("bad_message").await;
    assert!(e["message"].as_str().unwrap().contains("text"), "{e}");

    c.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    c.expect_error("bad_message").await;

    c.send(json!({"type": "find_partner"})).await;
    c.expect_error("not_introduced").await;

    c.send(json!({"type": "hello", "protocol": 99, "name": "Ana"}))
        .await;
    c.expect_error("unsupported_protocol").await;

    c.send(json!({"type": "hello", "protocol": 1, "name": "   "}))
        .await;
    c.expect_error("invalid_input").await;
    c.send(json!({"type": "hello", "protocol": 1, "name": "x".repeat(41)}))
        .await;
    c.expect_error("invalid_input").await;

    // After all that, the same connection still works.
    c.send(json!({"type": "hello", "protocol": 1, "name": "Ana"}))
        .await;
    let welcome = c.expect("welcome").await;
    assert_eq!(welcome["name"], "Ana");
    assert_eq!(welcome["seq"].as_u64(), Some(c.seen.len() as u64));
    c.send(json!({"type": "hello", "protocol": 1, "name": "Ana"}))
        .await;
    c.expect_error("wrong_state").await;
}

#[tokio::test]
async fn every_server_message_is_numbered_in_order() {
    let server = TestServer::spawn().await;
    let (mut seller, _buyer) = server.conversation("quick").await;
    seller.chat("hello?").await;
    seller.expect("chat").await;
    let seqs: Vec<u64> = seller
        .seen
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected);
}

#[tokio::test]
async fn out_of_place_room_messages_are_refused_and_the_room_carries_on() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.pair("steady").await;

    // Briefing: no chat yet, no reveals, no recap.
    seller.chat("Hi there").await;
    let e = seller.expect_error("wrong_phase").await;
    assert!(e["message"].as_str().unwrap().contains("conversation"));
    buyer
        .send(json!({"type": "reveal", "fact": "steady-goal"}))
        .await;
    buyer.expect_error("wrong_phase").await;

    seller.send(json!({"type": "ready"})).await;
    buyer.send(json!({"type": "ready"})).await;
    seller.expect_phase("conversation").await;
    buyer.expect_phase("conversation").await;

    seller.chat("").await;
    seller.expect_error("invalid_input").await;
    seller.chat("   \n ").await;
    seller.expect_error("invalid_input").await;
    seller.chat(&"a".repeat(2001)).await;
    let e = seller.expect_error("invalid_input").await;
    assert!(e["message"].as_str().unwrap().contains("2000"));

    seller
        .send(json!({"type": "recap", "text": "too early"}))
        .await;
    seller.expect_error("wrong_phase").await;
    buyer
        .send(json!({"type": "recap", "text": "not mine"}))
        .await;
    buyer.expect_error("wrong_role").await;
    buyer
        .send(json!({"type": "reveal", "fact": "no-such-fact"}))
        .await;
    buyer.expect_error("not_found").await;
    buyer.send(json!({"type": "feedback", "heard": 3})).await;
    buyer.expect_error("wrong_phase").await;
    seller.send(json!({"type": "find_partner"})).await;
    seller.expect_error("wrong_state").await;

    // The longest allowed message goes through, and the room still relays.
    let longest = "é".repeat(2000);
    seller.chat(&longest).await;
    assert_eq!(buyer.expect("chat").await["text"], longest.as_str());
    assert_eq!(
        seller.expect("chat").await["text"],
        longest.as_str(),
        "own echo"
    );
    buyer.chat("Still here.").await;
    assert_eq!(seller.expect("chat").await["text"], "Still here.");

    buyer.send(json!({"type": "end_conversation"})).await;
    buyer.expect_phase("recap").await;
    buyer.send(json!({"type": "feedback", "heard": 9})).await;
    buyer.expect_error("invalid_input").await;
    buyer.send(json!({"type": "feedback", "heard": 0})).await;
    buyer.expect_error("invalid_input").await;
}

#[tokio::test]
async fn oversized_frames_are_refused_with_a_reason() {
    let server = TestServer::spawn().await;
    let mut c = server.join("Ana").await;
    let huge = json!({"type": "chat", "text": "x".repeat(200_000)});
    c.send(huge).await;
    // The server explains before closing the socket.
    let v = c.next().await.expect("an error before the close");
    assert_eq!(v["type"], "error");
    assert_eq!(v["code"], "too_large");
    // And nobody else is affected.
    let mut other = server.join("Ben").await;
    other.send(json!({"type": "find_partner"})).await;
    other.expect("waiting").await;
}
