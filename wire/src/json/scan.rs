//! The two scans every read of a frame makes many times: the run of plain characters in a
//! string, eight bytes at a time, and the digits of an unsigned integer, without a checked
//! multiply per digit. Both are on the hot path of each event a client receives.

/// The bytes that end a run of plain characters in a string: `"`, `\` and the control
/// characters; a tail shorter than a word is scanned with it, a byte at a time.
static STRING_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        stops[b] = true;
        b += 1;
    }
    stops[b'"' as usize] = true;
    stops[b'\\' as usize] = true;
    stops
};

/// How many bytes at the start of `bytes` are plain string characters: none of `"`, `\` or a
/// control character (what [`STRING_STOPS`] marks). Eight bytes at a time: a frame's strings
/// (keys, names, topics) are most of its text, and a table load per byte was a large share of
/// reading it.
pub(crate) fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    let mut i = 0;
    while let Some(Ok(chunk)) = bytes.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let w = u64::from_le_bytes(chunk);
        let (quote, backslash) = (w ^ (ONES * 0x22), w ^ (ONES * 0x5C));
        // The high bit of each byte below 0x20 or equal to `"` or `\` (the classic
        // zero-byte and less-than tests; each flags its lowest match exactly, so the lowest
        // bit set is the first stop).
        let stops = (w.wrapping_sub(ONES * 0x20) & !w
            | quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash)
            & HIGHS;
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = bytes.get(i..).unwrap_or_default();
    i + tail
        .iter()
        .position(|&b| STRING_STOPS[usize::from(b)])
        .unwrap_or(tail.len())
}

/// The digits at the start of `bytes` as a `u64`, and how many there are (0: none); `None`
/// past `u64::MAX`. Nineteen digits always fit, so only a twentieth is checked: a checked
/// multiply is a 128-bit one on wasm32, a call per digit.
pub(crate) fn leading_u64(bytes: &[u8]) -> Option<(u64, usize)> {
    let (mut n, mut len) = (0u64, 0);
    for &b in bytes {
        if !b.is_ascii_digit() {
            break;
        }
        let digit = u64::from(b - b'0');
        n = if len < 19 {
            n * 10 + digit
        } else {
            n.checked_mul(10)?.checked_add(digit)?
        };
        len += 1;
    }
    Some((n, len))
}
