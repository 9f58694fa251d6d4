//! Unit tests for the round state machine and the room task's clock.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::scenario::parse_scenario;

const SCENARIO: &str = r#"
id = "unit"
title = "Unit"
summary = "A unit-test story."
difficulty = "intro"
opening_line = "Hi."
[timings]
briefing = 10
conversation = 60
recap = 20
[seller]
brief = "Sell."
product = "Things."
pitch_words = ["demo"]
[buyer]
name = "Bo"
role = "Buyer"
persona = "Calm."
brief = "Reveal when earned."
[[facts]]
id = "goal"
kind = "goal"
weight = 3
depth = "surface"
text = "HIDDEN goal text"
earned_when = "Goals."
recap_cues = ["grow"]
examples = ["Where do you want to be next year?", "What are you aiming for?", "What does success look like?"]
[facts.bot]
asks = ["goal"]
line = "We want to grow."
[[facts]]
id = "pain"
kind = "pain"
weight = 1
depth = "deeper"
text = "HIDDEN pain text"
earned_when = "Problems."
recap_cues = ["slow"]
examples = ["What is going wrong?", "What slows you down?", "Where do things get stuck?"]
requires = ["goal"]
[facts.bot]
asks = ["problem"]
line = "It is slow."
"#;

fn scenario() -> Arc<Scenario> {
    Arc::new(parse_scenario(Path::new("unit.toml"), SCENARIO).expect("valid"))
}

fn opened(at: Millis) -> RoomEvent {
    RoomEvent::Opened(Box::new(Opening {
        room: RoomId(1),
        scenario: ScenarioId("unit".into()),
        seller: Seat {
            participant: ParticipantId(1),
            name: "Sam".into(),
        },
        buyer: Seat {
            participant: ParticipantId(2),
            name: "Bo".into(),
        },
        timings: Timings {
            briefing: 10,
            conversation: 60,
            recap: 20,
        },
        at,
        channel: Channel::Chat,
        observers: Vec::new(),
    }))
}

#[test]
fn an_opening_is_stored_as_flat_fields_so_older_logs_still_load() {
    let json = serde_json::to_value(opened(5)).unwrap();
    assert_eq!(json["event"], "opened", "{json}");
    assert_eq!(json["room"], 1, "{json}");
    assert_eq!(json["seller"]["name"], "Sam", "{json}");
    assert_eq!(json["timings"]["conversation"], 60, "{json}");
    // As a log written before the opening was boxed has it: no channel, no observers.
    let mut older = json.clone();
    let fields = older.as_object_mut().unwrap();
    fields.remove("channel");
    fields.remove("observers");
    let back: RoomEvent = serde_json::from_value(older).unwrap();
    assert_eq!(back, opened(5));
    assert_eq!(back.at(), 5);
}

/// A room plus the log of every event applied to it, and the room task's list of them.
struct Harness {
    room: Room,
    log: Vec<RoomEvent>,
    kept: event_list::EventList,
}

impl Harness {
    fn new() -> Self {
        let ev = opened(1_000);
        let room = Room::open(&ev, scenario()).expect("opened");
        let mut kept = event_list::EventList::default();
        kept.push(&ev, &room);
        Self {
            room,
            log: vec![ev],
            kept,
        }
    }

    fn applied(&mut self, e: RoomEvent) {
        self.room.apply(&e);
        self.kept.push(&e, &self.room);
        self.log.push(e);
    }

    fn run(&mut self, role: Role, msg: ClientMsg, at: Millis) -> Result<(), RoomError> {
        let events = self.room.decide(role, &msg, at)?;
        for e in events {
            self.applied(e);
        }
        Ok(())
    }

    fn tick(&mut self, at: Millis) {
        for e in self.room.on_timer(at) {
            self.applied(e);
        }
    }

    fn start_conversation(&mut self) {
        self.run(Role::Seller, ClientMsg::Ready, 2_000).unwrap();
        self.run(Role::Buyer, ClientMsg::Ready, 3_000).unwrap();
        assert_eq!(self.room.phase, Phase::Conversation);
    }
}

fn chat(text: &str) -> ClientMsg {
    ClientMsg::Chat { text: text.into() }
}

fn reveal(id: &str) -> ClientMsg {
    ClientMsg::Reveal {
        fact: FactId(id.into()),
    }
}

