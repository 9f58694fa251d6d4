//! The load generator: opens N pairs of websocket connections, has both sides of every
//! pair chat at a set rate, and measures what the server did with it.
//!
//! Against Uncover each pair is made through the real protocol (`hello`, a private pair
//! link, `ready` on both sides, then `chat` in the conversation phase). Against a bare
//! relay the generator simply opens 2N sockets and lets the relay pair them.
//!
//! Every message carries `#<sender>:<seq>:<nanos>` at the start of its chat text, so the
//! receiver can measure latency (both ends share one clock: this process's), spot gaps
//! and reordering per sender, and tell its own echo (Uncover echoes chat to the sender)
//! from its partner's line. Latency is recorded only for messages sent during the steady
//! window; the ramp before it brings senders up one by one, spread over the send period.
//!
//! One histogram is shared by all connections: per-connection histograms cost hundreds of
//! KiB each and at 10,000 connections swap the generator into stalls.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::procstat::{self, CpuMark};
use super::socket_config;

/// A websocket as the generator holds it.
type Socket = WebSocketStream<TcpStream>;

/// How long any single setup step (handshake, reply to a protocol message) may take.
const SETUP_STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between the last connection being set up and the first message, so the server
/// finishes pairing the last arrivals before anyone speaks.
const SETTLE: Duration = Duration::from_millis(250);
/// How often the drain checks whether every message sent has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(20);
/// Largest latency the histograms track; anything slower is clamped to it.
const HISTOGRAM_MAX_MICROS: u64 = 60_000_000;
/// Bytes of JSON around the chat text: `{"type":"chat","text":"` and `"}`.
const FRAME_OVERHEAD: usize = 25;
/// Uncover limits joining attempts per client address (a burst of 120, then 2 a second),
/// and each pair makes three (two `hello`s and a `join_pair_link`). Against a loopback
/// server the generator spreads its sockets over loopback source addresses, 16 pairs
/// each, as trainees arriving from many networks would.
const PAIRS_PER_SOURCE_ADDRESS: usize = 16;

/// Which kind of server the generator talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Uncover: pairs are made through the real protocol.
    Uncover,
    /// A bare relay that pairs sockets in arrival order and forwards frames verbatim.
    Relay,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ws://host:port/path` (Uncover serves websockets on `/ws`).
    pub url: String,
    pub target: Target,
    /// Pairs of connections; 2 × pairs sockets are opened.
    pub pairs: usize,
    /// Messages per second each side of a pair sends.
    pub rate_per_side: f64,
    /// Size of each client frame in bytes (JSON included).
    pub message_bytes: usize,
    /// Time over which senders start; each starts at a different point of it.
    pub ramp: Duration,
    /// The measured window.
    pub steady: Duration,
    /// Longest wait, after the last send, for messages still in flight.
    pub drain: Duration,
    /// Connections (or pairs, for Uncover) being set up at once.
    pub connect_concurrency: usize,
    /// The server's process id, for its memory and CPU figures.
    pub server_pid: Option<u32>,
    /// Scenario to ask Uncover for; `None` lets it pick.
    pub scenario: Option<String>,
}

impl Config {
    pub fn new(url: impl Into<String>, target: Target) -> Self {
        Self {
            url: url.into(),
            target,
            pairs: 100,
            rate_per_side: 0.5,
            message_bytes: 200,
            ramp: Duration::from_secs(4),
            steady: Duration::from_secs(60),
            drain: Duration::from_secs(5),
            connect_concurrency: 64,
            server_pid: None,
            scenario: None,
        }
    }

    fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate_per_side)
    }
}

/// Latency figures in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

