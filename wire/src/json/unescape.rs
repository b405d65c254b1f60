//! Decoding a validated string's escapes.

use super::read::hex4;
use super::slice;

/// The value of a validated string's text between its quotes.
pub(super) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(slice(rest, 0, i));
        let b = rest.as_bytes().get(i + 1).copied().unwrap_or(b'\\');
        rest = rest.get(i + 2..).unwrap_or("");
        let c = match b {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (c, tail) = unicode_escape(rest);
                rest = tail;
                c
            }
            other => char::from(other),
        };
        out.push(c);
    }
    out.push_str(rest);
    out
}

/// The character of a validated `\u` escape whose four digits start `rest` (a surrogate pair
/// takes the next escape too), and the text after it.
fn unicode_escape(rest: &str) -> (char, &str) {
    let code = |s: &str| s.get(..4).map(str::as_bytes).and_then(hex4);
    let high = code(rest).unwrap_or(0xFFFD);
    let tail = rest.get(4..).unwrap_or("");
    if (0xD800..=0xDBFF).contains(&high) {
        let low = tail.get(2..).and_then(code).unwrap_or(0xDC00);
        let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        return (
            char::from_u32(c).unwrap_or('\u{FFFD}'),
            tail.get(6..).unwrap_or(""),
        );
    }
    (char::from_u32(high).unwrap_or('\u{FFFD}'), tail)
}
