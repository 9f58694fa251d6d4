//! One websocket connection: one task that decodes client messages and routes them (to
//! the hub before pairing, to the room after, to the session for host actions) and, in
//! the same loop, drains the participant's bounded outbox onto the socket
//! (`socket_io`).
//!
//! The loop also keeps the connection honest: a heartbeat notices dead peers, a rate
//! limit refuses floods, and the Origin check keeps other web pages out.

use std::future::{poll_fn, Future};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::hub::{clean_name, Participant, SessionSeat};
use crate::listener::Peer;
use crate::outbox::{Connection, Outbox, OUTBOX_CAPACITY};
use crate::protocol::{
    decode_client, ClientMsg, ErrorCode, ScenarioSummary, ServerMsg, PROTOCOL_VERSION,
};
use crate::room_task::{error_name, RoomCmd};
use crate::workshop::SessionCmd;
use crate::AppState;

mod handshake;
mod socket_io;
mod whole_reads;

use handshake::{Socket, WsUpgrade};
use socket_io::{Event, SocketIo, Wakes};

/// What woke a connection's loop.
enum Woke {
    Socket(Event),
    Killed,
    Closing,
    NoHello,
    Heartbeat,
}

/// Largest frame accepted from a client. Chat is capped at 2,000 characters (up to 8 KiB
/// of UTF-8); 64 KiB leaves room for notes and recaps while refusing anything abusive.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Read buffer per connection. Client frames are a few hundred bytes, so 1 KiB takes
/// several per read; a larger frame grows the buffer as it arrives. Every connection
/// holds this for its whole life, so at 10,000 connections each KiB is 10 MiB.
pub const READ_BUFFER_BYTES: usize = 1024;
/// Frames buffered before the writer sends them, when several are waiting. The buffer
/// keeps its largest size, this plus one frame (at most a 512-byte fragment, see
/// `socket_io`), so this bounds what a burst leaves behind per connection, about 1 KiB
/// (2 KiB with 1 KiB here: 0.6 KiB more per connection after the benchmark's chat); three
/// chat lines of the benchmark's size still go out in one write.
pub const WRITE_BUFFER_BYTES: usize = 512;
/// A socket that cannot take a close frame within this time is simply dropped.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Close code for a reader that fell too far behind or flooded (RFC 6455 "policy violation").
pub const CLOSE_POLICY: u16 = 1008;
/// Close code when the server stops (RFC 6455 "service restart").
pub const CLOSE_RESTART: u16 = 1012;
/// How often the server pings an idle connection.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
/// A connection silent for this long (no message, no pong) is dead: three missed pings.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);
/// Heartbeat ticks in [`HEARTBEAT_TIMEOUT`]: a connection silent for more ticks than this
/// is closed, at the first tick after the timeout, as comparing a timestamp at each tick
/// would. Counted rather than timed so that reading a frame costs no clock read.
const SILENT_TICKS_MAX: u32 = (HEARTBEAT_TIMEOUT.as_secs() / HEARTBEAT_EVERY.as_secs()) as u32;
/// Messages a connection may send per second on average. People type far slower; a
/// client sending more is broken or hostile.
pub const MESSAGES_PER_SECOND: u32 = 20;
/// Short bursts above that are fine (a reconnecting client catching up, quick reveals).
pub const MESSAGE_BURST: u32 = 40;
/// Refusals in a row after which a flooding connection is closed.
pub const FLOOD_STRIKES: u32 = 100;
/// Joining attempts (reconnect, join codes, pair links, host links) per second per IP;
/// `hello` is not one, so a code-guesser cannot lock the trainees behind its NAT out of
/// greeting. A room behind one NAT joins within a minute at this pace.
pub const JOINS_PER_SECOND: u32 = 2;
/// The burst a whole workshop behind one address needs when everyone joins (or, after
/// a restart, reconnects) at once.
pub const JOIN_BURST: u32 = 120;
/// Wrong codes (join codes, pair links, host links) one address may try per minute,
/// after a burst of [`GUESS_BURST`]; past that its attempts are refused for a minute. A
/// person mistypes a code once or twice.
pub const GUESSES_PER_MINUTE: u32 = 6;
/// Wrong codes an address may try in a row before [`GUESSES_PER_MINUTE`] applies.
pub const GUESS_BURST: u32 = 12;
/// Wrong codes per minute across all addresses. Past it, every address that guessed
/// wrong in the last [`GUESS_MEMORY`] is refused for a minute (addresses that never
/// guessed wrong, the trainees, still join). With 31⁶ ≈ 887 million codes, even ten
/// thousand addresses get about one guess each per ten minutes: a code survives a
/// day-long workshop with better than 99.8% odds.
pub const GLOBAL_GUESSES_PER_MINUTE: u32 = 60;
/// The burst of wrong codes across all addresses before the global pace applies.
pub const GLOBAL_GUESS_BURST: u32 = 120;
/// How long an address that guessed wrong is remembered for the global limit.
pub const GUESS_MEMORY: Duration = Duration::from_secs(10 * 60);
/// How long an address is refused once a guessing limit is hit.
pub const GUESS_PENALTY: Duration = Duration::from_secs(60);
/// A socket that has not said `hello` (or `reconnect`) within this time is closed with
/// [`CLOSE_POLICY`]: a page says it at once, and an idle socket holds a file descriptor.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Open websockets per address. A workshop of 60 behind one NAT, with a few tabs each
/// and the trainer's console, fits many times over; one address opening thousands is
/// exhausting file descriptors, and further upgrades get HTTP 429.
pub const CONNECTIONS_PER_ADDRESS: usize = 512;
/// Close code for a text frame that is not UTF-8 (RFC 6455 "invalid frame payload data").
pub const CLOSE_BAD_DATA: u16 = 1007;
/// Close code for a frame over [`MAX_FRAME_BYTES`] (RFC 6455 "message too big").
pub const CLOSE_TOO_BIG: u16 = 1009;