#[test]
fn conversation_starts_only_when_both_are_ready() {
    let mut h = Harness::new();
    h.run(Role::Seller, ClientMsg::Ready, 2_000).unwrap();
    assert_eq!(h.room.phase, Phase::Briefing);
    h.run(Role::Seller, ClientMsg::Ready, 2_500).unwrap();
    assert_eq!(
        h.room.phase,
        Phase::Briefing,
        "readying twice changes nothing"
    );
    h.run(Role::Buyer, ClientMsg::Ready, 3_000).unwrap();
    assert_eq!(h.room.phase, Phase::Conversation);
    assert_eq!(h.room.conversation_started_at, Some(3_000));
}

#[test]
fn each_phase_ends_on_the_clock() {
    let mut h = Harness::new();
    h.tick(10_999);
    assert_eq!(h.room.phase, Phase::Briefing);
    h.tick(11_000);
    assert_eq!(h.room.phase, Phase::Conversation);
    h.tick(71_000);
    assert_eq!(h.room.phase, Phase::Recap);
    h.tick(91_000);
    assert_eq!(h.room.phase, Phase::Debrief);
    assert_eq!(h.room.deadline(), None);
    assert!(h.room.on_timer(u64::MAX).is_empty());
}

#[test]
fn a_late_timer_starts_the_next_phase_at_the_deadline_not_later() {
    let mut h = Harness::new();
    h.tick(50_000);
    assert_eq!(h.room.phase_started_at, 11_000);
}

#[test]
fn a_reveal_is_earned_by_the_last_seller_line() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("What are you aiming for?"), 4_000)
        .unwrap();
    h.run(Role::Buyer, chat("Well..."), 5_000).unwrap();
    h.run(Role::Buyer, reveal("goal"), 6_000).unwrap();
    let r = &h.room.reveals[0];
    assert_eq!(r.earned_by, Some(0));
    assert_eq!(r.at_ms, 3_000, "milliseconds into the conversation");
}

#[test]
fn only_the_buyer_reveals_and_only_in_the_conversation() {
    let mut h = Harness::new();
    let e = h.run(Role::Buyer, reveal("goal"), 1_500).unwrap_err();
    assert_eq!(e.code, ErrorCode::WrongPhase);
    h.start_conversation();
    let e = h.run(Role::Seller, reveal("goal"), 4_000).unwrap_err();
    assert_eq!(e.code, ErrorCode::WrongRole);
    // The seller learns nothing about which ids exist.
    let e2 = h
        .run(Role::Seller, reveal("nonexistent"), 4_000)
        .unwrap_err();
    assert_eq!(e.message, e2.message);
    let e = h
        .run(Role::Buyer, reveal("nonexistent"), 4_000)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[test]
fn layered_facts_need_their_requirements_first() {
    let mut h = Harness::new();
    h.start_conversation();
    let e = h.run(Role::Buyer, reveal("pain"), 4_000).unwrap_err();
    assert_eq!(e.code, ErrorCode::WrongState);
    h.run(Role::Buyer, reveal("goal"), 4_000).unwrap();
    h.run(Role::Buyer, reveal("pain"), 5_000).unwrap();
    let e = h.run(Role::Buyer, reveal("pain"), 5_000).unwrap_err();
    assert!(e.message.contains("already"));
}

#[test]
fn the_round_reaches_the_debrief_once_recap_and_feedback_are_in() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("What do you want to achieve?"), 4_000)
        .unwrap();
    h.run(Role::Buyer, reveal("goal"), 5_000).unwrap();
    h.run(Role::Buyer, ClientMsg::EndConversation, 9_000)
        .unwrap();
    assert_eq!(h.room.phase, Phase::Recap);
    h.run(
        Role::Seller,
        ClientMsg::Recap {
            // Enough content words to state a fact, and the buyer's "We want to grow."
            // in other words.
            text: "They want to grow the business over the next few years.".into(),
        },
        10_000,
    )
    .unwrap();
    assert_eq!(h.room.phase, Phase::Recap);
    h.run(
        Role::Buyer,
        ClientMsg::Feedback {
            heard: 4,
            comment: String::new(),
        },
        11_000,
    )
    .unwrap();
    assert_eq!(h.room.phase, Phase::Debrief);
    let d = h.room.debrief();
    assert_eq!(d.headline.text, "Uncovered 1 of 2 facts, 75% of the story");
    assert_eq!(d.captured.percent, 75);
    assert!(
        d.captured.automatic,
        "no verdicts: the reader's match stands alone"
    );
    assert_eq!(d.conversation_ms, 6_000);
}