/// The server's figures, when its process id was given.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ServerFigures {
    /// Resident memory before any connection.
    pub idle_rss_bytes: u64,
    /// Resident memory with every pair set up, before any chat.
    pub connected_rss_bytes: u64,
    /// Resident memory after the steady window (chat history included).
    pub end_rss_bytes: u64,
    /// (connected − idle) / connections.
    pub bytes_per_connection_connected: u64,
    /// (end − idle) / connections.
    pub bytes_per_connection_end: u64,
    /// Server CPU during the steady window, as a share of one core.
    pub cpu_percent: f64,
    /// Server CPU time per message relayed during the steady window.
    pub cpu_micros_per_message: f64,
    /// Of [`cpu_micros_per_message`](Self::cpu_micros_per_message), what background
    /// threads used (tokio's blocking pool, candle's pool: Uncover's reader reading lines
    /// ahead, which takes whatever CPU is spare, not a fixed cost per message).
    pub background_cpu_micros_per_message: f64,
    /// Context switches of all the server's threads per message in the steady window.
    pub context_switches_per_message: f64,
    /// System calls per message in the steady window (`perf stat`); none without perf.
    pub syscalls_per_message: Option<f64>,
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: Target,
    pub pairs: usize,
    pub connections: usize,
    pub rate_per_side: f64,
    pub message_bytes: usize,
    pub setup_secs: f64,
    pub steady_secs: f64,
    /// Messages sent during the steady window.
    pub sent: u64,
    /// Of those, how many reached the partner.
    pub delivered: u64,
    /// Of those, how many came back to their sender: Uncover's acknowledgement, or a
    /// relay run with echo. Zero from a plain relay.
    pub echoed: u64,
    pub lost: u64,
    /// Arrivals older than one already seen from the same sender.
    pub reordered: u64,
    /// Arrivals from someone other than the receiver's partner.
    pub misrouted: u64,
    pub delivered_per_sec: f64,
    /// Send to partner receipt.
    pub latency_us: Percentiles,
    /// How late senders woke against their schedule: large means the generator is the
    /// bottleneck, not the server.
    pub send_lag_us: Percentiles,
    pub generator_cpu_percent: f64,
    /// Error frames the server sent during the run.
    pub server_errors: u64,
    /// The first error frame, to say what went wrong.
    pub first_error: Option<String>,
    /// Sockets the server closed before the run ended.
    pub disconnects: u64,
    /// Phase changes during the run (a conversation timer running out, say).
    pub phase_changes: u64,
    pub server: Option<ServerFigures>,
}

impl Report {
    /// True when every message sent in the window arrived, once, in order, to the right
    /// socket, with no error and no dropped connection.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.reordered == 0
            && self.misrouted == 0
            && self.server_errors == 0
            && self.disconnects == 0
            && self.phase_changes == 0
    }
}

/// Counters and histograms shared by every connection task.
struct Stats {
    latency: Histogram<u64>,
    send_lag: Histogram<u64>,
    sent: u64,
    delivered: u64,
    echoed: u64,
    reordered: u64,
    misrouted: u64,
    server_errors: u64,
    first_error: Option<String>,
    disconnects: u64,
    phase_changes: u64,
}

impl Stats {
    fn new() -> Result<Self, String> {
        let hist = || {
            Histogram::<u64>::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3)
                .map_err(|e| format!("histogram: {e}"))
        };
        Ok(Self {
            latency: hist()?,
            send_lag: hist()?,
            sent: 0,
            delivered: 0,
            echoed: 0,
            reordered: 0,
            misrouted: 0,
            server_errors: 0,
            first_error: None,
            disconnects: 0,
            phase_changes: 0,
        })
    }
}

/// What every connection task shares.
struct Shared {
    /// The clock every send time is measured from.
    epoch: Instant,
    window_start: Instant,
    window_end: Instant,
    stats: Mutex<Stats>,
    /// Chat text filler, sliced to size.
    padding: String,
    message_bytes: usize,
}

impl Shared {
    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    fn in_window_nanos(&self, nanos: u64) -> bool {
        nanos >= self.nanos(self.window_start) && nanos < self.nanos(self.window_end)
    }

