//! One websocket connection: a reader loop that decodes client messages and routes them
//! (to the hub before pairing, to the room after, to the session for host actions), and
//! a writer task that drains the participant's bounded outbox onto the socket.
//!
//! The reader also keeps the connection honest: a heartbeat notices dead peers, a rate
//! limit refuses floods, and the Origin check keeps other web pages out.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{mpsc, Notify};

use crate::hub::{clean_name, Participant, SessionSeat};
use crate::outbox::{Connection, Outbox, Outgoing, OUTBOX_CAPACITY};
use crate::protocol::{
    decode_client, ClientMsg, ErrorCode, ScenarioSummary, ServerMsg, PROTOCOL_VERSION,
};
use crate::room_task::{error_name, RoomCmd};
use crate::workshop::SessionCmd;
use crate::AppState;

/// Largest frame accepted from a client. Chat is capped at 2,000 characters (up to 8 KiB
/// of UTF-8); 64 KiB leaves room for notes and recaps while refusing anything abusive.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Read buffer per connection. Client frames are a few hundred bytes, so 1 KiB takes
/// several per read; a larger frame grows the buffer as it arrives. Every connection
/// holds this for its whole life, so at 10,000 connections each KiB is 10 MiB.
pub const READ_BUFFER_BYTES: usize = 1024;
/// Frames buffered before the writer sends them, when several are waiting. The buffer
/// keeps its largest size, so this bounds what a burst leaves behind per connection.
pub const WRITE_BUFFER_BYTES: usize = 2 * 1024;
/// Frames written per flush at most, so one busy connection's writer yields now and then.
const WRITE_BATCH: usize = 64;
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
/// Messages a connection may send per second on average. People type far slower; a
/// client sending more is broken or hostile.
pub const MESSAGES_PER_SECOND: u32 = 20;
/// Short bursts above that are fine (a reconnecting client catching up, quick reveals).
pub const MESSAGE_BURST: u32 = 40;
/// Refusals in a row after which a flooding connection is closed.
pub const FLOOD_STRIKES: u32 = 100;
/// Joining attempts (hello, reconnect, join codes, host links) per second per IP. A room
/// behind one NAT joins within a minute; guessing a code at this pace takes decades.
pub const JOINS_PER_SECOND: u32 = 2;
/// The burst a whole workshop behind one address needs when everyone joins at once.
pub const JOIN_BURST: u32 = 120;

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

/// Limits shared by every connection.
pub struct Guards {
    joins: DefaultKeyedRateLimiter<IpAddr>,
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
            rate,
            allowed_origins,
        }
    }

    fn join_allowed(&self, ip: IpAddr) -> bool {
        self.joins.check_key(&ip).is_ok()
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.guards.allowed_origins) {
        crate::metrics::rejected("origin");
        return (
            StatusCode::FORBIDDEN,
            "this page's origin may not connect; open Uncover from its own address",
        )
            .into_response();
    }
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(socket, state, peer.ip()))
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    while let Some(first) = rx.recv().await {
        // Everything already waiting goes out with one flush: under load that is one
        // write for many frames instead of one write each.
        let mut items = vec![first];
        while items.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        for item in items {
            let fed = match item {
                Outgoing::Text(text) => sink.feed(Message::Text(text)).await,
                Outgoing::Replay(frames) | Outgoing::Batch(frames) => {
                    let mut fed = Ok(());
                    for text in frames {
                        fed = sink.feed(Message::Text(text)).await;
                        if fed.is_err() {
                            break;
                        }
                    }
                    fed
                }
                Outgoing::Ping => sink.feed(Message::Ping(Default::default())).await,
                Outgoing::Close(code, reason) => {
                    let frame = Message::Close(Some(CloseFrame {
                        code,
                        reason: reason.into(),
                    }));
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
                    return;
                }
            };
            if fed.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
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

/// Serves one connection until it ends. The rare, large awaits (resuming, leaving,
/// host commands) are boxed so the future every connection keeps stays small.
async fn serve(socket: WebSocket, state: AppState, ip: IpAddr) {
    crate::metrics::connection_opened();
    let _open = state.socket_open();
    let hub = state.hub.clone();
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
    let kill = Arc::new(Notify::new());
    let conn = Connection::new(tx, kill.clone());
    let conn_id = conn.id;
    // This connection's own handle: closes here must never reach a newer connection
    // that replaced this one on the participant's outbox.
    let own = conn.clone();
    // Until the client says who it is, it has an outbox of its own.
    let fresh = Arc::new(Outbox::new(conn));
    let mut writer = tokio::spawn(write_loop(sink, rx));
    let mut me: Option<Arc<Participant>> = None;
    let rate = state.guards.rate;
    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(
        Quota::per_second(nonzero(rate.per_second)).allow_burst(nonzero(rate.burst)),
    );
    let mut strikes = 0u32;
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    heartbeat.tick().await;
    let mut last_heard = tokio::time::Instant::now();
    let mut closing = state.closing.clone();

    loop {
        let out: &Outbox = me.as_ref().map(|p| p.outbox.as_ref()).unwrap_or(&fresh);
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = kill.notified() => {
                // Cut off for being too slow, or replaced by a newer connection; whoever
                // did it has already sent the close frame if one could be sent.
                tracing::info!(connection = conn_id, "connection dropped by the server");
                break;
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > HEARTBEAT_TIMEOUT {
                    tracing::info!(connection = conn_id, "connection silent too long");
                    break;
                }
                out.ping();
                continue;
            }
            _ = closing.changed() => {
                out.send(ServerMsg::ServerClosing {
                    reason: "the server is restarting; you will be reconnected".into(),
                });
                own.close(CLOSE_RESTART, "server restarting");
                break;
            }
        };
        last_heard = tokio::time::Instant::now();
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
            Some(Err(e)) => {
                // tungstenite reports oversized frames as errors and the socket is then
                // unusable; say why before it closes.
                let msg = e.to_string();
                if msg.contains("too long")
                    || msg.contains("too big")
                    || msg.contains("Space limit")
                {
                    refuse(
                        out,
                        ErrorCode::TooLarge,
                        format!("frame refused: larger than {MAX_FRAME_BYTES} bytes"),
                    );
                    own.close(1009, "message too big");
                }
                tracing::debug!(error = %msg, "websocket read ended");
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
        if is_join_attempt(&msg) && !state.guards.join_allowed(ip) {
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
                None => hub.lobby(p, msg),
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
    // A writer stuck on a reader that stopped reading would never finish by itself.
    if tokio::time::timeout(CLOSE_TIMEOUT, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    crate::metrics::connection_closed();
}

/// Messages that try a code or a secret, limited per address.
fn is_join_attempt(msg: &ClientMsg) -> bool {
    matches!(
        msg,
        ClientMsg::Hello { .. }
            | ClientMsg::Reconnect { .. }
            | ClientMsg::JoinSession { .. }
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
