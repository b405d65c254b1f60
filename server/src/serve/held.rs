//! An accepted socket as the HTTP server sees it: it keeps the connection's
//! [`ConnectionSlot`] (through a WebSocket upgrade too, until the socket is dropped), and gives
//! HTTP writes a deadline. A write that makes no progress for
//! [`Limits::http_write_timeout`](crate::Limits::http_write_timeout) fails, which ends the
//! connection and frees the answer it held; once shutdown has begun, a stalled write waits at
//! most the close timeout. A promoted connection (a WebSocket) is left to the socket's own
//! write timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::CancellationToken;

use super::budget::ConnectionSlot;
use crate::delivery::Stats;

/// The deadlines of writes: how long one may stall, and how long once shutting down.
#[derive(Clone, Debug)]
pub(super) struct WriteDeadlines {
    /// A write that makes no progress fails after this.
    pub(super) stall: Duration,
    /// Once `finishing` fires, a stalled write fails after this at most.
    pub(super) finishing_stall: Duration,
    /// Fired when shutdown begins.
    pub(super) finishing: CancellationToken,
}

/// An accepted socket with its slot and its write deadline.
pub(super) struct Held {
    stream: TcpStream,
    slot: Arc<ConnectionSlot>,
    stats: Arc<Stats>,
    deadlines: WriteDeadlines,
    /// Armed when a write stalls, cleared when one makes progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Whether the armed deadline was shortened for shutdown.
    shortened: bool,
}

impl Held {
    pub(super) fn new(
        stream: TcpStream,
        slot: Arc<ConnectionSlot>,
        stats: Arc<Stats>,
        deadlines: WriteDeadlines,
    ) -> Self {
        stats.tcp_connection(true);
        Held {
            stream,
            slot,
            stats,
            deadlines,
            stalled: None,
            shortened: false,
        }
    }

    /// What a write's outcome means under the deadline: progress clears it, a stall arms it
    /// (and fails once it passed).
    fn deadline<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() || self.slot.is_promoted() {
            self.stalled = None;
            self.shortened = false;
            return polled;
        }
        let now = Instant::now();
        let finishing = self.deadlines.finishing.is_cancelled();
        let stall = self.deadlines.stall;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        if finishing && !self.shortened {
            let sooner = now + self.deadlines.finishing_stall;
            if sooner < sleep.deadline() {
                sleep.as_mut().reset(sooner);
            }
            self.shortened = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "an HTTP write made no progress within the write timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stats.tcp_connection(false);
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.deadline(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.deadline(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.deadline(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.deadline(cx, polled)
    }
}