    fn with_stats(&self, f: impl FnOnce(&mut Stats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// A chat frame from `me`, message `seq`, stamped with its send time `at`.
    fn frame(&self, me: usize, seq: u64, at: Instant) -> String {
        let marker = format!("#{me}:{seq}:{} ", self.nanos(at));
        let pad = self
            .message_bytes
            .saturating_sub(FRAME_OVERHEAD + marker.len())
            .min(self.padding.len());
        let mut out = String::with_capacity(self.message_bytes + 8);
        out.push_str(r#"{"type":"chat","text":""#);
        out.push_str(&marker);
        out.push_str(&self.padding[..pad]);
        out.push_str(r#""}"#);
        out
    }
}

/// The sender, sequence number and send time at the start of a chat text.
fn parse_marker(frame: &str) -> Option<(usize, u64, u64)> {
    const KEY: &str = r##""text":"#"##;
    let at = frame.find(KEY)? + KEY.len();
    let rest = &frame[at..];
    let end = rest.find(' ')?;
    let mut parts = rest[..end].split(':');
    let from = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let nanos = parts.next()?.parse().ok()?;
    Some((from, seq, nanos))
}

fn filler(len: usize) -> String {
    // Plain words, no JSON escapes, and no trailing space (Uncover trims chat text).
    const WORDS: &str = "could you walk me through how the stock counts are done today and who \
        checks them before the orders go out to the restaurants each morning ";
    WORDS.chars().cycle().take(len).collect()
}

/// The address to dial for `ws://host:port/path`.
async fn server_address(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("`{url}`: only ws:// URLs are supported"))?;
    let host_port = rest.split('/').next().unwrap_or(rest);
    tokio::net::lookup_host(host_port)
        .await
        .map_err(|e| format!("cannot resolve `{host_port}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{host_port}` resolves to no address"))
}

/// The loopback source address for pair `pair`, when the server is on IPv4 loopback:
/// 127.1.x.y, a different one every [`PAIRS_PER_SOURCE_ADDRESS`] pairs.
fn source_address(server: SocketAddr, pair: usize) -> Option<IpAddr> {
    if !matches!(server.ip(), IpAddr::V4(ip) if ip.is_loopback()) {
        return None;
    }
    let n = pair / PAIRS_PER_SOURCE_ADDRESS;
    let (x, y) = ((n / 250) % 250, n % 250 + 1);
    Some(IpAddr::V4(Ipv4Addr::new(127, 1, x as u8, y as u8)))
}

async fn open_socket(
    url: &str,
    server: SocketAddr,
    source: Option<IpAddr>,
) -> Result<Socket, String> {
    let connect = async {
        let socket = match server {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| format!("socket: {e}"))?;
        if let Some(ip) = source {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
        let tcp = socket
            .connect(server)
            .await
            .map_err(|e| format!("connect {server}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(socket_config()))
            .await
            .map_err(|e| format!("websocket handshake with {url}: {e}"))?;
        Ok(ws)
    };
    tokio::time::timeout(SETUP_STEP_TIMEOUT, connect)
        .await
        .map_err(|_| format!("connecting to {url} took over {SETUP_STEP_TIMEOUT:?}"))?
}

async fn send_json(ws: &mut Socket, msg: Value) -> Result<(), String> {
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// Reads until a message of type `kind` (and, if given, phase `phase`) arrives.
async fn await_message(ws: &mut Socket, kind: &str, phase: Option<&str>) -> Result<Value, String> {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str())
                        .map_err(|e| format!("server sent non-JSON ({e}): {t}"))?;
                    if v["type"] == "error" {
                        return Err(format!("server error while waiting for `{kind}`: {v}"));
                    }
                    if v["type"] == kind && phase.is_none_or(|p| v["phase"] == p) {
                        return Ok(v);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("socket failed waiting for `{kind}`: {e}")),
                None => return Err(format!("socket closed waiting for `{kind}`")),
            }
        }
    };
    tokio::time::timeout(SETUP_STEP_TIMEOUT, wait)
        .await
        .map_err(|_| format!("no `{kind}` within {SETUP_STEP_TIMEOUT:?}"))?
}

/// One pair through Uncover's protocol, up to the start of the conversation.
async fn open_uncover_pair(
    url: &str,
    server: SocketAddr,
    index: usize,
    scenario: Option<&str>,
) -> Result<(Socket, Socket), String> {
    let source = source_address(server, index);
    let mut a = open_socket(url, server, source).await?;
    send_json(
        &mut a,
        json!({"type": "hello", "protocol": 1, "name": format!("load {index}a")}),
    )
    .await?;
    await_message(&mut a, "welcome", None).await?;
    send_json(
        &mut a,
        json!({"type": "create_pair_link", "scenario": scenario}),
    )
    .await?;
    let link = await_message(&mut a, "pair_link", None).await?;

    let mut b = open_socket(url, server, source).await?;
    send_json(
        &mut b,
        json!({"type": "hello", "protocol": 1, "name": format!("load {index}b")}),
    )
    .await?;
    await_message(&mut b, "welcome", None).await?;
    send_json(
        &mut b,
        json!({"type": "join_pair_link", "code": link["code"]}),
    )
    .await?;

    for ws in [&mut a, &mut b] {
        await_message(ws, "room_opened", None).await?;
        send_json(ws, json!({"type": "ready"})).await?;
    }
    for ws in [&mut a, &mut b] {
        await_message(ws, "phase", Some("conversation")).await?;
    }
    Ok((a, b))
}

/// Opens every socket; returns them indexed so that, for Uncover, 2i and 2i+1 are
/// partners. Relay partners are whoever the relay chose.
async fn open_all(config: &Config) -> Result<Vec<Socket>, String> {
    let server = server_address(&config.url).await?;
    let concurrency = config.connect_concurrency.max(1);
    match config.target {
        Target::Uncover => {
            let mut pairs: Vec<(usize, Socket, Socket)> = stream::iter(0..config.pairs)
                .map(|i| {
                    let url = &config.url;
                    async move {
                        let (a, b) =
                            open_uncover_pair(url, server, i, config.scenario.as_deref()).await?;
                        Ok::<_, String>((i, a, b))
                    }
                })
                .buffer_unordered(concurrency)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
            pairs.sort_by_key(|(i, _, _)| *i);
            Ok(pairs.into_iter().flat_map(|(_, a, b)| [a, b]).collect())
        }
        Target::Relay => stream::iter(0..config.pairs * 2)
            .map(|i| open_socket(&config.url, server, source_address(server, i / 2)))
            .buffered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect(),
    }
}

/// Where a connection's sender starts: spread over the ramp by the golden ratio so
/// neighbouring connections never start together.
fn start_offset(index: usize, ramp: Duration) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_895;
    ramp.mul_f64((index as f64 * GOLDEN).fract())
}

/// One connection: sends on schedule until the window closes, and reads until told to stop.
async fn drive(
    mut ws: Socket,
    me: usize,
    mut partner: Option<usize>,
    first_send: Instant,
    period: Duration,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut seq: u64 = 0;
    let mut next_send = first_send;
    let mut sending = true;
    // Next sequence number expected from the partner.
    let mut expected: u64 = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_send), if sending => {
                if next_send >= shared.window_end {
                    sending = false;
                    continue;
                }
                let now = Instant::now();
                let lag = now.saturating_duration_since(next_send).as_micros() as u64;
                let in_window = shared.in_window_nanos(shared.nanos(now));
                let frame = shared.frame(me, seq, now);
                if ws.send(Message::Text(frame.into())).await.is_err() {
                    shared.with_stats(|s| s.disconnects += 1);
                    return;
                }
                if in_window {
                    shared.with_stats(|s| {
                        s.sent += 1;
                        let _ = s.send_lag.record(lag.clamp(1, HISTOGRAM_MAX_MICROS));
                    });
                }
                seq += 1;
                next_send += period;
            }
            frame = ws.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => {
                        if !*stop.borrow() {
                            shared.with_stats(|s| s.disconnects += 1);
                        }
                        return;
                    }
                };
                let received = Instant::now();
                let text = text.as_str();
                if text.contains(r#""type":"chat""#) {
                    let Some((from, their_seq, sent_nanos)) = parse_marker(text) else {
                        continue;
                    };
                    if from == me {
                        // Our own line coming back: Uncover's acknowledgement.
                        if shared.in_window_nanos(sent_nanos) {
                            shared.with_stats(|s| s.echoed += 1);
                        }
                        continue;
                    }
                    let partner_id = *partner.get_or_insert(from);
                    let in_window = shared.in_window_nanos(sent_nanos);
                    let reordered = their_seq < expected;
                    expected = expected.max(their_seq + 1);
                    if !in_window {
                        continue;
                    }
                    let latency = shared.nanos(received).saturating_sub(sent_nanos) / 1_000;
                    shared.with_stats(|s| {
                        if from != partner_id {
                            s.misrouted += 1;
                        }
                        if reordered {
                            s.reordered += 1;
                        }
                        s.delivered += 1;
                        let _ = s.latency.record(latency.clamp(1, HISTOGRAM_MAX_MICROS));
                    });
                } else if *stop.borrow() {
                    // Partners leaving as the run shuts down are not trouble.
                    continue;
                } else if let Ok(v) = serde_json::from_str::<Value>(text) {
                    match v["type"].as_str() {
                        Some("error") => shared.with_stats(|s| {
                            s.server_errors += 1;
                            s.first_error.get_or_insert_with(|| v.to_string());
                        }),
                        Some("phase") if leaves_the_conversation(&v) => {
                            shared.with_stats(|s| s.phase_changes += 1)
                        }
                        Some("partner_left") => shared.with_stats(|s| s.disconnects += 1),
                        _ => {}
                    }
                }
            }
            _ = stop.changed() => {
                let _ = ws.close(None).await;
                return;
            }
        }
    }
}

