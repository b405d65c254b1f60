//! A ready [`Authenticate`]: HS256 JWTs whose `sub` is the user, with `exp` in the future and
//! `nbf`, if present, in the past (within a few seconds, for clocks slightly apart). The token
//! comes in the `token` query parameter (browsers cannot set headers on a WebSocket) or as
//! `Authorization: Bearer`. Tokens are never logged.

use axum::extract::Query;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::future::Future;

use super::{Authenticate, Refusal};
use crate::clock::now_secs;

/// How far in the future a token's `nbf` may be, in seconds.
pub const NBF_LEEWAY_SECS: u64 = 5;

/// The claims read and minted.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// Verifies (and mints) HS256 JWTs with one secret; as an [`Authenticate`], its user is the
/// token's `sub`.
#[derive(Clone)]
pub struct JwtHs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    refusal: Refusal,
}

impl std::fmt::Debug for JwtHs256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtHs256")
            .field("refusal", &self.refusal)
            .finish_non_exhaustive()
    }
}

impl JwtHs256 {
    /// A verifier for `secret`; a missing or bad token is refused with [`Refusal::Close`].
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        let secret = secret.as_ref();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtHs256 {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            refusal: Refusal::Close,
        }
    }

    /// Refuses a missing or bad token with `refusal` instead.
    pub fn refuse_with(mut self, refusal: Refusal) -> Self {
        self.refusal = refusal;
        self
    }

    /// The `sub` of a valid token; `None` if it is invalid, expired or not valid yet.
    pub fn verify(&self, token: &str) -> Option<String> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let early = data
            .claims
            .nbf
            .is_some_and(|nbf| nbf > now_secs() + NBF_LEEWAY_SECS);
        (!early).then_some(data.claims.sub)
    }

    /// A token for `sub` that expires `exp_secs` from now (negative: already expired).
    pub fn mint(&self, sub: &str, exp_secs: i64) -> Option<String> {
        let claims = Claims {
            sub: sub.to_owned(),
            exp: now_secs().saturating_add_signed(exp_secs),
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The `token` query parameter, if any.
pub fn query_token(parts: &Parts) -> Option<String> {
    Query::<TokenQuery>::try_from_uri(&parts.uri).ok()?.0.token
}

/// The `Authorization: Bearer` token, if any.
fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

impl Authenticate for JwtHs256 {
    type User = String;

    fn authenticate(
        &self,
        request: &Parts,
    ) -> impl Future<Output = Result<String, Refusal>> + Send {
        let token = query_token(request).or_else(|| bearer_token(request));
        let user = token.and_then(|t| self.verify(&t)).ok_or(self.refusal);
        std::future::ready(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Parts {
        axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("a request")
            .into_parts()
            .0
    }

    #[test]
    fn minted_tokens_verify_and_bad_ones_do_not() {
        let jwt = JwtHs256::new("s");
        let token = jwt.mint("42", 60).expect("mints");
        assert_eq!(jwt.verify(&token).as_deref(), Some("42"));
        assert_eq!(
            jwt.verify(&jwt.mint("42", -5).expect("mints")),
            None,
            "expired"
        );
        let other = JwtHs256::new("t").mint("42", 60).expect("mints");
        assert_eq!(jwt.verify(&other), None, "another secret");
        assert_eq!(jwt.verify("a.b.c"), None);
    }

    #[test]
    fn a_token_not_valid_yet_is_refused_past_the_leeway() {
        let jwt = JwtHs256::new("s");
        let mint = |nbf: u64| {
            let claims = Claims {
                sub: "4".into(),
                exp: now_secs() + 3600,
                nbf: Some(nbf),
            };
            let key = EncodingKey::from_secret(b"s");
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("mints")
        };
        assert_eq!(jwt.verify(&mint(now_secs() + 3600)), None);
        assert_eq!(jwt.verify(&mint(now_secs() + 60)), None);
        let within = jwt.verify(&mint(now_secs() + 2));
        assert_eq!(within.as_deref(), Some("4"), "within the leeway");
        assert_eq!(jwt.verify(&mint(now_secs() - 60)).as_deref(), Some("4"));
    }

    #[tokio::test]
    async fn the_token_comes_from_the_query_or_the_bearer_header() {
        let jwt = JwtHs256::new("s");
        let token = jwt.mint("7", 60).expect("mints");
        let from_query = jwt
            .authenticate(&parts(&format!("/ws?tether=1&token={token}")))
            .await;
        assert_eq!(from_query, Ok("7".to_owned()));
        let mut with_header = parts("/ws");
        let bearer = format!("Bearer {token}").parse().expect("a header value");
        with_header.headers.insert(AUTHORIZATION, bearer);
        assert_eq!(jwt.authenticate(&with_header).await, Ok("7".to_owned()));
        let refused = jwt
            .clone()
            .refuse_with(Refusal::Http(axum::http::StatusCode::UNAUTHORIZED));
        assert_eq!(
            refused.authenticate(&parts("/ws")).await,
            Err(Refusal::Http(axum::http::StatusCode::UNAUTHORIZED))
        );
        assert_eq!(
            jwt.authenticate(&parts("/ws?token=x")).await,
            Err(Refusal::Close)
        );
    }
}
