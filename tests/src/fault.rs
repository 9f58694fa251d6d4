//! The fault suite's shared moves, for tests that drive the real binary: a data folder
//! per run, clients spread over loopback addresses, pairs and workshops set up over real
//! websockets, a stop by signal at a moment picked from the clock, and the check of what
//! each client gets back after the restart, adding up the figures a run reports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::{Client, Heard, ServerProcess};

mod disk;
mod figures;
mod seat;
mod store;
pub use disk::SmallDisk;
pub use figures::Figures;
pub use seat::{act_until_stopped, Script, Seat, ACT_EVERY};
pub use store::FaultLog;

/// Clients per loopback source address: a workshop behind one NAT shares an address, and
/// the server's per-address joining limits (a burst of 120 attempts, then 2 a second)
/// must hold across every restart of a run.
pub const CLIENTS_PER_ADDRESS: usize = 10;

/// How long a client may take to get its whole view back after reconnecting.
pub const BACK_WITHIN: Duration = Duration::from_secs(2);

/// How far a phase's remaining time may be from what it should be.
pub const CLOCK_TOLERANCE_MS: i64 = 1_000;

/// The shortest `notes` marker [`come_back`] sends; each is one longer, up to twice
/// this (notes may be 8,000 characters).
const MARKER_LENGTH: usize = 2_000;

/// Stops at random moments each fault run makes.
pub const MOMENTS: usize = 5;

/// A fresh folder for one run's data file, removed when dropped (after a pass).
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("uncover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The event log's file in it.
    pub fn events(&self) -> PathBuf {
        self.0.join("events.sqlite")
    }
}

impl Drop for DataDir {
    /// Removes the folder, unless the test failed: then its data is left for a look.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("data of the failed run left in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// How a run stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL: nothing is flushed, nobody is told.
    Kill,
    /// SIGTERM: the server drains (`server_closing`, close code 1012) and exits.
    Term,
}

impl Stop {
    pub fn signal(self) -> &'static str {
        match self {
            Stop::Kill => "-KILL",
            Stop::Term => "-TERM",
        }
    }
}

/// A number of milliseconds in `from..to` picked from the clock.
pub fn moment_ms(from: u64, to: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .subsec_nanos();
    from + u64::from(nanos) % (to - from).max(1)
}

/// The loopback source address of the `i`-th client of a run.
pub fn source(i: usize) -> IpAddr {
    let n = i / CLIENTS_PER_ADDRESS;
    IpAddr::V4(Ipv4Addr::new(127, 3, (n / 250) as u8, (n % 250) as u8 + 1))
}

/// A connection from `from` that has said hello and got its welcome.
pub async fn join_from(addr: SocketAddr, from: IpAddr, name: &str) -> Client {
    let mut c = Client::connect_from(addr, from).await;
    c.send(json!({"type": "hello", "protocol": 1, "name": name}))
        .await;
    c.expect("welcome").await;
    c
}

/// A connection from 127.0.0.1 that has said hello.
pub async fn join(addr: SocketAddr, name: &str) -> Client {
    join_from(addr, IpAddr::V4(Ipv4Addr::LOCALHOST), name).await
}

/// Two clients from `from` in a pair-link room, told of its briefing: the link's
/// creator first.
pub async fn link_pair(addr: SocketAddr, from: IpAddr, names: [&str; 2]) -> (Client, Client) {
    let mut a = join_from(addr, from, names[0]).await;
    let mut b = join_from(addr, from, names[1]).await;
    a.send(json!({"type": "create_pair_link", "scenario": "distributor-inventory"}))
        .await;
    let code = a.expect("pair_link").await["code"].clone();
    b.send(json!({"type": "join_pair_link", "code": code}))
        .await;
    a.expect_phase("briefing").await;
    b.expect_phase("briefing").await;
    (a, b)
}

/// Both say they are ready and wait for the conversation.
pub async fn start_conversation(a: &mut Client, b: &mut Client) {
    for c in [&mut *a, &mut *b] {
        c.send(json!({"type": "ready"})).await;
    }
    a.expect_phase("conversation").await;
    b.expect_phase("conversation").await;
}

/// Sends `text` and waits for its echo, the acknowledgement that it is saved; returns it.
pub async fn say(c: &mut Client, text: &str) -> Value {
    c.chat(text).await;
    loop {
        let v = c
            .next()
            .await
            .unwrap_or_else(|| panic!("the socket closed before {text:?} was echoed"));
        assert_ne!(v["type"], "error", "{v}");
        if v["type"] == "chat" && v["text"] == text {
            return v;
        }
    }
}

