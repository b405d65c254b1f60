//! The inbound rate limit, counted on every frame the client sends. A WebSocket library hands
//! up messages, not frames: continuation frames are joined into their message, and an endless
//! run of empty ones never makes one (15 million a second went by uncounted). So the socket's
//! bytes are read through a [`Metered`] stream, which follows the frame headers as the bytes
//! go by (skipping payloads without looking at them) and takes one token of the connection's
//! bucket per frame: data, continuation and control frames alike. An empty bucket fails the
//! read with [`Flooded`], and the connection is closed with 1008.
//!
//! The socket reads through it from the first byte after the upgrade (hyper hands over any
//! byte it read ahead first), so it never loses a frame boundary. Once it has failed a read,
//! it drains what keeps coming without handing it on, so that the close frame can go out and
//! the socket end with a FIN rather than a reset.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::rate_limit::TokenBucket;

/// The error a read fails with once the client sent frames faster than its bucket allows.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the client sent frames faster than its rate limit allows")]
pub struct Flooded;

/// Whether an I/O error is [`Flooded`].
pub fn is_flooded(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<Flooded>())
}

/// Where in the stream of frames the meter is.
#[derive(Clone, Copy, Debug)]
enum Position {
    /// Reading a frame header: the bytes of it seen so far.
    Header { bytes: [u8; 14], seen: usize },
    /// Skipping a payload: the bytes of it still to come.
    Payload { left: u64 },
}

const NEW_HEADER: Position = Position::Header {
    bytes: [0; 14],
    seen: 0,
};

/// Follows the frames of a client's byte stream and counts them against a token bucket.
#[derive(Clone, Debug)]
pub struct FrameMeter {
    position: Position,
    bucket: TokenBucket,
    frames: u64,
    flooded: bool,
}

impl FrameMeter {
    /// A meter at the start of the stream, with a full bucket.
    pub fn new(bucket: TokenBucket) -> Self {
        FrameMeter {
            position: NEW_HEADER,
            bucket,
            frames: 0,
            flooded: false,
        }
    }

    /// Frames seen so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Follows `bytes`, the next ones read from the socket; takes a token per frame whose
    /// header they complete. Once the bucket was found empty, always [`Flooded`].
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Result<(), Flooded> {
        if self.flooded {
            return Err(Flooded);
        }
        let bucket = &mut self.bucket;
        let flooded = &mut self.flooded;
        let frames = &mut self.frames;
        let rest = follow(&mut self.position, bytes, |_| {
            *frames += 1;
            *flooded = !bucket.try_take(now);
            *flooded
        });
        if !self.flooded {
            return Ok(());
        }
        // Kept in step with the stream, for spotting the client's close while draining.
        follow(&mut self.position, rest, |_| false);
        Err(Flooded)
    }

    /// Follows `bytes` without counting them; whether they complete a close frame's header.
    pub fn sees_close(&mut self, bytes: &[u8]) -> bool {
        let mut close = false;
        follow(&mut self.position, bytes, |opcode| {
            close = opcode == CLOSE;
            close
        });
        close
    }
}

/// The opcode of a close frame.
const CLOSE: u8 = 0x8;

/// Moves `position` over `bytes`, calling `on_header` with the opcode of each frame header they
/// complete; stops early when it returns true, and returns the bytes it did not follow.
fn follow<'b>(
    position: &mut Position,
    mut bytes: &'b [u8],
    mut on_header: impl FnMut(u8) -> bool,
) -> &'b [u8] {
    while let Some((&first, rest)) = bytes.split_first() {
        match position {
            Position::Payload { left } => {
                let skipped = bytes
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= skipped as u64;
                bytes = &bytes[skipped..];
                if *left == 0 {
                    *position = NEW_HEADER;
                }
            }
            Position::Header {
                bytes: header,
                seen,
            } => {
                header[*seen] = first;
                *seen += 1;
                bytes = rest;
                if *seen >= 2 && *seen == header_len(header) {
                    let opcode = header[0] & 0x0f;
                    *position = match payload_len(header) {
                        0 => NEW_HEADER,
                        left => Position::Payload { left },
                    };
                    if on_header(opcode) {
                        return bytes;
                    }
                }
            }
        }
    }
    bytes
}

/// The length of a frame header whose first two bytes are known: 2, the extended length (0, 2
/// or 8 bytes) and the mask (0 or 4).
fn header_len(header: &[u8; 14]) -> usize {
    let extended = match header[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if header[1] & 0x80 != 0 { 4 } else { 0 };
    2 + extended + mask
}

/// The payload length of a complete frame header.
fn payload_len(header: &[u8; 14]) -> u64 {
    match header[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([header[2], header[3]])),
        127 => u64::from_be_bytes([
            header[2], header[3], header[4], header[5], header[6], header[7], header[8], header[9],
        ]),
        n => u64::from(n),
    }
}

/// A client's byte stream read through a [`FrameMeter`]; writes pass through.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    meter: FrameMeter,
    /// Whether the flood was reported: reads then drain.
    reported: bool,
}

impl<S> Metered<S> {
    /// `inner`, read from its first byte through `meter`.
    pub fn new(inner: S, meter: FrameMeter) -> Self {
        Metered {
            inner,
            meter,
            reported: false,
        }
    }
}

impl<S> Metered<S> {
    /// Whether a flood was reported: reads now drain what comes, and hand nothing on.
    pub fn is_draining(&self) -> bool {
        self.reported
    }
}

impl<S: AsyncRead + Unpin> Metered<S> {
    /// Reads and drops whatever the flooding client still sends, until none is waiting: never
    /// hands anything on, and reports the end once the client's close frame went by (so that
    /// the closing handshake can finish without waiting for its timeout).
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) if self.meter.sees_close(buf.filled()) => {
                    return Poll::Ready(Ok(()))
                }
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.reported {
            return this.drain(cx);
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = &buf.filled()[before..];
            if let Err(flooded) = this.meter.feed(read, Instant::now()) {
                buf.set_filled(before);
                this.reported = true;
                return Poll::Ready(Err(io::Error::other(flooded)));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
