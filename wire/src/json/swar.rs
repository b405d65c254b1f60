//! Eight bytes at a time. Inside a string, where the next byte that matters is in a run of
//! plain bytes: a word is tested against each byte of the set with the classic "has a zero
//! byte" test, whose lowest flagged byte is always a true match (a false flag can only follow a
//! true one), so the first match is exact; bytes past the last whole word are tested one by one
//! with the caller's table. Over an object or array being skipped, where it ends: exact tests
//! flag a word's quotes and brackets, the quotes' prefix parity tells which brackets lie inside
//! strings, and a word with no bracket only carries that parity on.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is zero (exact up to and including the first).
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The high bit of each byte of `word` equal to `byte`.
#[inline(always)]
fn equal(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(byte)))
}

/// The high bit of each byte of `word` below 0x20 (a control character).
#[inline(always)]
fn control(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGHS
}

/// The bytes that end a run inside a string being validated: `"`, `\` and control characters.
#[inline(always)]
pub(super) fn string_stops(word: u64) -> u64 {
    equal(word, b'"') | equal(word, b'\\') | control(word)
}

/// The index of the first byte at or after `from` that `stops` flags in its word (or, past the
/// last whole word, that `table` marks); `bytes.len()` if there is none.
#[inline]
pub(super) fn next_stop(
    bytes: &[u8],
    mut from: usize,
    stops: impl Fn(u64) -> u64,
    table: &[bool; 256],
) -> usize {
    while let Some(chunk) = bytes.get(from..from + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let hits = stops(u64::from_le_bytes(word));
        if hits != 0 {
            return from + (hits.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while let Some(&b) = bytes.get(from) {
        if table[usize::from(b)] {
            return from;
        }
        from += 1;
    }
    bytes.len()
}

/// The high bit of each byte of `word` that is zero, with no false flags (unlike
/// [`zero_bytes`], which may flag a byte above a true one): no sum carries between bytes.
#[inline(always)]
fn exact_zero_bytes(word: u64) -> u64 {
    const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((word & LOWS) + LOWS) | word | LOWS)
}

/// The high bit of each byte of `word` equal to `byte`, exactly.
#[inline(always)]
fn exactly(word: u64, byte: u8) -> u64 {
    exact_zero_bytes(word ^ (ONES * u64::from(byte)))
}

/// Flags (at least) each byte of `folded` (a word with every 0x20 bit set) that was a bracket
/// or a backslash: with that bit set, `[` `\\` `]` `{` `|` `}` are the bytes 0x7B to 0x7D.
/// Nothing is flagged if there is none (a `|` is flagged too: the caller then looks closer).
#[inline(always)]
fn brackets_or_backslashes(folded: u64) -> u64 {
    const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let low = folded & LOWS;
    let from = low + ONES * (0x80 - 0x7B);
    let past = low + ONES * (0x80 - 0x7E);
    from & !past & !folded & HIGHS
}

/// Each byte's lowest bit xored with those of every byte below it (a prefix parity).
#[inline(always)]
fn prefix_parity(bits: u64) -> u64 {
    let mut x = bits;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Where an object or array that starts at `from` ends (the index after its closing bracket),
/// eight bytes at a time: the quotes of a word give, by their prefix parity, which bytes lie in
/// a string, and only the brackets outside strings are then walked, bit by bit. A word with a
/// backslash is walked byte by byte. `None` if it does not end. Text that is not JSON gives a
/// garbage end, never a panic.
pub(super) fn nested_end(bytes: &[u8], from: usize) -> Option<usize> {
    let (mut i, mut depth, mut in_string) = (from, 0usize, false);
    while i < bytes.len() {
        let (word, n) = word_at(bytes, i);
        let quotes = exactly(word, b'"');
        let folded = word | (ONES * 0x20);
        if brackets_or_backslashes(folded) == 0 {
            // Neither (the common word): only whether it ends in a string carries on.
            in_string ^= quotes.count_ones() & 1 == 1;
            i += n;
            continue;
        }
        if equal(word, b'\\') != 0 {
            match nested_end_bytewise(bytes, i, n, &mut depth, &mut in_string) {
                Ok(end) => return Some(end),
                Err(next) => i = next,
            }
            continue;
        }
        let opens = exactly(folded, b'{');
        let closes = exactly(folded, b'}');
        let mut parity = prefix_parity(quotes >> 7);
        if in_string {
            parity ^= ONES;
        }
        let mut brackets = (opens | closes) & !(parity << 7);
        while brackets != 0 {
            let bit = brackets & brackets.wrapping_neg();
            brackets ^= bit;
            if opens & bit != 0 {
                depth += 1;
            } else {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + (bit.trailing_zeros() / 8) as usize + 1);
                }
            }
        }
        in_string = parity >> 56 & 1 == 1;
        i += n;
    }
    None
}

/// The eight bytes at `i` as a word, and how many of them are in `bytes` (past its end, the
/// word has zero bytes, which no stop flags).
#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> (u64, usize) {
    if let Some(chunk) = bytes.get(i..i + 8) {
        return (<[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes), 8);
    }
    let tail = bytes.get(i..).unwrap_or_default();
    let word = tail
        .iter()
        .rev()
        .fold(0, |word, &b| word << 8 | u64::from(b));
    (word, tail.len())
}

