//! The socket of one connection, read and written by the connection's own task: the next
//! client frame and the outbound queue are waited on together, so a line read and the
//! frames written in answer take no hop through a second task, and the socket needs no
//! lock between a read half and a write half.
//!
//! The socket still has one writer fed by a bounded channel: frames are taken from the
//! queue only as fast as the socket accepts them (at most [`WRITE_BATCH`] per flush), so a
//! peer that stops reading leaves them in the queue, which fills, and the outbox cuts the
//! connection off ([`crate::outbox`]). A write that cannot progress never stops the
//! reading: both are driven by the same poll, each registering its own wake-up.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::task::{ArcWake, AtomicWaker};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::handshake::Socket;
use super::CLOSE_TIMEOUT;
use crate::outbox::{Outgoing, Receiver};

/// Frames written per flush at most, so one busy connection yields now and then.
const WRITE_BATCH: usize = 64;

/// Largest frame written: a longer message (`welcome`, `room_opened`, a debrief, a
/// rebuilt view's larger frames) goes out in fragments of this size. tungstenite formats
/// every frame into a write buffer that never shrinks, so the largest frame a connection
/// was ever sent would otherwise stay allocated beside it for its whole life. Most chat
/// frames are a few hundred bytes and go out whole; a `welcome` takes four fragments, a
/// buyer's `room_opened` ten, each a frame header (4 bytes) more on the wire.
pub(super) const FRAGMENT_BYTES: usize = 512;

/// What the connection's loop hears from its socket.
pub(super) enum Event {
    /// The next client frame, or `None` once the peer has gone.
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    /// Writing is over: the socket failed, or a close was queued (the reader is told to
    /// stop as well; [`SocketIo::finish`] sends the close frame).
    WritingEnded,
}

/// Why writing stopped.
#[derive(Debug, Clone, Copy)]
enum WriteEnd {
    /// The socket refused a frame or a flush: it is broken or closed.
    Failed,
    /// A close frame with this code and reason is next, after everything before it.
    Close(u16, &'static str),
    /// Every sender is gone and everything queued was written.
    Drained,
}

/// A waker that notes it was called before waking the connection's task. The task is
/// woken for a client frame, for a frame queued to go out, and for its timers and
/// signals; polling only what woke it spares a read through the websocket, HTTP and TCP
/// layers for every frame written, and the timers' and signals' checks for every frame.
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(flag: &Arc<Self>) {
        flag.woken.store(true, Ordering::Release);
        flag.task.wake();
    }
}

/// One kind of wake-up of the connection's task: what is polled through it is polled
/// again only once it has woken (or once it was ready, since it may be again).
pub(super) struct Wakes {
    flag: Arc<Flag>,
    /// A waker for `flag`, made once: the futures polled with it keep it without a clone.
    waker: Waker,
}

impl Wakes {
    pub(super) fn new() -> Self {
        let flag = Arc::new(Flag {
            // Nothing has been polled yet, so nothing is registered to wake it.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = futures_util::task::waker(flag.clone());
        Self { flag, waker }
    }

    /// Polls `f` with this kind's waker if it has woken since `f` was last pending.
    pub(super) fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        f: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        // Registered before the flag is read: a wake after the read reaches the task.
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = f(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            self.flag.woken.store(true, Ordering::Release);
        }
        polled
    }
}

/// One websocket and its bounded outbound queue, driven from the connection's task.
pub(super) struct SocketIo {
    socket: Socket,
    /// Wake-ups for the socket's reads, and for writing (the queue, the socket's writes).
    reads: Wakes,
    writes: Wakes,
    writer: Writer,
    /// Set once writing has stopped; the close, if any, is sent by [`Self::finish`].
    ended: Option<WriteEnd>,
}

/// What writing keeps between passes.
struct Writer {
    rx: Receiver,
    /// The rest of a replay or a rebuilt view not yet handed to the socket, in order.
    /// Dropped once used up, so its list is not kept for the connection's life.
    batch: Option<std::vec::IntoIter<Utf8Bytes>>,
    /// What is left of a message being sent in fragments, after its first fragment.
    fragments: Option<Bytes>,
    /// Frames were handed to the socket since its last flush.
    unflushed: bool,
}

impl SocketIo {
    pub(super) fn new(socket: Socket, rx: Receiver) -> Self {
        Self {
            socket,
            reads: Wakes::new(),
            writes: Wakes::new(),
            writer: Writer {
                rx,
                batch: None,
                fragments: None,
                unflushed: false,
            },
            ended: None,
        }
    }

    /// Writes whatever is queued as far as the socket takes it, and returns the next
    /// client frame, or [`Event::WritingEnded`].
    pub(super) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let socket = &mut self.socket;
        if self.ended.is_none() {
            let writer = &mut self.writer;
            if let Poll::Ready(end) = self.writes.poll(cx, |cx| writer.poll(socket, cx)) {
                self.ended = Some(end);
                return Poll::Ready(Event::WritingEnded);
            }
        }
        self.reads
            .poll(cx, |cx| socket.poll_next_unpin(cx))
            .map(Event::Frame)
    }

