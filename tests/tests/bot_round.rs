//! The bot buyer over real websockets: solo practice from hello to debrief, and the offer
//! made to someone left waiting alone.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use uncover::bot::{BotSettings, ReplyDelay};
use uncover::scenario::{FactId, Library, ScenarioId};
use uncover_tests::TestServer;

const SCENARIO: &str = "distributor-inventory";

async fn server(offer_after: Duration) -> TestServer {
    let server = TestServer::spawn().await;
    server.state.hub.set_bot_settings(BotSettings {
        offer_after,
        reply_delay: ReplyDelay::NONE,
        seed: 0,
    });
    server
}

#[tokio::test]
async fn a_trainee_practises_alone_with_the_bot_from_hello_to_debrief() {
    let server = server(Duration::from_secs(600)).await;
    let library = Library::bundled().unwrap();
    let scenario = library.get(&ScenarioId(SCENARIO.into())).unwrap().clone();
    let goal = scenario.fact(&FactId("grow-to-third-site".into())).unwrap();

    let mut sam = server.join("Sam").await;
    sam.send(json!({"type": "practise_with_bot", "scenario": SCENARIO}))
        .await;
    let opened = sam.expect("room_opened").await;
    assert_eq!(opened["role"], "seller");
    assert_eq!(opened["partner"], format!("{} (bot)", scenario.buyer.name));

    sam.send(json!({"type": "ready"})).await;
    sam.expect_phase("conversation").await;
    let opening = sam.expect_chat_from("buyer").await;
    assert_eq!(opening["text"], scenario.opening_line.trim());

    sam.chat("What are you hoping to achieve over the next couple of years?")
        .await;
    let answer = sam.expect_chat_from("buyer").await;
    assert_eq!(answer["text"], goal.bot.line.trim());

    sam.send(json!({"type": "end_conversation"})).await;
    sam.expect_phase("recap").await;
    sam.send(json!({"type": "recap", "text": "He wants a third depot on the coast."}))
        .await;
    let debrief = sam.expect("debrief").await;

    let before_debrief = sam.raw[..sam.raw.len() - 1].join("\n");
    assert!(!before_debrief.contains("\"revealed\""));
    assert!(!before_debrief.contains("trust_curve"));
    for f in &scenario.facts {
        assert!(!before_debrief.contains(f.text.trim()), "{}", f.id);
        if f.id != goal.id {
            assert!(!before_debrief.contains(f.bot.line.trim()), "{}", f.id);
        }
    }

    let curve = debrief["trust_curve"].as_array().unwrap();
    assert_eq!(curve.len(), 2, "the start and one seller line: {curve:?}");
    assert!(curve[1]["trust"].as_u64() > curve[0]["trust"].as_u64());
    let fact = debrief["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == goal.id.0)
        .unwrap();
    assert_eq!(fact["uncovered"], true);
    assert_eq!(fact["earned_by"]["index"], 1);
    assert!(debrief["feedback"]["heard"].as_u64().is_some());
}

#[tokio::test]
async fn a_trainee_left_waiting_is_offered_the_bot_and_takes_it() {
    let server = server(Duration::from_millis(100)).await;
    let mut ana = server.join("Ana").await;
    ana.send(json!({"type": "find_partner"})).await;
    ana.expect("waiting").await;
    ana.expect("bot_available").await;
    ana.send(json!({"type": "accept_bot"})).await;
    let opened = ana.expect("room_opened").await;
    assert_eq!(opened["role"], "seller");
    assert!(opened["partner"].as_str().unwrap().ends_with("(bot)"));
}

#[tokio::test]
async fn taking_the_bot_before_it_is_offered_is_refused() {
    let server = server(Duration::from_secs(600)).await;
    let mut ana = server.join("Ana").await;
    ana.send(json!({"type": "accept_bot"})).await;
    ana.expect_error("wrong_state").await;
    ana.send(json!({"type": "find_partner"})).await;
    ana.expect("waiting").await;
    ana.send(json!({"type": "accept_bot"})).await;
    ana.expect_error("wrong_state").await;
}