/// [`nested_end`] over the `n` bytes at `i`, one at a time: `Ok` with the end if the value
/// ends there, else `Err` with where the next word starts (past an escaped character).
fn nested_end_bytewise(
    bytes: &[u8],
    mut i: usize,
    n: usize,
    depth: &mut usize,
    in_string: &mut bool,
) -> Result<usize, usize> {
    let end = i + n;
    while i < end {
        let Some(&b) = bytes.get(i) else {
            break;
        };
        i += 1;
        match b {
            b'\\' => i += usize::from(*in_string),
            b'"' => *in_string = !*in_string,
            _ if *in_string => {}
            b'{' | b'[' => *depth += 1,
            b'}' | b']' => {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    return Ok(i);
                }
            }
            _ => {}
        }
    }
    Err(i)
}

/// How many bytes at the start of `bytes` may stand in a string unescaped (none is `"`, `\`
/// or a control character).
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    next_stop(bytes, 0, string_stops, &super::read::STRING_STOPS)
}

#[cfg(test)]
mod tests {
    use super::super::read::STRING_STOPS;
    use super::*;
    use proptest::prelude::*;

    /// Each byte value, alone in a word of plain bytes, is flagged exactly when the table the
    /// one-by-one tail uses marks it: the two paths stop at the same bytes.
    #[test]
    fn words_and_tables_stop_at_the_same_bytes() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'a', b'a', b, b'a', b'a', b'a', b'a']);
            let i = usize::from(b);
            assert_eq!(
                string_stops(word) != 0,
                STRING_STOPS[i],
                "string, byte {b:#x}"
            );
        }
    }

    /// Every stop byte at every place, from every start, after every filler: the first stop
    /// found is the first byte the table marks (false flags above a true one never win).
    #[test]
    fn the_first_stop_is_the_first_byte_the_table_marks() {
        for stop in 0..=255u8 {
            for at in 0..19 {
                for fill in [b'a', 0x80, 0xFF, b' ', 0x7F, 0x01, 0x21, 0x5D] {
                    let mut bytes = vec![fill; 19];
                    bytes[at] = stop;
                    for from in [0, 1, 7, 8, 12, 19, 20] {
                        let rest = bytes.get(from..).unwrap_or_default();
                        let first = rest
                            .iter()
                            .position(|&b| STRING_STOPS[usize::from(b)])
                            .map_or(bytes.len(), |i| from + i);
                        let string = next_stop(&bytes, from, string_stops, &STRING_STOPS);
                        assert_eq!(string, first);
                    }
                }
            }
        }
    }

    /// Every byte value equal to the one sought is flagged, and no other, wherever it sits
    /// and whatever is next to it (the plain zero-byte test may flag a byte above a match).
    #[test]
    fn exact_equality_flags_only_equal_bytes() {
        for sought in [b'"', b'\\', b'{', b'}'] {
            for b in 0..=255u8 {
                for neighbour in [sought, sought ^ 1, 0, 0xFF, b'a'] {
                    let bytes = [neighbour, b, neighbour, b, b, neighbour, b, neighbour];
                    let flags = exactly(u64::from_le_bytes(bytes), sought);
                    for (k, &byte) in bytes.iter().enumerate() {
                        let flagged = flags >> (8 * k + 7) & 1 == 1;
                        assert_eq!(flagged, byte == sought, "{sought:#x} in {bytes:?}");
                    }
                }
            }
        }
    }

    /// Brackets and backslashes are flagged (and `|`, which folds with the backslash), each
    /// byte on its own, whatever its neighbours.
    #[test]
    fn brackets_and_backslashes_are_flagged() {
        for b in 0..=255u8 {
            for neighbour in [0, b'{', b'a', 0xFF, 0x7E] {
                let bytes = [neighbour, b, neighbour, b, b, neighbour, b, neighbour];
                let flags = brackets_or_backslashes(u64::from_le_bytes(bytes) | (ONES * 0x20));
                for (k, &byte) in bytes.iter().enumerate() {
                    let flagged = flags >> (8 * k + 7) & 1 == 1;
                    assert_eq!(
                        flagged,
                        b"[]{}\\|".contains(&byte),
                        "{byte:#x} in {bytes:?}"
                    );
                }
            }
        }
    }

    /// Where an object or array ends, found one byte at a time: the reading the word-at-a-time
    /// walk must agree with.
    fn nested_end_by_bytes(bytes: &[u8], from: usize) -> Option<usize> {
        let (mut i, mut depth, mut in_string) = (from, 0usize, false);
        while let Some(&b) = bytes.get(i) {
            i += 1;
            match b {
                b'\\' if in_string => i += 1,
                b'"' => in_string = !in_string,
                b'{' | b'[' if !in_string => depth += 1,
                b'}' | b']' if !in_string => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    proptest! {
        /// Any text of brackets, quotes, backslashes and filler, from any start: the same end
        /// as the byte-by-byte walk (strings, escapes and words split at any place).
        #[test]
        fn the_nested_end_is_the_byte_by_byte_one(
            text in "[{}\\[\\]\"\\\\a ,|\\x7b\\x80]{0,80}",
            from in 0usize..8,
        ) {
            let bytes = text.as_bytes();
            let from = from.min(bytes.len());
            prop_assert_eq!(nested_end(bytes, from), nested_end_by_bytes(bytes, from));
        }
    }
}
