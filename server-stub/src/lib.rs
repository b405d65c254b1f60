//! # tether-stub
//!
//! The reference server of the `/api/ws/v2` protocol (PROTOCOL.md at the repository root): a
//! real axum/tokio server for the tests and the demo app. It speaks in one of two profiles
//! ([`config::Profile`]): tether's, with its extensions for connections that ask, or the
//! origin backend's. The WebSocket is served at both `/api/ws/v2` and `/api/ws`.
//!
//! Its parts: [`ws`] (sockets), [`http`] (REST, CORS, test control), [`domain`] (records,
//! rules, the wire shapes per profile), and at the top the configuration, the shared
//! [`ServerState`], authentication, the clock, the counters and the [`hub`] of topics.
//!
//! [`app`] builds the router for some [`ServerState`]; [`serve`] runs it on a listener until a
//! shutdown future resolves, then closes every socket with 1001.

#![deny(missing_docs)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod hub;
pub mod state;
pub mod stats;
pub mod ws;

use axum::routing::{any, get};
use axum::Router;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};

pub use config::{Config, Profile};
pub use state::ServerState;

/// How long shutdown waits for sockets to finish their closing handshake.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The whole HTTP surface: WebSocket, REST, test control (if configured), static files.
pub fn app(state: ServerState) -> Router {
    let mut router = Router::new()
        .route("/api/ws/v2", get(ws::upgrade::upgrade))
        .route("/api/ws", get(ws::upgrade::upgrade))
        .merge(http::rest::router());
    if state.config.test_control {
        router = router.merge(http::control::router());
    }
    let dir = &state.config.static_dir;
    let static_files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    router
        .route("/api/{*rest}", any(http::api_error::no_such_route))
        .fallback_service(static_files)
        .layer(http::origin_policy::cors(&state.origins))
        .layer(axum::middleware::from_fn(http::log_request))
        .with_state(state)
}

/// Serves `config` on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(ServerState::new(config), listener, shutdown).await
}

/// Serves existing state on `listener` until `shutdown` resolves; then refuses new sockets,
/// closes the open ones with 1001 and waits (boundedly) for them to finish.
pub async fn serve_state(
    state: ServerState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if state.config.simulate {
        domain::simulator::spawn(&state);
    }
    let on_shutdown = state.clone();
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            on_shutdown.begin_shutdown();
        })
        .await;
    state.begin_shutdown();
    state.tasks.close();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, state.tasks.wait()).await;
    served
}
