//! A facilitated workshop over real websockets: a trainer and nine trainees run two
//! rounds; pairing, controls, broadcast, the room debrief and the exports are checked,
//! and so is what a trainee may and may not do or see.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use uncover_tests::{http_get_with, Client, TestServer};

struct Workshop {
    host: Client,
    session: u64,
    code: String,
    token: String,
    /// Trainee names, in the order of `trainees`.
    roster: Vec<String>,
    trainees: Vec<Client>,
    /// Trainee name by participant id.
    names: HashMap<u64, String>,
}

const NAMES: [&str; 9] = ["Ana", "Ben", "Cy", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida"];

async fn workshop(server: &TestServer) -> Workshop {
    let names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    workshop_of(server, names).await
}

async fn workshop_of(server: &TestServer, roster: Vec<String>) -> Workshop {
    let mut host = server.join("Trainer").await;
    host.send(json!({"type": "create_session", "title": "Discovery basics"}))
        .await;
    let created = host.expect("session_created").await;
    let code = created["code"].as_str().unwrap().to_string();
    let token = created["host_token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32, "a 128-bit token in hex");
    assert_eq!(created["host_path"], format!("/host#{token}"));
    let mut trainees = Vec::new();
    for name in &roster {
        let mut t = server.join(name).await;
        t.send(json!({"type": "join_session", "code": code.to_lowercase()}))
            .await;
        let joined = t.expect("session_joined").await;
        assert_eq!(joined["title"], "Discovery basics");
        trainees.push(t);
    }
    let console = latest_console(&mut host, roster.len()).await;
    let names = console["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_u64().unwrap(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Workshop {
        host,
        session: created["session"].as_u64().unwrap(),
        code,
        token,
        roster,
        trainees,
        names,
    }
}

/// Reads console updates until one shows `n` participants.
async fn latest_console(host: &mut Client, n: usize) -> Value {
    loop {
        let c = host.expect("console").await;
        if c["participants"].as_array().map(Vec::len) == Some(n) {
            return c;
        }
    }
}

/// Reads console updates until one carries a plan.
async fn planned(host: &mut Client) -> Value {
    loop {
        let c = host.expect("console").await;
        if !c["plan"].is_null() {
            return c["plan"].clone();
        }
    }
}

fn trainee(w: &mut Workshop, id: u64) -> &mut Client {
    let name = &w.names[&id];
    let i = w.roster.iter().position(|n| n == name).unwrap();
    &mut w.trainees[i]
}

/// Plays one round on the `steady` scenario: every seller asks one goal question, every
/// buyer reveals the goal, then the trainer ends the conversation for all and each pair
/// submits recap and feedback. Returns the plan's pairs.
async fn play_round(w: &mut Workshop, odd: &str) -> Vec<Value> {
    w.host
        .send(
            json!({"type": "plan_round", "scenario": "steady", "odd": odd,
                     "timings": {"briefing": 600, "conversation": 600, "recap": 600}}),
        )
        .await;
    let plan = planned(&mut w.host).await;
    let pairs: Vec<Value> = plan["pairs"].as_array().unwrap().clone();
    w.host.send(json!({"type": "start_round"})).await;

    let mut rooms = HashSet::new();
    for p in &pairs {
        let seller = p["seller"].as_u64().unwrap();
        let opened = trainee(w, seller).expect("room_opened").await;
        assert_eq!(opened["role"], "seller");
        rooms.insert(opened["room"].as_u64().unwrap());
        if let Some(buyer) = p["buyer"].as_u64() {
            let o = trainee(w, buyer).expect("room_opened").await;
            assert_eq!(o["role"], "buyer");
            assert_eq!(o["room"], opened["room"]);
        }
        for o in p["observers"].as_array().unwrap() {
            let seen = trainee(w, o.as_u64().unwrap()).expect("observing").await;
            assert_eq!(seen["room"], opened["room"]);
            assert!(seen["checklist"].is_array());
        }
    }
    assert_eq!(rooms.len(), pairs.len(), "one room per pair");

    for p in &pairs {
        let seller = p["seller"].as_u64().unwrap();
        let Some(buyer) = p["buyer"].as_u64() else {
            // The bot buyer is ready at once and answers in character.
            let t = trainee(w, seller);
            t.send(json!({"type": "ready"})).await;
            t.expect_phase("conversation").await;
            t.chat("What are you hoping to achieve this year?").await;
            t.expect_chat_from("buyer").await;
            continue;
        };
        trainee(w, seller).send(json!({"type": "ready"})).await;
        trainee(w, buyer).send(json!({"type": "ready"})).await;
        trainee(w, seller).expect_phase("conversation").await;
        trainee(w, buyer).expect_phase("conversation").await;
        let question = format!("What are you aiming for, {}?", w.names[&buyer]);
        trainee(w, seller).chat(&question).await;
        trainee(w, buyer).expect_chat_from("seller").await;
        trainee(w, buyer)
            .send(json!({"type": "reveal", "fact": "steady-goal"}))
            .await;
        trainee(w, buyer).expect("revealed").await;
        for o in p["observers"].as_array().unwrap() {
            let line = trainee(w, o.as_u64().unwrap()).expect("chat").await;
            assert!(line["text"]
                .as_str()
                .unwrap()
                .starts_with("What are you aiming for"));
        }
    }

    // End the conversation for every pair at once.
    w.host.send(json!({"type": "end_phase"})).await;
    for p in &pairs {
        let seller = p["seller"].as_u64().unwrap();
        let Some(buyer) = p["buyer"].as_u64() else {
            continue;
        };
        trainee(w, seller).expect_phase("recap").await;
        trainee(w, buyer).expect_phase("recap").await;
        trainee(w, seller)
            .send(json!({"type": "recap", "text": "They want their test runs to get much faster."}))
            .await;
        trainee(w, buyer)
            .send(json!({"type": "feedback", "heard": 4}))
            .await;
        trainee(w, seller).expect("debrief").await;
        trainee(w, buyer).expect("debrief").await;
    }
    pairs
}

/// Reads round results until every pair of `round` has finished.
async fn finished_results(host: &mut Client, round: u64) -> Value {
    loop {
        let r = host.expect("round_results").await;
        if r["round"] == round && r["pairs_playing"] == 0 {
            return r;
        }
    }
}

#[tokio::test]
async fn a_trainer_runs_two_rounds_for_nine_trainees() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;

    // Round one: four pairs and one observer.
    let first = play_round(&mut w, "observe").await;
    assert_eq!(first.len(), 4);
    assert_eq!(
        first
            .iter()
            .map(|p| p["observers"].as_array().unwrap().len())
            .sum::<usize>(),
        1
    );
    let results1 = finished_results(&mut w.host, 1).await;
    assert_eq!(results1["pairs"].as_array().unwrap().len(), 4);
    for p in results1["pairs"].as_array().unwrap() {
        assert_eq!(p["uncovered_percent"], 66, "goal revealed: 2 of 3 weight");
        assert_eq!(p["captured_percent"], 66);
        // The buyer rated the round but judged no recap fact: the console must say the
        // captured figure was matched automatically.
        assert_eq!(p["captured_automatic"], true);
        assert_eq!(p["heard"], 4);
        assert_eq!(p["questions"], 1);
    }
    let facts = results1["facts"].as_array().unwrap();
    assert_eq!(
        facts[0]["id"], "steady-pain",
        "the most-missed fact comes first"
    );
    assert_eq!(facts[0]["uncovered_by"], 0);
    assert_eq!(facts[1]["uncovered_by"], 4);
    assert_eq!(results1["average_uncovered"], 66);

    // Round two: roles swap and nobody meets the same partner again.
    let second = play_round(&mut w, "observe").await;
    let sold_first: HashSet<u64> = first
        .iter()
        .map(|p| p["seller"].as_u64().unwrap())
        .collect();
    let bought_first: HashSet<u64> = first.iter().filter_map(|p| p["buyer"].as_u64()).collect();
    let met: HashSet<(u64, u64)> = first
        .iter()
        .filter_map(|p| {
            let (a, b) = (p["seller"].as_u64()?, p["buyer"].as_u64()?);
            Some((a.min(b), a.max(b)))
        })
        .collect();
    for p in &second {
        let s = p["seller"].as_u64().unwrap();
        let b = p["buyer"].as_u64().unwrap();
        assert!(
            !met.contains(&(s.min(b), s.max(b))),
            "a repeat pair in round two"
        );
        assert!(
            !sold_first.contains(&s),
            "{} sold twice in a row",
            w.names[&s]
        );
        assert!(
            !bought_first.contains(&b),
            "{} bought twice in a row",
            w.names[&b]
        );
    }
    let results2 = finished_results(&mut w.host, 2).await;
    assert_eq!(results2["previous_average_uncovered"], 66);

    // The exports hold the same figures as the room debrief.
    let auth = format!("Bearer {}", w.token);
    let (status, body) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=json", w.session),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200);
    let export: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(export["rounds"].as_array().unwrap().len(), 2);
    assert_eq!(export["rounds"][0]["results"]["pairs"], results1["pairs"]);
    assert_eq!(export["rounds"][1]["results"]["facts"], results2["facts"]);

    let (status, csv) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=csv", w.session),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("round,room,scenario,participant_id,name,role"));
    // Nine people a round: four sellers, four buyers and one observer, in two rounds.
    assert_eq!(rows.len(), 1 + 18);
    let sellers = rows.iter().filter(|r| r.contains(",seller,")).count();
    assert_eq!(sellers, 8);
    assert!(rows.iter().filter(|r| r.contains(",observer,")).count() == 2);
    for r in rows.iter().skip(1) {
        assert!(r.contains(",66,1,2,66,4,"), "pair figures in row: {r}");
    }

    let (status, facts_csv) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=csv&table=facts", w.session),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(status, 200);
    // Two facts for each of four pairs in each of two rounds.
    assert_eq!(facts_csv.lines().count(), 1 + 16);
    assert_eq!(
        facts_csv
            .lines()
            .filter(|l| l.contains(",steady-goal,") && l.contains(",true,"))
            .count(),
        8
    );

    // Without the token, nothing.
    let (status, _) = server
        .get(&format!("/api/sessions/{}/export?format=json", w.session))
        .await;
    assert_eq!(status, 401);
    let (status, _) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=csv", w.session),
        &[("Authorization", "Bearer 00000000000000000000000000000000")],
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn broadcast_reaches_everyone_and_end_all_ends_every_pair() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;
    w.host
        .send(json!({"type": "broadcast", "text": "Five minutes left, then we swap."}))
        .await;
    for t in &mut w.trainees {
        assert_eq!(
            t.expect("broadcast").await["text"],
            "Five minutes left, then we swap."
        );
    }
    w.host
        .send(json!({"type": "plan_round", "scenario": "steady", "odd": "observe"}))
        .await;
    let plan = planned(&mut w.host).await;
    assert_eq!(
        plan["timings"]["conversation"], 600,
        "ten minutes by default"
    );
    w.host.send(json!({"type": "start_round"})).await;
    // Pause all, extend all, then end the briefing for everyone from the console.
    w.host.send(json!({"type": "pause"})).await;
    w.host.send(json!({"type": "extend", "seconds": 60})).await;
    w.host.send(json!({"type": "end_phase"})).await;
    for t in &mut w.trainees {
        let seen = [
            t.expect("phase").await,
            t.expect("phase").await,
            t.expect("phase").await,
            t.expect("phase").await,
        ];
        let summary: Vec<(String, bool, u64)> = seen
            .iter()
            .map(|p| {
                (
                    p["phase"].as_str().unwrap().to_string(),
                    p["paused"].as_bool().unwrap(),
                    p["remaining_ms"].as_u64().unwrap() / 1000,
                )
            })
            .collect();
        // Briefing starts, pauses, gains a minute while paused, then the trainer ends it.
        assert_eq!(summary[0].0, "briefing");
        assert!(!summary[0].1);
        assert_eq!((summary[1].0.as_str(), summary[1].1), ("briefing", true));
        assert_eq!((summary[2].0.as_str(), summary[2].1), ("briefing", true));
        assert_eq!(summary[2].2, summary[1].2 + 60, "extended by a minute");
        assert_eq!(
            (summary[3].0.as_str(), summary[3].1),
            ("conversation", false)
        );
    }
}

#[tokio::test]
async fn trainees_cannot_act_as_host_or_see_other_pairs() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;
    let t = &mut w.trainees[0];
    for msg in [
        json!({"type": "plan_round"}),
        json!({"type": "start_round"}),
        json!({"type": "end_phase"}),
        json!({"type": "pause"}),
        json!({"type": "broadcast", "text": "I am the trainer now"}),
        json!({"type": "remove", "participant": 1}),
        json!({"type": "rename", "participant": 1, "name": "X"}),
    ] {
        t.send(msg).await;
        t.expect_error("wrong_role").await;
    }
    let stolen = json!({"type": "host_session", "token": "not-the-token"});
    t.send(stolen).await;
    t.expect_error("wrong_state").await;

    w.host
        .send(json!({"type": "plan_round", "scenario": "steady", "odd": "observe"}))
        .await;
    let plan = planned(&mut w.host).await;
    w.host.send(json!({"type": "start_round"})).await;
    let pairs = plan["pairs"].as_array().unwrap().clone();
    let (s1, b1) = (
        pairs[0]["seller"].as_u64().unwrap(),
        pairs[0]["buyer"].as_u64().unwrap(),
    );
    let s2 = pairs[1]["seller"].as_u64().unwrap();
    for id in [s1, b1] {
        trainee(&mut w, id).expect("room_opened").await;
        trainee(&mut w, id).send(json!({"type": "ready"})).await;
    }
    trainee(&mut w, s1).expect_phase("conversation").await;
    trainee(&mut w, s1).chat("PRIVATE-LINE-OF-PAIR-ONE").await;
    trainee(&mut w, b1).expect_chat_from("seller").await;
    w.host.send(json!({"type": "end_phase"})).await;
    w.host.send(json!({"type": "end_phase"})).await;
    w.host.send(json!({"type": "end_phase"})).await;
    trainee(&mut w, s2).expect_phase("debrief").await;
    let other = trainee(&mut w, s2).expect("debrief").await;
    let raw = trainee(&mut w, s2).raw.join("\n");
    assert!(
        !raw.contains("PRIVATE-LINE-OF-PAIR-ONE"),
        "another pair's chat leaked"
    );
    assert!(
        !raw[..raw.find("\"type\":\"debrief\"").unwrap()].contains("SECRET"),
        "hidden facts before the debrief"
    );
    assert!(
        other.to_string().contains("SECRET"),
        "the debrief does show the story"
    );
}

