//! A connection's send queue, which is how the rest of the server sees it: a bounded queue of
//! encoded frames, filled with `try_send` so that no publisher ever waits, whether the
//! connection speaks tether's extensions, and a [`CloseSignal`] that asks the connection to
//! end. A full queue closes that connection with 1008 (slow consumer).

use axum::extract::ws::Utf8Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::auth::UserId;
use crate::hub::Published;
use crate::stats::{DropReason, Stats};
use tether::protocol::CloseCode;

/// Identifies one connection for the lifetime of the server.
pub type ConnId = u64;

/// What goes down one connection's queue.
#[derive(Debug)]
pub enum Outbound {
    /// One encoded text frame.
    Frame(Utf8Bytes),
    /// Frames that must go out back to back, such as a subscribe reply with its replay.
    Batch(Vec<Utf8Bytes>),
}

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

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Queued.
    Queued,
    /// The queue was full: the connection is being closed with 1008.
    Overflowed,
    /// The connection is gone.
    Gone,
}

/// The sending side of one connection's queue.
#[derive(Clone, Debug)]
pub struct SendQueue {
    id: ConnId,
    user: UserId,
    extended: bool,
    tx: mpsc::Sender<Outbound>,
    signal: Arc<CloseSignal>,
    stats: Arc<Stats>,
}

impl SendQueue {
    /// A queue of `capacity` items for connection `id` of `user`, and its receiving end;
    /// `extended` when the connection gets tether's extensions.
    pub fn new(
        id: ConnId,
        user: UserId,
        capacity: usize,
        extended: bool,
        stats: Arc<Stats>,
    ) -> (Self, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let queue = SendQueue {
            id,
            user,
            extended,
            tx,
            signal: Arc::new(CloseSignal::default()),
            stats,
        };
        (queue, rx)
    }

    /// The connection.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Its user.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// Whether it gets tether's extensions (`seq`, acknowledgements, replay).
    pub fn extended(&self) -> bool {
        self.extended
    }

    /// Its close signal.
    pub fn signal(&self) -> &Arc<CloseSignal> {
        &self.signal
    }

    /// Queues one frame without waiting.
    pub fn deliver_frame(&self, frame: Utf8Bytes) -> Delivery {
        self.deliver(Outbound::Frame(frame))
    }

    /// Queues a published event, with or without its `seq` as the connection speaks.
    pub fn deliver_event(&self, event: &Published) -> Delivery {
        self.deliver_frame(event.text_for(self.extended))
    }

    /// Queues an item without waiting; a full queue closes the connection with 1008.
    pub fn deliver(&self, item: Outbound) -> Delivery {
        match self.tx.try_send(item) {
            Ok(()) => Delivery::Queued,
            Err(TrySendError::Full(_)) => {
                if self.signal.close(CloseCode::POLICY.0, "slow consumer") {
                    self.stats.dropped(DropReason::SlowConsumer);
                    tracing::warn!(
                        conn = self.id,
                        user = self.user,
                        "slow consumer: its send queue is full, closing with 1008"
                    );
                }
                Delivery::Overflowed
            }
            Err(TrySendError::Closed(_)) => Delivery::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_closes_once_with_1008() {
        let stats = Arc::new(Stats::default());
        let (queue, _rx) = SendQueue::new(1, 1, 1, true, stats.clone());
        assert_eq!(queue.deliver_frame("a".into()), Delivery::Queued);
        assert_eq!(queue.deliver_frame("b".into()), Delivery::Overflowed);
        assert_eq!(queue.deliver_frame("c".into()), Delivery::Overflowed);
        assert_eq!(
            queue.signal().ending(),
            Some(Ending::Close {
                code: 1008,
                reason: "slow consumer".into()
            })
        );
        assert_eq!(
            stats.to_json(Default::default())["drops"]["slow_consumer"],
            1
        );
    }

    #[test]
    fn first_ending_wins() {
        let signal = CloseSignal::default();
        assert!(signal.abort());
        assert!(!signal.close(1001, "bye"));
        assert_eq!(signal.ending(), Some(Ending::Abort));
    }

    #[test]
    fn closed_queue_is_gone() {
        let (queue, rx) = SendQueue::new(1, 1, 4, true, Arc::new(Stats::default()));
        drop(rx);
        assert_eq!(queue.deliver_frame("a".into()), Delivery::Gone);
    }
}
