//! What the header says about the connection: the badge's label and the banner shown while the
//! data is not live. Pure, so it is tested natively; `header.rs` renders it.

use tether_client::core::{ConnectionState, Instant};

/// The badge's label for a state.
pub fn label(state: ConnectionState) -> String {
    match state {
        ConnectionState::Open => "Live".into(),
        ConnectionState::Connecting => "Connecting…".into(),
        ConnectionState::Reconnecting { attempt, .. } => format!("Reconnecting (try {attempt})"),
        ConnectionState::Offline => "Offline".into(),
        ConnectionState::AuthFailed => "Signed out".into(),
        ConnectionState::Closed => "Closed".into(),
        ConnectionState::Idle => "Idle".into(),
    }
}

/// Whole seconds until the next automatic retry, rounded up, if one is scheduled.
pub fn retry_in_secs(state: ConnectionState, now: Instant) -> Option<u64> {
    match state {
        ConnectionState::Reconnecting { retry_at, .. } => {
            Some(retry_at.0.saturating_sub(now.0).div_ceil(1000))
        }
        _ => None,
    }
}

/// The banner's sentence while the connection is not live (`None` while it is). It says
/// whether the data will come back by itself: after a refused token it will not.
pub fn banner(state: ConnectionState, now: Instant) -> Option<String> {
    let stale = "showing the last data received";
    match state {
        ConnectionState::Open => None,
        ConnectionState::AuthFailed => Some(format!(
            "Signed out: the server refused this session's token. Sign in again for live \
             updates; {stale}."
        )),
        ConnectionState::Closed => Some(format!("Disconnected; {stale}.")),
        ConnectionState::Reconnecting { .. } => {
            let secs = retry_in_secs(state, now).unwrap_or(0);
            let when = if secs == 0 {
                "now".to_owned()
            } else {
                format!("in {secs} s")
            };
            Some(format!(
                "{}, next try {when}; {stale}, and it updates when the connection is back.",
                label(state)
            ))
        }
        _ => Some(format!(
            "{}; {stale}, and it updates when the connection is back.",
            label(state)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_says_when_the_next_try_is_and_whether_data_comes_back() {
        let now = Instant(10_000);
        let reconnecting = ConnectionState::Reconnecting {
            attempt: 4,
            retry_at: Instant(13_200),
        };
        assert_eq!(banner(ConnectionState::Open, now), None);
        assert_eq!(retry_in_secs(reconnecting, now), Some(4));
        assert_eq!(
            banner(reconnecting, now).unwrap(),
            "Reconnecting (try 4), next try in 4 s; showing the last data received, and it \
             updates when the connection is back."
        );
        // A retry that is due (or overdue) is "now", never a negative count.
        assert!(banner(reconnecting, Instant(20_000))
            .unwrap()
            .contains("next try now"));
        let signed_out = banner(ConnectionState::AuthFailed, now).unwrap();
        assert!(signed_out.contains("Sign in again") && !signed_out.contains("connection is back"));
        assert!(banner(ConnectionState::Offline, now)
            .unwrap()
            .starts_with("Offline;"));
        assert_eq!(retry_in_secs(ConnectionState::Offline, now), None);
    }
}
