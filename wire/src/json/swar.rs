//! Eight bytes at a time: where the next byte that matters is in a run of plain bytes (inside
//! a string, or over a whole object being skipped). A word of eight bytes is tested against
//! each byte of the set with the classic "has a zero byte" test, whose lowest flagged byte is
//! always a true match (a false flag can only follow a true one), so the first match is exact.
//! Bytes past the last whole word are tested one by one with the caller's table.

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

/// The bytes that end a run inside a string already validated: `"` and `\`.
#[inline(always)]
pub(super) fn quote_stops(word: u64) -> u64 {
    equal(word, b'"') | equal(word, b'\\')
}

/// The bytes that matter when skipping an object or an array: quotes, backslashes and the four
/// brackets (`[` and `]` are `{` and `}` without the 0x20 bit).
#[inline(always)]
pub(super) fn nesting_stops(word: u64) -> u64 {
    let folded = word | (ONES * 0x20);
    quote_stops(word) | equal(folded, b'{') | equal(folded, b'}')
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

/// How many bytes at the start of `bytes` may stand in a string unescaped (none is `"`, `\`
/// or a control character).
pub(crate) fn plain_len(bytes: &[u8]) -> usize {
    next_stop(bytes, 0, string_stops, &super::read::STRING_STOPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every position of every byte value, against the tables the scalar scans use.
    #[test]
    fn words_flag_exactly_what_the_tables_mark() {
        let string: [bool; 256] = std::array::from_fn(|b| b < 0x20 || b == 0x22 || b == 0x5C);
        let nesting: [bool; 256] = std::array::from_fn(|b| b"\"\\{}[]".contains(&(b as u8)));
        for stop in 0..=255u8 {
            for at in 0..12 {
                for fill in [b'a', 0x80, 0xFF, b' ', 0x7F] {
                    let mut bytes = vec![fill; 12];
                    bytes[at] = stop;
                    let first = |table: &[bool; 256]| {
                        bytes
                            .iter()
                            .position(|&b| table[usize::from(b)])
                            .unwrap_or(12)
                    };
                    assert_eq!(next_stop(&bytes, 0, string_stops, &string), first(&string));
                    assert_eq!(
                        next_stop(&bytes, 0, nesting_stops, &nesting),
                        first(&nesting)
                    );
                }
            }
        }
    }
}
