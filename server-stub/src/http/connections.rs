//! The TCP side of serving: an accept loop that hands each connection to hyper's HTTP/1 server
//! (with upgrades, for the WebSocket), within limits that `axum::serve` does not offer:
//!
//! - at most `--max-connections` open TCP connections, WebSockets included (the slot travels
//!   with the socket through the upgrade); further ones wait in the listen backlog;
//! - a connection must send a request's headers within `--header-read-timeout-ms`, and may stay
//!   idle between requests no longer than that, or it is closed (silent sockets, slowloris
//!   heads, partial heads, idle keep-alive);
//! - shutdown is bounded: connections are asked to finish, and after `--shutdown-grace-ms`
//!   whatever is left is dropped and [`serve`] returns.

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

use crate::state::ServerState;
use crate::stats::Stats;

/// Pause after a failed `accept` (out of file descriptors, say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `router` on `listener` until `shutdown` resolves; then closes the WebSockets with
/// 1001, asks the HTTP connections to finish, and returns after at most the shutdown grace.
pub async fn serve(
    state: &ServerState,
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let config = &state.config;
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
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
        let held = Held::new(stream, slot, state.stats.clone());
        let conn = connection(
            held,
            router.clone(),
            config.header_read_timeout(),
            finish.clone(),
        );
        connections.spawn(conn);
    }
    drop(listener);
    tracing::info!("shutting down");
    state.begin_shutdown();
    finish.cancel();
    state.tasks.close();
    let drained = tokio::time::timeout(config.shutdown_grace(), async {
        while connections.join_next().await.is_some() {}
        state.tasks.wait().await;
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
