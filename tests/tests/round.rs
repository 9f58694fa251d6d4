//! A whole round over real websockets: pairing, chat relay, reveals, timers, recap,
//! feedback and debrief, plus the rule that the seller never sees the hidden story early.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{json, Value};
use uncover::scenario::{facts_in_dependency_order, Library, Scenario};
use uncover_tests::{body, Client, TestServer};

fn bundled() -> Library {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    Library::load_dir(&dir).expect("bundled scenarios load")
}

#[tokio::test]
async fn two_trainees_play_a_whole_round_and_read_the_same_debrief() {
    let server = TestServer::spawn().await;
    let mut a = server.join("Ana").await;
    let mut b = server.join("Ben").await;
    a.send(json!({"type": "find_partner", "scenario": "quick"}))
        .await;
    assert_eq!(a.expect("waiting").await["scenario"], "quick");
    b.send(json!({"type": "find_partner"})).await;

    let ra = a.expect("room_opened").await;
    let rb = b.expect("room_opened").await;
    assert_eq!(
        ra["scenario"]["id"], "quick",
        "the waiting trainee's choice wins"
    );
    assert_ne!(ra["role"], rb["role"], "one seller, one buyer");
    assert_eq!(ra["partner"], "Ben");
    assert_eq!(rb["partner"], "Ana");
    let (mut seller, mut buyer) = if ra["role"] == "seller" {
        (a, b)
    } else {
        (b, a)
    };

    seller.expect_phase("briefing").await;
    seller.send(json!({"type": "ready"})).await;
    buyer.expect("partner_ready").await;
    buyer.send(json!({"type": "ready"})).await;
    let phase = seller.expect_phase("conversation").await;
    assert!(
        phase["remaining_ms"].as_u64().is_some(),
        "the server owns the clock"
    );

    seller
        .chat("What are you hoping to achieve this year?")
        .await;
    let relayed = buyer.expect("chat").await;
    assert_eq!(relayed["from"], "seller");
    assert_eq!(relayed["text"], "What are you hoping to achieve this year?");
    assert_eq!(relayed["index"], 0);
    buyer
        .send(json!({"type": "reveal", "fact": "quick-goal"}))
        .await;
    let revealed = buyer.expect("revealed").await;
    assert_eq!(revealed["earned_by"], 0, "the seller's question earned it");
    buyer.chat("Faster tests, mostly.").await;
    assert_eq!(
        seller.expect_chat_from("buyer").await["text"],
        "Faster tests, mostly."
    );

    seller.send(json!({"type": "end_conversation"})).await;
    seller.expect_phase("recap").await;
    buyer.expect_phase("recap").await;
    seller
        .send(json!({"type": "recap", "text": "They want their test runs to get much faster."}))
        .await;
    assert_eq!(buyer.expect("partner_submitted").await["role"], "seller");
    buyer
        .send(json!({"type": "feedback", "heard": 4, "comment": "Good questions"}))
        .await;

    let ds = seller.expect("debrief").await;
    let db = buyer.expect("debrief").await;
    assert_eq!(body(&ds), body(&db), "both read the same debrief");
    assert_eq!(
        ds["headline"]["text"],
        "Uncovered 1 of 2 facts, 66% of the story"
    );
    let goal = &ds["facts"][0];
    assert_eq!(goal["id"], "quick-goal");
    assert_eq!(goal["uncovered"], true);
    assert_eq!(
        goal["earned_by"]["text"],
        "What are you hoping to achieve this year?"
    );
    assert_eq!(goal["captured"], true, "the recap mentions faster tests");
    assert_eq!(ds["facts"][1]["uncovered"], false);
    assert_eq!(ds["feedback"]["heard"], 4);
    assert_eq!(ds["transcript"].as_array().map(Vec::len), Some(2));
}

