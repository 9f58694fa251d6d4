//! The fault runs: the real binary under load, stopped with SIGKILL or SIGTERM at five
//! moments picked from the clock, started again on the same file each time. The moments
//! are the ones the issue names: pairs going from the briefing into the conversation
//! while others chat, a workshop's `start_round` (within 100 ms), and the recap with
//! drafts being typed and some recaps sent. After each restart every client reconnects
//! with its `last_seq` and must get back every acknowledged line (its own and its
//! partner's) once, at its index, in order, be back in the right phase of the right
//! room within 2 s, with its remaining time within 1 s. Each run prints its figures
//! (`cargo test -p uncover-tests --test kill_under_load -- --nocapture`).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uncover_tests::fault::{
    act_until_stopped, come_back, drain, join_workshop, link_pair, moment_ms, source, Back,
    DataDir, Figures, Script, Seat, Stop, Told, Trainer, MOMENTS,
};
use uncover_tests::{free_addr, Heard, ServerProcess};

/// Pairs in every run: the "at least 50".
const PAIRS: usize = 50;

/// The bundled scenario's conversation, as pair-link rooms run it.
const CONVERSATION_MS: i64 = 600_000;

/// Workshop rounds run with phases long enough that no timer ends one during a run.
const WORKSHOP_PHASE_MS: i64 = 600_000;

/// One run at a time: each drives a hundred clients and a server on two cores, and the
/// figures they check (2 s back, 1 s of clock) are about the server, not the neighbours.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pairs_killed_while_going_into_the_conversation_lose_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    into_the_conversation(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_pairs_stopped_with_sigterm_while_going_into_the_conversation_lose_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    into_the_conversation(Stop::Term).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_of_a_hundred_killed_at_round_start_and_in_the_recap_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    workshop_rounds(Stop::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_of_a_hundred_stopped_with_sigterm_at_round_start_and_in_the_recap_loses_nothing(
) {
    let _one = ONE_AT_A_TIME.lock().await;
    workshop_rounds(Stop::Term).await;
}

/// Five times: fifty new pairs say they are ready one after another over a second, and
/// chat once their conversation begins; the server is stopped somewhere in that second,
/// so some pairs are still in the briefing, some between the two phases, some chatting.
/// The first life runs the single-threaded scheduler (what one core gets).
async fn into_the_conversation(stop: Stop) {
    let run = format!(
        "into the conversation, {} pairs, kill {}",
        PAIRS,
        stop.signal()
    );
    let dir = DataDir::new(&format!("into-conversation{}", stop.signal()));
    let addr = free_addr();
    let mut server = ServerProcess::start_with(&dir.events(), addr, &["--threads", "1"]);
    let mut figures = Figures::default();
    for moment in 0..MOMENTS {
        let mut seats = Vec::new();
        for p in 0..PAIRS {
            let n = moment * PAIRS + p;
            let names = [format!("A{n}"), format!("B{n}")];
            let (a, b) = link_pair(addr, source(2 * p), [&names[0], &names[1]]).await;
            seats.push(Seat::new(a, format!("m{moment} pair {p} a"), 2 * p));
            seats.push(Seat::new(b, format!("m{moment} pair {p} b"), 2 * p + 1));
        }
        // Readies spread over a second, pair by pair; the stop lands inside it.
        let tasks: Vec<_> = seats
            .into_iter()
            .map(|s| {
                let after = Duration::from_millis((s.index / 2) as u64 * 1_000 / PAIRS as u64);
                tokio::spawn(act_until_stopped(s, Script::ReadyThenChat(after)))
            })
            .collect();
        let at = moment_ms(200, 1_200);
        tokio::time::sleep(Duration::from_millis(at)).await;
        figures.moments.push(format!("{at} ms"));
        let stopped_at = server.stop(stop);
        let mut seats = Vec::new();
        for t in tasks {
            seats.push(t.await.unwrap());
        }
        server = ServerProcess::start(&dir.events(), addr);
        let up_at = Instant::now();
        let backs = bring_back(addr, &seats, &mut figures, None).await;
        for (i, (seat, back)) in seats.iter().zip(&backs).enumerate() {
            let partner = &seats[i ^ 1];
            let phase = back.phase_name();
            let told = seat.told.as_ref().expect("a phase before the stop");
            if told.phase == "conversation" {
                assert_eq!(
                    phase, "conversation",
                    "{}: the phase it saw stays",
                    seat.who
                );
            } else {
                assert!(
                    phase == "briefing" || phase == "conversation",
                    "{}: {phase}",
                    seat.who
                );
            }
            assert_eq!(
                phase,
                backs[i ^ 1].phase_name(),
                "{}: both sides of a room are in the same phase",
                seat.who
            );
            let got = back.phase().and_then(|p| p["remaining_ms"].as_i64());
            if phase == told.phase {
                figures.clock(
                    &seat.who,
                    got,
                    told.expected_ms(stopped_at, up_at, back.asked_at),
                );
            } else {
                // It began between this pair's ready and the stop, unseen.
                let since = back.asked_at.duration_since(up_at).as_millis() as i64;
                let ready = stopped_at.saturating_duration_since(seat.ready_at.unwrap());
                let latest = CONVERSATION_MS - since;
                let earliest = latest - ready.as_millis() as i64;
                figures.clock_between(&seat.who, got, earliest, latest);
            }
            assert_same_room(seat, back);
            figures.transcript(&back.view, seat.acked.iter().chain(&partner.acked));
        }
        let briefing = backs
            .iter()
            .filter(|b| b.phase_name() == "briefing")
            .count();
        let moment = figures.moments.last_mut().unwrap();
        moment.push_str(&format!(
            ", {briefing} of {} back in the briefing",
            backs.len()
        ));
    }
    figures.assert_targets(&run);
    assert!(
        figures.checked > PAIRS * 2,
        "{run}: enough lines were acknowledged"
    );
}

