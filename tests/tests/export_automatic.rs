//! The session exports say which captured figures rest on the reader alone: per pair
//! `captured_automatic` (JSON and both CSV tables), per fact `captured_automatically`
//! (the debrief inside the JSON, and the facts CSV), and both turn false once the buyer
//! has given their verdict on the match.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use uncover_tests::{http_get_with, Client, TestServer};

const GOAL: &str = "steady-goal";

/// Reads console updates until one shows `n` participants.
async fn console_with(host: &mut Client, n: usize) -> Value {
    loop {
        let c = host.expect("console").await;
        if c["participants"].as_array().map(Vec::len) == Some(n) {
            return c;
        }
    }
}

async fn export(server: &TestServer, session: u64, token: &str, query: &str) -> String {
    let auth = format!("Bearer {token}");
    let (status, body) = http_get_with(
        server.addr,
        &format!("/api/sessions/{session}/export?{query}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// The value of `column` in each data row of a CSV with a plain header.
fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap_or_else(|| {
        panic!("no `{name}` column in {header:?}");
    });
    // The steady scenario's texts have no commas or quotes, so a plain split will do.
    lines
        .map(|l| l.split(',').nth(i).unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn exports_flag_captured_figures_that_rest_on_the_reader_alone() {
    let server = TestServer::spawn().await;
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session", "title": "Reader exports"}))
        .await;
    let created = host.expect("session_created").await;
    let code = created["code"].as_str().unwrap().to_string();
    let token = created["host_token"].as_str().unwrap().to_string();
    let session = created["session"].as_u64().unwrap();

    let mut ana = server.join("Ana").await;
    let mut ben = server.join("Ben").await;
    for t in [&mut ana, &mut ben] {
        t.send(json!({"type": "join_session", "code": code})).await;
        t.expect("session_joined").await;
    }
    console_with(&mut host, 2).await;
    host.send(
        json!({"type": "plan_round", "scenario": "steady", "odd": "observe",
                     "timings": {"briefing": 600, "conversation": 600, "recap": 600}}),
    )
    .await;
    host.send(json!({"type": "start_round"})).await;

    let a = ana.expect("room_opened").await;
    let b = ben.expect("room_opened").await;
    let (seller, buyer) = if a["role"] == "seller" {
        (&mut ana, &mut ben)
    } else {
        (&mut ben, &mut ana)
    };
    assert_ne!(a["role"], b["role"], "one seller, one buyer");
    seller.send(json!({"type": "ready"})).await;
    buyer.send(json!({"type": "ready"})).await;
    seller.expect_phase("conversation").await;
    buyer.expect_phase("conversation").await;
    seller.chat("What are you aiming for this year?").await;
    buyer.expect_chat_from("seller").await;
    buyer.send(json!({"type": "reveal", "fact": GOAL})).await;
    buyer.expect("revealed").await;
    seller.send(json!({"type": "end_conversation"})).await;
    seller.expect_phase("recap").await;
    buyer.expect_phase("recap").await;
    // The reader matches this to the goal; nobody has confirmed it yet. (The test
    // scenario's texts are placeholders, so the recap says the goal in its words.)
    seller
        .send(json!({"type": "recap", "text": "SECRET-GOAL-TEXT we want faster tests."}))
        .await;
    buyer.send(json!({"type": "feedback", "heard": 4})).await;
    let debrief = buyer.expect("debrief").await;
    seller.expect("debrief").await;
    let goal = debrief["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == GOAL)
        .unwrap();
    assert_eq!(goal["captured"], true, "{debrief:#}");
    assert_eq!(goal["captured_automatically"], true);

    // Before any verdict: the pair's figure is automatic, in every export.
    let body = export(&server, session, &token, "format=json").await;
    let json: Value = serde_json::from_str(&body).unwrap();
    let pair = &json["rounds"][0]["pairs"][0];
    assert_eq!(pair["captured_automatic"], true);
    let fact = pair["debrief"]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == GOAL)
        .unwrap();
    assert_eq!(fact["captured_automatically"], true);
    // The round's results are exactly what the console has, which says so too.
    assert_eq!(
        json["rounds"][0]["results"]["pairs"][0]["captured_automatic"],
        true
    );

    let participants = export(&server, session, &token, "format=csv").await;
    assert!(participants
        .lines()
        .next()
        .unwrap()
        .ends_with(",asked_anything_else,captured_automatic"));
    assert_eq!(
        column(&participants, "captured_automatic"),
        ["true", "true"]
    );
    let facts = export(&server, session, &token, "format=csv&table=facts").await;
    let ids = column(&facts, "fact");
    let auto = column(&facts, "captured_automatically");
    let goal_row = ids.iter().position(|id| id == GOAL).unwrap();
    assert_eq!(auto[goal_row], "true");
    assert!(column(&facts, "captured_automatic")
        .iter()
        .all(|v| v == "true"));

    // The buyer confirms the match: nothing rests on the reader alone any more.
    buyer
        .send(json!({"type": "judge_capture", "fact": GOAL, "agree": true}))
        .await;
    let judged = buyer.expect("debrief").await;
    assert_eq!(judged["captured"]["automatic"], false);
    let body = export(&server, session, &token, "format=json").await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["rounds"][0]["pairs"][0]["captured_automatic"], false);
    let participants = export(&server, session, &token, "format=csv").await;
    assert_eq!(
        column(&participants, "captured_automatic"),
        ["false", "false"]
    );
    let facts = export(&server, session, &token, "format=csv&table=facts").await;
    assert!(column(&facts, "captured_automatically")
        .iter()
        .all(|v| v == "false"));
}
