//! The HTTP side: the REST API and how it authenticates its caller, its JSON errors, CORS for
//! the allowed browser origins, test control, and the log line of each request (with tokens
//! redacted). The accept loop and its limits are the library's (`tether_server::serve`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

pub mod api_error;
pub mod control;
pub mod origin_policy;
pub mod redact;
pub mod rest;
pub mod rest_auth;

/// Logs each request at debug level: method, path and query (tokens redacted), status and
/// duration. Headers, where `Authorization` travels, are never logged.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = redact::uri(request.uri());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        %uri,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis(),
        "http request"
    );
    response
}
