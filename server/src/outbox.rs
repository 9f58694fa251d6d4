//! A participant's outbound stream: numbers every server message, serialises it once,
//! keeps recent frames for replay after a dropped connection, and hands each frame to the
//! connection's task, the socket's only writer, through a bounded queue. A connection whose
//! queue is full is cut off rather than slowing whoever is sending to it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

mod queue;
pub use queue::{channel, Receiver, Sender, TrySendError};

#[cfg(doc)]
use crate::protocol::ServerFrame;
use crate::protocol::ServerMsg;

/// Frames queued per connection before it counts as too slow. A round produces a few
/// hundred messages at most; 256 covers any burst a healthy phone absorbs.
pub const OUTBOX_CAPACITY: usize = 256;
/// Bytes of recent frames kept per participant for replay: half a dozen chat lines,
/// enough to cover a Wi-Fi blip or a phone waking up. Longer gaps are rebuilt by the
/// room from its own state instead, so this only trades memory for how often that
/// happens; at thousands of connections every kilobyte kept here is megabytes of server
/// memory.
pub const REPLAY_BYTES: usize = 2 * 1024;
/// Frames larger than this (a brief, a debrief, the scenario list) are not kept for
/// replay: they would push out every chat line, and the room can send them again.
pub const REPLAY_FRAME_MAX: usize = REPLAY_BYTES / 2;
/// Sequence numbers stay below this, 2^53: JavaScript reads every integer under it
/// exactly. A `last_seq` at or above it cannot be one the server sent.
pub const SEQ_LIMIT: u64 = 1 << 53;
/// Numbers a restarted server starts from, per millisecond of wall-clock time: a
/// participant rebuilt from the log is numbered from `now_ms × SEQ_PER_MS`, so whatever
/// the previous process sent them is below it unless it sent them more than this many
/// frames per millisecond it ran (a round sends a few per second). Until the year 2248
/// the base stays under [`SEQ_LIMIT`] with room for four billion frames more.
pub const SEQ_PER_MS: u64 = 1024;

/// The first sequence number for a participant rebuilt after a restart at `now_ms`
/// (the wall clock, or the newest logged event if the clock went back): above every
/// number the previous process can have sent, so the client's `last_seq` reads as from
/// before the restart and its view is rebuilt.
pub fn restart_base(now_ms: u64) -> u64 {
    now_ms
        .saturating_mul(SEQ_PER_MS)
        .clamp(1, SEQ_LIMIT - (1 << 32))
}

/// A server message serialised as a JSON object, ready to be numbered. Serialising once
/// and writing the sequence number in front is the same frame as [`ServerFrame`] gives,
/// for a fraction of the work when one message goes to several participants.
///
/// Shared rather than copied: a chat line's frame goes to both seats (one copy held until
/// the sender's echo is saved) and every observer, and a clone is a reference count
/// instead of a copy of the text.
#[derive(Debug, Clone)]
pub struct Encoded(Arc<String>);

impl Encoded {
    pub fn new(msg: &ServerMsg) -> Option<Self> {
        match serde_json::to_string(msg) {
            // An internally tagged enum always serialises as an object with `type`.
            Ok(json) if json.starts_with('{') && json.len() > 2 => Some(Self(Arc::new(json))),
            Ok(json) => {
                tracing::error!(%json, "a server message is not a JSON object");
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "could not serialise a server message");
                None
            }
        }
    }

    /// A message already serialised as a JSON object (the hot chat line, written by
    /// [`crate::chat_frame`]); `None` if `json` is not an object with a field.
    pub fn from_object(json: String) -> Option<Self> {
        (json.starts_with("{\"") && json.ends_with('}')).then(|| Self(Arc::new(json)))
    }

    /// The frame for sequence number `seq`: `{"seq":N,` followed by the message's fields.
    /// Exactly as long as it needs: a frame whose buffer has no spare room becomes
    /// `Bytes` without another allocation.
    fn numbered(&self, seq: u64) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(seq);
        let mut frame = String::with_capacity(numbered_len(&self.0, digits.len()));
        frame.push_str(SEQ_PREFIX);
        frame.push_str(digits);
        frame.push(',');
        frame.push_str(&self.0[1..]);
        frame
    }

    /// How long [`numbered`](Self::numbered) makes the frame for `seq`.
    fn numbered_len_for(&self, seq: u64) -> usize {
        numbered_len(&self.0, itoa::Buffer::new().format(seq).len())
    }
}

