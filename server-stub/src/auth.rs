//! Who is calling: HS256 JWTs whose `sub` is the decimal user id, plus the fixed dev token.
//! Tokens are verified here and nowhere else, and never written to any log.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::now_secs;
use crate::config::{DEV_TOKEN, DEV_USER};

/// A user id. Users are implicit: any numeric `sub` is a user.
pub type UserId = u64;

/// The claims the stub reads and mints.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id, in canonical decimal.
    sub: String,
    /// Expiry, seconds since the Unix epoch.
    exp: u64,
    /// Not valid before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// How far in the future a token's `nbf` may be, for clocks slightly apart, in seconds.
pub const NBF_LEEWAY_SECS: u64 = 5;

/// Verifies and mints tokens with one secret.
#[derive(Clone)]
pub struct Authenticator {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    accept_dev_token: bool,
}

impl Authenticator {
    /// An authenticator for `secret`; with `accept_dev_token`, [`DEV_TOKEN`] is user 1.
    pub fn new(secret: &str, accept_dev_token: bool) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Authenticator {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            accept_dev_token,
        }
    }

    /// The user a token stands for, or `None` if it is invalid or expired.
    pub fn verify(&self, token: &str) -> Option<UserId> {
        if self.accept_dev_token && token == DEV_TOKEN {
            return Some(DEV_USER);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        if data
            .claims
            .nbf
            .is_some_and(|nbf| nbf > now_secs().saturating_add(NBF_LEEWAY_SECS))
        {
            return None;
        }
        parse_id(&data.claims.sub)
    }

    /// A token for `user` that expires `exp_secs` from now (negative: already expired).
    pub fn mint(&self, user: UserId, exp_secs: i64) -> Option<String> {
        let exp = now_secs().saturating_add_signed(exp_secs);
        let claims = Claims {
            sub: user.to_string(),
            exp,
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).ok()
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("accept_dev_token", &self.accept_dev_token)
            .finish_non_exhaustive()
    }
}

/// Parses an id (of a user, or of a REST resource) in canonical decimal: digits only, no sign,
/// no leading zero.
pub fn parse_id(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_verify() {
        let auth = Authenticator::new("s", false);
        let token = auth.mint(42, 60).expect("mints");
        assert_eq!(auth.verify(&token), Some(42));
    }

    #[test]
    fn expired_wrong_secret_and_garbage_are_refused() {
        let auth = Authenticator::new("s", false);
        let expired = auth.mint(42, -5).expect("mints");
        assert_eq!(auth.verify(&expired), None);
        let other = Authenticator::new("t", false).mint(42, 60).expect("mints");
        assert_eq!(auth.verify(&other), None);
        assert_eq!(auth.verify(""), None);
        assert_eq!(auth.verify("a.b.c"), None);
    }

    #[test]
    fn a_token_not_valid_yet_is_refused() {
        let auth = Authenticator::new("s", false);
        let mint = |nbf: u64| {
            let claims = Claims {
                sub: "4".into(),
                exp: now_secs() + 3600,
                nbf: Some(nbf),
            };
            let key = EncodingKey::from_secret(b"s");
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("mints")
        };
        assert_eq!(auth.verify(&mint(now_secs() + 3600)), None);
        assert_eq!(auth.verify(&mint(now_secs() + 60)), None);
        assert_eq!(
            auth.verify(&mint(now_secs() + 2)),
            Some(4),
            "within the leeway"
        );
        assert_eq!(auth.verify(&mint(now_secs() - 60)), Some(4));
    }

    #[test]
    fn dev_token_only_in_dev_mode() {
        assert_eq!(
            Authenticator::new("s", true).verify(DEV_TOKEN),
            Some(DEV_USER)
        );
        assert_eq!(Authenticator::new("s", false).verify(DEV_TOKEN), None);
    }

    #[test]
    fn user_ids_are_canonical() {
        assert_eq!(parse_id("7"), Some(7));
        assert_eq!(parse_id("07"), None);
        assert_eq!(parse_id("+7"), None);
        assert_eq!(parse_id("x"), None);
    }
}
