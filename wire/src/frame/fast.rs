//! The fast path of [`EnvelopeRef::parse`]: a frame laid out as tether-wire writes it (and as
//! tether's stub sends it), `{"v":1,"type":…,"topic":…,"req_id":…,"ts":…,"seq":…,"data":…}`
//! with `req_id` and `seq` optional, no whitespace and no escapes in the strings, is read by
//! matching that layout in one scan, without a key to look up. Any other frame gets `None`, and
//! the general reader reads it: the fast path decides nothing (a test holds the two to the same
//! reading of every frame it takes).

use super::EnvelopeRef;
use crate::json::{leading_u64, plain_len, Cursor, Str};

/// Where the scan is.
struct Layout<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Layout<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    /// Steps over `expected` if it is next.
    fn literal(&mut self, expected: &str) -> Option<()> {
        starts_with(self.rest().as_bytes(), expected.as_bytes()).then(|| self.pos += expected.len())
    }

    /// A string's text up to its closing quote, if it has no escape or control character.
    fn plain_string(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let end = plain_len(rest.as_bytes());
        if rest.as_bytes().get(end) != Some(&b'"') {
            return None;
        }
        self.pos += end + 1;
        rest.get(..end)
    }

    /// An unsigned integer that fits a `u64` (no sign, fraction, exponent or leading zero).
    fn number(&mut self) -> Option<u64> {
        let digits = self.rest().as_bytes();
        let (n, len) = leading_u64(digits)?;
        if len == 0 || (len > 1 && digits.first() == Some(&b'0')) {
            return None;
        }
        self.pos += len;
        Some(n)
    }

    /// `data`'s text, found as the general reader finds it.
    fn data(&mut self) -> Option<&'a str> {
        let mut c = Cursor::new(self.rest());
        let data = c.skip_unvalidated().ok()?;
        self.pos += c.position();
        Some(data)
    }
}

/// The eight bytes at `i` as a number (0 if there are not eight).
#[inline(always)]
fn word(bytes: &[u8], i: usize) -> u64 {
    bytes
        .get(i..i + 8)
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

/// `bytes` starts with `expected`: compared eight bytes at a time (the literals are constants,
/// so their words are too), not by the byte-at-a-time `memcmp` a slice comparison calls on
/// wasm32, which only a text shorter than eight bytes gets.
fn starts_with(bytes: &[u8], expected: &[u8]) -> bool {
    let len = expected.len();
    if bytes.len() < len.max(8) {
        return bytes.starts_with(expected);
    }
    if len < 8 {
        let padded = expected.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b));
        let mask = (1u64 << (8 * len)) - 1;
        return word(bytes, 0) & mask == padded;
    }
    let mut i = 0;
    while i + 8 < len {
        if word(bytes, i) != word(expected, i) {
            return false;
        }
        i += 8;
    }
    // The last eight bytes, overlapping the words before.
    word(bytes, len - 8) == word(expected, len - 8)
}

/// Reads a frame laid out as tether-wire writes it; `None` for any other.
pub(super) fn parse(text: &str) -> Option<EnvelopeRef<'_>> {
    let mut l = Layout { text, pos: 0 };
    l.literal("{\"v\":1,\"type\":\"")?;
    let kind = l.plain_string()?;
    l.literal(",\"topic\":\"")?;
    let topic = l.plain_string()?;
    let req_id = match l.literal(",\"req_id\":\"") {
        Some(()) => Some(l.plain_string()?),
        None => None,
    };
    l.literal(",\"ts\":")?;
    let ts = l.number()?;
    let seq = match l.literal(",\"seq\":") {
        Some(()) => Some(l.number()?),
        None => None,
    };
    l.literal(",\"data\":")?;
    let data = l.data()?;
    l.literal("}")?;
    if !l.rest().is_empty() {
        return None;
    }
    Some(EnvelopeRef {
        kind: Str::plain(kind),
        topic: Some(Str::plain(topic)),
        req_id: req_id.map(Str::plain),
        ts,
        seq,
        data: (data != "null").then_some(data),
    })
}
