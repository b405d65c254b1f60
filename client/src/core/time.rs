//! Time as the core sees it: milliseconds on a clock the driver reads (the browser's `Date.now()`,
//! or a fake clock in tests). The core never reads a clock itself.

use std::ops::{Add, Sub};

/// A point in time, in milliseconds since the Unix epoch (or any fixed origin in tests).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Instant(pub u64);

/// A span of time in milliseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Millis(pub u64);

impl Millis {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Millis {
        Millis(n * 1000)
    }
}

impl Add<Millis> for Instant {
    type Output = Instant;
    fn add(self, d: Millis) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }
}

impl Sub<Instant> for Instant {
    type Output = Millis;
    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    fn sub(self, earlier: Instant) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add for Millis {
    type Output = Millis;
    fn add(self, o: Millis) -> Millis {
        Millis(self.0.saturating_add(o.0))
    }
}

#[cfg(test)]
mod tests {
    use super::{Instant, Millis};

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant(5) + Millis(3), Instant(8));
        assert_eq!(Millis(2) + Millis(3), Millis(5));
        assert_eq!(Instant(u64::MAX) + Millis(1), Instant(u64::MAX));
        assert_eq!(Millis(u64::MAX) + Millis(1), Millis(u64::MAX));
        assert_eq!(Instant(8) - Instant(5), Millis(3));
    }
}