/// How fast one connection may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRate {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for MessageRate {
    fn default() -> Self {
        Self {
            per_second: MESSAGES_PER_SECOND,
            burst: MESSAGE_BURST,
        }
    }
}

/// What is remembered of an address that guessed a code wrong.
#[derive(Debug, Clone, Copy)]
struct Guesser {
    last_wrong: Instant,
    refused_until: Option<Instant>,
}

/// Limits shared by every connection.
pub struct Guards {
    joins: DefaultKeyedRateLimiter<IpAddr>,
    /// Wrong guesses per address, and across all addresses.
    wrong_guesses: DefaultKeyedRateLimiter<IpAddr>,
    all_wrong_guesses: DefaultDirectRateLimiter,
    guessers: DashMap<IpAddr, Guesser>,
    /// Until when addresses that guessed wrong recently are all refused.
    everyone_refused_until: Mutex<Option<Instant>>,
    /// Open websockets per address.
    connections: DashMap<IpAddr, usize>,
    rate: MessageRate,
    /// Extra origins (scheme://host:port) allowed besides the server's own address.
    allowed_origins: Vec<String>,
}

impl std::fmt::Debug for Guards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guards")
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Guards {
    pub fn new(allowed_origins: Vec<String>, rate: MessageRate) -> Self {
        Self {
            joins: RateLimiter::keyed(
                Quota::per_second(nonzero(JOINS_PER_SECOND)).allow_burst(nonzero(JOIN_BURST)),
            ),
            // The wrong guess that finds the bucket empty was already let through, so
            // the bucket holds one less: the attempt after GUESS_BURST wrong ones is
            // refused.
            wrong_guesses: RateLimiter::keyed(
                Quota::per_minute(nonzero(GUESSES_PER_MINUTE))
                    .allow_burst(nonzero(GUESS_BURST.saturating_sub(1))),
            ),
            all_wrong_guesses: RateLimiter::direct(
                Quota::per_minute(nonzero(GLOBAL_GUESSES_PER_MINUTE))
                    .allow_burst(nonzero(GLOBAL_GUESS_BURST)),
            ),
            guessers: DashMap::new(),
            everyone_refused_until: Mutex::new(None),
            connections: DashMap::new(),
            rate,
            allowed_origins,
        }
    }

    fn join_allowed(&self, ip: IpAddr) -> bool {
        self.joins.check_key(&ip).is_ok()
    }

    /// Whether `ip` may try a code now (see [`GUESSES_PER_MINUTE`]).
    fn guess_allowed(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let Some(g) = self.guessers.get(&ip).map(|g| *g) else {
            return true;
        };
        if g.refused_until.is_some_and(|t| t > now) {
            return false;
        }
        let everyone = self
            .everyone_refused_until
            .lock()
            .map(|t| t.is_some_and(|t| t > now))
            .unwrap_or(false);
        !(everyone && now.duration_since(g.last_wrong) < GUESS_MEMORY)
    }

    /// `ip` tried a code that does not exist.
    fn guessed_wrong(&self, ip: IpAddr) {
        let now = Instant::now();
        if self.guessers.len() > MAX_GUESSERS {
            self.guessers
                .retain(|_, g| now.duration_since(g.last_wrong) < GUESS_MEMORY);
        }
        let refused_until = self
            .wrong_guesses
            .check_key(&ip)
            .is_err()
            .then_some(now + GUESS_PENALTY);
        self.guessers.insert(
            ip,
            Guesser {
                last_wrong: now,
                refused_until,
            },
        );
        if self.all_wrong_guesses.check().is_err() {
            if let Ok(mut t) = self.everyone_refused_until.lock() {
                *t = Some(now + GUESS_PENALTY);
            }
        }
    }

    /// A slot for one more websocket from `ip`, or none if it has too many open.
    fn connection_slot(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let mut open = self.connections.entry(ip).or_insert(0);
        if *open >= CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *open += 1;
        Some(ConnectionSlot {
            guards: self.clone(),
            ip,
        })
    }
}