/// What a numbered frame starts with, before the sequence number.
const SEQ_PREFIX: &str = "{\"seq\":";

/// The length of the numbered frame of `json` (an object, so it starts with `{`) with a
/// sequence number of `digits` digits: the prefix, the digits and a comma replace `{`.
fn numbered_len(json: &str, digits: usize) -> usize {
    SEQ_PREFIX.len() + digits + json.len()
}

impl Encoded {}

/// What the connection's task writes on the socket.
#[derive(Debug)]
pub enum Outgoing {
    Text(Utf8Bytes),
    /// Frames missed while disconnected, sent in order (one queue slot for all of them).
    Replay(Vec<Utf8Bytes>),
    /// A rebuilt view, sent in order in one queue slot: it may be longer than the queue.
    Batch(Vec<Utf8Bytes>),
    /// A websocket ping, to notice dead connections.
    Ping,
    /// Close the socket with a code and a reason, then stop.
    Close(u16, &'static str),
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// The sending half of one live connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: u64,
    tx: Sender,
    /// Tells the connection's loop to stop reading (it writes what is queued, within
    /// [`crate::ws::CLOSE_TIMEOUT`], until a close or until every `tx` is dropped).
    kill: Arc<Notify>,
}

impl Connection {
    pub fn new(tx: Sender, kill: Arc<Notify>) -> Self {
        Self {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            tx,
            kill,
        }
    }

    /// Closes this connection's socket (not whichever connection the participant has now).
    pub fn close(&self, code: u16, reason: &'static str) {
        let _ = self.tx.try_send(Outgoing::Close(code, reason));
        self.kill.notify_one();
    }
}

/// How a reattached connection caught up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// Every frame after the client's last one was queued again.
    Replayed,
    /// The frames are gone (a restart, or too many); the caller must rebuild the view.
    Rebuild,
}

#[derive(Debug)]
struct State {
    next_seq: u64,
    /// Frames numbered below this were sent by an earlier process (or are what the
    /// client had when its view was last rebuilt): a `last_seq` under it cannot resume
    /// by replay.
    replay_floor: u64,
    conn: Option<Connection>,
    /// The latest connection attached, even after it was cut off: only its own reader
    /// may report it gone, never a stale one replaced by a reconnect.
    conn_id: Option<u64>,
    /// Recent messages by sequence number, numbered again if replayed. The message is
    /// shared with everyone it went to (both seats and the observers of a chat line),
    /// and the numbered frame is freed once written; `history_bytes` counts the
    /// numbered frames' lengths all the same, so the replay window is unchanged.
    history: VecDeque<(u64, Encoded)>,
    history_bytes: usize,
}

impl State {
    /// Whether every frame after `last_seq` is kept: the history must be unbroken from
    /// the first frame the client lacks. A frame too large to keep breaks it.
    fn can_replay(&self, last_seq: u64) -> bool {
        let first_kept = self
            .history
            .front()
            .map(|(s, _)| *s)
            .unwrap_or(self.next_seq);
        last_seq >= self.replay_floor
            && last_seq < self.next_seq
            && last_seq.saturating_add(1) >= first_kept
    }

    /// Numbers `msg`, keeps it for replay if small, and returns the frame.
    fn number(&mut self, msg: &Encoded) -> Utf8Bytes {
        let seq = self.next_seq;
        self.next_seq = (seq + 1).min(SEQ_LIMIT - 1);
        let frame = msg.numbered(seq);
        if frame.len() > REPLAY_FRAME_MAX {
            // Replay can only resume after this frame; a longer gap is rebuilt.
            self.history.clear();
            self.history_bytes = 0;
        } else {
            self.history_bytes += frame.len();
            self.history.push_back((seq, msg.clone()));
        }
        while self.history_bytes > REPLAY_BYTES {
            match self.history.pop_front() {
                Some((old_seq, old)) => self.history_bytes -= old.numbered_len_for(old_seq),
                None => break,
            }
        }
        frame.into()
    }