/// The seller asks `question` before each fact, the buyer optionally answers, then marks
/// the fact revealed; facts go in an order their requirements allow.
async fn reveal_everything(
    seller: &mut Client,
    buyer: &mut Client,
    scenario: &Scenario,
    question: &str,
    answer: Option<&str>,
) {
    for fact in facts_in_dependency_order(scenario) {
        seller.chat(question).await;
        buyer.expect("chat").await;
        if let Some(answer) = answer {
            buyer.chat(answer).await;
            seller.expect("chat").await;
        }
        buyer
            .send(json!({"type": "reveal", "fact": fact.id.0}))
            .await;
        buyer.expect("revealed").await;
    }
}

/// The buyer ends the conversation, the seller writes `recap`, the buyer rates `heard`.
async fn finish_round(seller: &mut Client, buyer: &mut Client, recap: &str, heard: u8) {
    buyer.send(json!({"type": "end_conversation"})).await;
    seller.expect_phase("recap").await;
    seller.send(json!({"type": "recap", "text": recap})).await;
    buyer
        .send(json!({"type": "feedback", "heard": heard}))
        .await;
}

#[tokio::test]
async fn every_bundled_scenario_can_be_played_to_a_full_reveal() {
    let server = TestServer::spawn().await;
    for scenario in bundled().all() {
        let (mut seller, mut buyer) = server.conversation(&scenario.id.0).await;
        reveal_everything(&mut seller, &mut buyer, scenario, "Tell me more?", None).await;
        finish_round(&mut seller, &mut buyer, "Everything.", 5).await;
        let d = seller.expect("debrief").await;
        let n = scenario.facts.len();
        assert_eq!(
            d["headline"]["text"],
            format!("Uncovered {n} of {n} facts, 100% of the story"),
            "scenario {}",
            scenario.id
        );
    }
}

/// Everything the seller received before the debrief, as raw frames.
fn frames_before_debrief(raw: &[String]) -> &[String] {
    let end = raw
        .iter()
        .position(|f| f.contains("\"type\":\"debrief\""))
        .unwrap_or(raw.len());
    &raw[..end]
}

#[tokio::test]
async fn seller_never_sees_hidden_facts() {
    let server = TestServer::spawn().await;
    for scenario in bundled().all() {
        let (mut seller, mut buyer) = server.conversation(&scenario.id.0).await;
        // The seller probes for hidden facts by every route it has.
        for fact in &scenario.facts {
            seller
                .send(json!({"type": "reveal", "fact": fact.id.0}))
                .await;
            let err = seller.expect_error("wrong_role").await;
            assert!(!err.to_string().contains(&fact.id.0));
            seller
                .send(json!({"type": "unreveal", "fact": fact.id.0}))
                .await;
            seller.expect_error("wrong_role").await;
        }
        seller
            .send(json!({"type": "judge_capture", "fact": "anything", "agree": true}))
            .await;
        seller.expect_error("wrong_role").await;
        reveal_everything(
            &mut seller,
            &mut buyer,
            scenario,
            "What else should I understand?",
            Some("Let me think about that."),
        )
        .await;
        finish_round(&mut seller, &mut buyer, "I learned a lot.", 3).await;
        seller.expect("debrief").await;

        let before = frames_before_debrief(&seller.raw);
        assert!(!before.is_empty());
        for fact in &scenario.facts {
            for frame in before {
                assert!(
                    !frame.contains(&fact.text),
                    "seller saw the text of `{}` before the debrief: {frame}",
                    fact.id
                );
                assert!(
                    !frame.contains(&format!("\"{}\"", fact.id.0)),
                    "seller saw the id `{}` before the debrief: {frame}",
                    fact.id
                );
                assert!(!frame.contains(&fact.earned_when));
                assert!(!frame.contains(&fact.bot.line));
            }
        }
        assert!(
            !before.iter().any(|f| f.contains(&scenario.buyer.brief)),
            "seller saw the buyer's brief"
        );
        // The debrief itself does show the story: the check above could fail.
        let debrief = seller.raw.last().expect("debrief frame");
        assert!(debrief.contains(&scenario.facts[0].text));
    }
}