#[test]
fn the_seller_is_told_nothing_hidden_before_the_debrief() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("What are your goals?"), 4_000)
        .unwrap();
    h.run(Role::Buyer, reveal("goal"), 5_000).unwrap();
    h.run(Role::Buyer, reveal("pain"), 6_000).unwrap();
    h.run(Role::Buyer, ClientMsg::EndConversation, 7_000)
        .unwrap();
    h.tick(1_000_000);
    h.tick(1_000_000);
    assert_eq!(h.room.phase, Phase::Debrief);

    // Rebuild the room event by event and look at what the seller is told each time.
    let mut replay = Room::open(&h.log[0], scenario()).unwrap();
    for (i, e) in h.log.iter().enumerate() {
        replay.apply(e);
        let told = serde_json::to_string(&replay.view(e, Role::Seller)).unwrap();
        let is_debrief = matches!(
            e,
            RoomEvent::PhaseStarted {
                phase: Phase::Debrief,
                ..
            }
        );
        assert_eq!(
            told.contains("HIDDEN"),
            is_debrief,
            "event {i} ({e:?}) told the seller: {told}"
        );
        assert!(is_debrief || !told.contains("\"goal\""));
    }
}

#[test]
fn replaying_the_log_rebuilds_the_same_room() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("Why now?"), 4_000).unwrap();
    h.run(Role::Buyer, reveal("goal"), 5_000).unwrap();
    h.run(
        Role::Seller,
        ClientMsg::Notes {
            text: "growth".into(),
        },
        5_500,
    )
    .unwrap();
    h.run(Role::Buyer, ClientMsg::EndConversation, 6_000)
        .unwrap();

    let json = serde_json::to_string(&h.log).unwrap();
    let log: Vec<RoomEvent> = serde_json::from_str(&json).unwrap();
    let mut rebuilt = Room::open(&log[0], scenario()).unwrap();
    for e in &log {
        rebuilt.apply(e);
    }
    assert_eq!(rebuilt.phase, h.room.phase);
    assert_eq!(rebuilt.transcript, h.room.transcript);
    assert_eq!(rebuilt.reveals, h.room.reveals);
    assert_eq!(rebuilt.notes, h.room.notes);
    assert_eq!(rebuilt.deadline(), h.room.deadline());
}

#[test]
fn leaving_during_recap_lets_the_other_finish_alone() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, ClientMsg::EndConversation, 4_000)
        .unwrap();
    h.run(Role::Buyer, ClientMsg::LeaveRoom, 5_000).unwrap();
    h.run(
        Role::Seller,
        ClientMsg::Recap {
            text: "Short one.".into(),
        },
        6_000,
    )
    .unwrap();
    assert_eq!(h.room.phase, Phase::Debrief);
}

mod task {
    //! The room task's timers, on tokio's paused clock.

    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::Notify;

    use crate::hub::Hub;
    use crate::outbox::{Connection, Outbox, Outgoing};
    use crate::protocol::ServerFrame;
    use crate::scenario::Library;

