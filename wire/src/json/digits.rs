//! The digits of an unsigned integer as a `u64`, read without a checked multiply per digit:
//! on wasm32 that is a call to a 128-bit multiply, and a frame's `ts` and `seq` are read on
//! every event a client receives.

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
