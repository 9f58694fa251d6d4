//! The socket beneath the websocket, read so that a client frame arriving whole is read
//! whole, in one system call.
//!
//! tungstenite reads into the spare capacity of its input buffer, and that capacity
//! shrinks by every frame it hands out until it runs short of the next frame's header
//! or body; only then is the buffer reclaimed. With the 1 KiB buffer each connection
//! keeps ([`super::READ_BUFFER_BYTES`]), every fifth 200-byte chat line arrived into a
//! window too small for it: the read filled the window, so the runtime could not tell
//! the socket was drained, and a second read fetched the rest. That was a quarter of a
//! system call more per line than a relay reading each frame once.
//!
//! Here a read offered less than [`WHOLE_READ_BYTES`] reads that much into a scratch
//! buffer instead, hands over what fits, and keeps the rest for the next read, which
//! tungstenite makes at once for the frame it has not finished. The kept bytes live on
//! the heap only until they are handed over, so an idle connection holds nothing more.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read at least per system call: the size of tungstenite's read buffer, so a
/// frame that fits there is read in one call however little room the buffer has left.
pub(super) const WHOLE_READ_BYTES: usize = super::READ_BUFFER_BYTES;

/// A stream whose reads take at least [`WHOLE_READ_BYTES`] from the socket when there
/// is that much; writes pass through unchanged.
#[derive(Debug)]
pub struct WholeReads<S> {
    inner: S,
    /// Bytes read from the socket that the last read had no room for.
    kept: Vec<u8>,
    /// How many of `kept` were handed over already.
    handed: usize,
}

impl<S> WholeReads<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            kept: Vec::new(),
            handed: 0,
        }
    }

    /// Hands over as many kept bytes as `buf` takes; frees them once all are handed.
    fn hand_kept(&mut self, buf: &mut ReadBuf<'_>) {
        let left = &self.kept[self.handed..];
        let n = left.len().min(buf.remaining());
        buf.put_slice(&left[..n]);
        self.handed += n;
        if self.handed == self.kept.len() {
            self.kept = Vec::new();
            self.handed = 0;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WholeReads<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.handed < this.kept.len() {
            this.hand_kept(buf);
            return Poll::Ready(Ok(()));
        }
        // An empty `buf` is passed on: filling nothing must not read (and so lose) data.
        if buf.remaining() >= WHOLE_READ_BYTES || buf.remaining() == 0 {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut scratch = [MaybeUninit::<u8>::uninit(); WHOLE_READ_BYTES];
        let mut read = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
        let got = read.filled();
        let fits = got.len().min(buf.remaining());
        buf.put_slice(&got[..fits]);
        if fits < got.len() {
            this.kept = got[fits..].to_vec();
            this.handed = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WholeReads<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Reads from `stream` into a window of `window` bytes, as tungstenite's shrinking
    /// buffer offers.
    async fn read_into(stream: &mut WholeReads<tokio::io::DuplexStream>, window: usize) -> Vec<u8> {
        let mut buf = vec![0; window];
        let n = stream.read(&mut buf).await.expect("read");
        buf.truncate(n);
        buf
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_window_is_read_once_and_handed_over_in_order() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut stream = WholeReads::new(server);
        let frame: Vec<u8> = (0..208u16).map(|i| i as u8).collect();
        client.write_all(&frame).await.expect("write");
        let first = read_into(&mut stream, 192).await;
        assert_eq!(first, frame[..192]);
        // Nothing more was written: the rest comes from what the first read kept.
        let rest = read_into(&mut stream, 1024).await;
        assert_eq!(rest, frame[192..]);
        assert!(stream.kept.is_empty(), "handed-over bytes are freed");
    }

    #[tokio::test]
    async fn kept_bytes_come_out_across_several_small_windows() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut stream = WholeReads::new(server);
        client.write_all(b"abcdefghij").await.expect("write");
        assert_eq!(read_into(&mut stream, 3).await, b"abc");
        assert_eq!(read_into(&mut stream, 3).await, b"def");
        assert_eq!(read_into(&mut stream, 3).await, b"ghi");
        client.write_all(b"klm").await.expect("write");
        assert_eq!(read_into(&mut stream, 3).await, b"j");
        assert_eq!(read_into(&mut stream, 3).await, b"klm");
    }

    #[tokio::test]
    async fn the_end_of_the_stream_still_reads_as_the_end() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut stream = WholeReads::new(server);
        client.write_all(b"bye").await.expect("write");
        client.shutdown().await.expect("shutdown");
        drop(client);
        assert_eq!(read_into(&mut stream, 100).await, b"bye");
        assert_eq!(read_into(&mut stream, 100).await, b"");
    }

    #[tokio::test]
    async fn writes_pass_through() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut stream = WholeReads::new(server);
        stream.write_all(b"hello").await.expect("write");
        let mut got = [0; 5];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"hello");
    }
}
