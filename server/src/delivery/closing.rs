//! How the server ends a WebSocket it will not serve or has stopped serving: a close frame
//! with its code, then the client's close awaited within the close timeout (after a flood,
//! what the client still sends is drained meanwhile, so that the close frame is not lost to a
//! reset).

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tungstenite::protocol::CloseFrame;
use tungstenite::Message;

use tether_wire::CloseCode;

use super::socket::WebSocket;
use super::Sockets;

/// Closes a socket that brought no valid token with 4401, before any data frame.
pub async fn reject_unauthorized(mut socket: WebSocket, sockets: &Sockets) {
    let code = CloseCode::UNAUTHORIZED.0;
    sockets.stats.closed_with(code);
    tracing::info!(
        code,
        "connection refused: missing, invalid or expired token"
    );
    let timeout = sockets.limits.close_timeout;
    close_handshake(&mut socket, code, "unauthorized", timeout).await;
}

/// Closes a socket whose user already has as many as it may with 1008, before any data frame.
pub async fn reject_over_user_cap(mut socket: WebSocket, sockets: &Sockets) {
    let code = CloseCode::POLICY.0;
    sockets.stats.closed_with(code);
    sockets.stats.rejected_user_cap();
    let max = sockets.limits.max_connections_per_user;
    tracing::info!(code, max, "connection refused: its user has too many");
    let timeout = sockets.limits.close_timeout;
    close_handshake(&mut socket, code, "too many connections", timeout).await;
}

/// Sends a close frame and waits for the client's, both within `timeout`.
pub(super) async fn close_handshake(
    socket: &mut WebSocket,
    code: u16,
    reason: &str,
    timeout: Duration,
) {
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(timeout, async {
        if socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        while let Some(Ok(msg)) = socket.next().await {
            if matches!(msg, Message::Close(_)) {
                return;
            }
        }
        // The stream ended on a flood: what the client still sends is drained until it
        // closes, so that the close frame is not lost to a reset.
        let mut scratch = [0u8; 1024];
        while socket.get_ref().is_draining()
            && matches!(socket.get_mut().read(&mut scratch).await, Ok(n) if n > 0)
        {}
    })
    .await;
}
