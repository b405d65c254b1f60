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
    use super::super::read::STRING_STOPS;
    use super::super::skip::NESTING_STOPS;
    use super::*;

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
            assert_eq!(
                nesting_stops(word) != 0,
                NESTING_STOPS[i],
                "nesting, byte {b:#x}"
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
                        let first = |table: &[bool; 256]| {
                            let rest = bytes.get(from..).unwrap_or_default();
                            rest.iter()
                                .position(|&b| table[usize::from(b)])
                                .map_or(bytes.len(), |i| from + i)
                        };
                        let string = next_stop(&bytes, from, string_stops, &STRING_STOPS);
                        assert_eq!(string, first(&STRING_STOPS));
                        let nesting = next_stop(&bytes, from, nesting_stops, &NESTING_STOPS);
                        assert_eq!(nesting, first(&NESTING_STOPS));
                    }
                }
            }
        }
    }
}