    /// Hands `item` to the connection's task; a full queue cuts the connection off.
    fn queue(&mut self, item: Outgoing) {
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        match conn.tx.try_send(item) {
            Ok(()) => {}
            Err(TrySendError::Full) => {
                tracing::info!(
                    connection = conn.id,
                    "dropping a connection whose queue is full"
                );
                crate::metrics::slow_reader_dropped();
                conn.kill.notify_one();
                self.conn = None;
            }
            Err(TrySendError::Closed) => self.conn = None,
        }
    }
}

/// One participant's numbered outbound messages.
#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::numbered_from(1)
    }
}

impl Outbox {
    /// An outbox for someone rebuilt from the log after a restart: numbering starts at
    /// `base` (see [`restart_base`]), and any `last_seq` below it asks for a rebuild.
    pub fn restored(base: u64) -> Self {
        Self::numbered_from(base.clamp(1, SEQ_LIMIT - 1))
    }

    fn numbered_from(first: u64) -> Self {
        Self {
            state: Mutex::new(State {
                next_seq: first,
                // A fresh participant's client has seen nothing (0); a restored one's
                // saw only frames of the earlier process, all below `first`.
                replay_floor: if first <= 1 { 0 } else { first },
                conn: None,
                conn_id: None,
                history: VecDeque::new(),
                history_bytes: 0,
            }),
        }
    }

    pub fn new(conn: Connection) -> Self {
        let o = Self::default();
        if let Ok(mut st) = o.state.lock() {
            st.conn_id = Some(conn.id);
            st.conn = Some(conn);
        }
        o
    }

    /// Numbers and queues `msg`. Never waits: a full queue disconnects the reader.
    pub fn send(&self, msg: ServerMsg) {
        if let Some(encoded) = Encoded::new(&msg) {
            self.send_encoded(&encoded);
        }
    }