/// A workshop's trainer: the console connection and what brings it back.
pub struct Trainer {
    pub console: Client,
    pub code: String,
    pub token: String,
}

impl Trainer {
    pub async fn open(addr: SocketAddr, title: &str) -> Self {
        let mut console = join(addr, "Trainer").await;
        console
            .send(json!({"type": "create_session", "title": title}))
            .await;
        let created = console.expect("session_created").await;
        let text = |k: &str| created[k].as_str().expect("a string").to_owned();
        Self {
            code: text("code"),
            token: text("host_token"),
            console,
        }
    }

    /// Takes the host seat again on a new connection, after a restart.
    pub async fn come_back(&mut self, addr: SocketAddr) -> Value {
        self.console = join(addr, "Trainer").await;
        self.console
            .send(json!({"type": "host_session", "token": self.token}))
            .await;
        self.console.expect("console").await
    }

    /// Plans a round of the bundled scenario with `timings` and waits for the plan.
    pub async fn plan(&mut self, timings: Value) {
        self.console
            .send(
                json!({"type": "plan_round", "scenario": "distributor-inventory",
                         "timings": timings}),
            )
            .await;
        while self.console.expect("console").await["plan"].is_null() {}
    }

    /// Sends `msg` from the console, having read what it was sent.
    pub async fn send(&mut self, msg: Value) {
        self.catch_up().await;
        self.console.send(msg).await;
    }

    /// Reads what the console has been sent, without waiting: a console that stops
    /// reading is cut off once 256 frames wait for it, and a workshop of a hundred
    /// sends it one for every line said.
    pub async fn catch_up(&mut self) {
        while let Heard::Message(_) = self.console.listen(Duration::from_millis(1)).await {}
    }
}

/// A trainee from `from` who has joined the workshop `code`.
pub async fn join_workshop(addr: SocketAddr, from: IpAddr, name: &str, code: &str) -> Client {
    let mut t = join_from(addr, from, name).await;
    t.send(json!({"type": "join_session", "code": code})).await;
    t.expect("session_joined").await;
    t
}

/// Reads what is already on its way to each client, until each has been quiet for a
/// moment: after a stop, what reached a client is all it saw of the old server.
pub async fn drain(clients: impl Iterator<Item = &mut Client>) {
    let quiet = Duration::from_millis(30);
    futures_util::future::join_all(
        clients.map(|c| async move { while c.next_within(quiet).await.is_some() {} }),
    )
    .await;
}

/// The clock as a client last heard it.
#[derive(Debug, Clone)]
pub struct Told {
    pub phase: String,
    pub remaining_ms: Option<i64>,
    /// When the client read it: no earlier than the server sent it.
    pub at: Instant,
    /// A moment the server cannot have sent it before (the command that caused it), when
    /// known. A hundred clients read one by one on a busy machine can read a phase a
    /// second after it was sent; this bounds how early it was.
    pub sent_after: Option<Instant>,
}

impl Told {
    /// From a `phase` message just received.
    pub fn now(phase: &Value) -> Self {
        Self {
            phase: phase["phase"].as_str().unwrap_or_default().to_owned(),
            remaining_ms: phase["remaining_ms"].as_i64(),
            at: Instant::now(),
            sent_after: None,
        }
    }

    /// From a `phase` message just received, caused by a command sent at `sent`.
    pub fn caused_at(phase: &Value, sent: Instant) -> Self {
        Self {
            sent_after: Some(sent),
            ..Self::now(phase)
        }
    }

    /// The last `phase` a client has received, as if told at `at`.
    pub fn last_of(c: &Client, at: Instant) -> Option<Self> {
        let v = c.seen.iter().rev().find(|v| v["type"] == "phase")?;
        Some(Self { at, ..Self::now(v) })
    }

    /// The time left it implies when the phase has run from then until `stopped_at`
    /// and again from `up_at` until `now`.
    pub fn expected_ms(&self, stopped_at: Instant, up_at: Instant, now: Instant) -> Option<i64> {
        let ran = stopped_at.saturating_duration_since(self.at) + now.duration_since(up_at);
        Some(self.remaining_ms? - ran.as_millis() as i64)
    }

