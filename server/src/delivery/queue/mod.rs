//! A connection's send queue, which is how the rest of the server sees it: a queue of encoded
//! frames bounded both in items and in bytes, filled with `try_send` so that no publisher ever
//! waits, who the connection's user is, whether it speaks tether's extensions, and a
//! [`CloseSignal`] that asks the connection to end. A full queue closes that connection with
//! 1008 (slow consumer).
//!
//! Bytes are counted from the moment an item is queued until the socket's writer has written
//! it ([`SendQueue::written`]); one item is always let into an empty queue. Frames that are
//! many bytes in all (a subscribe reply and its replay) go out in pieces of at most half the
//! budget, each waiting for room ([`SendQueue::deliver_paced`]), so that they never hold more
//! than the budget either.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::Notify;
use tungstenite::Utf8Bytes;

use tether_wire::CloseCode;

use super::signal::CloseSignal;
use super::stats::{DropReason, Stats};

/// Identifies one connection for the lifetime of the server.
pub type ConnId = u64;

/// A user as the delivery layer knows it: the text the app's user displays as, for the
/// counters, the logs and a test server's faults aimed at one user.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserKey(Arc<str>);

impl UserKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for UserKey {
    fn from(s: &str) -> Self {
        UserKey(s.into())
    }
}

impl From<String> for UserKey {
    fn from(s: String) -> Self {
        UserKey(s.into())
    }
}

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

/// The sending side of one connection's queue. Cheap to clone: every subscription of the
/// connection in the hub holds one (a pointer).
#[derive(Clone, Debug)]
pub struct SendQueue(Arc<Shared>);

/// What the clones of a [`SendQueue`] share.
#[derive(Debug)]
struct Shared {
    id: ConnId,
    user: UserKey,
    extended: bool,
    /// Frames go out as binary WebSocket messages (the same UTF-8 JSON): the client asked.
    binary: AtomicBool,
    tx: mpsc::Sender<Outbound>,
    signal: Arc<CloseSignal>,
    stats: Arc<Stats>,
    /// Bytes queued and not yet written.
    queued: AtomicUsize,
    max_bytes: usize,
    /// Told when bytes were written, for whoever waits for room.
    room: Notify,
}

impl SendQueue {
    /// A queue of `capacity` items and `max_bytes` bytes for connection `id` of `user`, and its
    /// receiving end; `extended` when the connection gets tether's extensions.
    pub fn new(
        id: ConnId,
        user: UserKey,
        (capacity, max_bytes): (usize, usize),
        extended: bool,
        stats: Arc<Stats>,
    ) -> (Self, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let queue = SendQueue(Arc::new(Shared {
            id,
            user,
            extended,
            binary: AtomicBool::new(false),
            tx,
            signal: Arc::new(CloseSignal::default()),
            stats,
            queued: AtomicUsize::new(0),
            max_bytes,
            room: Notify::new(),
        }));
        (queue, rx)
    }

    /// The byte budget.
    pub fn max_bytes(&self) -> usize {
        self.0.max_bytes
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.0.queued.load(Ordering::Relaxed)
    }

    /// The writer wrote `bytes` that were queued.
    pub fn written(&self, bytes: usize) {
        self.unreserve(bytes);
    }

    /// The connection ended: what is still queued is dropped with the receiver, and no longer
    /// counted. Call it after closing the receiver.
    pub fn discard_all(&self) {
        let left = self.0.queued.swap(0, Ordering::Relaxed);
        self.0.stats.queued_bytes_changed(-to_delta(left));
    }

    fn reserve(&self, bytes: usize) -> bool {
        let before = self.0.queued.fetch_add(bytes, Ordering::Relaxed);
        if before > 0 && before.saturating_add(bytes) > self.0.max_bytes {
            self.0.queued.fetch_sub(bytes, Ordering::Relaxed);
            return false;
        }
        self.0.stats.queued_bytes_changed(to_delta(bytes));
        true
    }

