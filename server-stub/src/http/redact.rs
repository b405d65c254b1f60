//! Tokens never reach the log. They arrive in the `token` query parameter (the WebSocket URL,
//! and REST as an alternative) and in `Authorization` headers; the log shows a request's path
//! and its query with every token-like parameter's value replaced, and never any header.

use axum::http::Uri;

/// What stands in for a redacted value.
pub const REDACTED: &str = "[redacted]";

/// The path and query of `uri`, with the value of every parameter whose name contains `token`
/// (in any case) replaced by [`REDACTED`].
pub fn uri(uri: &Uri) -> String {
    match uri.query() {
        None => uri.path().to_owned(),
        Some(query) => format!("{}?{}", uri.path(), query_string(query)),
    }
}

/// A query string with token-like parameters' values replaced.
pub fn query_string(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_token_key(key) => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a parameter name may carry a token; any percent-encoded name counts, since it may
/// spell `token`.
fn is_token_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("token") || key.contains('%')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_values_are_replaced_and_the_rest_kept() {
        let u: Uri = "/api/ws/v2?token=abc.def.ghi&tether=1"
            .parse()
            .expect("uri");
        assert_eq!(uri(&u), "/api/ws/v2?token=[redacted]&tether=1");
        let u: Uri = "/api/agents?agent_id=1&Access_Token=x&%74oken=y"
            .parse()
            .expect("uri");
        assert_eq!(
            uri(&u),
            "/api/agents?agent_id=1&Access_Token=[redacted]&%74oken=[redacted]"
        );
        assert_eq!(uri(&"/api/health".parse().expect("uri")), "/api/health");
        assert_eq!(query_string("token"), "token");
    }
}