/// Reconnects every seat in turn and adds up how long each took. A trainer's console is
/// read between seats: each seat coming back changes what it shows, and a console that
/// stops reading is cut off once 256 frames wait for it.
async fn bring_back(
    addr: SocketAddr,
    seats: &[Seat],
    figures: &mut Figures,
    mut trainer: Option<&mut Trainer>,
) -> Vec<Back> {
    let mut backs = Vec::new();
    for seat in seats {
        if let Some(t) = trainer.as_deref_mut() {
            t.catch_up().await;
        }
        let back = come_back(
            addr,
            source(seat.index),
            &seat.token,
            seat.client.last_seq(),
            &seat.who,
        )
        .await;
        figures.back(&back.who, back.took);
        backs.push(back);
    }
    backs
}

/// The rebuilt view opens the same room, in the same role, with the same partner.
fn assert_same_room(seat: &Seat, back: &Back) {
    let before = seat
        .client
        .seen
        .iter()
        .rev()
        .find(|v| v["type"] == "room_opened");
    let after = back.last("room_opened");
    let key =
        |v: Option<&Value>| v.map(|v| (v["room"].clone(), v["role"].clone(), v["partner"].clone()));
    assert_eq!(key(before), key(after), "{}: the same room", seat.who);
}

/// A workshop of a hundred trainees, five rounds: each is stopped within 100 ms of its
/// `start_round`, then, once in the recap, while sellers type drafts and buyers pick
/// ratings and a quarter of the pairs send theirs.
async fn workshop_rounds(stop: Stop) {
    let run = format!("workshop of {} trainees, kill {}", PAIRS * 2, stop.signal());
    let dir = DataDir::new(&format!("workshop-rounds{}", stop.signal()));
    let addr = free_addr();
    let mut server = ServerProcess::start(&dir.events(), addr);
    let mut trainer = Trainer::open(addr, "Fault run").await;
    let mut seats = Vec::new();
    for i in 0..PAIRS * 2 {
        let t = join_workshop(addr, source(i), &format!("T{i}"), &trainer.code).await;
        seats.push(Seat::new(t, format!("trainee {i}"), i));
    }
    let mut at_start = Figures::default();
    let mut in_recap = Figures::default();
    for moment in 0..MOMENTS {
        // Round start.
        let timings = json!({"briefing": 600, "conversation": 600, "recap": 600});
        trainer.plan(timings).await;
        let rooms_before: Vec<Option<u64>> = seats.iter().map(Seat::room).collect();
        trainer.send(json!({"type": "start_round"})).await;
        let sent_at = Instant::now();
        let at = moment_ms(0, 100);
        tokio::time::sleep(Duration::from_millis(at)).await;
        let stopped_at = server.stop(stop);
        drain(seats.iter_mut().map(|s| &mut s.client)).await;
        server = ServerProcess::start(&dir.events(), addr);
        let up_at = Instant::now();
        let console = trainer.come_back(addr).await;
        let started = console["rounds_started"].as_u64() == Some(moment as u64 + 1);
        let told_before = seats
            .iter()
            .filter(|s| s.room() != rooms_before[s.index])
            .count();
        at_start.moments.push(format!(
            "{at} ms, started {started}, {told_before} told of their room before"
        ));
        assert!(
            started || told_before == 0,
            "{run}: {told_before} trainees were told of a room the restart forgot"
        );
        let backs = bring_back(addr, &seats, &mut at_start, Some(&mut trainer)).await;
        let mut rooms: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, (seat, back)) in seats.iter().zip(&backs).enumerate() {
            let room = back
                .last("room_opened")
                .map(|r| r["room"].as_u64().unwrap());
            if !started {
                assert_eq!(room, rooms_before[i], "{}: no round, no new room", seat.who);
                continue;
            }
            assert_ne!(
                room, rooms_before[i],
                "{}: back in this round's room",
                seat.who
            );
            if seat.room() != rooms_before[i] {
                assert_same_room(seat, back);
            }
            rooms.entry(room.unwrap()).or_default().push(i);
            assert_eq!(back.phase_name(), "briefing", "{}", seat.who);
            let got = back.phase().and_then(|p| p["remaining_ms"].as_i64());
            let since = back.asked_at.duration_since(up_at).as_millis() as i64;
            let latest = WORKSHOP_PHASE_MS - since;
            let earliest = latest - stopped_at.duration_since(sent_at).as_millis() as i64;
            at_start.clock_between(&seat.who, got, earliest, latest);
        }
        for (i, back) in backs.into_iter().enumerate() {
            seats[i].client = back.client;
        }
        if !started {
            // The round was never recorded: the trainer starts it again.
            trainer.send(json!({"type": "start_round"})).await;
            for seat in &mut seats {
                // Once failed in CI with only a timeout to show; now it says what the
                // seat and the trainer were told.
                told_or_explain(seat, &mut trainer, "room_opened", |v| {
                    v["type"] == "room_opened"
                })
                .await;
            }
        }
        for (room, members) in &rooms {
            assert_eq!(members.len(), 2, "room {room} has a seller and a buyer");
        }
        assert_pairs_agree(&seats);

        // Into the conversation: a line from each side, then into the recap.
        trainer.send(json!({"type": "end_phase"})).await;
        for seat in &mut seats {
            phase_or_explain(seat, &mut trainer, "conversation").await;
        }
        for seat in &mut seats {
            trainer.catch_up().await;
            seat.next_round();
            let text = format!("{} in round {moment}", seat.who);
            seat.client.chat(&text).await;
        }
        for seat in &mut seats {
            let text = format!("{} in round {moment}", seat.who);
            let own = seat.role().to_owned();
            trainer.catch_up().await;
            loop {
                let line = seat.client.expect_chat_from(&own).await;
                if line["text"] == text.as_str() {
                    seat.acked.insert(text, line["index"].as_u64().unwrap());
                    break;
                }
            }
        }
        let end_sent = Instant::now();
        trainer.send(json!({"type": "end_phase"})).await;
        for seat in &mut seats {
            let recap = phase_or_explain(seat, &mut trainer, "recap").await;
            seat.told = Some(Told::caused_at(&recap, end_sent));
        }

        // The recap: drafts, a quarter of the pairs sending theirs.
        let tasks: Vec<_> = seats
            .drain(..)
            .map(|s| {
                let sends = (s.room().unwrap() % 4 == 0).then_some(4);
                let script = if s.role() == "seller" {
                    Script::RecapSeller(sends)
                } else {
                    Script::FeedbackBuyer(sends)
                };
                tokio::spawn(act_until_stopped(s, script))
            })
            .collect();
        let at = moment_ms(300, 1_300);
        tokio::time::sleep(Duration::from_millis(at)).await;
        in_recap.moments.push(format!("{at} ms"));
        let stopped_at = server.stop(stop);
        for t in tasks {
            seats.push(t.await.unwrap());
        }
        server = ServerProcess::start(&dir.events(), addr);
        let up_at = Instant::now();
        trainer.come_back(addr).await;
        let backs = bring_back(addr, &seats, &mut in_recap, Some(&mut trainer)).await;
        let partner_of = partners(&seats);
        for (i, (seat, back)) in seats.iter().zip(&backs).enumerate() {
            let partner = &seats[partner_of[&i]];
            assert_same_room(seat, back);
            let told = seat.told.as_ref().unwrap();
            let both_in = seat.sent_acked && partner.sent_acked;
            let phase = back.phase_name();
            if told.phase == "debrief" || both_in {
                assert_eq!(phase, "debrief", "{}: both were in", seat.who);
            } else if phase == "recap" {
                let got = back.phase().unwrap()["remaining_ms"].as_i64();
                match told.expected_range_ms(stopped_at, up_at, back.asked_at) {
                    Some((least, most)) => in_recap.clock_between(&seat.who, got, least, most),
                    None => in_recap.clock(
                        &seat.who,
                        got,
                        told.expected_ms(stopped_at, up_at, back.asked_at),
                    ),
                }
            } else {
                assert_eq!(
                    phase, "debrief",
                    "{}: {:?} {:?}",
                    seat.who, at_start.moments, back.view
                );
            }
            in_recap.transcript(&back.view, seat.acked.iter().chain(&partner.acked));
        }
        for (i, back) in backs.into_iter().enumerate() {
            seats[i].client = back.client;
        }

        // The recap ends: each recap and rating is the one sent, else the last draft
        // saved or a later one.
        trainer.send(json!({"type": "end_phase"})).await;
        for seat in &mut seats {
            let done = seat.phase_seen() == Some("debrief");
            let debrief = if done {
                seat.client
                    .seen
                    .iter()
                    .rev()
                    .find(|v| v["type"] == "debrief")
                    .cloned()
                    .unwrap()
            } else {
                seat.client.expect("debrief").await
            };
            if seat.role() == "seller" {
                assert_kept(seat, debrief["recap"].as_str());
            } else {
                assert_kept(seat, debrief["feedback"]["comment"].as_str());
            }
        }
    }
    at_start.assert_targets(&format!("{run}, within 100 ms of start_round"));
    in_recap.assert_targets(&format!("{run}, in the recap"));
}

