//! Errors of the HTTP endpoints, answered as JSON `{"error": CODE, "details": "…"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::domain::access::Denial;

/// An HTTP error.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No valid token: 401.
    Unauthorized,
    /// Another user's resource: 403.
    Forbidden(String),
    /// No such resource or route: 404.
    NotFound(String),
    /// The request does not make sense: 400.
    BadRequest(String),
    /// The body or one of its fields is too large: 413.
    TooLarge(String),
    /// The broker could not be reached: 503.
    Unavailable(String),
    /// The user's quota is spent (records, bytes, runs in flight): 429.
    Limit(String),
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Forbidden(m) => ApiError::Forbidden(m),
            Denial::NotFound(m) => ApiError::NotFound(m),
            Denial::InvalidTopic(m) => ApiError::BadRequest(m),
            Denial::Limit(m) => ApiError::Limit(m),
        }
    }
}

impl From<tether_server::PublishError> for ApiError {
    fn from(error: tether_server::PublishError) -> Self {
        ApiError::Unavailable(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "missing, invalid or expired token".into(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "FORBIDDEN", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "NOT_FOUND", m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "BAD_REQUEST", m),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE", m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", m),
            ApiError::Limit(m) => (StatusCode::TOO_MANY_REQUESTS, "LIMIT", m),
        };
        (status, Json(json!({ "error": code, "details": details }))).into_response()
    }
}

/// A 404 for a path under `/api` that does not exist.
pub async fn no_such_route() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}