    /// The range of time left it implies, from [`Self::sent_after`] (the least) to
    /// [`Self::expected_ms`] (the most); none without a known send bound.
    pub fn expected_range_ms(
        &self,
        stopped_at: Instant,
        up_at: Instant,
        now: Instant,
    ) -> Option<(i64, i64)> {
        let most = self.expected_ms(stopped_at, up_at, now)?;
        let early = Self {
            at: self.sent_after?,
            ..self.clone()
        };
        Some((early.expected_ms(stopped_at, up_at, now)?, most))
    }
}

/// What a client got back after reconnecting: its rebuilt view, up to the answer to
/// a `notes` marker it sent straight after `reconnect`. In a room the room answers it
/// after the view (`notes_saved` with the marker's length, unique in the run: a rebuilt
/// view replays earlier `notes_saved`); outside one it is refused with `wrong_state`.
pub struct Back {
    /// Whose view it is.
    pub who: String,
    pub client: Client,
    pub view: Vec<Value>,
    /// From sending `reconnect` to the marker's answer.
    pub took: Duration,
    /// When `reconnect` was sent: the moment the view's clock speaks of.
    pub asked_at: Instant,
}

impl Back {
    /// The `phase` the view ends on.
    pub fn phase(&self) -> Option<&Value> {
        self.view.iter().rev().find(|v| v["type"] == "phase")
    }

    pub fn phase_name(&self) -> &str {
        self.phase()
            .and_then(|p| p["phase"].as_str())
            .unwrap_or("lobby")
    }

    /// The last message of `kind` in the view.
    pub fn last(&self, kind: &str) -> Option<&Value> {
        self.view.iter().rev().find(|v| v["type"] == kind)
    }
}

/// Reconnects from `from` with `token` and `last_seq` and reads the rebuilt view.
/// Asserts what every rebuilt view must be: `reconnected` with `replayed: false` first,
/// numbered on from `last_seq + 1` with no gap, no error.
pub async fn come_back(
    addr: SocketAddr,
    from: IpAddr,
    token: &str,
    last_seq: u64,
    who: &str,
) -> Back {
    let asked_at = Instant::now();
    let mut c = Client::connect_from(addr, from).await;
    c.send(json!({"type": "reconnect", "protocol": 1, "token": token,
                  "last_seq": last_seq}))
        .await;
    static MARKERS: AtomicUsize = AtomicUsize::new(0);
    let length = MARKER_LENGTH + MARKERS.fetch_add(1, Ordering::Relaxed) % MARKER_LENGTH;
    c.send(json!({"type": "notes", "text": "m".repeat(length)}))
        .await;
    let mut view = Vec::new();
    loop {
        let v = match c.listen(crate::RECV_TIMEOUT).await {
            Heard::Message(v) => v,
            Heard::Quiet => panic!("{who}: the view stopped short: {view:?}"),
            Heard::Closed => panic!("{who}: socket closed in the view: {view:?}"),
        };
        if v["type"] == "error" {
            assert_eq!(v["code"], "wrong_state", "{who}: {v}");
            break;
        }
        if v["type"] == "notes_saved" && v["length"] == length {
            break;
        }
        view.push(v);
    }
    let took = asked_at.elapsed();
    assert_eq!(view[0]["type"], "reconnected", "{who}: {}", view[0]);
    assert_eq!(
        view[0]["replayed"], false,
        "{who}: a restart rebuilds the view"
    );
    let seqs: Vec<u64> = view
        .iter()
        .map(|v| v["seq"].as_u64().unwrap_or(0))
        .collect();
    let want: Vec<u64> = (last_seq + 1..=last_seq + seqs.len() as u64).collect();
    assert_eq!(seqs, want, "{who}: numbered on from last_seq + 1");
    Back {
        who: who.to_owned(),
        client: c,
        view,
        took,
        asked_at,
    }
}

impl ServerProcess {
    /// Sends `signal` (as `kill` spells it, e.g. `-STOP`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Stops the server with `how` and waits for it to exit; the moment it was signalled.
    pub fn stop(mut self, how: Stop) -> Instant {
        self.signal(how.signal());
        let at = Instant::now();
        let status = self.child.wait().expect("the server is reaped");
        if how == Stop::Term {
            assert!(status.success(), "a drain exits cleanly: {status:?}");
        }
        at
    }
}