/// Waits for `seat` to be told `phase`; if it is not, fails with what the seat and the
/// trainer's console were told.
async fn phase_or_explain(seat: &mut Seat, trainer: &mut Trainer, phase: &str) -> Value {
    told_or_explain(seat, trainer, phase, |v| {
        v["type"] == "phase" && v["phase"] == phase
    })
    .await
}

/// Waits for `seat` to be told what `wanted` accepts (`what`, for the failure); if it is
/// not, fails with what the seat and the trainer's console were told.
async fn told_or_explain(
    seat: &mut Seat,
    trainer: &mut Trainer,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    trainer.catch_up().await;
    loop {
        match seat.client.listen(uncover_tests::RECV_TIMEOUT).await {
            Heard::Message(v) if wanted(&v) => return v,
            Heard::Message(_) => {}
            _ => {
                drain(std::iter::once(&mut trainer.console)).await;
                let errors: Vec<&Value> = trainer
                    .console
                    .seen
                    .iter()
                    .filter(|v| v["type"] == "error")
                    .collect();
                panic!(
                    "{} never told {what}; it saw {:?}; the trainer's errors: {errors:?}",
                    seat.who,
                    seat.client.seen.iter().rev().take(6).collect::<Vec<_>>()
                );
            }
        }
    }
}

