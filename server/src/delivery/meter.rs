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
mod tests {
    use super::*;

    /// A masked client frame with `payload`.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend_from_slice(payload);
        out
    }

    fn meter(burst: u32) -> FrameMeter {
        FrameMeter::new(TokenBucket::new(burst, 1, Instant::now()))
    }

    #[test]
    fn counts_every_frame_however_the_bytes_are_split() {
        let mut stream = frame(0x01, b"{\"v\":");
        stream.extend(frame(0x00, b""));
        stream.extend(frame(0x00, &[b'x'; 300]));
        stream.extend(frame(0x89, b""));
        stream.extend(frame(0x80, &[b'y'; 70_000]));
        stream.extend(frame(0x81, b"{}"));
        for split in [1, 2, 3, 7, 13, 4096, stream.len()] {
            let mut meter = meter(100);
            let now = Instant::now();
            for piece in stream.chunks(split) {
                meter.feed(piece, now).expect("within the bucket");
            }
            assert_eq!(meter.frames(), 6, "pieces of {split} bytes");
        }
    }

    #[test]
    fn empty_continuation_frames_empty_the_bucket() {
        let mut meter = meter(10);
        let now = Instant::now();
        let mut flood = frame(0x01, b"{");
        flood.extend(frame(0x00, b"").repeat(20));
        assert!(meter.feed(&flood, now).is_err());
        assert_eq!(meter.frames(), 11, "stops at the frame that found it empty");
        assert!(
            meter.feed(&frame(0x81, b"{}"), now).is_err(),
            "and stays flooded"
        );
    }

    #[test]
    fn a_close_frame_is_seen_while_draining_after_a_flood() {
        let mut meter = meter(2);
        let now = Instant::now();
        let mut flood = frame(0x89, b"").repeat(3);
        flood.extend(frame(0x00, &[b'x'; 40]));
        assert!(meter.feed(&flood, now).is_err(), "the third ping floods");
        let mut more = frame(0x89, b"p");
        more.extend(frame(0x88, &[3, 232]));
        assert!(!meter.sees_close(&more[..8]));
        assert!(
            meter.sees_close(&more[8..]),
            "the close after the rest of the flood"
        );
    }
}
