//! Who is calling: HS256 JWTs whose `sub` is the decimal user id (verified by the library's
//! [`JwtHs256`]), plus the fixed dev token. Tokens are verified here and nowhere else, and
//! never written to any log.

use tether_server::JwtHs256;

use crate::config::{DEV_TOKEN, DEV_USER};

/// A user id. Users are implicit: any numeric `sub` is a user.
pub type UserId = u64;

/// Verifies and mints tokens with one secret.
#[derive(Clone, Debug)]
pub struct Authenticator {
    jwt: JwtHs256,
    accept_dev_token: bool,
}

impl Authenticator {
    /// An authenticator for `secret`; with `accept_dev_token`, [`DEV_TOKEN`] is user 1.
    pub fn new(secret: &str, accept_dev_token: bool) -> Self {
        Authenticator {
            jwt: JwtHs256::new(secret),
            accept_dev_token,
        }
    }

    /// The user a token stands for, or `None` if it is invalid, expired or not valid yet, or
    /// its `sub` is not a canonical decimal id.
    pub fn verify(&self, token: &str) -> Option<UserId> {
        if self.accept_dev_token && token == DEV_TOKEN {
            return Some(DEV_USER);
        }
        parse_id(&self.jwt.verify(token)?)
    }

    /// A token for `user` that expires `exp_secs` from now (negative: already expired).
    pub fn mint(&self, user: UserId, exp_secs: i64) -> Option<String> {
        self.jwt.mint(&user.to_string(), exp_secs)
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
    fn expired_wrong_secret_garbage_and_non_numeric_subs_are_refused() {
        let auth = Authenticator::new("s", false);
        let expired = auth.mint(42, -5).expect("mints");
        assert_eq!(auth.verify(&expired), None);
        let other = Authenticator::new("t", false).mint(42, 60).expect("mints");
        assert_eq!(auth.verify(&other), None);
        assert_eq!(auth.verify(""), None);
        assert_eq!(auth.verify("a.b.c"), None);
        let named = JwtHs256::new("s").mint("alice", 60).expect("mints");
        assert_eq!(auth.verify(&named), None);
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
