//! The sans-IO core: a pure state machine with no clock, socket or browser API.
//!
//! Bytes, clock ticks and browser events go in through [`Connection`]'s `handle_*` methods;
//! frames to send, sockets to open or close, timers, delivered events and state changes come
//! out of [`Connection::poll_output`] and [`Connection::poll_timeout`]. A driver (the web-sys
//! one in `WsClientV2`, or a fake in tests) performs the I/O.

mod backoff;
mod config;
mod connection;
mod event;
mod metrics;
mod outbox;
mod requests;
mod rng;
mod state;
mod time;
mod topics;

pub use backoff::{Backoff, BackoffConfig};
pub use config::{url_with_token, Config, TokenProvider};
pub use connection::Connection;
pub use event::{ClientError, Output, RequestError, RequestId, SendError, SocketId, TopicEvent};
pub use metrics::{Counters, Metrics, Rtt};
pub use rng::Rng;
pub use state::ConnectionState;
pub use time::{Instant, Millis};
pub use topics::{StatusCounts, TopicStatus};