#[tokio::test]
async fn names_are_unique_and_the_trainer_can_rename_and_remove() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;
    let mut dup = server.join("ana").await;
    dup.send(json!({"type": "join_session", "code": w.code}))
        .await;
    let e = dup.expect_error("invalid_input").await;
    assert!(e["message"].as_str().unwrap().contains("already"));

    let ben = *w.names.iter().find(|(_, n)| *n == "Ben").unwrap().0;
    w.host
        .send(json!({"type": "rename", "participant": ben, "name": "Benedict"}))
        .await;
    assert_eq!(w.trainees[1].expect("renamed").await["name"], "Benedict");
    w.host
        .send(json!({"type": "rename", "participant": ben, "name": "Ana"}))
        .await;
    w.host.expect_error("invalid_input").await;
    w.host
        .send(json!({"type": "remove", "participant": ben}))
        .await;
    w.trainees[1].expect("removed").await;
    let c = latest_console(&mut w.host, 8).await;
    assert!(!c.to_string().contains("Benedict"));

    let mut nobody = server.join("Zed").await;
    nobody
        .send(json!({"type": "join_session", "code": "QQQQQQ"}))
        .await;
    nobody.expect_error("not_found").await;
}

#[tokio::test]
async fn a_second_console_takes_the_host_seat_with_the_token() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;
    let mut laptop = server.join("Trainer").await;
    laptop
        .send(json!({"type": "host_session", "token": w.token}))
        .await;
    let console = laptop.expect("console").await;
    assert_eq!(console["code"], w.code);
    assert_eq!(console["participants"].as_array().unwrap().len(), 9);
    laptop
        .send(json!({"type": "broadcast", "text": "From the laptop"}))
        .await;
    assert_eq!(
        w.trainees[0].expect("broadcast").await["text"],
        "From the laptop"
    );
}

