//! Which browser origins may open a socket: loopback ones (`http://127.0.0.1:*`,
//! `http://localhost:*`, `http://[::1]:*`, also over https) always, others only when listed.
//! An upgrade whose `Origin` is not allowed is refused with 403, so that a page on another
//! site cannot open a socket with the user's cookies (cross-site WebSocket hijacking). An app
//! can use the same policy for CORS.

/// The allowed origins.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    extra: Vec<String>,
}

impl OriginPolicy {
    /// Loopback plus `extra` (compared exactly, without a trailing slash).
    pub fn new(extra: &[String]) -> Self {
        OriginPolicy {
            extra: extra
                .iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    /// Whether `origin` (an `Origin` header value) is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        is_loopback(origin) || self.extra.iter().any(|o| o == origin)
    }
}

/// `scheme://host[:port]` with an http(s) scheme and a loopback host.
fn is_loopback(origin: &str) -> bool {
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let (host, port) = split_port(authority);
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|port| port > 0)
    });
    port_ok && matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// Splits `host:port`, minding bracketed IPv6 hosts.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        0
    };
    match authority[host_end..].rfind(':') {
        Some(i) => (
            &authority[..host_end + i],
            Some(&authority[host_end + i + 1..]),
        ),
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_always_allowed() {
        let policy = OriginPolicy::default();
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://localhost",
            "http://[::1]:9",
            "https://localhost:1",
        ] {
            assert!(policy.allows(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil:80",
            "http://localhost:80/x",
            "http://localhost:",
            "http://localhost:65536",
            "http://localhost:99999",
            "http://localhost:0",
            "http://localhost:+80",
            "http://localhost:8080:80",
            "ftp://localhost",
            "null",
            "",
        ] {
            assert!(!policy.allows(bad), "{bad}");
        }
    }

    #[test]
    fn extra_origins_are_exact() {
        let policy = OriginPolicy::new(&["https://app.example/".to_owned()]);
        assert!(policy.allows("https://app.example"));
        assert!(!policy.allows("https://app.example.evil"));
    }
}
