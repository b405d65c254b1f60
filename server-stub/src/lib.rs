//! # tether-stub
//!
//! The reference server of the `/api/ws/v2` protocol (PROTOCOL.md at the repository root): a
//! real axum/tokio server for the tests and the demo app. It speaks in one of two profiles
//! ([`config::Profile`]): tether's, with its extensions for connections that ask, or the
//! origin backend's. The WebSocket is served at both `/api/ws/v2` and `/api/ws`.
//!
//! It is a thin binary on the `tether-server` library, which serves the WebSocket (sockets,
//! topics, `seq`, replay, limits): the stub adds its [`hooks`] (tokens, the domain's access
//! rules, the `agent_state` snapshot, `send_message`), [`http`] (REST, CORS, test control),
//! [`domain`] (records, rules, the wire shapes per profile), the configuration, the shared
//! [`ServerState`], authentication, the [`log`] of what was published and the [`membership`]
//! log of how each subscribe was answered.
//!
//! [`app`] builds the router for some [`ServerState`]; [`serve`] runs it on a listener until a
//! shutdown future resolves, then closes every socket with 1001 and returns within the
//! shutdown grace, whatever the clients do.

#![deny(missing_docs)]

pub mod auth;
pub mod clock;
pub mod config;
pub mod domain;
pub mod hooks;
pub mod http;
pub mod log;
pub mod membership;
pub mod state;

use axum::routing::any;
use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};

pub use config::{Config, Profile};
pub use state::ServerState;

/// The whole HTTP surface: WebSocket, REST, test control (if configured), static files.
pub fn app(state: ServerState) -> Router {
    let mut router = Router::new()
        .route_service("/api/ws/v2", state.server.route())
        .route_service("/api/ws", state.server.route())
        .merge(http::rest::router());
    if state.config.test_control {
        router = router.merge(http::control::router());
    }
    let dir = &state.config.static_dir;
    let static_files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    let router = router
        .route("/api/{*rest}", any(http::api_error::no_such_route))
        .fallback_service(static_files);
    tether_server::serve::http_limits(router, state.server.limits())
        .layer(http::origin_policy::cors(&state.origins))
        .layer(axum::middleware::from_fn(http::log_request))
        .with_state(state)
}

/// Serves `config` on `listener` until `shutdown` resolves. Refuses a configuration without a
/// usable JWT secret (see [`Config::secret`]).
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = ServerState::try_new(config).map_err(std::io::Error::other)?;
    serve_state(state, listener, shutdown).await
}

/// Serves existing state on `listener` until `shutdown` resolves; then refuses new sockets,
/// closes the open ones with 1001, waits for them for at most the shutdown grace, and drops
/// whatever is left.
pub async fn serve_state(
    state: ServerState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.config.secret().map_err(std::io::Error::other)?;
    if state.config.simulate {
        domain::simulator::spawn(&state);
    }
    let router = app(state.clone());
    let background = state.shutdown.clone();
    let shutdown = async move {
        shutdown.await;
        background.cancel();
    };
    tether_server::serve::serve(&state.server, listener, router, shutdown).await
}