    fn unreserve(&self, bytes: usize) {
        let _ = self
            .0
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(bytes))
            });
        self.0.stats.queued_bytes_changed(-to_delta(bytes));
        self.0.room.notify_one();
    }

    /// The connection.
    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// Its user.
    pub fn user(&self) -> &UserKey {
        &self.0.user
    }

    /// Whether it gets tether's extensions (`seq`, acknowledgements, replay).
    pub fn extended(&self) -> bool {
        self.0.extended
    }

    /// Sends its frames as binary messages from now on: the same UTF-8 JSON, which a browser
    /// hands over as bytes rather than decoding it into a string (tether's `binary=1`). Only
    /// with the extensions: a queue without them keeps sending text.
    pub fn send_binary(&self) {
        if self.0.extended {
            self.0.binary.store(true, Ordering::Relaxed);
        }
    }

    /// Whether its frames go out as binary messages ([`SendQueue::send_binary`]).
    pub fn binary(&self) -> bool {
        self.0.binary.load(Ordering::Relaxed)
    }

    /// Its close signal.
    pub fn signal(&self) -> &Arc<CloseSignal> {
        &self.0.signal
    }

    /// Queues one frame without waiting.
    pub fn deliver_frame(&self, frame: Utf8Bytes) -> Delivery {
        self.deliver(Outbound::Frame(frame))
    }

    /// Queues an item without waiting; a queue full in items or in bytes closes the
    /// connection with 1008.
    pub fn deliver(&self, item: Outbound) -> Delivery {
        if self.0.tx.is_closed() {
            return Delivery::Gone;
        }
        let bytes = item.bytes();
        if !self.reserve(bytes) {
            return self.overflow();
        }
        match self.0.tx.try_send(item) {
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

    /// Queues `frames` back to back, in batches of at most half the byte budget (a larger
    /// frame alone), each waiting until the queue has room for it: the frames never take more
    /// of the queue than its budget, however many they are. Resolves once the last batch is
    /// queued, or with [`Delivery::Gone`] as soon as the connection is ending.
    pub async fn deliver_paced(&self, frames: Vec<Utf8Bytes>) -> Delivery {
        let piece = (self.0.max_bytes / 2).max(1);
        let mut batch = Vec::new();
        let mut bytes = 0;
        for frame in frames {
            if !batch.is_empty() && bytes + frame.len() > piece {
                let full = std::mem::take(&mut batch);
                if self.deliver_when_room(Outbound::Batch(full)).await != Delivery::Queued {
                    return Delivery::Gone;
                }
                bytes = 0;
            }
            bytes += frame.len();
            batch.push(frame);
        }
        if batch.is_empty() {
            return Delivery::Queued;
        }
        self.deliver_when_room(Outbound::Batch(batch)).await
    }

    /// Queues `item` once the queue has room for it (in items and in bytes; an empty queue
    /// takes any item), waiting as long as the connection lasts.
    pub async fn deliver_when_room(&self, item: Outbound) -> Delivery {
        let ending = self.0.signal.clone();
        let permit = tokio::select! {
            permit = self.0.tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return Delivery::Gone,
            },
            () = ending.requested() => return Delivery::Gone,
        };
        let bytes = item.bytes();
        loop {
            let room = self.0.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.reserve(bytes) {
                permit.send(item);
                return Delivery::Queued;
            }
            tokio::select! {
                () = room => {}
                () = ending.requested() => return Delivery::Gone,
            }
        }
    }

    /// Closes the connection with 1008 as a slow consumer (once), as a full queue does.
    pub fn overflow(&self) -> Delivery {
        if self.0.signal.close(CloseCode::POLICY.0, "slow consumer") {
            self.0.stats.dropped(DropReason::SlowConsumer);
            tracing::warn!(
                conn = self.0.id,
                user = %self.0.user,
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
mod tests;