    /// Numbers and queues a message already serialised (once for everyone it goes to).
    pub fn send_encoded(&self, msg: &Encoded) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let text = st.number(msg);
        st.queue(Outgoing::Text(text));
    }

    /// Sends a ping if connected (heartbeats).
    pub fn ping(&self) {
        if let Ok(st) = self.state.lock() {
            if let Some(conn) = &st.conn {
                let _ = conn.tx.try_send(Outgoing::Ping);
            }
        }
    }

    /// Whether every frame after `last_seq` is still kept for a replay.
    pub fn can_replay(&self, last_seq: u64) -> bool {
        self.state
            .lock()
            .map(|st| st.can_replay(last_seq))
            .unwrap_or(false)
    }

    /// Moves this participant onto `conn`, closing any connection it had, and replays
    /// every frame after `last_seq` if they are all still kept.
    pub fn attach(&self, conn: Connection, last_seq: u64) -> Attached {
        let mut attached = Attached::Rebuild;
        self.attach_then(conn, last_seq, |a| {
            attached = a;
            Vec::new()
        });
        attached
    }

    /// [`attach`](Self::attach), then numbers and queues what `then` returns for the
    /// way it caught up, as one batch however long (a rebuilt view of a long round is
    /// more frames than the queue holds). Nothing else is numbered in between, so a
    /// client sees `reconnected` and its rebuilt view before anything newer. `then` runs
    /// under this outbox's lock: it must not send to this outbox.
    pub fn attach_then(
        &self,
        conn: Connection,
        last_seq: u64,
        then: impl FnOnce(Attached) -> Vec<ServerMsg>,
    ) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if let Some(old) = st.conn.take() {
            old.close(4000, "replaced by a newer connection");
        }
        let attached = if st.can_replay(last_seq) {
            let frames: Vec<Utf8Bytes> = st
                .history
                .iter()
                .filter(|(s, _)| *s > last_seq)
                .map(|(s, msg)| msg.numbered(*s).into())
                .collect();
            if !frames.is_empty() {
                let _ = conn.tx.try_send(Outgoing::Replay(frames));
            }
            Attached::Replayed
        } else {
            // Number on from what the client has seen, so its view of `seq` stays
            // ordered; the frames it never saw are gone and the view is rebuilt.
            st.next_seq = last_seq.saturating_add(1).min(SEQ_LIMIT - 1);
            st.replay_floor = last_seq;
            st.history.clear();
            st.history_bytes = 0;
            Attached::Rebuild
        };
        st.conn_id = Some(conn.id);
        st.conn = Some(conn);
        let frames: Vec<Utf8Bytes> = then(attached)
            .iter()
            .filter_map(Encoded::new)
            .map(|m| st.number(&m))
            .collect();
        if !frames.is_empty() {
            st.queue(Outgoing::Batch(frames));
        }
    }

    /// Moves the connection of `other` (a participant that never introduced itself) here.
    pub fn take_connection(&self) -> Option<Connection> {
        self.state.lock().ok().and_then(|mut st| st.conn.take())
    }

    /// Asks the connection to close the socket after what is already queued.
    pub fn close(&self, code: u16, reason: &'static str) {
        if let Ok(mut st) = self.state.lock() {
            if let Some(conn) = st.conn.take() {
                conn.close(code, reason);
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state
            .lock()
            .map(|st| st.conn.as_ref().is_some_and(|c| !c.tx.is_closed()))
            .unwrap_or(false)
    }

    /// Forgets connection `id` if no newer one has replaced it; true if so.
    pub fn detach(&self, id: u64) -> bool {
        if let Ok(mut st) = self.state.lock() {
            if st.conn_id == Some(id) {
                st.conn = None;
                st.conn_id = None;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMsg;

    fn conn() -> (Connection, Receiver) {
        let (tx, rx) = channel(OUTBOX_CAPACITY);
        (Connection::new(tx, Arc::new(Notify::new())), rx)
    }

    fn seqs(item: Outgoing) -> Vec<u64> {
        let frames = match item {
            Outgoing::Text(t) => vec![t],
            Outgoing::Replay(v) | Outgoing::Batch(v) => v,
            other => panic!("unexpected {other:?}"),
        };
        frames
            .iter()
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_numbered_frame_is_what_serde_gives_for_a_server_frame() {
        use crate::protocol::{Role, ServerFrame};
        let msgs = [
            ServerMsg::PartnerReady,
            ServerMsg::Chat {
                index: 3,
                from: Role::Buyer,
                text: "quote \" and {brace}".into(),
                at_ms: 12,
            },
        ];
        for msg in msgs {
            let ours = Encoded::new(&msg).unwrap().numbered(41);
            let parsed: serde_json::Value = serde_json::from_str(&ours).unwrap();
            let expected = serde_json::to_value(ServerFrame { seq: 41, msg }).unwrap();
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn a_reconnect_replays_exactly_what_was_missed() {
        let (c1, mut rx1) = conn();
        let outbox = Outbox::new(c1.clone());
        for _ in 0..3 {
            outbox.send(ServerMsg::PartnerReady);
        }
        assert_eq!(seqs(rx1.try_recv().unwrap()), [1]);
        outbox.detach(c1.id);
        outbox.send(ServerMsg::PartnerReady);
        let (c2, mut rx2) = conn();
        assert_eq!(outbox.attach(c2, 1), Attached::Replayed);
        assert_eq!(seqs(rx2.try_recv().unwrap()), [2, 3, 4]);
        outbox.send(ServerMsg::PartnerReady);
        assert_eq!(seqs(rx2.try_recv().unwrap()), [5]);
    }

    #[test]
    fn a_gap_over_a_frame_too_large_to_keep_is_rebuilt_but_a_gap_after_it_is_replayed() {
        let (c1, _rx1) = conn();
        let outbox = Outbox::new(c1.clone());
        outbox.send(ServerMsg::PartnerReady);
        outbox.send(ServerMsg::NotesRestored {
            text: "n".repeat(REPLAY_FRAME_MAX),
        });
        outbox.send(ServerMsg::PartnerReady);
        outbox.detach(c1.id);
        assert!(!outbox.can_replay(1), "frame 2 is not kept");
        assert!(outbox.can_replay(2));
        let (c2, mut rx2) = conn();
        assert_eq!(outbox.attach(c2, 2), Attached::Replayed);
        assert_eq!(seqs(rx2.try_recv().unwrap()), [3]);
        let (c3, _rx3) = conn();
        assert_eq!(outbox.attach(c3, 1), Attached::Rebuild);
    }

    #[test]
    fn an_unknown_gap_asks_for_a_rebuild_and_numbering_moves_past_the_client() {
        let outbox = Outbox::default();
        let (c, mut rx) = conn();
        assert_eq!(outbox.attach(c, 40), Attached::Rebuild);
        outbox.send(ServerMsg::PartnerReady);
        assert_eq!(seqs(rx.try_recv().unwrap()), [41]);
    }

    #[test]
    fn a_client_of_the_previous_process_is_rebuilt_never_replayed() {
        let outbox = Outbox::restored(restart_base(1_800_000_000_000));
        for _ in 0..3 {
            outbox.send(ServerMsg::PartnerReady);
        }
        let (c, mut rx) = conn();
        // The client saw 11 frames before the restart; the 3 above are not theirs.
        assert_eq!(outbox.attach(c, 11), Attached::Rebuild);
        outbox.send(ServerMsg::PartnerReady);
        assert_eq!(seqs(rx.try_recv().unwrap()), [12]);
        let (c, mut rx) = conn();
        assert_eq!(outbox.attach(c, 11), Attached::Replayed, "now it can");
        assert_eq!(seqs(rx.try_recv().unwrap()), [12]);
    }

    #[test]
    fn numbers_stay_below_two_to_the_53_whatever_the_client_claims() {
        let outbox = Outbox::default();
        let (c, mut rx) = conn();
        assert_eq!(outbox.attach(c, u64::MAX), Attached::Rebuild);
        outbox.send(ServerMsg::PartnerReady);
        outbox.send(ServerMsg::PartnerReady);
        for seq in seqs(rx.try_recv().unwrap())
            .into_iter()
            .chain(seqs(rx.try_recv().unwrap()))
        {
            assert!(seq < SEQ_LIMIT);
        }
        assert!(restart_base(u64::MAX) < SEQ_LIMIT);
    }

    #[test]
    fn a_rebuilt_view_longer_than_the_queue_goes_out_as_one_batch() {
        let outbox = Outbox::default();
        let (c, mut rx) = conn();
        outbox.attach_then(c, 5, |_| vec![ServerMsg::PartnerReady; OUTBOX_CAPACITY * 2]);
        let batch = seqs(rx.try_recv().unwrap());
        assert_eq!(batch.len(), OUTBOX_CAPACITY * 2);
        assert_eq!(batch[0], 6);
        assert!(outbox.is_connected(), "a long view is not a slow reader");
    }

    #[test]
    fn a_connection_cut_off_for_being_slow_is_still_reported_gone_by_its_reader() {
        let (tx, _rx) = channel(1);
        let c = Connection::new(tx, Arc::new(Notify::new()));
        let outbox = Outbox::new(c.clone());
        outbox.send(ServerMsg::PartnerReady);
        outbox.send(ServerMsg::PartnerReady);
        assert!(!outbox.is_connected(), "a full queue cuts the reader off");
        assert!(outbox.detach(c.id));
    }

    #[test]
    fn a_stale_connection_cannot_detach_its_replacement() {
        let (c1, _rx1) = conn();
        let outbox = Outbox::new(c1.clone());
        let (c2, _rx2) = conn();
        outbox.attach(c2, 0);
        assert!(!outbox.detach(c1.id));
        assert!(outbox.is_connected());
    }
}