/// Whether a `phase` frame ends the conversation the run measures. One that still says
/// `conversation` is the server giving the clock back after its process stalled (the
/// stall watch, on a busy machine), not a change of phase.
fn leaves_the_conversation(phase_frame: &Value) -> bool {
    phase_frame["phase"] != "conversation"
}

/// Runs one load test and reports what it measured.
pub async fn run(config: &Config) -> Result<Report, String> {
    if config.pairs == 0 {
        return Err("pairs must be at least 1".into());
    }
    if !(config.rate_per_side > 0.0 && config.rate_per_side.is_finite()) {
        return Err("the rate must be a positive number of messages per second".into());
    }
    let idle_rss = config.server_pid.and_then(procstat::rss_bytes);

    let setup_began = Instant::now();
    let sockets = open_all(config).await?;
    let setup_secs = setup_began.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let connected_rss = config.server_pid.and_then(procstat::rss_bytes);

    let connections = sockets.len();
    let period = config.period();
    let epoch = Instant::now();
    // Every sender has started, and sent at least once, before the window opens.
    let window_start = epoch + config.ramp + period;
    let window_end = window_start + config.steady;
    let shared = Arc::new(Shared {
        epoch,
        window_start,
        window_end,
        stats: Mutex::new(Stats::new()?),
        padding: filler(config.message_bytes),
        message_bytes: config.message_bytes,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::with_capacity(connections);
    for (me, ws) in sockets.into_iter().enumerate() {
        let partner = match config.target {
            Target::Uncover => Some(me ^ 1),
            Target::Relay => None,
        };
        let ramp_span = config.ramp.max(period);
        tasks.push(tokio::spawn(drive(
            ws,
            me,
            partner,
            epoch + start_offset(me, ramp_span),
            period,
            shared.clone(),
            stop_rx.clone(),
        )));
    }

    tokio::time::sleep_until(window_start).await;
    let server_mark = config.server_pid.and_then(|p| CpuMark::now(Some(p)));
    let switches_before = config.server_pid.and_then(procstat::context_switches);
    let background_before = config.server_pid.and_then(procstat::background_cpu_time);
    let syscalls = config.server_pid.and_then(procstat::SyscallCounter::start);
    let own_mark = CpuMark::now(None);
    tokio::time::sleep_until(window_end).await;
    let server_after = config.server_pid.and_then(|p| CpuMark::now(Some(p)));
    let switches_after = config.server_pid.and_then(procstat::context_switches);
    let background_after = config.server_pid.and_then(procstat::background_cpu_time);
    let syscall_count = syscalls.and_then(procstat::SyscallCounter::stop);
    let own_after = CpuMark::now(None);

    // Wait for messages still in flight, then read memory while everyone is connected.
    let drain_deadline = Instant::now() + config.drain;
    loop {
        let (sent, delivered) = shared
            .stats
            .lock()
            .map(|s| (s.sent, s.delivered))
            .unwrap_or((0, 0));
        if delivered >= sent || Instant::now() >= drain_deadline {
            break;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let end_rss = config.server_pid.and_then(procstat::rss_bytes);
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }

    let stats = shared
        .stats
        .lock()
        .map_err(|_| "a connection task panicked".to_string())?;
    let steady_secs = config.steady.as_secs_f64();
    let generator_cpu_percent = match (own_mark, own_after) {
        (Some(a), Some(b)) => a.until(&b).1,
        _ => 0.0,
    };
    let server = match (idle_rss, connected_rss, end_rss, server_mark, server_after) {
        (Some(idle), Some(conn), Some(end), Some(a), Some(b)) => {
            let (cpu, cpu_percent) = a.until(&b);
            let per = |rss: u64| rss.saturating_sub(idle) / connections as u64;
            let per_message = |n: u64| n as f64 / stats.sent.max(1) as f64;
            Some(ServerFigures {
                idle_rss_bytes: idle,
                connected_rss_bytes: conn,
                end_rss_bytes: end,
                bytes_per_connection_connected: per(conn),
                bytes_per_connection_end: per(end),
                cpu_percent,
                cpu_micros_per_message: if stats.sent > 0 {
                    cpu.as_secs_f64() * 1e6 / stats.sent as f64
                } else {
                    0.0
                },
                background_cpu_micros_per_message: match (background_before, background_after) {
                    (Some(a), Some(b)) => {
                        b.saturating_sub(a).as_secs_f64() * 1e6 / stats.sent.max(1) as f64
                    }
                    _ => 0.0,
                },
                context_switches_per_message: match (switches_before, switches_after) {
                    (Some(a), Some(b)) => per_message(b.saturating_sub(a)),
                    _ => 0.0,
                },
                syscalls_per_message: syscall_count.map(per_message),
            })
        }
        _ => None,
    };
    Ok(Report {
        target: config.target,
        pairs: config.pairs,
        connections,
        rate_per_side: config.rate_per_side,
        message_bytes: config.message_bytes,
        setup_secs,
        steady_secs,
        sent: stats.sent,
        delivered: stats.delivered,
        echoed: stats.echoed,
        lost: stats.sent.saturating_sub(stats.delivered),
        reordered: stats.reordered,
        misrouted: stats.misrouted,
        delivered_per_sec: stats.delivered as f64 / steady_secs.max(f64::EPSILON),
        latency_us: Percentiles::of(&stats.latency),
        send_lag_us: Percentiles::of(&stats.send_lag),
        generator_cpu_percent,
        server_errors: stats.server_errors,
        first_error: stats.first_error.clone(),
        disconnects: stats.disconnects,
        phase_changes: stats.phase_changes,
        server,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_phase_other_than_the_conversation_counts_as_a_phase_change() {
        let given_back =
            json!({"seq": 40, "type": "phase", "phase": "conversation", "remaining_ms": 598_500});
        assert!(!leaves_the_conversation(&given_back));
        for phase in ["recap", "debrief", "briefing"] {
            let frame = json!({"seq": 41, "type": "phase", "phase": phase, "remaining_ms": 0});
            assert!(leaves_the_conversation(&frame), "{phase}");
        }
    }

    #[test]
    fn marker_survives_uncovers_chat_framing() {
        let frame = r##"{"seq":9,"type":"chat","index":3,"from":"buyer","text":"#17:42:123456 could you","at_ms":5}"##;
        assert_eq!(parse_marker(frame), Some((17, 42, 123456)));
    }

    #[tokio::test]
    async fn frames_have_the_requested_size_and_parse_back() {
        let epoch = Instant::now();
        let shared = Shared {
            epoch,
            window_start: epoch,
            window_end: epoch,
            stats: Mutex::new(Stats::new().unwrap()),
            padding: filler(200),
            message_bytes: 200,
        };
        let frame = shared.frame(5, 7, Instant::now());
        assert_eq!(frame.len(), 200);
        let v: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["type"], "chat");
        assert_eq!(parse_marker(&frame).map(|(c, s, _)| (c, s)), Some((5, 7)));
    }
}
