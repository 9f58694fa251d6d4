//! The bare relay: the least a tokio-tungstenite server can do for a pair of chatters.
//! Connections are paired in the order their websocket handshakes complete, and every
//! frame one sends is forwarded unchanged to the other. No protocol, no rooms, no JSON:
//! it is the floor Uncover's stack could reach, driven by the same load generator.
//!
//! Each socket has a reader (forwarding to the partner's queue) and a writer (draining its
//! own bounded queue, flushing once per batch). A partner whose queue is full is cut off,
//! the same policy as Uncover's outbox, so neither server can hide overload in memory.
//!
//! With [`Echo::ToSender`] every frame also goes back to its sender, as Uncover's chat
//! acknowledgement does: the floor for a protocol that answers each line, which shows how
//! much of the gap to the plain relay is that answer rather than the rest of Uncover.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::socket_config;

/// Frames queued per socket before its reader counts as too slow: the same bound as
/// Uncover's outbox, so both servers shed a stalled reader at the same depth.
pub const QUEUE_FRAMES: usize = 256;

/// The first of a pair, waiting for the next connection to complete its handshake.
struct Waiting {
    /// Where the partner's sender is handed over once it arrives.
    give_partner: oneshot::Sender<mpsc::Sender<Message>>,
    /// The waiting socket's own queue, for the partner to forward into.
    tx: mpsc::Sender<Message>,
}

/// The one connection waiting for a partner, if any.
type Lobby = Arc<Mutex<Option<Waiting>>>;

/// Whether a frame also goes back to the socket that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Only the partner gets it: the plain relay.
    None,
    /// The sender gets a copy too, sent at once.
    ToSender,
}

/// Accepts connections on `listener` until it fails, pairing them in arrival order.
pub async fn serve(listener: TcpListener, echo: Echo) -> std::io::Result<()> {
    let lobby: Lobby = Arc::new(Mutex::new(None));
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, lobby.clone(), echo));
    }
}

/// How a connection found its partner.
enum Seat {
    /// Someone was waiting: here is their queue.
    Second(mpsc::Sender<Message>),
    /// Nobody was: wait for the next arrival to hand over its queue.
    First(oneshot::Receiver<mpsc::Sender<Message>>),
}

async fn connection(stream: TcpStream, lobby: Lobby, echo: Echo) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(socket_config())).await
    else {
        return;
    };
    let (sink, mut source) = ws.split();
    let (tx, rx) = mpsc::channel::<Message>(QUEUE_FRAMES);
    let writer = tokio::spawn(write_loop(sink, rx));

    let seat = {
        let Ok(mut slot) = lobby.lock() else {
            writer.abort();
            return;
        };
        match slot.take() {
            Some(w) if !w.give_partner.is_closed() => {
                let _ = w.give_partner.send(tx.clone());
                Seat::Second(w.tx)
            }
            _ => {
                let (give_partner, partner) = oneshot::channel();
                *slot = Some(Waiting {
                    give_partner,
                    tx: tx.clone(),
                });
                Seat::First(partner)
            }
        }
    };
    // Held only to echo; otherwise the writer ends when the partner's reader does.
    let own = (echo == Echo::ToSender).then_some(tx);

    // Frames sent before the partner arrives are kept (up to the queue bound) and
    // forwarded first; a socket that closes while waiting leaves the lobby.
    let mut early = Vec::new();
    let partner = match seat {
        Seat::Second(partner) => partner,
        Seat::First(mut handed_over) => loop {
            tokio::select! {
                partner = &mut handed_over => match partner {
                    Ok(p) => break p,
                    Err(_) => {
                        writer.abort();
                        return;
                    }
                },
                frame = source.next() => match frame {
                    Some(Ok(m @ (Message::Text(_) | Message::Binary(_))))
                        if early.len() < QUEUE_FRAMES => early.push(m),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    _ => {
                        writer.abort();
                        return;
                    }
                },
            }
        },
    };
    for m in early {
        if !forward(m, &partner, own.as_ref()) {
            writer.abort();
            return;
        }
    }

    while let Some(Ok(frame)) = source.next().await {
        match frame {
            Message::Text(_) | Message::Binary(_) => {
                if !forward(frame, &partner, own.as_ref()) {
                    break;
                }
            }
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
    writer.abort();
}

/// Queues `frame` for the partner, and for its sender when echoing. False when a queue
/// is full (its reader is too slow) or closed (its socket left): either way the pair
/// ends, and dropping this side closes the partner's too.
fn forward(
    frame: Message,
    partner: &mpsc::Sender<Message>,
    own: Option<&mpsc::Sender<Message>>,
) -> bool {
    if let Some(own) = own {
        if own.try_send(frame.clone()).is_err() {
            return false;
        }
    }
    partner.try_send(frame).is_ok()
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<TcpStream>,
        Message,
    >,
    mut rx: mpsc::Receiver<Message>,
) {
    while let Some(first) = rx.recv().await {
        if sink.feed(first).await.is_err() {
            return;
        }
        // Everything already queued goes out with one flush.
        while let Ok(more) = rx.try_recv() {
            if sink.feed(more).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}
