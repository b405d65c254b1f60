//! Delivery: the sockets. One socket's reader and writer ([`socket`]), its bounded send queue
//! ([`SendQueue`]), the inbound rate limit, the close signal, the registry of open connections,
//! the door for new ones ([`Admission`]) and the counters.
//!
//! **Architecture Invariant:** delivery knows nothing of topics, events or the protocol's
//! messages. It moves text frames: inbound ones go to an [`Inbound`] that the layer above
//! implements, outbound ones come from a [`SendQueue`] that anyone may fill without waiting.

pub(crate) mod admission;
mod closing;
pub mod meter;
mod preview;
pub(crate) mod queue;
pub mod rate_limit;
pub(crate) mod registry;
pub(crate) mod signal;
pub mod socket;
pub(crate) mod stats;

use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use tether_wire::CloseCode;

pub use admission::Admission;
pub(crate) use queue::UserKey;
pub use queue::{ConnId, Delivery, Outbound, SendQueue};
pub use registry::Registry;
pub use signal::{CloseSignal, Ending};
pub(crate) use socket::Inbound;
pub use stats::DropReason;
pub(crate) use stats::Stats;

use crate::limits::Limits;

/// What every socket of one server shares: its limits, counters, open connections, the door
/// for new ones, and the tracker shutdown waits on.
#[derive(Debug)]
pub struct Sockets {
    /// The limits.
    pub limits: Limits,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Open connections.
    pub registry: Registry,
    /// Whether new upgrades are let in.
    pub admission: Admission,
    /// Tracks socket tasks, so that shutdown can wait for them.
    pub tasks: TaskTracker,
}

impl Sockets {
    /// Sockets within `limits`, with fresh counters.
    pub fn new(limits: Limits) -> Self {
        Sockets {
            limits,
            stats: Arc::default(),
            registry: Registry::default(),
            admission: Admission::default(),
            tasks: TaskTracker::new(),
        }
    }

    /// Registers a new connection of `user` and makes its send queue; `extended` when it gets
    /// tether's extensions. `None` when the user already has
    /// [`Limits::max_connections_per_user`]. A connection opened while shutting down is asked
    /// to close at once.
    pub fn open(
        &self,
        user: UserKey,
        extended: bool,
    ) -> Option<(SendQueue, mpsc::Receiver<Outbound>)> {
        let id = self.registry.next_id();
        let limits = &self.limits;
        let (queue, outgoing) = SendQueue::new(
            id,
            user,
            (limits.queue_capacity, limits.queue_bytes),
            extended,
            self.stats.clone(),
        );
        if !self
            .registry
            .insert_within(queue.clone(), limits.max_connections_per_user)
        {
            return None;
        }
        self.stats.connection_opened(queue.user());
        if self.admission.is_closed() {
            queue
                .signal()
                .close(CloseCode::GOING_AWAY.0, "server shutting down");
        }
        Some((queue, outgoing))
    }

    /// Starts shutting down: refuses new upgrades and closes every socket with 1001.
    pub fn begin_shutdown(&self) {
        self.admission.close();
        self.registry
            .close_all(CloseCode::GOING_AWAY.0, "server shutting down");
    }
}
