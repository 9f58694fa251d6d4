//! One websocket connection: a reader loop that decodes client messages and routes them
//! (to the hub before pairing, to the room after), and a writer task that drains the
//! participant's bounded outbox onto the socket.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Notify};

use crate::hub::{clean_name, Hub, Participant, SessionSeat};
use crate::outbox::{Connection, Outbox, Outgoing, OUTBOX_CAPACITY};
use crate::protocol::ScenarioSummary;
use crate::protocol::{decode_client, ClientMsg, ErrorCode, ServerMsg, PROTOCOL_VERSION};
use crate::room_task::RoomCmd;
use crate::workshop::SessionCmd;
use crate::AppState;

/// Largest frame accepted from a client. Chat is capped at 2,000 characters (up to 8 KiB
/// of UTF-8); 64 KiB leaves room for notes and recaps while refusing anything abusive.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Read buffer per connection: chat frames are small, and tungstenite's 128 KiB default
/// would cost more than the rest of a connection.
pub const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Write buffer per connection, for the same reason.
pub const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// A socket that cannot take a close frame within this time is simply dropped.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Close code for a reader that fell too far behind (RFC 6455 "policy violation").
pub const CLOSE_TOO_SLOW: u16 = 1008;

pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| serve(socket, state.hub.clone()))
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    while let Some(item) = rx.recv().await {
        match item {
            Outgoing::Text(text) => {
                if sink.send(Message::Text(text)).await.is_err() {
                    return;
                }
            }
            Outgoing::Close(code, reason) => {
                let frame = Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }));
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
                return;
            }
        }
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
}

async fn serve(socket: WebSocket, hub: Arc<Hub>) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
    let kill = Arc::new(Notify::new());
    let outbox = Arc::new(Outbox::new(Connection::new(tx, kill.clone())));
    let writer = tokio::spawn(write_loop(sink, rx));
    let mut me: Option<Arc<Participant>> = None;

    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = kill.notified() => {
                tracing::info!("connection dropped: outbox full");
                outbox.close(CLOSE_TOO_SLOW, "too slow: messages were piling up");
                break;
            }
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                outbox.send(error(
                    ErrorCode::BadMessage,
                    "binary frames are not supported; send JSON text",
                ));
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
                    outbox.send(error(
                        ErrorCode::TooLarge,
                        format!("frame refused: larger than {MAX_FRAME_BYTES} bytes"),
                    ));
                    outbox.close(1009, "message too big");
                }
                tracing::debug!(error = %msg, "websocket read ended");
                break;
            }
        };
        let msg = match decode_client(text.as_str()) {
            Ok(m) => m,
            Err(reason) => {
                outbox.send(error(ErrorCode::BadMessage, reason));
                continue;
            }
        };
        match (&me, msg) {
            (None, ClientMsg::Hello { protocol, name }) => {
                if protocol != PROTOCOL_VERSION {
                    outbox.send(error(
                        ErrorCode::UnsupportedProtocol,
                        format!("this server speaks protocol {PROTOCOL_VERSION}, not {protocol}; reload the page"),
                    ));
                    continue;
                }
                let name = match clean_name(&name) {
                    Ok(n) => n,
                    Err(e) => {
                        outbox.send(error(ErrorCode::InvalidInput, e));
                        continue;
                    }
                };
                let p = hub.introduce(name, outbox.clone());
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
                });
                me = Some(p);
            }
            (None, _) => outbox.send(error(
                ErrorCode::NotIntroduced,
                "say hello first: {\"type\":\"hello\",\"protocol\":1,\"name\":\"…\"}",
            )),
            (Some(p), ClientMsg::LeaveRoom) => {
                if p.room().is_some() {
                    hub.leave_room(p).await;
                } else {
                    p.error(ErrorCode::WrongState, "you are not in a room");
                }
            }
            (Some(p), msg) if is_host_action(&msg) => match p.session() {
                Some(SessionSeat::Host(s)) => {
                    s.send(SessionCmd::FromHost { who: p.id, msg }).await;
                }
                _ => p.error(
                    ErrorCode::WrongRole,
                    "only the trainer's console can do that",
                ),
            },
            (Some(p), ClientMsg::ObserverNote { text }) => match p.observing() {
                Some(room) => {
                    room.send(RoomCmd::ObserverNote { from: p.id, text }).await;
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

    if let Some(p) = &me {
        hub.disconnected(p).await;
    }
    outbox.detach();
    let _ = writer.await;
}

/// Messages only a session's host may send.
fn is_host_action(msg: &ClientMsg) -> bool {
    matches!(
        msg,
        ClientMsg::PlanRound { .. }
            | ClientMsg::SetPairs { .. }
            | ClientMsg::StartRound
            | ClientMsg::Pause { .. }
            | ClientMsg::Resume { .. }
            | ClientMsg::Extend { .. }
            | ClientMsg::EndPhase { .. }
            | ClientMsg::Broadcast { .. }
            | ClientMsg::Rename { .. }
            | ClientMsg::Remove { .. }
    )
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code,
        message: message.into(),
    }
}
