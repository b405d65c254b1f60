//! # tether-server
//!
//! Serve tether from an axum app. [`TetherServer`] speaks envelope v1 (PROTOCOL.md at the
//! repository root): tether's extensions (acknowledgements, per-topic `seq`, replay from
//! `since`, `resync_required`, epochs) to clients that ask for them with `tether=1`, and the
//! origin's contract to those that don't; heartbeats and the idle close; and every hardening
//! limit of [`Limits`]. The app supplies its hooks ([`Authenticate`], [`Authorize`],
//! [`Snapshots`], [`RequestHandler`], [`Observe`]): who connects, who may hold which topic,
//! topics' snapshots, and handlers of client requests; it publishes with a [`Publisher`], from
//! anywhere, and mounts the WebSocket at a path of its choosing.
//!
//! ```no_run
//! use std::time::Duration;
//! use tether_server::{JwtHs256, TetherServer, Topic};
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = TetherServer::builder(JwtHs256::new("a secret of at least 32 bytes, please"))
//!     .authorize(|_user: &String, topic: &Topic| Ok(()))
//!     .build();
//! let publisher = server.publisher();
//! tokio::spawn(async move {
//!     for n in 0u64.. {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         let _ = publisher.publish(&Topic::new("ticker:demo"), "tick", &n).await;
//!     }
//! });
//! let app = axum::Router::new().merge(server.router("/live"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! ## Layers
//!
//! Each module imports only from those above it in this list: `limits` ([`Limits`]),
//! [`clock`] and [`frame`] (the ground: configuration and helpers); [`delivery`] (one socket's
//! reader and writer, its send queue, rate limit, close signal, the registry of connections; it
//! knows nothing of topics); [`hub`] (this node's topics and subscribers, fan-out through each
//! subscriber's cursor, the join protocol); [`broker`] (numbering, history and distribution:
//! the [`Broker`](broker::Broker) trait and [`MemoryBroker`](broker::MemoryBroker));
//! [`session`] (one connection's protocol); `app` (the hooks an app implements, and the JWT
//! authenticator); and at the top [`TetherServer`], the upgrade, [`Publisher`],
//! [`serve`](serve::serve) (an optional hardened accept loop) and, with feature `faults`, a
//! test server's faults.
//!
//! ## Features
//!
//! - `jwt` (default): [`JwtHs256`], a ready HS256 JWT authenticator.
//! - `faults`: [`faults::Faults`], for test servers only.

#![deny(missing_docs)]

// One import path per public item (scripts/public_api.sh fails on a second one). What an app
// names lives at the root: the hooks (`app`, `session`'s answer types), the publisher, the
// limits and the hub's event types, re-exported from modules that are private or that keep
// them `pub(crate)`. The rest lives in its public module only (`broker::*`, `serve::serve`,
// `origin::OriginPolicy`, ...), and a module's re-export of its submodules' items is their
// only path: such submodules are `pub(crate)`.

mod app;
pub mod broker;
pub mod clock;
pub mod delivery;
#[cfg(feature = "faults")]
pub mod faults;
pub mod frame;
pub mod hub;
mod limits;
pub mod origin;
mod publisher;
pub mod serve;
mod server;
pub mod session;
mod upgrade;

#[cfg(feature = "jwt")]
pub use app::JwtHs256;
pub use app::{Authenticate, Authorize, Observe, Refusal, RequestHandler, Snapshots};
pub use delivery::queue::UserKey;
pub use delivery::stats::Stats;
pub use hub::publication::{Epoch, Event, Publication, StreamPosition};
pub use limits::Limits;
pub use publisher::{PublishError, Publisher};
pub use server::{Builder, TetherServer};
pub use session::observed::{Answered, CatchUp};
pub use session::types::{Denial, ProtocolError, Reply, Snapshot, SnapshotRequest};
pub use tether_wire::{Envelope, Topic};
