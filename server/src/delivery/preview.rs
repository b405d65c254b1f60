//! How a frame shows in a trace line: whole when short, else its start and its length, so that
//! a large frame does not flood the log.

/// Most of a frame that a trace line shows.
const PREVIEW_BYTES: usize = 512;

/// A frame for the log: whole when short, else its start (cut on a character boundary) and its
/// length.
pub(super) fn preview(text: &str) -> String {
    if text.len() <= PREVIEW_BYTES {
        return text.to_owned();
    }
    let end = (0..=PREVIEW_BYTES)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_frame_shows_whole_and_a_long_one_its_start_and_length() {
        let exact = "x".repeat(PREVIEW_BYTES);
        assert_eq!(preview(&exact), exact);
        let long = format!("{}é{}", "x".repeat(PREVIEW_BYTES - 1), "y".repeat(100));
        let shown = preview(&long);
        assert_eq!(
            shown,
            format!("{}… (613 bytes)", "x".repeat(PREVIEW_BYTES - 1)),
            "cut before the two-byte character that straddles the limit"
        );
    }
}
