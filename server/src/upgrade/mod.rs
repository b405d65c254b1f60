//! The WebSocket upgrade: the handshake ([`handshake`]), admission (HTTP 503 while refusing,
//! or shutting down), the `Origin` (403 unless allowed), the app's authentication (a refusal
//! closes with 4401 after the upgrade, or answers with its HTTP status), the per-user cap (a
//! user's WebSocket past [`Limits::max_connections_per_user`](crate::Limits) is closed with
//! 1008 after the upgrade), and `tether=1` in the query, which asks for tether's extensions.
//! The socket is then served by delivery, with a session on top, and its connection leaves the
//! accept loop's HTTP budget ([`ConnectionSlot::promote`]). Tokens are never logged: only the
//! path is.

mod handshake;

use axum::extract::{Request, State};
use axum::http::header::ORIGIN;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tungstenite::protocol::WebSocketConfig;

use crate::app::{Authenticate, Hooks, Refusal};
use crate::delivery::meter::FrameMeter;
use crate::delivery::rate_limit::TokenBucket;
use crate::delivery::socket::{self, WebSocket};
use crate::delivery::{Sockets, UserKey};
use crate::frame::ping_frame;
use crate::limits::Limits;
use crate::origin::OriginPolicy;
use crate::serve::ConnectionSlot;
use crate::session::{Context, Session};

/// What the upgrade handler needs.
pub(crate) struct Upgrade<A: Authenticate> {
    pub(crate) authenticate: A,
    pub(crate) ctx: Arc<Context<Hooks<A::User>>>,
    pub(crate) origins: OriginPolicy,
    pub(crate) extensions: bool,
}

/// Handles an upgrade request.
pub(crate) async fn upgrade<A: Authenticate>(
    State(up): State<Arc<Upgrade<A>>>,
    request: Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let handshake = match handshake::check(&mut parts) {
        Ok(handshake) => handshake,
        Err(refusal) => return refusal.into_response(),
    };
    let sockets = &up.ctx.sockets;
    sockets.stats.connection_attempted();
    tracing::debug!(path = parts.uri.path(), "websocket upgrade requested");
    if !sockets.admission.admits() {
        sockets.stats.rejected_refused();
        tracing::info!("upgrade refused with 503: not admitting connections now");
        let body = json!({ "error": "UNAVAILABLE", "details": "not accepting connections now" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    if !origin_allowed(&up.origins, &parts) {
        sockets.stats.rejected_origin();
        tracing::info!("upgrade refused with 403: origin not allowed");
        let body = json!({ "error": "FORBIDDEN", "details": "origin not allowed" });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let user = up.authenticate.authenticate(&parts).await;
    if let Err(refusal) = user {
        sockets.stats.rejected_unauthorized();
        if let Refusal::Http(status) = refusal {
            let code = status.as_u16();
            tracing::info!("upgrade refused with {code}: missing, invalid or expired token");
            return (status, Json(refusal_body(status))).into_response();
        }
    }
    let extended = up.extensions && asks_for(&parts, "tether=1");
    let binary = extended && asks_for(&parts, "binary=1");
    let slot = parts.extensions.get::<Arc<ConnectionSlot>>().cloned();
    let task = sockets.tasks.token();
    let (config, meter) = socket_config(&sockets.limits);
    handshake.accept(config, meter, move |socket| async move {
        let _task = task;
        match user {
            Ok(user) => serve(&up, socket, user, (extended, binary, slot)).await,
            Err(_) => socket::reject_unauthorized(socket, &up.ctx.sockets).await,
        }
    })
}

/// The WebSocket's configuration, and the meter its frames are counted with. Nothing over the
/// frame limit is buffered: a larger frame is refused from its header.
fn socket_config(limits: &Limits) -> (WebSocketConfig, FrameMeter) {
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes))
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes);
    let bucket = TokenBucket::new(limits.rate_burst, limits.rate_per_sec, Instant::now());
    (config, FrameMeter::new(bucket))
}

/// Serves an authenticated socket until it ends, if its user may have one more; its
/// connection then leaves the HTTP budget.
async fn serve<A: Authenticate>(
    up: &Upgrade<A>,
    socket: WebSocket,
    user: A::User,
    (extended, binary, slot): (bool, bool, Option<Arc<ConnectionSlot>>),
) {
    let sockets: &Sockets = &up.ctx.sockets;
    let Some((queue, outgoing)) = sockets.open(UserKey::from(user.to_string()), extended) else {
        return socket::reject_over_user_cap(socket, sockets).await;
    };
    if binary {
        queue.send_binary();
    }
    if let Some(slot) = slot {
        slot.promote();
    }
    let session = Session::new(up.ctx.clone(), user, queue.clone());
    socket::serve(sockets, socket, (queue, outgoing), session, ping_frame).await;
}

/// The JSON body of a refused upgrade: `{"error", "details"}`.
fn refusal_body(status: StatusCode) -> serde_json::Value {
    let error = status
        .canonical_reason()
        .unwrap_or("REFUSED")
        .to_ascii_uppercase()
        .replace(' ', "_");
    let details = match status {
        StatusCode::UNAUTHORIZED => "missing, invalid or expired token",
        _ => "refused",
    };
    json!({ "error": error, "details": details })
}

/// Whether the query holds `pair` (`tether=1`: the extensions; `binary=1`, with them: frames
/// as binary messages).
fn asks_for(parts: &Parts, pair: &str) -> bool {
    parts
        .uri
        .query()
        .is_some_and(|query| query.split('&').any(|p| p == pair))
}

/// No `Origin` header, or an allowed one.
fn origin_allowed(origins: &OriginPolicy, parts: &Parts) -> bool {
    parts
        .headers
        .get(ORIGIN)
        .is_none_or(|origin| origin.to_str().is_ok_and(|o| origins.allows(o)))
}