/// Addresses remembered for guessing before the stale ones are forgotten.
const MAX_GUESSERS: usize = 100_000;

/// One open websocket counted against its address; dropping it frees the slot.
struct ConnectionSlot {
    guards: Arc<Guards>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.guards.connections.remove_if_mut(&self.ip, |_, open| {
            *open = open.saturating_sub(1);
            *open == 0
        });
    }
}

/// Browsers always send `Origin`; it must name this server (or an allowed origin) so a
/// page elsewhere cannot drive a visitor's browser into a workshop. Tools that send no
/// Origin (tests, load generators) are not browsers and pass.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bare = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or(origin);
    bare.eq_ignore_ascii_case(host) || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin))
}

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    ws: WsUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.guards.allowed_origins) {
        crate::metrics::rejected("origin");
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not connect; open Uncover from its own address",
        )
            .into_response();
    }
    let Some(slot) = state.guards.connection_slot(peer.ip()) else {
        crate::metrics::rejected("too_many_connections");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many connections from your address; close some tabs",
        )
            .into_response();
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES);
    ws.accept(config, move |socket| serve(socket, state, peer.ip(), slot))
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
    crate::metrics::rejected(error_name(code));
    ServerMsg::Error {
        code,
        message: message.into(),
    }
}

/// Tells `outbox` why a message was refused.
fn refuse(outbox: &Outbox, code: ErrorCode, message: impl Into<String>) {
    outbox.send(error(code, message));
}

/// Serves one connection until it ends; `slot` is given back when it has.
///
/// Not an `async fn`: the socket and its queue are put together before the connection's
/// future is made. Every value an `async fn` or block is given keeps its own place in the
/// future for its whole life, beside whatever it was moved into, so a socket handed in
/// whole would take its 368 bytes in the future of every connection once more after
/// moving into [`SocketIo`].
fn serve(
    socket: Socket,
    state: AppState,
    ip: IpAddr,
    slot: ConnectionSlot,
) -> impl std::future::Future<Output = ()> + Send {
    let (tx, rx) = crate::outbox::channel(OUTBOX_CAPACITY);
    serve_io(SocketIo::new(socket, rx), tx, state, ip, slot)
}

