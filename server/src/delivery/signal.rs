//! How the rest of the server asks one connection to end: a [`CloseSignal`] fired once, with
//! the [`Ending`] it asked for, and the switch that makes a connection half-open (a test
//! server's fault: it sends nothing and enforces no idle timeout, as a stalled peer would).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// How a connection was asked to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Send a close frame with this code and reason, then drop the socket.
    Close {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// Drop the socket without a close frame.
    Abort,
}

/// Asks a connection to end, once; also carries the test-only half-open switch.
#[derive(Debug, Default)]
pub struct CloseSignal {
    requested: CancellationToken,
    ending: Mutex<Option<Ending>>,
    half_open: AtomicBool,
}

impl CloseSignal {
    /// Asks for a close frame with `code`. True if this is the first request.
    pub fn close(&self, code: u16, reason: &str) -> bool {
        self.request(Ending::Close {
            code,
            reason: reason.into(),
        })
    }

    /// Asks for the socket to be dropped without a close frame. True if this is the first request.
    pub fn abort(&self) -> bool {
        self.request(Ending::Abort)
    }

    fn request(&self, ending: Ending) -> bool {
        let mut slot = self.ending.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return false;
        }
        *slot = Some(ending);
        self.requested.cancel();
        true
    }

    /// Resolves once an ending was requested.
    pub async fn requested(&self) {
        self.requested.cancelled().await;
    }

    /// The requested ending, if any.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// From now on the connection sends nothing and enforces no idle timeout.
    pub fn go_half_open(&self) {
        self.half_open.store(true, Ordering::Relaxed);
    }

    /// Whether the connection went half-open.
    pub fn is_half_open(&self) -> bool {
        self.half_open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_ending_wins() {
        let signal = CloseSignal::default();
        assert!(signal.abort());
        assert!(!signal.close(1001, "bye"));
        assert_eq!(signal.ending(), Some(Ending::Abort));
    }
}
