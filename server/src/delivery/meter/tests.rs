//! The meter on frames however the bytes are split, and the [`Metered`] stream: reads pass
//! through until a flood, which fails one read and then drains; writes pass through.

use super::*;
use std::collections::VecDeque;

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

/// A stream that hands out `reads` in order, then is pending (or, with `eof`, ends once: a read
/// after the end is a bug of the reader), and keeps what is written to it.
#[derive(Default)]
struct Script {
    reads: VecDeque<Vec<u8>>,
    eof: bool,
    ended: bool,
    written: Vec<u8>,
    vectored: bool,
    flushed: bool,
    shut: bool,
}

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(chunk) = self.reads.pop_front() {
            buf.put_slice(&chunk);
            return Poll::Ready(Ok(()));
        }
        if self.eof {
            assert!(!self.ended, "read again after the end of the stream");
            self.ended = true;
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }
}

impl AsyncWrite for Script {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let before = self.written.len();
        for buf in bufs {
            self.written.extend_from_slice(buf);
        }
        Poll::Ready(Ok(self.written.len() - before))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.flushed = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut = true;
        Poll::Ready(Ok(()))
    }
}

fn metered(reads: Vec<Vec<u8>>, burst: u32) -> Metered<Script> {
    let script = Script {
        reads: reads.into(),
        ..Script::default()
    };
    Metered::new(script, meter(burst))
}

/// One read through `m`: what it handed on.
fn read(m: &mut Metered<Script>) -> Poll<io::Result<Vec<u8>>> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut bytes = [0u8; 8192];
    let mut buf = ReadBuf::new(&mut bytes);
    Pin::new(m)
        .poll_read(&mut cx, &mut buf)
        .map_ok(|()| buf.filled().to_vec())
}

fn done<T: std::fmt::Debug>(polled: Poll<io::Result<T>>) -> T {
    match polled {
        Poll::Ready(Ok(value)) => value,
        other => panic!("not done: {other:?}"),
    }
}

#[test]
fn reads_and_writes_pass_through_within_the_bucket() {
    let stream = [frame(0x81, b"{}"), frame(0x89, b"")].concat();
    let mut m = metered(vec![stream.clone()], 10);
    assert_eq!(done(read(&mut m)), stream);
    assert_eq!(m.meter.frames(), 2);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert_eq!(done(Pin::new(&mut m).poll_write(&mut cx, b"abc")), 3);
    let slices = [io::IoSlice::new(b"de"), io::IoSlice::new(b"f")];
    assert_eq!(
        done(Pin::new(&mut m).poll_write_vectored(&mut cx, &slices)),
        3
    );
    assert_eq!(m.inner.written, b"abcdef");
    done(Pin::new(&mut m).poll_flush(&mut cx));
    assert!(m.inner.flushed, "flushed the socket");
    done(Pin::new(&mut m).poll_shutdown(&mut cx));
    assert!(m.inner.shut, "shut the socket down");
    for vectored in [false, true] {
        let script = Script {
            vectored,
            ..Script::default()
        };
        let m = Metered::new(script, meter(1));
        assert_eq!(m.is_write_vectored(), vectored, "as the socket is");
    }
}

#[test]
fn a_flood_fails_one_read_then_drains_until_the_clients_close_frame() {
    let flood = frame(0x89, b"").repeat(3);
    let mut m = metered(vec![flood, frame(0x81, &[b'x'; 40])], 2);
    assert!(!m.is_draining());
    let error = match read(&mut m) {
        Poll::Ready(Err(error)) => error,
        other => panic!("the third ping floods a bucket of 2: {other:?}"),
    };
    assert!(is_flooded(&error), "{error}");
    assert!(!is_flooded(&io::Error::other("another error")));
    assert!(!is_flooded(&io::ErrorKind::BrokenPipe.into()));
    assert!(m.is_draining());
    assert!(
        read(&mut m).is_pending(),
        "drained, nothing handed on, waits"
    );
    assert!(m.inner.reads.is_empty(), "everything sent was read");
    m.inner.reads.push_back(frame(0x88, &[3, 232]));
    m.inner.reads.push_back(frame(0x81, b"after"));
    assert_eq!(done(read(&mut m)), b"", "the close frame ends the drain");
    assert_eq!(m.inner.reads.len(), 1, "nothing read past the close frame");
}

#[test]
fn a_flooding_client_that_goes_away_ends_the_drain() {
    let mut m = metered(vec![frame(0x89, b"").repeat(3)], 2);
    m.inner.eof = true;
    assert!(matches!(read(&mut m), Poll::Ready(Err(_))));
    assert_eq!(done(read(&mut m)), b"", "the end of the stream");
}

/// A client must mask its frames (the socket refuses one that does not), but the meter counts
/// unmasked ones as frames too, one by one.
#[test]
fn unmasked_frames_are_counted_one_by_one() {
    let unmasked = |payload: &[u8]| [&[0x81, payload.len() as u8][..], payload].concat();
    let stream = [unmasked(b"ab"), unmasked(b"cdef"), unmasked(b"")].concat();
    let mut meter = meter(10);
    meter
        .feed(&stream, Instant::now())
        .expect("within the bucket");
    assert_eq!(meter.frames(), 3);
}
