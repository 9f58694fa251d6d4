//! Drafts: what the seller typed as a recap and the rating the buyer chose count when the
//! recap phase ends by time or by the trainer, and survive a restart on the way.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use uncover_tests::TestServer;

#[tokio::test]
async fn the_last_drafts_count_when_the_recap_phase_runs_out() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.conversation("quick").await;
    seller.expect_phase("recap").await;
    buyer.expect_phase("recap").await;
    seller
        .send(json!({"type": "recap_draft", "text": "They want a third"}))
        .await;
    seller
        .send(json!({"type": "recap_draft", "text": "They want a third depot"}))
        .await;
    buyer
        .send(json!({"type": "feedback_draft", "heard": 2}))
        .await;
    buyer
        .send(json!({"type": "feedback_draft", "heard": 4, "comment": "Mostly heard"}))
        .await;
    let debrief = seller.expect("debrief").await;
    assert_eq!(debrief["recap"], "They want a third depot");
    assert_eq!(debrief["feedback"]["heard"], 4);
    assert_eq!(debrief["feedback"]["comment"], "Mostly heard");
    assert!(
        !seller.seen.iter().any(|v| v["type"] == "error"),
        "drafts are accepted silently: {:?}",
        seller.seen
    );
}

#[tokio::test]
async fn drafts_are_refused_outside_the_recap_phase_and_for_the_wrong_role() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    seller
        .send(json!({"type": "recap_draft", "text": "too early"}))
        .await;
    seller.expect_error("wrong_phase").await;
    buyer
        .send(json!({"type": "recap_draft", "text": "not mine"}))
        .await;
    buyer.expect_error("wrong_role").await;
    seller
        .send(json!({"type": "feedback_draft", "heard": 3}))
        .await;
    seller.expect_error("wrong_role").await;
}

#[tokio::test]
async fn the_trainer_ending_the_recap_phase_keeps_the_drafts() {
    let server = TestServer::spawn().await;
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session"})).await;
    let code = host.expect("session_created").await["code"].clone();
    let mut people = Vec::new();
    for name in ["Ana", "Ben"] {
        let mut t = server.join(name).await;
        t.send(json!({"type": "join_session", "code": code})).await;
        t.expect("session_joined").await;
        people.push(t);
    }
    host.send(json!({"type": "plan_round", "scenario": "steady"}))
        .await;
    while host.expect("console").await["plan"].is_null() {}
    host.send(json!({"type": "start_round"})).await;
    let mut roles = Vec::new();
    for t in &mut people {
        roles.push(t.expect("room_opened").await["role"].clone());
    }
    for _ in 0..2 {
        host.send(json!({"type": "end_phase"})).await;
    }
    for t in &mut people {
        t.expect_phase("recap").await;
    }
    let (seller, buyer) = if roles[0] == "seller" {
        let (a, b) = people.split_at_mut(1);
        (&mut a[0], &mut b[0])
    } else {
        let (a, b) = people.split_at_mut(1);
        (&mut b[0], &mut a[0])
    };
    seller
        .send(json!({"type": "recap_draft", "text": "Drafted: son decides"}))
        .await;
    buyer
        .send(json!({"type": "feedback_draft", "heard": 5}))
        .await;
    // A round trip, so both drafts are in before the trainer ends the phase.
    seller.send(json!({"type": "notes", "text": "n"})).await;
    seller.expect("notes_saved").await;
    buyer.send(json!({"type": "notes", "text": "n"})).await;
    buyer.expect("notes_saved").await;
    host.send(json!({"type": "end_phase"})).await;
    let debrief = seller.expect("debrief").await;
    assert_eq!(debrief["recap"], "Drafted: son decides");
    assert_eq!(debrief["feedback"]["heard"], 5);
}
