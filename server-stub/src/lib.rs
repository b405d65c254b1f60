//! # tether-stub
//!
//! The reference server of the `/api/ws/v2` protocol (PROTOCOL.md at the repository root): a
//! real axum/tokio server for the tests and the demo app. It speaks in one of two profiles
//! ([`config::Profile`]): tether's, with its extensions for connections that ask, or the
//! origin backend's. The WebSocket is served at both `/api/ws/v2` and `/api/ws`. [`app`] builds the router for some
//! [`AppState`]; [`serve`] runs it on a listener until a shutdown future resolves, then
//! closes every socket with 1001.

pub mod access;
pub mod admission;
pub mod api_error;
pub mod assistant;
pub mod auth;
pub mod chat;
pub mod clock;
pub mod config;
pub mod connection;
pub mod connections;
pub mod control;
pub mod hub;
pub mod inbound;
pub mod origin;
pub mod outbox;
pub mod rate_limit;
pub mod records;
pub mod rest;
pub mod rest_auth;
pub mod runs;
pub mod session;
pub mod simulator;
pub mod state;
pub mod stats;
pub mod store;
pub mod subscription;
pub mod upgrade;
pub mod wire;

use axum::routing::{any, get};
use axum::Router;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

pub use config::{Config, Profile};
pub use state::AppState;

/// How long shutdown waits for sockets to finish their closing handshake.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The whole HTTP surface: WebSocket, REST, test control (if configured), static files.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/api/ws/v2", get(upgrade::upgrade))
        .route("/api/ws", get(upgrade::upgrade))
        .merge(rest::router());
    if state.config.test_control {
        router = router.merge(control::router());
    }
    let dir = &state.config.static_dir;
    let static_files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    router
        .route("/api/{*rest}", any(api_error::no_such_route))
        .fallback_service(static_files)
        .layer(cors(&state))
        .with_state(state)
}

/// CORS for loopback origins and the configured ones, any method and header.
fn cors(state: &AppState) -> CorsLayer {
    let origins = state.origins.clone();
    let allowed =
        AllowOrigin::predicate(move |origin, _| origin.to_str().is_ok_and(|o| origins.allows(o)));
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods(Any)
        .allow_headers(Any)
}

/// Serves `config` on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(AppState::new(config), listener, shutdown).await
}

/// Serves existing state on `listener` until `shutdown` resolves; then refuses new sockets,
/// closes the open ones with 1001 and waits (boundedly) for them to finish.
pub async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if state.config.simulate {
        simulator::spawn(&state);
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
