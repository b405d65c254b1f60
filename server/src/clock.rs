//! Wall-clock time in the protocol's unit: milliseconds since the Unix epoch. The ground
//! floor, beside `limits` ([`crate::Limits`]): it imports nothing of the crate.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Now, in seconds since the Unix epoch, as JWT `exp` counts.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}
