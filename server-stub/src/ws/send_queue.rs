//! A connection's send queue, which is how the rest of the server sees it: a queue of encoded
//! frames bounded both in items and in bytes, filled with `try_send` so that no publisher ever
//! waits, whether the connection speaks tether's extensions, and a [`CloseSignal`] that asks
//! the connection to end. A full queue closes that connection with 1008 (slow consumer).
//!
//! Bytes are counted from the moment an item is queued until the socket's writer has written
//! it ([`SendQueue::written`]); one item is always let into an empty queue, so that a large
//! but bounded subscribe reply still goes out.

use axum::extract::ws::Utf8Bytes;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::auth::UserId;
use crate::hub::Published;
use crate::stats::{DropReason, Stats};
use tether_wire::CloseCode;

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

impl Outbound {
    /// The bytes of text it carries.
    pub fn bytes(&self) -> usize {
        match self {
            Outbound::Frame(frame) => frame.len(),
            Outbound::Batch(batch) => batch.iter().map(|f| f.len()).sum(),
        }
    }
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
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl SendQueue {
    /// A queue of `capacity` items and `max_bytes` bytes for connection `id` of `user`, and its
    /// receiving end; `extended` when the connection gets tether's extensions.
    pub fn new(
        id: ConnId,
        user: UserId,
        (capacity, max_bytes): (usize, usize),
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
            queued: Arc::default(),
            max_bytes,
        };
        (queue, rx)
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The writer wrote `bytes` that were queued.
    pub fn written(&self, bytes: usize) {
        self.unreserve(bytes);
    }

    /// The connection ended: what is still queued is dropped with the receiver, and no longer
    /// counted. Call it after closing the receiver.
    pub fn discard_all(&self) {
        let left = self.queued.swap(0, Ordering::Relaxed);
        self.stats.queued_bytes_changed(-to_delta(left));
    }

    fn reserve(&self, bytes: usize) -> bool {
        let before = self.queued.fetch_add(bytes, Ordering::Relaxed);
        if before > 0 && before.saturating_add(bytes) > self.max_bytes {
            self.queued.fetch_sub(bytes, Ordering::Relaxed);
            return false;
        }
        self.stats.queued_bytes_changed(to_delta(bytes));
        true
    }

    fn unreserve(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(bytes))
            });
        self.stats.queued_bytes_changed(-to_delta(bytes));
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

    /// Queues an item without waiting; a queue full in items or in bytes closes the
    /// connection with 1008.
    pub fn deliver(&self, item: Outbound) -> Delivery {
        if self.tx.is_closed() {
            return Delivery::Gone;
        }
        let bytes = item.bytes();
        if !self.reserve(bytes) {
            return self.overflow();
        }
        match self.tx.try_send(item) {
            Ok(()) => Delivery::Queued,
            Err(TrySendError::Full(_)) => {
                self.unreserve(bytes);
                self.overflow()
            }
            Err(TrySendError::Closed(_)) => {
                self.unreserve(bytes);
                Delivery::Gone
            }
        }
    }

    fn overflow(&self) -> Delivery {
        if self.signal.close(CloseCode::POLICY.0, "slow consumer") {
            self.stats.dropped(DropReason::SlowConsumer);
            tracing::warn!(
                conn = self.id,
                user = self.user,
                queued_bytes = self.queued_bytes(),
                "slow consumer: its send queue is full, closing with 1008"
            );
        }
        Delivery::Overflowed
    }
}

fn to_delta(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_closes_once_with_1008() {
        let stats = Arc::new(Stats::default());
        let (queue, _rx) = SendQueue::new(1, 1, (1, 1024), true, stats.clone());
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
    fn bytes_over_the_budget_close_with_1008_and_writes_free_them() {
        let stats = Arc::new(Stats::default());
        let (queue, _rx) = SendQueue::new(1, 1, (100, 10), true, stats.clone());
        assert_eq!(queue.deliver_frame("x".repeat(30).into()), Delivery::Queued);
        assert_eq!(
            queue.queued_bytes(),
            30,
            "one item always fits an empty queue"
        );
        assert_eq!(queue.deliver_frame("y".into()), Delivery::Overflowed);
        assert_eq!(queue.signal().ending().map(|_| ()), Some(()));
        queue.written(30);
        assert_eq!(queue.queued_bytes(), 0);
        let (queue, mut rx) = SendQueue::new(2, 1, (100, 10), true, stats.clone());
        assert_eq!(queue.deliver_frame("12345".into()), Delivery::Queued);
        assert_eq!(queue.deliver_frame("12345".into()), Delivery::Queued);
        assert_eq!(stats.queued_bytes(), 10);
        rx.close();
        queue.discard_all();
        assert_eq!(stats.queued_bytes(), 0);
        assert_eq!(queue.deliver_frame("z".into()), Delivery::Gone);
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
        let (queue, rx) = SendQueue::new(1, 1, (4, 1024), true, Arc::new(Stats::default()));
        drop(rx);
        assert_eq!(queue.deliver_frame("a".into()), Delivery::Gone);
    }
}