#[tokio::test]
async fn twenty_one_people_two_rounds_and_the_room_debrief_matches_the_exports() {
    let server = TestServer::spawn().await;
    server
        .state
        .hub
        .set_bot_settings(uncover::bot::BotSettings {
            reply_delay: uncover::bot::ReplyDelay::NONE,
            ..Default::default()
        });
    let roster: Vec<String> = (1..=21).map(|i| format!("Trainee {i:02}")).collect();
    let mut w = workshop_of(&server, roster).await;
    let mut results = Vec::new();
    for round in 1..=2u64 {
        let pairs = play_round(&mut w, "bot").await;
        assert_eq!(pairs.len(), 11, "ten pairs and the odd one with the bot");
        assert_eq!(pairs.iter().filter(|p| p["buyer"].is_null()).count(), 1);
        // The bot pair finishes by itself once its seller ends the conversation.
        let bot_seller = pairs
            .iter()
            .find(|p| p["buyer"].is_null())
            .and_then(|p| p["seller"].as_u64())
            .unwrap();
        let t = trainee(&mut w, bot_seller);
        t.expect_phase("recap").await;
        t.send(json!({"type": "recap", "text": "Faster tests."}))
            .await;
        t.expect("debrief").await;
        results.push(finished_results(&mut w.host, round).await);
    }
    let auth = format!("Bearer {}", w.token);
    let (_, body) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=json", w.session),
        &[("Authorization", &auth)],
    )
    .await;
    let export: Value = serde_json::from_str(&body).unwrap();
    for (i, r) in results.iter().enumerate() {
        // The live message is the results plus its envelope (`type`, `seq`).
        let mut live = r.clone();
        if let Some(o) = live.as_object_mut() {
            o.remove("type");
            o.remove("seq");
        }
        assert_eq!(
            export["rounds"][i]["results"],
            live,
            "round {} matches",
            i + 1
        );
    }
    let (_, csv) = http_get_with(
        server.addr,
        &format!("/api/sessions/{}/export?format=csv", w.session),
        &[("Authorization", &auth)],
    )
    .await;
    // 21 people a round, two rounds: every participant has a row per round.
    assert_eq!(csv.lines().count(), 1 + 42);
    for r in &results {
        for p in r["pairs"].as_array().unwrap() {
            let row = format!(
                ",{},{},{},{},",
                p["uncovered_percent"],
                p["facts_uncovered"],
                p["facts_total"],
                p["captured_percent"]
            );
            let seller_row = csv
                .lines()
                .find(|l| {
                    l.starts_with(&format!("{},{},", r["round"], p["room"]))
                        && l.contains(",seller,")
                })
                .unwrap();
            assert!(seller_row.contains(&row), "{seller_row} has {row}");
        }
    }
}

#[tokio::test]
async fn a_round_is_over_for_the_trainer_once_the_phones_show_its_debriefs() {
    let server = TestServer::spawn().await;
    let mut w = workshop(&server).await;
    play_round(&mut w, "observe").await;
    // The phones' debriefs are the cue: the next plan is taken without waiting for the
    // console's results.
    w.host
        .send(json!({"type": "plan_round", "scenario": "steady", "odd": "observe"}))
        .await;
    loop {
        let v = w.host.next().await.expect("the console stays open");
        assert_ne!(v["type"], "error", "the next plan was refused: {v}");
        if v["type"] == "console" && v["plan"]["round"] == 2 {
            break;
        }
    }
}