/// Seat index → its partner's, by room.
fn partners(seats: &[Seat]) -> HashMap<usize, usize> {
    let mut by_room: HashMap<Option<u64>, Vec<usize>> = HashMap::new();
    for (i, s) in seats.iter().enumerate() {
        by_room.entry(s.room()).or_default().push(i);
    }
    let mut partner_of = HashMap::new();
    for members in by_room.values() {
        if let [a, b] = members[..] {
            partner_of.insert(a, b);
            partner_of.insert(b, a);
        }
    }
    partner_of
}

/// Every room has a seller and a buyer, each named as the other's partner.
fn assert_pairs_agree(seats: &[Seat]) {
    let partner_of = partners(seats);
    assert_eq!(partner_of.len(), seats.len(), "everyone has a partner");
    for (i, s) in seats.iter().enumerate() {
        let p = &seats[partner_of[&i]];
        assert_ne!(s.role(), p.role(), "{} and {}", s.who, p.who);
        assert_eq!(s.partner(), Some(p.name.as_str()), "{}'s partner", s.who);
    }
}

/// The recap or rating in the debrief is the one sent, if it was acknowledged, else
/// the last draft saved (confirmed by a round trip) or one typed after it.
fn assert_kept(seat: &Seat, kept: Option<&str>) {
    let final_text = format!("{} final", seat.who);
    if seat.sent_acked {
        assert_eq!(
            kept,
            Some(final_text.as_str()),
            "{}: the sent one",
            seat.who
        );
        return;
    }
    let Some(confirmed) = seat.confirmed_draft else {
        return;
    };
    let kept = kept.unwrap_or_else(|| panic!("{}: draft {confirmed} was lost", seat.who));
    if kept == final_text {
        return;
    }
    let n: u32 = kept
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}: kept {kept:?}", seat.who));
    assert!(
        n >= confirmed,
        "{}: kept draft {n}, but draft {confirmed} was saved",
        seat.who
    );
}
