//! `GET /api/ws/v2` and `GET /api/ws`: the WebSocket upgrade. Refused upgrades get HTTP 503,
//! forbidden origins HTTP 403. A missing, invalid or expired token is accepted and then closed
//! with 4401 in the tether profile, so that browsers can see the code, and refused with HTTP
//! 401 in the origin profile, as the origin does. `tether=1` in the query asks for tether's
//! extensions, which only the tether profile grants. Valid sockets are handed to `socket`.

use axum::extract::ws::{rejection::WebSocketUpgradeRejection, WebSocketUpgrade};
use axum::extract::State;
use axum::http::header::ORIGIN;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::config::Profile;
use crate::http::redact;
use crate::http::rest_auth::query_token;
use crate::state::ServerState;
use crate::ws::socket;

/// Handles an upgrade request.
pub async fn upgrade(
    State(state): State<ServerState>,
    parts: Parts,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    state.stats.connection_attempted();
    tracing::debug!(uri = %redact::uri(&parts.uri), "websocket upgrade requested");
    if !state.admission.admits() {
        state.stats.rejected_refused();
        tracing::info!("upgrade refused with 503: not admitting connections now");
        let body = json!({ "error": "UNAVAILABLE", "details": "not accepting connections now" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    if !origin_allowed(&state, &parts) {
        state.stats.rejected_origin();
        tracing::info!("upgrade refused with 403: origin not allowed");
        let body = json!({ "error": "FORBIDDEN", "details": "origin not allowed" });
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    let user = query_token(&parts).and_then(|token| state.auth.verify(&token));
    if user.is_none() {
        state.stats.rejected_unauthorized();
        if state.config.profile == Profile::Origin {
            tracing::info!("upgrade refused with 401: missing, invalid or expired token");
            let body =
                json!({ "error": "UNAUTHORIZED", "details": "missing, invalid or expired token" });
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
    }
    let extended = state.config.profile == Profile::Tether && asks_for_extensions(&parts);
    let task = state.tasks.token();
    // Nothing over the frame limit is buffered: a larger frame is refused from its header.
    let config = &state.config;
    let limit = config.max_frame_bytes;
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(config.write_buffer_bytes)
        .on_upgrade(move |socket| async move {
            let _task = task;
            match user {
                Some(user) => socket::run(socket, state, user, extended).await,
                None => socket::reject_unauthorized(socket, &state).await,
            }
        })
}

/// Whether the query says `tether=1`.
fn asks_for_extensions(parts: &Parts) -> bool {
    parts
        .uri
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair == "tether=1"))
}

/// No `Origin` header, or an allowed one.
fn origin_allowed(state: &ServerState, parts: &Parts) -> bool {
    parts
        .headers
        .get(ORIGIN)
        .is_none_or(|origin| origin.to_str().is_ok_and(|o| state.origins.allows(o)))
}
