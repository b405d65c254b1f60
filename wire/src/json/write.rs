//! Writing: strings escaped exactly as serde_json escapes them (so frames written here and
//! frames serde writes are the same text), and unsigned integers without `core::fmt`.

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters escaped (the
/// short forms where JSON has them, else `\u00XX`); everything else as is.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        start = i + 1;
        out.push('\\');
        out.push(char::from(short));
        if short == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
}
