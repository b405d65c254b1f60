//! A binary frame's bytes as text: UTF-8 JSON is what a server sends for `binary=1`, and the
//! client keeps it as a `String` without a copy. The common case, ASCII, is checked a few words
//! at a time.

/// The bytes as text if they are UTF-8: [`String::from_utf8`], with a faster check for the
/// common case of ASCII.
pub(super) fn utf8(bytes: Vec<u8>) -> Result<String, std::string::FromUtf8Error> {
    if is_ascii(&bytes) {
        // SAFETY: every byte is below 0x80, and ASCII is UTF-8.
        Ok(unsafe { String::from_utf8_unchecked(bytes) })
    } else {
        String::from_utf8(bytes)
    }
}

/// True if every byte is below 0x80: thirty-two bytes at a time, as four 64-bit words (wasm
/// has 64-bit integers, and the standard library's check goes by `usize`, four bytes on
/// wasm32), then eight at a time, then one.
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let word = |w: &[u8]| w.try_into().map_or(HIGHS, u64::from_le_bytes);
    let blocks = bytes.chunks_exact(32);
    let words = blocks.remainder().chunks_exact(8);
    let tail = words.remainder().iter().fold(0, |acc, &b| acc | b);
    let mut high = words.fold(0, |acc, w| acc | word(w));
    for block in blocks {
        let (a, b) = block.split_at(16);
        let (a, c) = a.split_at(8);
        let (b, d) = b.split_at(8);
        high |= word(a) | word(c) | word(b) | word(d);
    }
    high & HIGHS == 0 && tail < 0x80
}

#[cfg(test)]
mod tests {
    /// The word-at-a-time check agrees with the standard library's for a high byte at every
    /// place of every length around the word size, and for none.
    #[test]
    fn the_ascii_check_finds_a_high_byte_anywhere() {
        for len in 0..80 {
            let plain = vec![b'a'; len];
            assert!(super::is_ascii(&plain));
            for at in 0..len {
                for high in [0x80, 0xC3, 0xFF] {
                    let mut bytes = plain.clone();
                    bytes[at] = high;
                    assert_eq!(
                        super::is_ascii(&bytes),
                        bytes.is_ascii(),
                        "len {len}, at {at}"
                    );
                }
            }
        }
    }
}
