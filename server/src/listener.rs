//! The listening socket, with a deadline for the first request: a connection that has
//! not sent a whole HTTP request head within [`REQUEST_HEAD_TIMEOUT`] of being accepted
//! is closed. Without it, sockets that connect and send nothing (or a header a byte a
//! minute) hold a file descriptor each for ever, and enough of them lock everyone out.
//! Once the head is in, the connection is no longer timed here: a websocket has its own
//! hello timeout and heartbeat.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;

/// Time from accepting a connection to the end of its first request head. A browser or
/// a tool sends it at once; 10 s covers a slow phone network many times over.
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`TcpListener`] whose connections must send their first request head in time.
#[derive(Debug)]
pub struct GuardedListener {
    inner: TcpListener,
}

impl GuardedListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

/// The peer's address, for handlers (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Listener for GuardedListener {
    type Io = HeadTimed;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        (
            HeadTimed {
                stream,
                deadline: Some(Box::pin(tokio::time::sleep(REQUEST_HEAD_TIMEOUT))),
                head: HeadEnd::default(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails its reads once [`REQUEST_HEAD_TIMEOUT`] has passed without
/// the blank line ending a request head; after that line, a plain stream.
#[derive(Debug)]
pub struct HeadTimed {
    stream: TcpStream,
    /// None once the head is in.
    deadline: Option<Pin<Box<Sleep>>>,
    head: HeadEnd,
}

/// Finds the blank line (`\r\n\r\n`) that ends a request head, across reads.
#[derive(Debug, Default)]
struct HeadEnd {
    /// The last bytes seen.
    tail: [u8; 3],
}

impl HeadEnd {
    /// Whether the head ends within `read` (or where it meets what came before).
    fn ends_in(&mut self, read: &[u8]) -> bool {
        let mut window = Vec::with_capacity(3 + read.len());
        window.extend_from_slice(&self.tail);
        window.extend_from_slice(read);
        let keep = window.len().saturating_sub(3);
        self.tail.copy_from_slice(&window[keep..]);
        window.windows(4).any(|w| w == b"\r\n\r\n")
    }
}

impl AsyncRead for HeadTimed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                crate::metrics::rejected("request_head_timeout");
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request head in time",
                )));
            }
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.deadline.is_some() {
            if let Poll::Ready(Ok(())) = result {
                if this.head.ends_in(&buf.filled()[before..]) {
                    this.deadline = None;
                }
            }
        }
        result
    }
}

impl AsyncWrite for HeadTimed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_head_is_found_across_reads() {
        let ends = |parts: &[&[u8]]| {
            let mut head = HeadEnd::default();
            parts.iter().any(|p| head.ends_in(p))
        };
        assert!(ends(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]));
        assert!(ends(&[b"GET / HTTP/1.1\r\n", b"\r", b"\n"]));
        assert!(ends(&[b"GET / HTTP/1.1\r\nHost: x\r", b"\n\r\n"]));
        assert!(!ends(&[b"GET / HTTP/1.1\r\n", b"Host: x\r\n"]));
        assert!(!ends(&[b"", b"\r\n"]));
    }
}