/// [`serve`], on the socket and its queue's sending end. The rare, large awaits
/// (resuming, leaving, host commands, the close) are boxed so the future every
/// connection keeps stays small.
///
/// An async block, not an `async fn`: an `async fn` moves each argument into a local of
/// its own as it starts, and its future keeps both places (the socket's 480 bytes twice),
/// where a block uses what it captured in place.
#[allow(clippy::manual_async_fn)] // see above: an `async fn` is larger
fn serve_io(
    mut io: SocketIo,
    tx: crate::outbox::Sender,
    state: AppState,
    ip: IpAddr,
    slot: ConnectionSlot,
) -> impl Future<Output = ()> + Send {
    async move {
        crate::metrics::connection_opened();
        let _open = state.socket_open();
        let hub = state.hub.clone();
        let kill = Arc::new(Notify::new());
        let conn = Connection::new(tx, kill.clone());
        let conn_id = conn.id;
        // This connection's own handle: closes here must never reach a newer connection
        // that replaced this one on the participant's outbox.
        let own = conn.clone();
        // Until the client says who it is, it has an outbox of its own.
        let fresh = Arc::new(Outbox::new(conn));
        let mut me: Option<Arc<Participant>> = None;
        let rate = state.guards.rate;
        let limiter: DefaultDirectRateLimiter = RateLimiter::direct(
            Quota::per_second(nonzero(rate.per_second)).allow_burst(nonzero(rate.burst)),
        );
        let mut strikes = 0u32;
        let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
        heartbeat.tick().await;
        // Heartbeats since the client was last heard from (see `SILENT_TICKS_MAX`).
        let mut silent_ticks = 0u32;
        let mut closing = state.closing.clone();
        let hello_due = tokio::time::Instant::now() + HELLO_TIMEOUT;
        // Made once, not once a frame: each would register with its `Notify` and leave it
        // again for every message read. Both end the loop when they fire.
        let killed = kill.notified();
        let closed = closing.changed();
        // Made once too: a timer built and dropped per frame is work on every line.
        let hello_timer = tokio::time::sleep_until(hello_due);
        tokio::pin!(killed, closed, hello_timer);
        // The signals and timers above are polled only when one of them has woken the task,
        // not for every frame read or written.
        let signals = Wakes::new();

        loop {
            let out: &Outbox = me.as_ref().map(|p| p.outbox.as_ref()).unwrap_or(&fresh);
            let introduced = me.is_some();
            // The signals first: a client that never stops sending must still hear them.
            let woke = poll_fn(|cx| {
                let signal = signals.poll(cx, |cx| {
                    if killed.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Woke::Killed)
                    } else if closed.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Woke::Closing)
                    } else if !introduced && hello_timer.as_mut().poll(cx).is_ready() {
                        Poll::Ready(Woke::NoHello)
                    } else {
                        heartbeat.poll_tick(cx).map(|_| Woke::Heartbeat)
                    }
                });
                match signal {
                    Poll::Ready(signal) => Poll::Ready(signal),
                    Poll::Pending => io.poll_event(cx).map(Woke::Socket),
                }
            })
            .await;
            let frame = match woke {
                Woke::Socket(Event::Frame(frame)) => frame,
                Woke::Socket(Event::WritingEnded) => {
                    // The socket failed, or a close was queued (whoever queued it has told
                    // this loop to stop too).
                    tracing::debug!(connection = conn_id, "writing to the socket ended");
                    break;
                }
                Woke::Killed => {
                    // Cut off for being too slow, or replaced by a newer connection; whoever
                    // did it has already sent the close frame if one could be sent.
                    tracing::info!(connection = conn_id, "connection dropped by the server");
                    break;
                }
                Woke::Heartbeat => {
                    silent_ticks += 1;
                    if silent_ticks > SILENT_TICKS_MAX {
                        tracing::info!(connection = conn_id, "connection silent too long");
                        break;
                    }
                    out.ping();
                    continue;
                }
                Woke::NoHello => {
                    refuse(
                        out,
                        ErrorCode::NotIntroduced,
                        format!("no hello within {} seconds", HELLO_TIMEOUT.as_secs()),
                    );
                    own.close(CLOSE_POLICY, "no hello in time");
                    break;
                }
                Woke::Closing => {
                    out.send(ServerMsg::ServerClosing {
                        reason: "the server is restarting; you will be reconnected".into(),
                    });
                    own.close(CLOSE_RESTART, "server restarting");
                    break;
                }
            };
            silent_ticks = 0;
            let text = match frame {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(_))) => {
                    refuse(
                        out,
                        ErrorCode::BadMessage,
                        "binary frames are not supported; send JSON text",
                    );
                    continue;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(Message::Frame(_))) => continue,
                Some(Err(e)) => {
                    // tungstenite reports bad UTF-8 and oversized frames as errors and the
                    // socket is then unusable; say why before it closes.
                    match &e {
                        WsError::Utf8(_) => {
                            own.close(CLOSE_BAD_DATA, "invalid UTF-8 in a text frame")
                        }
                        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
                            refuse(
                                out,
                                ErrorCode::TooLarge,
                                format!("frame refused: larger than {MAX_FRAME_BYTES} bytes"),
                            );
                            own.close(CLOSE_TOO_BIG, "message too big");
                        }
                        _ => {}
                    }
                    tracing::debug!(error = %e, "websocket read ended");
                    break;
                }
            };
            if limiter.check().is_err() {
                strikes += 1;
                if strikes >= FLOOD_STRIKES {
                    own.close(CLOSE_POLICY, "flooding: too many messages");
                    break;
                }
                refuse(
                    out,
                    ErrorCode::RateLimited,
                    format!("slow down: at most {} messages a second", rate.per_second),
                );
                continue;
            }
            strikes = 0;
            let msg = match decode_client(text.as_str()) {
                Ok(m) => m,
                Err(reason) => {
                    refuse(out, ErrorCode::BadMessage, reason);
                    continue;
                }
            };
            let guess = is_guess(&msg);
            if (is_join_attempt(&msg) && !state.guards.join_allowed(ip))
                || (guess && !state.guards.guess_allowed(ip))
            {
                refuse(
                    out,
                    ErrorCode::RateLimited,
                    "too many attempts from your network; wait a minute",
                );
                continue;
            }
            match (&me, msg) {
                (None, ClientMsg::Hello { protocol, name }) => {
                    if protocol != PROTOCOL_VERSION {
                        refuse(out, ErrorCode::UnsupportedProtocol, format!("this server speaks protocol {PROTOCOL_VERSION}, not {protocol}; reload the page"));
                        continue;
                    }
                    let name = match clean_name(&name) {
                        Ok(n) => n,
                        Err(e) => {
                            refuse(out, ErrorCode::InvalidInput, e);
                            continue;
                        }
                    };
                    let p = match Box::pin(hub.introduce(name, fresh.clone())).await {
                        Ok(p) => p,
                        Err((code, message)) => {
                            refuse(out, code, message);
                            continue;
                        }
                    };
                    p.outbox.send(ServerMsg::Welcome {
                        protocol: PROTOCOL_VERSION,
                        you: p.id,
                        name: p.name(),
                        scenarios: hub
                            .library()
                            .all()
                            .iter()
                            .map(|s| ScenarioSummary::from(s.as_ref()))
                            .collect(),
                        resume_token: p.resume_token().to_string(),
                    });
                    me = Some(p);
                }
                (
                    None,
                    ClientMsg::Reconnect {
                        protocol,
                        token,
                        last_seq,
                    },
                ) => {
                    if protocol != PROTOCOL_VERSION {
                        refuse(out, ErrorCode::UnsupportedProtocol, format!("this server speaks protocol {PROTOCOL_VERSION}, not {protocol}; reload the page"));
                        continue;
                    }
                    match Box::pin(hub.resume(&token, last_seq, &fresh)).await {
                        Ok(p) => me = Some(p),
                        Err((code, message)) => refuse(out, code, message),
                    }
                }
                (None, _) => refuse(
                    out,
                    ErrorCode::NotIntroduced,
                    "say hello first: {\"type\":\"hello\",\"protocol\":1,\"name\":\"…\"}",
                ),
                (Some(p), ClientMsg::Hello { .. } | ClientMsg::Reconnect { .. }) => {
                    p.error(
                        ErrorCode::WrongState,
                        "you have already said hello on this connection",
                    );
                }
                (Some(p), ClientMsg::LeaveRoom) => {
                    if p.room().is_some() {
                        Box::pin(hub.leave_room(p)).await;
                    } else {
                        p.error(ErrorCode::WrongState, "you are not in a room");
                    }
                }
                (Some(p), ClientMsg::CreateSession { title }) => {
                    if let Err((code, message)) = Box::pin(hub.create_session(p, title)).await {
                        p.error(code, message);
                    }
                }
                (Some(p), ClientMsg::DeleteSession) => {
                    if let Err((code, message)) = Box::pin(hub.delete_hosted_session(p)).await {
                        p.error(code, message);
                    }
                }
                (Some(p), msg) if msg.is_host_action() => match p.session() {
                    Some(SessionSeat::Host(s)) => {
                        Box::pin(s.send(SessionCmd::FromHost { who: p.id, msg })).await;
                    }
                    _ => p.error(
                        ErrorCode::WrongRole,
                        "only the trainer's console can do that",
                    ),
                },
                (Some(p), msg @ (ClientMsg::RaiseHand | ClientMsg::LowerHand)) => match p.session()
                {
                    Some(SessionSeat::Trainee(s)) => {
                        Box::pin(s.send(SessionCmd::FromMember { who: p.id, msg })).await;
                    }
                    _ => p.error(
                        ErrorCode::WrongState,
                        "raising a hand calls a workshop's trainer; you are not in a workshop",
                    ),
                },
                (Some(p), ClientMsg::ObserverNote { text }) => match p.observing() {
                    Some(room) => {
                        Box::pin(room.send(RoomCmd::ObserverNote { from: p.id, text })).await;
                    }
                    None => p.error(ErrorCode::WrongRole, "only observers write observer notes"),
                },
                (Some(p), msg) => match p.room() {
                    Some(room) => {
                        if !room.send(RoomCmd::Client { from: p.id, msg }).await {
                            p.error(ErrorCode::WrongState, "that room has closed");
                        }
                    }
                    None => {
                        if Box::pin(hub.lobby(p, msg)).await == Some(ErrorCode::NotFound) && guess {
                            state.guards.guessed_wrong(ip);
                        }
                    }
                },
            }
        }

        match &me {
            Some(p) => Box::pin(hub.disconnected(p, conn_id)).await,
            None => {
                fresh.detach(conn_id);
            }
        }
        drop(own);
        // What is still queued and the close frame, within CLOSE_TIMEOUT: a peer that stopped
        // reading would never take them.
        Box::pin(io.finish()).await;
        crate::metrics::connection_closed();
        // Given back only now that the connection has ended.
        drop(slot);
    }
}

/// Messages that try a code or a secret, limited per address. `hello` is not one.
fn is_join_attempt(msg: &ClientMsg) -> bool {
    matches!(msg, ClientMsg::Reconnect { .. }) || is_guess(msg)
}

/// Messages that try a short code, whose wrong answers are limited (see
/// [`GUESSES_PER_MINUTE`]). Resume tokens are 128 random bits: not guessable.
fn is_guess(msg: &ClientMsg) -> bool {
    matches!(
        msg,
        ClientMsg::JoinSession { .. }
            | ClientMsg::JoinPairLink { .. }
            | ClientMsg::HostSession { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_pages_from_this_server_may_open_a_socket() {
        assert!(origin_allowed(
            &headers(Some("http://10.0.0.5:8080"), "10.0.0.5:8080"),
            &[]
        ));
        assert!(origin_allowed(&headers(None, "10.0.0.5:8080"), &[]));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "10.0.0.5:8080"),
            &[]
        ));
        assert!(origin_allowed(
            &headers(Some("https://uncover.example.org"), "10.0.0.5:8080"),
            &["https://uncover.example.org".into()]
        ));
    }
}
