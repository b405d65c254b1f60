//! Time as the core sees it: milliseconds on a clock the driver reads (the browser's `Date.now()`,
//! or a fake clock in tests). The core never reads a clock itself: an input brings the time, or,
//! for a frame, a [`Clock`] the core reads only if it needs the time (an app event on a proven
//! socket does not: see the heartbeat's untimed frames). Reading the browser's clock costs
//! about as much as reading an event's envelope.

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

/// The time of a frame: given, or read from the driver's clock when the core first asks, then
/// kept for the rest of the frame.
pub struct Clock<'a> {
    now: Option<Instant>,
    read: Option<&'a dyn Fn() -> Instant>,
}

impl<'a> Clock<'a> {
    /// The time is `now`.
    pub fn at(now: Instant) -> Clock<'static> {
        Clock {
            now: Some(now),
            read: None,
        }
    }

    /// The time is what `read` says, asked for at most once.
    pub fn lazy(read: &'a dyn Fn() -> Instant) -> Clock<'a> {
        Clock {
            now: None,
            read: Some(read),
        }
    }

    /// The time, read now if it has not been.
    pub(crate) fn now(&mut self) -> Instant {
        match (self.now, self.read) {
            (Some(now), _) => now,
            (None, read) => *self.now.insert(read.map_or_else(Instant::default, |r| r())),
        }
    }

    /// The time if it was given or has been read.
    pub(crate) fn known(&self) -> Option<Instant> {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, Instant, Millis};

    /// A lazy clock is read once, on the first ask, and never if nobody asks.
    #[test]
    fn a_lazy_clock_is_read_once_and_only_when_asked() {
        let reads = std::cell::Cell::new(0);
        let read = || {
            reads.set(reads.get() + 1);
            Instant(7)
        };
        let unasked = Clock::lazy(&read);
        assert_eq!((unasked.known(), reads.get()), (None, 0));
        let mut clock = Clock::lazy(&read);
        assert_eq!(
            (clock.now(), clock.now(), clock.known()),
            (Instant(7), Instant(7), Some(Instant(7)))
        );
        assert_eq!(reads.get(), 1);
        assert_eq!(Clock::at(Instant(3)).known(), Some(Instant(3)));
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Instant(5) + Millis(3), Instant(8));
        assert_eq!(Millis(2) + Millis(3), Millis(5));
        assert_eq!(Instant(u64::MAX) + Millis(1), Instant(u64::MAX));
        assert_eq!(Millis(u64::MAX) + Millis(1), Millis(u64::MAX));
        assert_eq!(Instant(8) - Instant(5), Millis(3));
    }
}
