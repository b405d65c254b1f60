//! An optional hardened accept loop, for an app that wants the HTTP limits too: it hands each
//! TCP connection to hyper's HTTP/1 server (with upgrades, for the WebSocket), within limits
//! that `axum::serve` does not offer:
//!
//! - at most [`Limits::max_connections`](crate::Limits::max_connections) open TCP connections,
//!   WebSockets included (the slot travels with the socket through the upgrade); further ones
//!   wait in the listen backlog;
//! - a connection must send a request's head within
//!   [`Limits::header_read_timeout`](crate::Limits::header_read_timeout), and may stay idle
//!   between requests no longer than that, or it is closed (silent sockets, slowloris heads,
//!   partial heads, idle keep-alive);
//! - shutdown is bounded: new upgrades are refused, sockets are closed with 1001, connections
//!   are asked to finish, and after [`Limits::shutdown_grace`](crate::Limits::shutdown_grace)
//!   whatever is left is dropped and [`serve`] returns.
//!
//! [`http_limits`] adds the request limits (body size, whole-request timeout) to a router.

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::delivery::Stats;
use crate::limits::Limits;
use crate::server::TetherServer;

/// Pause after a failed `accept` (out of file descriptors, say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

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
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let finish = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Small frames go out at once, not after the peer's delayed ACK (40 ms).
                    let _ = stream.set_nodelay(true);
                    stream
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let held = Held::new(stream, slot, server.stats().clone());
        let conn = connection(
            held,
            router.clone(),
            limits.header_deadline(),
            finish.clone(),
        );
        connections.spawn(conn);
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

/// Serves one connection with HTTP/1 and upgrades, until it ends or, once `finish` fires, until
/// it has finished its current request.
async fn connection(
    held: Held,
    router: Router,
    header_timeout: Duration,
    finish: CancellationToken,
) {
    let service = TowerToHyperService::new(router);
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
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

/// An accepted socket with its connection slot, which it keeps through a WebSocket upgrade and
/// gives back when dropped.
struct Held {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    stats: Arc<Stats>,
}

impl Held {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, stats: Arc<Stats>) -> Self {
        stats.tcp_connection(true);
        Held {
            stream,
            _slot: slot,
            stats,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stats.tcp_connection(false);
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
