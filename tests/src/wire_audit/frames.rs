//! Reads WebSocket messages out of one direction of a TCP stream as it passes by (RFC 6455,
//! section 5): the HTTP head first, then frames, masked or not, fragmented or not, with control
//! frames between fragments. It only reads: the proxy forwards the bytes unchanged.

/// A complete message seen in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (the payload, lossily decoded if it is not UTF-8).
    Text(String),
    /// A binary message holding UTF-8 text: what tether's server sends a client that asked for
    /// `binary=1`, judged as the text it holds.
    BinaryText(String),
    /// Any other binary message, by its length.
    Binary(usize),
    /// A frame compressed by an extension (RSV1): not read.
    Compressed,
}

/// One direction's reader.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    head_done: bool,
    /// No frames follow (the upgrade was refused, or the stream broke the framing).
    done: bool,
    /// A fragmented message being put together: its opcode and payload so far.
    partial: Option<(u8, Vec<u8>)>,
}

const TEXT: u8 = 1;
const BINARY: u8 = 2;

impl FrameReader {
    /// Feeds the next bytes of the stream; returns the messages they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Message> {
        if self.done {
            return Vec::new();
        }
        self.buf.extend_from_slice(bytes);
        if !self.head_done && !self.read_head() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut at = 0;
        while let Some((len, frame)) = parse_frame(&self.buf[at..]) {
            at += len;
            if let Some(message) = self.assemble(frame) {
                out.push(message);
            }
        }
        self.buf.drain(..at);
        out
    }

    /// Consumes the HTTP head; false until it is complete. After a response other than 101,
    /// nothing more is read.
    fn read_head(&mut self) -> bool {
        let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        self.head_done = true;
        if head.starts_with("HTTP/") && !head.starts_with("HTTP/1.1 101") {
            self.done = true;
            self.buf.clear();
        }
        !self.done
    }

    /// Adds a frame to the message being read; returns the message it completes.
    fn assemble(&mut self, frame: Frame) -> Option<Message> {
        if frame.rsv1 {
            return Some(Message::Compressed);
        }
        if frame.opcode >= 8 {
            return None; // close, ping, pong
        }
        let (opcode, mut payload) = match (frame.opcode, self.partial.take()) {
            (0, Some((opcode, mut so_far))) => {
                so_far.extend_from_slice(&frame.payload);
                (opcode, so_far)
            }
            (0, None) => return None, // a continuation of nothing: not ours to judge
            (opcode, _) => (opcode, frame.payload),
        };
        if !frame.fin {
            self.partial = Some((opcode, std::mem::take(&mut payload)));
            return None;
        }
        match opcode {
            TEXT => Some(Message::Text(
                String::from_utf8_lossy(&payload).into_owned(),
            )),
            BINARY => Some(match String::from_utf8(payload) {
                Ok(text) => Message::BinaryText(text),
                Err(e) => Message::Binary(e.as_bytes().len()),
            }),
            _ => None,
        }
    }
}

/// One frame, unmasked.
struct Frame {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// The first frame of `buf` and its length in bytes, once it is all there.
fn parse_frame(buf: &[u8]) -> Option<(usize, Frame)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => (
            u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
            4,
        ),
        127 => (u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask: Option<[u8; 4]> = if masked {
        let key = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(key)
    } else {
        None
    };
    let len = usize::try_from(len).ok()?;
    let mut payload = buf.get(at..at.checked_add(len)?)?.to_vec();
    if let Some(key) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    let frame = Frame {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0f,
        payload,
    };
    Some((at + len, frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(m | n as u8),
            n if n < 65_536 => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(payload),
        }
        out
    }

    #[test]
    fn masked_fragmented_and_long_messages_are_read_across_any_split() {
        let long = "x".repeat(70_000);
        let mut stream = b"GET /ws HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        stream.extend(frame(true, TEXT, b"{\"a\":1}", Some([1, 2, 3, 4])));
        stream.extend(frame(false, TEXT, b"{\"b\":", Some([9, 8, 7, 6])));
        stream.extend(frame(true, 9, b"ping", Some([5, 5, 5, 5])));
        stream.extend(frame(true, 0, b"2}", Some([0, 1, 0, 1])));
        stream.extend(frame(true, TEXT, long.as_bytes(), None));
        stream.extend(frame(true, BINARY, b"{\"c\":3}", None));
        stream.extend(frame(true, BINARY, &[0xff; 300], None));
        let want = vec![
            Message::Text("{\"a\":1}".into()),
            Message::Text("{\"b\":2}".into()),
            Message::Text(long.clone()),
            Message::BinaryText("{\"c\":3}".into()),
            Message::Binary(300),
        ];
        for chunk in [1, 7, 1000, stream.len()] {
            let mut reader = FrameReader::default();
            let got: Vec<Message> = stream.chunks(chunk).flat_map(|c| reader.feed(c)).collect();
            assert_eq!(got, want, "in chunks of {chunk}");
        }
    }

    #[test]
    fn a_refused_upgrade_has_no_frames() {
        let mut reader = FrameReader::default();
        let mut stream = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n".to_vec();
        stream.extend(frame(true, TEXT, b"{}", None));
        assert!(reader.feed(&stream).is_empty());
        let mut ok = FrameReader::default();
        let mut accepted = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        accepted.extend(frame(true, TEXT, b"{}", None));
        assert_eq!(ok.feed(&accepted), vec![Message::Text("{}".into())]);
    }
}
