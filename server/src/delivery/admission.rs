//! Whether new WebSocket upgrades are let in: a test server can refuse them for a while (a
//! simulated restart, feature `faults`), and shutdown refuses them for good. Refused upgrades
//! get HTTP 503.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The door for new connections.
#[derive(Debug, Default)]
pub struct Admission {
    refuse_until: Mutex<Option<Instant>>,
    closed: AtomicBool,
}

impl Admission {
    /// Refuses new connections for `duration` from now (extending any earlier refusal).
    pub fn refuse_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut slot = self.refuse_until.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(slot.map_or(until, |earlier| earlier.max(until)));
    }

    /// Ends any refusal now (not a `close`): the simulated restart is over early.
    pub fn admit_now(&self) {
        *self.refuse_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Refuses every new connection from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Whether [`Admission::close`] was called: the server is shutting down.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether a new connection may come in now.
    pub fn admits(&self) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let slot = self.refuse_until.lock().unwrap_or_else(|e| e.into_inner());
        slot.is_none_or(|until| Instant::now() >= until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_expires_or_ends_early_and_close_is_final() {
        let door = Admission::default();
        assert!(door.admits());
        door.refuse_for(Duration::from_secs(60));
        assert!(!door.admits());
        assert!(!door.is_closed(), "refused for a while, not shut");
        let door = Admission::default();
        door.refuse_for(Duration::ZERO);
        assert!(door.admits());
        door.refuse_for(Duration::from_secs(60));
        door.admit_now();
        assert!(door.admits());
        door.close();
        door.admit_now();
        assert!(!door.admits());
        assert!(door.is_closed());
    }
}
