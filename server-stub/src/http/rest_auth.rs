//! The caller of a REST endpoint, from `Authorization: Bearer <token>` or `?token=`.

use axum::extract::{FromRequestParts, Query};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

use crate::auth::UserId;
use crate::http::api_error::ApiError;
use crate::state::ServerState;

/// An authenticated user; extracting it answers 401 when there is no valid token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser(pub UserId);

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl FromRequestParts<ServerState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts)
            .or_else(|| query_token(parts))
            .ok_or(ApiError::Unauthorized)?;
        state
            .auth
            .verify(&token)
            .map(AuthUser)
            .ok_or(ApiError::Unauthorized)
    }
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

/// The `token` query parameter; also used by the WebSocket upgrade.
pub fn query_token(parts: &Parts) -> Option<String> {
    Query::<TokenQuery>::try_from_uri(&parts.uri).ok()?.0.token
}
