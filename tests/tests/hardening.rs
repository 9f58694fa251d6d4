//! Protocol hardening: every refusal is a documented error or close code, and nothing a
//! client sends panics the server. Bad UTF-8, JSON arrays, silent sockets, absurd
//! `last_seq`, code guessing and look-alike names.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use uncover_tests::TestServer;

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007_and_a_reason() {
    let server = TestServer::spawn().await;
    let mut c = server.connect().await;
    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    c.send_raw(Message::Frame(frame)).await;
    let (code, reason) = c.closed_with().await.expect("a close frame");
    assert_eq!(code, 1007);
    assert!(!reason.is_empty());
    // The server carries on.
    server.join("Ana").await;
}

#[tokio::test]
async fn a_json_array_is_refused_as_a_bad_message() {
    let server = TestServer::spawn().await;
    let mut c = server.connect().await;
    c.send_text(r#"["hello",1,"Ana"]"#).await;
    c.expect_error("bad_message").await;
    assert!(!c.seen.iter().any(|v| v["type"] == "welcome"));
}

#[tokio::test]
async fn a_socket_that_never_says_hello_is_closed_after_the_hello_timeout() {
    let server = TestServer::spawn().await;
    let mut c = server.connect().await;
    let started = Instant::now();
    let (code, _) = c.closed_with().await.expect("a close frame");
    let waited = started.elapsed();
    assert_eq!(code, 1008);
    assert!(
        waited >= uncover::ws::HELLO_TIMEOUT - Duration::from_millis(200)
            && waited <= uncover::ws::HELLO_TIMEOUT + Duration::from_secs(2),
        "closed after {waited:?}"
    );
    assert_eq!(c.seen.last().unwrap()["code"], "not_introduced");
}

#[tokio::test]
async fn a_last_seq_beyond_two_to_the_53_is_refused_without_a_panic() {
    let server = TestServer::spawn().await;
    let (a, _b) = server.conversation("steady").await;
    let token = a.token();
    for last_seq in [u64::MAX, 1u64 << 53] {
        let mut c = server.reconnect(&token, last_seq).await;
        c.expect_error("invalid_input").await;
    }
    let mut c = server.reconnect(&token, (1 << 53) - 1).await;
    let back = c.expect("reconnected").await;
    assert!(back["seq"].as_u64().unwrap() < 1 << 53);
}

#[tokio::test]
async fn greetings_are_not_limited_but_wrong_codes_are() {
    let server = TestServer::spawn().await;
    // A whole conference behind one address says hello: nobody is refused.
    let mut people = Vec::new();
    for i in 0..uncover::ws::JOIN_BURST + 30 {
        people.push(server.join(&format!("Person {i}")).await);
    }
    // One of them guesses workshop codes: refused after a few wrong ones…
    let guesser = &mut people[0];
    let mut refused = None;
    for i in 0..uncover::ws::GUESS_BURST + 5 {
        guesser
            .send(json!({"type": "join_session", "code": format!("ZZZZ{i:02}")}))
            .await;
        let e = guesser.expect("error").await;
        if e["code"] == "rate_limited" {
            refused = Some(i);
            break;
        }
        assert_eq!(e["code"], "not_found");
    }
    assert_eq!(refused, Some(uncover::ws::GUESS_BURST));
    // …while a greeting from the same address still works.
    server.join("Late arrival").await;
}

#[tokio::test]
async fn look_alike_names_are_one_name_in_a_workshop() {
    let server = TestServer::spawn().await;
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session"})).await;
    let code = host.expect("session_created").await["code"].clone();
    let mut ana = server.join("Ana").await;
    ana.send(json!({"type": "join_session", "code": code}))
        .await;
    ana.expect("session_joined").await;
    for twin in ["Ana\u{200b}", "\u{ff21}na", "A\u{00AD}na", " Ana\u{202e} "] {
        let mut c = server.connect().await;
        c.send(json!({"type": "hello", "protocol": 1, "name": twin}))
            .await;
        assert_eq!(c.expect("welcome").await["name"], "Ana", "{twin:?}");
        c.send(json!({"type": "join_session", "code": code})).await;
        c.expect_error("invalid_input").await;
    }
    for invisible in ["\u{200b}\u{200b}", "\u{0007}", "\u{2060}\u{feff}"] {
        let mut c = server.connect().await;
        c.send(json!({"type": "hello", "protocol": 1, "name": invisible}))
            .await;
        c.expect_error("invalid_input").await;
    }
}

#[tokio::test]
async fn silent_and_half_sent_http_requests_are_closed_after_the_head_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::spawn().await;
    let silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    // Everyone else is served meanwhile.
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
    for mut socket in [silent, half] {
        let mut buf = [0u8; 64];
        let limit = uncover::listener::REQUEST_HEAD_TIMEOUT + Duration::from_secs(3);
        let read = tokio::time::timeout(limit, socket.read(&mut buf))
            .await
            .expect("closed by the server in time");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    let waited = started.elapsed();
    assert!(
        waited >= uncover::listener::REQUEST_HEAD_TIMEOUT - Duration::from_millis(500),
        "closed too soon: {waited:?}"
    );
}

/// The HTTP status an upgrade from `from` gets (101 when it becomes a websocket).
async fn upgrade_status(addr: std::net::SocketAddr, from: std::net::IpAddr) -> u16 {
    let tcp = uncover_tests::tcp_from(addr, from).await;
    match tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("the upgrade neither worked nor got an HTTP answer: {e}"),
    }
}

#[tokio::test]
async fn one_address_gets_its_websocket_quota_then_a_429_until_one_closes() {
    // The quota's sockets at both ends live in this process.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = TestServer::spawn().await;
    let crowd = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 9, 0, 1));
    let mut open = Vec::new();
    for _ in 0..uncover::ws::CONNECTIONS_PER_ADDRESS {
        open.push(uncover_tests::Client::connect_from(server.addr, crowd).await);
    }
    assert_eq!(upgrade_status(server.addr, crowd).await, 429);
    // Another address, a workshop's phones say, is not held back by it.
    server.join("Ana").await;
    // A closed socket gives its slot back, once the server has seen it go.
    open.pop().unwrap().close().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match upgrade_status(server.addr, crowd).await {
            101 => break,
            429 if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            status => panic!("no slot came back: {status}"),
        }
    }
}
