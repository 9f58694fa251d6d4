//! Remote practice: the waiting queue, scenario preferences and private pair links.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use uncover_tests::TestServer;

#[tokio::test]
async fn the_first_two_waiting_trainees_are_paired() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    let mut b = server.join("Ben").await;
    let mut c = server.join("Cy").await;
    a.send(json!({"type": "find_partner"})).await;
    a.expect("waiting").await;
    b.send(json!({"type": "find_partner"})).await;
    let ra = a.expect("room_opened").await;
    let rb = b.expect("room_opened").await;
    assert_eq!(ra["room"], rb["room"]);
    assert_eq!(ra["scenario"], rb["scenario"]);
    c.send(json!({"type": "find_partner"})).await;
    c.expect("waiting").await;
}

#[tokio::test]
async fn trainees_wanting_different_scenarios_are_not_paired() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    let mut b = server.join("Ben").await;
    let mut c = server.join("Cy").await;
    a.send(json!({"type": "find_partner", "scenario": "quick"}))
        .await;
    a.expect("waiting").await;
    b.send(json!({"type": "find_partner", "scenario": "distributor-inventory"}))
        .await;
    b.expect("waiting").await;
    c.send(json!({"type": "find_partner", "scenario": "distributor-inventory"}))
        .await;
    let rb = b.expect("room_opened").await;
    assert_eq!(rb["scenario"]["id"], "distributor-inventory");
    assert_eq!(c.expect("room_opened").await["room"], rb["room"]);
}

#[tokio::test]
async fn a_trainee_can_stop_waiting() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    let mut b = server.join("Ben").await;
    a.send(json!({"type": "find_partner"})).await;
    a.expect("waiting").await;
    a.send(json!({"type": "cancel_waiting"})).await;
    a.expect("waiting_cancelled").await;
    a.send(json!({"type": "cancel_waiting"})).await;
    a.expect_error("wrong_state").await;
    b.send(json!({"type": "find_partner"})).await;
    b.expect("waiting").await;
}

#[tokio::test]
async fn a_waiting_trainee_who_disconnects_is_not_paired() {
    let server = TestServer::spawn().await;
    let a = server.join("Ana").await;
    let mut a = a;
    a.send(json!({"type": "find_partner"})).await;
    a.expect("waiting").await;
    a.close().await;
    let mut b = server.join("Ben").await;
    b.send(json!({"type": "find_partner"})).await;
    b.expect("waiting").await;
}

#[tokio::test]
async fn a_private_link_pairs_exactly_the_colleague_who_opens_it() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    let mut b = server.join("Ben").await;
    let mut c = server.join("Cy").await;
    a.send(json!({"type": "create_pair_link", "scenario": "quick"}))
        .await;
    let link = a.expect("pair_link").await;
    let code = link["code"].as_str().unwrap().to_string();
    assert_eq!(link["path"], format!("/?pair={code}"));
    assert_eq!(code.len(), 6);

    // Someone waiting in the public queue is not the link's partner.
    c.send(json!({"type": "find_partner"})).await;
    c.expect("waiting").await;

    a.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    a.expect_error("wrong_state").await;

    b.send(json!({"type": "join_pair_link", "code": code.to_lowercase()}))
        .await;
    let rb = b.expect("room_opened").await;
    assert_eq!(rb["partner"], "Ana");
    assert_eq!(rb["scenario"]["id"], "quick");
    a.expect("room_opened").await;

    // A used link is gone.
    let mut d = server.join("Di").await;
    d.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    d.expect_error("not_found").await;
}

#[tokio::test]
async fn unknown_scenarios_and_links_are_named_in_the_error() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    a.send(json!({"type": "find_partner", "scenario": "moon-base"}))
        .await;
    let e = a.expect_error("not_found").await;
    assert!(e["message"].as_str().unwrap().contains("moon-base"));
    a.send(json!({"type": "join_pair_link", "code": "ZZZZZZ"}))
        .await;
    let e = a.expect_error("not_found").await;
    assert!(e["message"].as_str().unwrap().contains("ZZZZZZ"));
}

#[tokio::test]
async fn leaving_a_room_frees_the_trainee_to_play_again() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.pair("quick").await;
    seller.send(json!({"type": "leave_room"})).await;
    buyer.expect("partner_left").await;
    seller.send(json!({"type": "find_partner"})).await;
    seller.expect("waiting").await;
}

#[tokio::test]
async fn http_endpoints_serve_the_client_health_and_public_scenarios_only() {
    let server = TestServer::spawn().await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<html") || body.contains("<!doctype html"),
        "{body}"
    );
    let (status, body) = server.get("/api/scenarios").await;
    assert_eq!(status, 200);
    assert!(body.contains("quick"));
    assert!(!body.contains("SECRET"), "hidden facts leaked: {body}");
    let (status, _) = server.get("/no-such-file.js").await;
    assert_eq!(status, 404);
}