#[tokio::test]
async fn timers_carry_an_idle_round_through_to_the_debrief() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.pair("quick").await;
    // Nobody presses anything: each one-second phase runs out on the server's clock.
    let briefing = seller.expect_phase("briefing").await;
    assert!(briefing["remaining_ms"]
        .as_u64()
        .is_some_and(|ms| ms <= 1000));
    seller.expect_phase("conversation").await;
    seller.expect_phase("recap").await;
    seller.expect_phase("debrief").await;
    let d = seller.expect("debrief").await;
    assert_eq!(
        d["headline"]["text"],
        "Uncovered 0 of 2 facts, 0% of the story"
    );
    assert_eq!(d["recap"], Value::Null);
    assert_eq!(d["captured"]["text"], "No recap was written");
    buyer.expect("debrief").await;
}

#[tokio::test]
async fn the_buyer_can_dispute_a_recap_match_and_both_see_the_new_figure() {
    let server = TestServer::spawn().await;
    let (mut seller, mut buyer) = server.conversation("steady").await;
    buyer.send(json!({"type": "end_conversation"})).await;
    seller.expect_phase("recap").await;
    seller
        .send(json!({"type": "recap", "text": "They want their test runs to get much faster. Their test suite fails at random and is flaky."}))
        .await;
    buyer.send(json!({"type": "feedback", "heard": 2})).await;
    let d = buyer.expect("debrief").await;
    assert_eq!(d["captured"]["percent"], 100);
    assert_eq!(body(&seller.expect("debrief").await), body(&d));
    buyer
        .send(json!({"type": "judge_capture", "fact": "steady-pain", "agree": false}))
        .await;
    let d2 = seller.expect("debrief").await;
    assert_eq!(d2["captured"]["percent"], 66);
    assert_eq!(d2["facts"][1]["buyer_judgement"], false);
    assert_eq!(body(&buyer.expect("debrief").await), body(&d2));
}

#[tokio::test]
async fn a_partner_who_disconnects_is_held_then_released_and_the_round_can_finish() {
    let server = TestServer::spawn_with_options(|o| o.hub.grace = Duration::from_millis(300)).await;
    let (mut seller, buyer) = server.conversation("steady").await;
    buyer.close().await;
    let away = seller.expect("partner_away").await;
    assert!(away["grace_ms"].as_u64().is_some_and(|ms| ms <= 300));
    // Nobody came back within the grace window: the seat is released.
    seller.expect("partner_left").await;
    seller.send(json!({"type": "end_conversation"})).await;
    seller.expect_phase("recap").await;
    seller
        .send(json!({"type": "recap", "text": "Not much."}))
        .await;
    let d = seller.expect("debrief").await;
    assert_eq!(d["feedback"], Value::Null);
}

#[tokio::test]
async fn buyer_cannot_reveal_a_layered_fact_before_what_it_requires() {
    let server = TestServer::spawn().await;
    let (_seller, mut buyer) = server.conversation("steady").await;
    buyer
        .send(json!({"type": "reveal", "fact": "steady-pain"}))
        .await;
    let err = buyer.expect_error("wrong_state").await;
    assert!(err["message"].as_str().unwrap().contains("steady-goal"));
    buyer
        .send(json!({"type": "reveal", "fact": "steady-goal"}))
        .await;
    buyer.expect("revealed").await;
    buyer
        .send(json!({"type": "reveal", "fact": "steady-pain"}))
        .await;
    buyer.expect("revealed").await;
    // Undoing the base fact would orphan the layered one.
    buyer
        .send(json!({"type": "unreveal", "fact": "steady-goal"}))
        .await;
    buyer.expect_error("wrong_state").await;
    buyer
        .send(json!({"type": "unreveal", "fact": "steady-pain"}))
        .await;
    assert_eq!(buyer.expect("unrevealed").await["fact"], "steady-pain");
}
