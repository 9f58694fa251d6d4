//! One participant of a fault run: its connection, what it was acknowledged, the clock as
//! it last heard it, and what it does until the server goes away ([`act_until_stopped`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Told;
use crate::{Client, Heard};

/// Time between two acts of one person: the rate limit is 20 messages a second, and a
/// draft with its confirming round trip is two.
pub const ACT_EVERY: Duration = Duration::from_millis(120);

/// How long a socket may stay silent before the server counts as gone. Only a stop ends
/// a run's acting, and a killed server's sockets close at once; this bounds a hang.
const SILENT_FOR: Duration = Duration::from_secs(5);

/// What a person does while the server runs.
#[derive(Debug, Clone, Copy)]
pub enum Script {
    /// Chats a line every [`ACT_EVERY`] once the conversation is on.
    Chat,
    /// Says `ready` after this long, then chats once the conversation begins.
    ReadyThenChat(Duration),
    /// The seller in the recap: a `recap_draft` every act, every third confirmed with a
    /// `notes` round trip; with `Some(n)`, the recap itself instead of the n-th draft.
    RecapSeller(Option<u32>),
    /// The buyer in the recap: a `feedback_draft` every act (its comment numbers it),
    /// confirmed likewise; with `Some(n)`, the feedback itself instead of the n-th.
    FeedbackBuyer(Option<u32>),
}

/// One participant and what it saw.
pub struct Seat {
    pub client: Client,
    /// Names it in assertions and in the lines it writes.
    pub who: String,
    /// Its place in the run (which loopback address it uses).
    pub index: usize,
    /// Its resume token, kept across reconnects.
    pub token: String,
    /// The name it was welcomed with.
    pub name: String,
    /// Its own lines it got the echo of: text → index.
    pub acked: HashMap<String, u64>,
    /// The clock as it last heard it.
    pub told: Option<Told>,
    /// When it said `ready`.
    pub ready_at: Option<Instant>,
    /// The highest draft number a later round trip confirmed as saved.
    pub confirmed_draft: Option<u32>,
    /// Its recap or feedback was answered with `partner_submitted`.
    pub sent_acked: bool,
    /// `error` `unavailable` answers it got (the server could not save); any other
    /// error fails the run.
    pub unavailable: Vec<Value>,
    /// Characters added to each chat line, to make the log grow faster.
    pub padding: usize,
}

impl Seat {
    pub fn new(client: Client, who: String, index: usize) -> Self {
        let told = Told::last_of(&client, Instant::now());
        let name = client.expect_seen("welcome")["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Self {
            token: client.token(),
            name,
            client,
            who,
            index,
            acked: HashMap::new(),
            told,
            ready_at: None,
            confirmed_draft: None,
            sent_acked: false,
            unavailable: Vec::new(),
            padding: 0,
        }
    }

    /// Forgets what it was acknowledged in its last room, for the next round.
    pub fn next_round(&mut self) {
        self.acked.clear();
        self.confirmed_draft = None;
        self.sent_acked = false;
        self.ready_at = None;
    }

    /// The room it was last told of.
    pub fn room(&self) -> Option<u64> {
        self.last_room().and_then(|r| r["room"].as_u64())
    }

    /// Its role in that room.
    pub fn role(&self) -> &str {
        self.last_room()
            .and_then(|r| r["role"].as_str())
            .unwrap_or_default()
    }

    /// Its partner's name in that room.
    pub fn partner(&self) -> Option<&str> {
        self.last_room().and_then(|r| r["partner"].as_str())
    }

    /// The phase its connection was last told of.
    pub fn phase_seen(&self) -> Option<&str> {
        self.client
            .seen
            .iter()
            .rev()
            .find(|v| v["type"] == "phase")
            .and_then(|v| v["phase"].as_str())
    }

    fn last_room(&self) -> Option<&Value> {
        self.client
            .seen
            .iter()
            .rev()
            .find(|v| v["type"] == "room_opened")
    }
}

/// Acts out `script` until the server goes away; returns the seat with what it saw.
pub async fn act_until_stopped(mut seat: Seat, script: Script) -> Seat {
    let mut ready_at = match script {
        Script::ReadyThenChat(after) => Some(Instant::now() + after),
        _ => None,
    };
    let mut n = 0u32;
    let mut sent = false;
    let mut confirming = None;
    let mut last_act = Instant::now() - ACT_EVERY;
    let mut last_heard = Instant::now();
    loop {
        if ready_at.is_some_and(|at| Instant::now() >= at) {
            ready_at = None;
            seat.ready_at = Some(Instant::now());
            if !seat.client.try_send(json!({"type": "ready"})).await {
                break;
            }
        }
        let phase = seat.told.as_ref().map_or("", |t| t.phase.as_str());
        if last_act.elapsed() >= ACT_EVERY {
            last_act = Instant::now();
            let who = &seat.who;
            let mut acts = Vec::new();
            match script {
                Script::Chat | Script::ReadyThenChat(_) if phase == "conversation" => {
                    let text = format!("{who} line {n} {}", "x".repeat(seat.padding));
                    acts.push(json!({"type": "chat", "text": text.trim_end()}));
                }
                Script::RecapSeller(send) | Script::FeedbackBuyer(send)
                    if phase == "recap" && !sent =>
                {
                    let seller = matches!(script, Script::RecapSeller(_));
                    if send == Some(n) {
                        sent = true;
                        let text = format!("{who} final");
                        acts.push(if seller {
                            json!({"type": "recap", "text": text})
                        } else {
                            json!({"type": "feedback", "heard": 5, "comment": text})
                        });
                    } else {
                        let text = format!("{who} draft {n}");
                        acts.push(if seller {
                            json!({"type": "recap_draft", "text": text})
                        } else {
                            json!({"type": "feedback_draft", "heard": 1 + n % 5, "comment": text})
                        });
                        if n % 3 == 2 && confirming.is_none() {
                            confirming = Some(n);
                            acts.push(json!({"type": "notes", "text": format!("after draft {n}")}));
                        }
                    }
                }
                _ => {}
            }
            if !acts.is_empty() {
                n += 1;
            }
            let mut gone = false;
            for act in acts {
                gone |= !seat.client.try_send(act).await;
            }
            if gone {
                break;
            }
        }
        match seat.client.listen(Duration::from_millis(20)).await {
            Heard::Closed => break,
            Heard::Quiet if last_heard.elapsed() > SILENT_FOR => break,
            Heard::Quiet => {}
            Heard::Message(v) => {
                last_heard = Instant::now();
                match v["type"].as_str().unwrap_or_default() {
                    "chat" => {
                        let text = v["text"].as_str().unwrap_or_default();
                        if text.starts_with(&format!("{} ", seat.who)) {
                            seat.acked
                                .insert(text.to_owned(), v["index"].as_u64().unwrap_or(u64::MAX));
                        }
                    }
                    "phase" => seat.told = Some(Told::now(&v)),
                    "notes_saved" => {
                        if let Some(n) = confirming.take() {
                            seat.confirmed_draft = Some(n);
                        }
                    }
                    "partner_submitted" if v["role"] == seat.role() => seat.sent_acked = true,
                    "error" if v["code"] == "unavailable" => seat.unavailable.push(v),
                    "error" => panic!("{} was refused: {v}", seat.who),
                    _ => {}
                }
            }
        }
    }
    seat
}
