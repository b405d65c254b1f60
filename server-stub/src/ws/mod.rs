//! The WebSocket side: the upgrade and its admission, the task that runs one socket, the
//! protocol session it drives (decoding and dispatching client frames, subscriptions), the
//! bounded send queue through which everything else reaches a socket, the registry of open
//! sockets, and the inbound rate limit.

pub mod admission;
pub mod inbound;
pub mod rate_limit;
pub mod registry;
pub mod send_queue;
pub mod session;
pub mod socket;
pub mod subscriptions;
pub mod upgrade;
