//! A participant's outbound stream: numbers every server message, serialises it once,
//! and hands it to the connection's writer task through a bounded queue. A connection
//! whose queue is full is cut off rather than slowing whoever is sending to it.

use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, Notify};

use crate::protocol::{ServerFrame, ServerMsg};

/// Frames queued per connection before it counts as too slow. A round produces a few
/// hundred messages at most; 256 covers any burst a healthy phone absorbs.
pub const OUTBOX_CAPACITY: usize = 256;

/// What the writer task sends on the socket.
#[derive(Debug)]
pub enum Outgoing {
    Text(Utf8Bytes),
    /// Close the socket with a code and a reason, then stop.
    Close(u16, &'static str),
}

/// The sending half of one live connection.
#[derive(Debug, Clone)]
pub struct Connection {
    tx: mpsc::Sender<Outgoing>,
    /// Tells the connection's reader to stop (the writer stops when `tx` is dropped).
    kill: Arc<Notify>,
}

impl Connection {
    pub fn new(tx: mpsc::Sender<Outgoing>, kill: Arc<Notify>) -> Self {
        Self { tx, kill }
    }
}

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    conn: Option<Connection>,
}

/// One participant's numbered outbound messages.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<State>,
}

impl Outbox {
    pub fn new(conn: Connection) -> Self {
        Self {
            state: Mutex::new(State {
                next_seq: 1,
                conn: Some(conn),
            }),
        }
    }

    /// Numbers and queues `msg`. Never waits: a full queue disconnects the reader.
    pub fn send(&self, msg: ServerMsg) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let seq = st.next_seq;
        st.next_seq += 1;
        let Some(conn) = st.conn.as_ref() else {
            return;
        };
        let text = match serde_json::to_string(&ServerFrame { seq, msg }) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a server message");
                return;
            }
        };
        match conn.tx.try_send(Outgoing::Text(text.into())) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!("dropping a connection whose queue is full");
                conn.kill.notify_one();
                st.conn = None;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => st.conn = None,
        }
    }

    /// Asks the writer to close the socket after what is already queued.
    pub fn close(&self, code: u16, reason: &'static str) {
        if let Ok(mut st) = self.state.lock() {
            if let Some(conn) = st.conn.take() {
                let _ = conn.tx.try_send(Outgoing::Close(code, reason));
                conn.kill.notify_one();
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state
            .lock()
            .map(|st| st.conn.as_ref().is_some_and(|c| !c.tx.is_closed()))
            .unwrap_or(false)
    }

    /// Forgets the connection (it has ended).
    pub fn detach(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.conn = None;
        }
    }
}
