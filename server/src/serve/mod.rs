//! An optional hardened accept loop, for an app that wants the HTTP limits too: it hands each
//! TCP connection to hyper's HTTP/1 server (with upgrades, for the WebSocket), within limits
//! that `axum::serve` does not offer:
//!
//! - fair admission ([`Budget`]): at most [`Limits::max_connections`](crate::Limits) open TCP
//!   connections, WebSockets included (the slot travels with the socket through the upgrade);
//!   of those, connections that are not a signed-in user's WebSocket have their own budget, in
//!   total and per peer address, so that they cannot take the slots signed-in users need. A
//!   connection past a budget gets `503` at once, never a wait in the listen backlog;
//! - a connection must send a request's head within
//!   [`Limits::header_read_timeout`](crate::Limits::header_read_timeout), and may stay idle
//!   between requests no longer than that, or it is closed (silent sockets, slowloris heads,
//!   partial heads, idle keep-alive); the head is read into a buffer of at most
//!   [`Limits::max_header_bytes`](crate::Limits::max_header_bytes), and a longer one gets 431;
//! - an answer that is not read is dropped: a write that makes no progress for
//!   [`Limits::http_write_timeout`](crate::Limits::http_write_timeout) ends the connection;
//! - shutdown is bounded: new upgrades are refused, sockets are closed with 1001, connections
//!   are asked to finish (a stalled write then waits at most the close timeout), and after
//!   [`Limits::shutdown_grace`](crate::Limits::shutdown_grace) whatever is left is dropped and
//!   [`serve`] returns.
//!
//! [`http_limits`] adds the request limits (body size, whole-request timeout) to a router.

pub(crate) mod budget;
mod held;

use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

pub use budget::{Budget, ConnectionSlot, Refused};

use crate::delivery::Stats;
use crate::limits::Limits;
use crate::server::TetherServer;
use held::{Held, WriteDeadlines};

/// Pause after a failed `accept` (out of file descriptors, say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The smallest head buffer hyper accepts.
const MIN_HEAD_BUFFER: usize = 8192;

/// Adds the request limits to `router`: a body over [`Limits::max_body_bytes`] gets 413, a
/// request taking longer than [`Limits::request_timeout`] gets 408.
pub fn http_limits<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limits: &Limits,
) -> Router<S> {
    router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_deadline(),
        ))
}

/// Serves `router` (the app's, with `server`'s WebSocket mounted) on `listener` until
/// `shutdown` resolves; then refuses new upgrades, closes the WebSockets with 1001, asks the
/// HTTP connections to finish, and returns after at most the shutdown grace.
pub async fn serve(
    server: &TetherServer,
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limits = server.limits();
    let budget = Budget::new(limits);
    let finish = CancellationToken::new();
    let deadlines = WriteDeadlines {
        stall: limits.http_write_deadline(),
        finishing_stall: limits.close_timeout.max(Duration::from_millis(1)),
        finishing: finish.clone(),
    };
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let slot = match budget.admit(peer.ip()) {
            Ok(slot) => Arc::new(slot),
            Err(why) => {
                refuse(&stream, why, server.stats());
                continue;
            }
        };
        // Small frames go out at once, not after the peer's delayed ACK (40 ms).
        let _ = stream.set_nodelay(true);
        let stats = server.stats().clone();
        let held = Held::new(stream, slot.clone(), stats, deadlines.clone());
        let service = WithSlot {
            router: router.clone(),
            slot,
        };
        let head = HeadLimits::of(limits);
        connections.spawn(connection(held, service, head, finish.clone()));
    }
    drop(listener);
    tracing::info!("shutting down");
    server.begin_shutdown();
    finish.cancel();
    server.tasks().close();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
        server.tasks().wait().await;
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "shutdown grace over: dropping the connections left"
        );
        connections.abort_all();
    }
    Ok(())
}

/// Answers a connection past a budget with `503` and closes it, without reading its request.
fn refuse(stream: &TcpStream, why: Refused, stats: &Stats) {
    stats.refused_busy();
    tracing::debug!(?why, "connection refused with 503: over its budget");
    let body = r#"{"error":"UNAVAILABLE","details":"too many connections"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    // Reading what already came lets the close be a FIN, not a reset that could lose the 503.
    let mut sink = [0u8; 2048];
    let _ = stream.try_read(&mut sink);
}

/// The router, with each request carrying the connection's slot, so that the WebSocket
/// upgrade can promote it.
#[derive(Clone)]
struct WithSlot {
    router: Router,
    slot: Arc<ConnectionSlot>,
}

impl hyper::service::Service<Request<Incoming>> for WithSlot {
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as tower_service::Service<Request<Incoming>>>::Future;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.slot.clone());
        let mut router = self.router.clone();
        tower_service::Service::call(&mut router, request)
    }
}

/// What bounds the reading of a connection's request heads.
#[derive(Clone, Copy)]
struct HeadLimits {
    timeout: Duration,
    buffer: usize,
}

impl HeadLimits {
    fn of(limits: &Limits) -> Self {
        HeadLimits {
            timeout: limits.header_deadline(),
            buffer: limits.max_header_bytes.max(MIN_HEAD_BUFFER),
        }
    }
}

/// Serves one connection with HTTP/1 and upgrades, until it ends or, once `finish` fires, until
/// it has finished its current request.
async fn connection(held: Held, service: WithSlot, head: HeadLimits, finish: CancellationToken) {
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head.timeout)
        .max_buf_size(head.buffer)
        .serve_connection(TokioIo::new(held), service)
        .with_upgrades();
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = finish.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, "http connection ended");
    }
}