    /// After the connection's loop: writes what is still queued until every sender is
    /// gone or a close is reached, then the close frame, all within [`CLOSE_TIMEOUT`].
    /// A peer that has not taken them by then is not reading, and the socket is dropped.
    pub(super) async fn finish(&mut self) {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.drain()).await;
    }

    async fn drain(&mut self) {
        let end = match self.ended {
            Some(end) => end,
            None => {
                let Self { socket, writer, .. } = self;
                poll_fn(|cx| writer.poll(socket, cx)).await
            }
        };
        match end {
            WriteEnd::Failed => {}
            WriteEnd::Close(code, reason) => {
                let frame = Message::Close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                }));
                let _ = self.socket.send(frame).await;
            }
            WriteEnd::Drained => {
                let _ = self.socket.close(None).await;
            }
        }
    }
}

impl Writer {
    /// Moves queued frames onto the socket until the queue is empty (everything
    /// flushed) or the socket is full; `Ready` once writing is over.
    fn poll(&mut self, socket: &mut Socket, cx: &mut Context<'_>) -> Poll<WriteEnd> {
        // The queue was found empty (and will wake this task when it is not).
        let mut queue_empty = false;
        loop {
            // What was handed over is flushed before more is taken from the queue.
            if self.unflushed {
                match socket.poll_flush_unpin(cx) {
                    Poll::Ready(Ok(())) => self.unflushed = false,
                    Poll::Ready(Err(_)) => return Poll::Ready(WriteEnd::Failed),
                    Poll::Pending => return Poll::Pending,
                }
            }
            if queue_empty {
                return Poll::Pending;
            }
            // Everything already waiting goes out with one flush: under load that is one
            // write for many frames instead of one write each.
            for _ in 0..WRITE_BATCH {
                match socket.poll_ready_unpin(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(WriteEnd::Failed),
                    Poll::Pending => return Poll::Pending,
                }
                let message = if let Some(fragment) = self.next_fragment() {
                    Message::Frame(fragment)
                } else {
                    match self.batch.as_mut().map(Iterator::next) {
                        Some(Some(text)) => self.whole_or_fragmented(text),
                        Some(None) => {
                            self.batch = None;
                            continue;
                        }
                        None => match self.rx.poll_recv(cx) {
                            Poll::Ready(Some(Outgoing::Text(text))) => {
                                self.whole_or_fragmented(text)
                            }
                            Poll::Ready(Some(
                                Outgoing::Replay(frames) | Outgoing::Batch(frames),
                            )) => {
                                self.batch = Some(frames.into_iter());
                                continue;
                            }
                            Poll::Ready(Some(Outgoing::Ping)) => Message::Ping(Bytes::new()),
                            Poll::Ready(Some(Outgoing::Close(code, reason))) => {
                                return Poll::Ready(WriteEnd::Close(code, reason));
                            }
                            Poll::Ready(None) => return Poll::Ready(WriteEnd::Drained),
                            Poll::Pending => {
                                queue_empty = true;
                                break;
                            }
                        },
                    }
                };
                if socket.start_send_unpin(message).is_err() {
                    return Poll::Ready(WriteEnd::Failed);
                }
                self.unflushed = true;
            }
        }
    }

    /// A message short enough to go out whole, or else its first fragment, with the rest
    /// set aside for the next turns.
    fn whole_or_fragmented(&mut self, text: Utf8Bytes) -> Message {
        if text.len() <= FRAGMENT_BYTES {
            return Message::Text(text);
        }
        let mut rest = Bytes::from(text);
        let first = cut(&mut rest, true);
        self.fragments = (!rest.is_empty()).then_some(rest);
        Message::Frame(first)
    }

    /// The next fragment of the message being sent in fragments, if one is.
    fn next_fragment(&mut self) -> Option<Frame> {
        let mut rest = self.fragments.take()?;
        let next = cut(&mut rest, false);
        self.fragments = (!rest.is_empty()).then_some(rest);
        Some(next)
    }
}

/// Cuts the next fragment off the front of `rest`. The first is a text frame, the rest
/// continuations, the last (when `rest` is used up) marked final. A fragment may end
/// inside a character: RFC 6455 checks UTF-8 over the whole message.
fn cut(rest: &mut Bytes, first: bool) -> Frame {
    let piece = rest.split_to(rest.len().min(FRAGMENT_BYTES));
    let opcode = OpCode::Data(if first { Data::Text } else { Data::Continue });
    Frame::message(piece, opcode, rest.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_into_fragments_that_rejoin_to_it() {
        // Multi-byte characters, so some cuts fall inside one.
        let text: String = "é—a".repeat(FRAGMENT_BYTES);
        let mut rest = Bytes::from(text.clone());
        let mut frames = vec![cut(&mut rest, true)];
        while !rest.is_empty() {
            frames.push(cut(&mut rest, false));
        }
        assert_eq!(frames.len(), text.len().div_ceil(FRAGMENT_BYTES));
        let mut joined = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let header = frame.header();
            assert!(frame.payload().len() <= FRAGMENT_BYTES);
            assert_eq!(header.is_final, i == frames.len() - 1);
            let want = if i == 0 { Data::Text } else { Data::Continue };
            assert_eq!(header.opcode, OpCode::Data(want));
            joined.extend_from_slice(frame.payload());
        }
        assert_eq!(String::from_utf8(joined).unwrap(), text);
    }
}
