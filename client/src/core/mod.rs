//! The sans-IO core: a pure state machine with no clock, socket, browser API or app code.
//!
//! Bytes, clock ticks and browser events go in through [`Connection`]'s `handle_*` methods;
//! frames to send, sockets to open or close, timers, delivered events and state changes come
//! out of [`Connection::poll_output`] and [`Connection::poll_timeout`]. A driver (the web-sys
//! one in the browser, the tokio one natively, or a fake in tests) performs the I/O.
//!
//! **Architecture Invariant:** nothing in `core` reads a clock, touches a socket or calls a
//! closure it was given; [`reconnect::decide`] is the only place that decides whether and when
//! a socket opens again.

mod backoff;
mod config;
mod connection;
mod event;
mod metrics;
mod outbox;
pub mod reconnect;
mod requests;
#[cfg(feature = "resume")]
mod resume;
mod rng;
mod state;
mod time;
mod timers;
pub(crate) mod topic_map;
mod topics;
pub(crate) mod vec_edit;

pub use backoff::{Backoff, BackoffConfig};
pub use config::{url_with_token, with_query, Config, TokenProvider};
pub use connection::Connection;
pub use event::{ClientError, Output, RequestError, RequestId, SendError, SocketId, TopicEvent};
pub use metrics::{Counters, Metrics, Replay, Rtt};
#[cfg(feature = "resume")]
pub use resume::{ResumeConfig, ResumeCounters, MAX_RECORD_BYTES, MAX_TOPICS};
pub use rng::Rng;
pub use state::ConnectionState;
pub use time::{Clock, Instant, Millis};
pub use timers::Timer;
pub use topics::{StatusCounts, TopicStatus};