    fn frames(rx: &mut crate::outbox::Receiver) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        while let Ok(Outgoing::Text(t)) = rx.try_recv() {
            out.push(serde_json::from_str(t.as_str()).unwrap());
        }
        out
    }

    fn phases(frames: &[ServerFrame]) -> Vec<String> {
        frames
            .iter()
            .filter_map(|f| match &f.msg {
                crate::protocol::ServerMsg::Phase { phase, .. } => {
                    Some(format!("{phase:?}").to_lowercase())
                }
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_room_task_moves_phases_on_the_paused_clock() {
        let library =
            Library::from_sources(vec![("unit.toml".into(), super::SCENARIO.to_string())]).unwrap();
        let hub = Hub::new(Arc::new(library), Vec::new());
        let mut receivers = Vec::new();
        let mut people = Vec::new();
        for name in ["Ana", "Ben"] {
            let (tx, rx) = crate::outbox::channel(64);
            let outbox = Arc::new(Outbox::new(Connection::new(tx, Arc::new(Notify::new()))));
            people.push(hub.introduce(name.into(), outbox).await.unwrap());
            receivers.push(rx);
        }
        let scenario = hub.library().all()[0].clone();
        hub.open_room(crate::hub::RoomSpec {
            id: None,
            session: None,
            seller: people[0].clone(),
            buyer: Some(people[1].clone()),
            observers: Vec::new(),
            timings: scenario.timings,
            scenario,
            channel: crate::protocol::Channel::Chat,
            reporter: None,
        });
        tokio::task::yield_now().await;
        assert_eq!(phases(&frames(&mut receivers[0])), ["briefing"]);

        tokio::time::sleep(Duration::from_millis(9_900)).await;
        assert!(
            phases(&frames(&mut receivers[0])).is_empty(),
            "briefing lasts 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(phases(&frames(&mut receivers[0])), ["conversation"]);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(phases(&frames(&mut receivers[0])), ["recap"]);
        tokio::time::sleep(Duration::from_secs(20)).await;
        let last = frames(&mut receivers[1]);
        assert_eq!(
            phases(&last),
            ["briefing", "conversation", "recap", "debrief"]
        );
        assert!(matches!(
            last.last().map(|f| &f.msg),
            Some(crate::protocol::ServerMsg::Debrief(_))
        ));
    }
}

impl Harness {
    fn host(&mut self, action: HostAction, at: Millis) {
        for e in self.room.decide_host(action, at).expect("host action") {
            self.applied(e);
        }
    }
}

#[test]
fn chat_is_refused_while_the_trainer_has_paused_the_round() {
    let mut h = Harness::new();
    h.start_conversation();
    h.host(HostAction::Pause, 4_000);
    let e = h
        .run(Role::Seller, chat("Are you still there?"), 5_000)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Paused);
    assert!(h.room.transcript.is_empty());
    h.host(HostAction::Resume, 6_000);
    h.run(Role::Seller, chat("Where were we?"), 7_000).unwrap();
    assert_eq!(h.room.transcript.len(), 1);
}

#[test]
fn ending_the_round_goes_straight_to_the_debrief_through_every_phase_left() {
    let mut h = Harness::new();
    h.start_conversation();
    let before = h.log.len();
    h.host(HostAction::EndRound, 9_000);
    assert_eq!(h.room.phase, Phase::Debrief);
    let phases: Vec<Phase> = h.log[before..]
        .iter()
        .filter_map(|e| match e {
            RoomEvent::PhaseStarted { phase, .. } => Some(*phase),
            _ => None,
        })
        .collect();
    assert_eq!(phases, vec![Phase::Recap, Phase::Debrief]);
    assert!(h.room.decide_host(HostAction::EndRound, 9_500).is_err());
}

#[test]
fn ending_the_round_from_the_briefing_still_replays_the_same_room() {
    let mut h = Harness::new();
    h.host(HostAction::EndRound, 2_000);
    assert_eq!(h.room.phase, Phase::Debrief);
    let mut replay = Room::open(&h.log[0], scenario()).expect("opened");
    for e in &h.log[1..] {
        replay.apply(e);
    }
    assert_eq!(replay.phase, Phase::Debrief);
}

#[tokio::test(start_paused = true)]
async fn a_command_to_a_room_that_stays_flooded_reports_busy_not_sent() {
    use crate::protocol::HostAction;
    use crate::room_task::{Queued, RoomCmd, RoomHandle};

    let (tx, mut rx) = crate::room_task::channel(1);
    let handle = RoomHandle::new(RoomId(4), tx);
    let deadline = || tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    assert_eq!(
        handle
            .send_by(RoomCmd::Host(HostAction::Pause), deadline())
            .await,
        Queued::Yes
    );
    // The queue is full and nobody reads it.
    assert_eq!(
        handle
            .send_by(RoomCmd::Host(HostAction::Pause), deadline())
            .await,
        Queued::Busy
    );
    // Once the room reads, the next command gets in.
    assert!(rx.recv().await.is_some());
    assert_eq!(
        handle
            .send_by(RoomCmd::Host(HostAction::Resume), deadline())
            .await,
        Queued::Yes
    );
    drop(rx);
    assert_eq!(
        handle
            .send_by(RoomCmd::Host(HostAction::Resume), deadline())
            .await,
        Queued::Closed
    );
}

/// What `role` (None: an observer) is told about each event of a replay, as JSON.
fn told(replay: &Room, e: &RoomEvent, role: Option<Role>) -> Vec<serde_json::Value> {
    let msgs = match role {
        Some(r) => replay.view(e, r),
        None => replay.view_observer(e),
    };
    msgs.iter()
        .map(|m| serde_json::to_value(m).expect("serialisable"))
        .collect()
}

/// A rebuilt view as the room task built it when it kept a record per event: chat events
/// without their text, which is read back from the room's transcript.
fn view_from_every_event(h: &Harness, role: Option<Role>) -> Vec<serde_json::Value> {
    let mut replay = Room::open(&h.log[0], scenario()).expect("opened");
    let mut view = Vec::new();
    for e in &h.log {
        let e = match e {
            RoomEvent::Chat {
                from, at, index, ..
            } => RoomEvent::Chat {
                from: *from,
                text: h
                    .room
                    .transcript
                    .get(index.map_or(replay.transcript.len(), |i| i as usize))
                    .map(|l| l.text.to_string())
                    .unwrap_or_default(),
                at: *at,
                index: *index,
            },
            other => other.clone(),
        };
        replay.apply(&e);
        view.extend(told(&replay, &e, role));
    }
    view
}

/// The same view from the room task's event list, which keeps no record per chat line.
fn view_from_kept(h: &Harness, role: Option<Role>) -> Vec<serde_json::Value> {
    let first = h.kept.first().expect("the opening is kept");
    let mut replay = Room::open(first, scenario()).expect("opened");
    let mut view = Vec::new();
    h.kept.replay(&mut replay, &h.room.transcript, |replay, e| {
        view.extend(told(replay, e, role))
    });
    view
}

fn chat_texts(view: &[serde_json::Value]) -> Vec<String> {
    view.iter()
        .filter(|m| m["type"] == "chat")
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_view_rebuilt_after_chat_between_notes_reveals_and_a_pause_shows_every_line_as_before() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("Hello, thanks for your time."), 4_000)
        .unwrap();
    h.run(Role::Buyer, chat("Hi."), 4_500).unwrap();
    h.run(
        Role::Seller,
        ClientMsg::Notes {
            text: "ask about goals".into(),
        },
        4_600,
    )
    .unwrap();
    h.run(
        Role::Seller,
        chat("Where do you want to be next year?"),
        5_000,
    )
    .unwrap();
    h.run(
        Role::Buyer,
        ClientMsg::Reveal {
            fact: FactId("goal".into()),
        },
        5_200,
    )
    .unwrap();
    h.host(HostAction::Pause, 6_000);
    h.host(HostAction::Resume, 9_000);
    for (i, text) in ["We want to grow.", "By how much?", "Twice as big."]
        .iter()
        .enumerate()
    {
        let role = if i % 2 == 0 {
            Role::Buyer
        } else {
            Role::Seller
        };
        h.run(role, chat(text), 9_500 + i as Millis * 100).unwrap();
    }
    h.host(HostAction::Extend { seconds: 30 }, 9_900);
    let noted = h
        .room
        .decide_observer_note("Olu", "good open question", 9_950)
        .unwrap();
    for e in noted {
        h.applied(e);
    }
    h.run(Role::Seller, chat("What slows you down?"), 10_000)
        .unwrap();
    h.host(HostAction::End, 11_000);
    assert_eq!(h.room.phase, Phase::Recap);

    // Seven lines in four runs: the list keeps three entries fewer than the events.
    let chats = h
        .log
        .iter()
        .filter(|e| matches!(e, RoomEvent::Chat { .. }))
        .count();
    assert_eq!(chats, 7);
    assert_eq!(h.kept.entries(), h.log.len() - 3);

    let lines: Vec<String> = h
        .room
        .transcript
        .iter()
        .map(|l| l.text.to_string())
        .collect();
    for role in [Some(Role::Seller), Some(Role::Buyer), None] {
        let view = view_from_kept(&h, role);
        assert_eq!(view, view_from_every_event(&h, role), "{role:?}");
        assert_eq!(chat_texts(&view), lines, "{role:?}");
    }
}

#[test]
fn a_line_after_lines_lost_in_a_restart_is_rebuilt_in_its_place() {
    let mut h = Harness::new();
    h.start_conversation();
    h.run(Role::Seller, chat("First."), 4_000).unwrap();
    // As a log read back after a full disk has it: two lines shown but never saved.
    h.applied(RoomEvent::Chat {
        from: Role::Buyer,
        text: "After the gap.".into(),
        at: 4_500,
        index: Some(3),
    });
    // And a line from a log written before lines carried their index.
    h.applied(RoomEvent::Chat {
        from: Role::Seller,
        text: "Unnumbered.".into(),
        at: 4_600,
        index: None,
    });
    h.run(Role::Buyer, chat("Numbered again."), 4_700).unwrap();
    assert_eq!(h.room.transcript.len(), 6);
    assert_eq!(&*h.room.transcript[1].text, LOST_LINE);

    for role in [Some(Role::Seller), Some(Role::Buyer), None] {
        let view = view_from_kept(&h, role);
        assert_eq!(view, view_from_every_event(&h, role), "{role:?}");
        assert_eq!(
            chat_texts(&view),
            ["First.", "After the gap.", "Unnumbered.", "Numbered again."],
            "{role:?}"
        );
    }
}
