//! What the app says about the connection: [`Status`], derived once from the client's state
//! changes, is the one source of the badge's label, the banner's sentence and the try count
//! both show; and the line about the tabs sharing the socket. Pure, so it is tested natively;
//! `status.rs` keeps the [`Status`] and `header.rs` renders it.

use tether_client::{ConnectionState, Instant};

/// The connection as the app shows it: the client's state, and what the app remembers across
/// states (whether anything was ever received, since when the data is not live, which try an
/// attempt under way is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The client's state.
    pub state: ConnectionState,
    /// The try under way or scheduled, counted since the connection was last live: the
    /// `attempt` of `Reconnecting`, kept while that try connects.
    pub try_number: Option<u32>,
    /// The connection was live at least once since the page loaded: data was received.
    pub ever_live: bool,
    /// When the connection stopped being live (`None` while it is, or if it never was).
    pub down_since: Option<Instant>,
}

impl Status {
    /// The status of a page that has received nothing yet.
    pub fn new(state: ConnectionState) -> Status {
        Status {
            state: ConnectionState::Idle,
            try_number: None,
            ever_live: false,
            down_since: None,
        }
        .next(state, Instant(0))
    }

    /// The status after the client's state became `state` at `now`.
    pub fn next(self, state: ConnectionState, now: Instant) -> Status {
        let was_live = self.state == ConnectionState::Open;
        let try_number = match state {
            ConnectionState::Reconnecting { attempt, .. } => Some(attempt),
            // The scheduled try is under way.
            ConnectionState::Connecting => self.try_number.filter(|_| !was_live),
            _ => None,
        };
        Status {
            state,
            try_number,
            ever_live: self.ever_live || state == ConnectionState::Open,
            down_since: match state {
                ConnectionState::Open => None,
                _ if was_live => Some(now),
                _ => self.down_since,
            },
        }
    }

    /// Whole seconds until the next automatic try, rounded up, if one is scheduled.
    pub fn retry_in_secs(&self, now: Instant) -> Option<u64> {
        match self.state {
            ConnectionState::Reconnecting { retry_at, .. } => {
                Some(retry_at.0.saturating_sub(now.0).div_ceil(1000))
            }
            _ => None,
        }
    }

    /// The badge's label. The first connection "connects"; after data was received, it
    /// "reconnects". The try number is the banner's.
    pub fn label(&self) -> String {
        let verb = if self.ever_live {
            "Reconnecting"
        } else {
            "Connecting"
        };
        match (self.state, self.try_number) {
            (ConnectionState::Open, _) => "Live".into(),
            (ConnectionState::Connecting | ConnectionState::Reconnecting { .. }, Some(n)) => {
                format!("{verb} (try {n})")
            }
            (ConnectionState::Connecting | ConnectionState::Reconnecting { .. }, None) => {
                format!("{verb}…")
            }
            (ConnectionState::Offline, _) => "Offline".into(),
            (ConnectionState::AuthFailed, _) => "Signed out".into(),
            (ConnectionState::Closed, _) => "Closed".into(),
            (ConnectionState::Idle, _) => "Idle".into(),
        }
    }

    /// The banner's sentences while the connection is not live (`None` while it is): what
    /// happens next, and what the data on screen is. It never claims data that was not
    /// received, and says whether the data comes back by itself (after a refused token it
    /// does not).
    pub fn banner(&self, now: Instant) -> Option<String> {
        let next = match self.state {
            ConnectionState::Open => return None,
            ConnectionState::AuthFailed => {
                "Signed out: the server refused this session's token. Sign in again for live \
                 updates."
                    .to_owned()
            }
            ConnectionState::Offline => {
                "Offline: this browser has no network. It reconnects when the network is back."
                    .to_owned()
            }
            ConnectionState::Closed => "Disconnected: the app closed the connection.".to_owned(),
            ConnectionState::Idle => "Not connected: nothing to listen to yet.".to_owned(),
            ConnectionState::Connecting if !self.ever_live && self.try_number.is_none() => {
                return Some("Connecting to the server…".to_owned());
            }
            ConnectionState::Connecting => format!("{}: trying now.", self.label()),
            ConnectionState::Reconnecting { .. } => match self.retry_in_secs(now) {
                Some(0) | None => format!("{}: next try now.", self.label()),
                Some(secs) => format!("{}: next try in {secs} s.", self.label()),
            },
        };
        // After a refused token or a close, nothing comes back by itself.
        let comes_back = !matches!(
            self.state,
            ConnectionState::AuthFailed | ConnectionState::Closed
        );
        let tail = if comes_back {
            "; it updates when the connection is back"
        } else {
            ""
        };
        let data = match self.down_since {
            _ if !self.ever_live => " Nothing has been received yet.".to_owned(),
            Some(since) => format!(
                " The data shown is from {}{tail}.",
                ago(now.0.saturating_sub(since.0))
            ),
            None => format!(" The data shown is the last received{tail}."),
        };
        Some(next + &data)
    }
}

/// "a moment ago", "12 s ago", "3 min ago", "2 h ago".
pub fn ago(ms: u64) -> String {
    match ms / 1000 {
        0 => "a moment ago".into(),
        s @ 1..=59 => format!("{s} s ago"),
        s @ 60..=3599 => format!("{} min ago", s / 60),
        s => format!("{} h ago", s / 3600),
    }
}

/// The line about the tabs sharing one socket: which tab holds it and how many share it
/// (this one included). Nothing while this tab does not know yet (it has asked to lead, and
/// no leader has spoken).
pub fn sharing_text(leads: bool, tabs: usize) -> Option<String> {
    Some(match (leads, tabs) {
        (false, 0) => return None,
        (true, 0 | 1) => "this tab holds the socket; no other tab shares it".into(),
        (true, n) => format!("this tab leads; {n} tabs share the socket"),
        (false, 1) => "another tab holds the socket".into(),
        (false, n) => format!("another tab leads; {n} tabs share the socket"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: ConnectionState = ConnectionState::Reconnecting {
        attempt: 4,
        retry_at: Instant(13_200),
    };

    fn live_then(state: ConnectionState, at: u64) -> Status {
        Status::new(ConnectionState::Connecting)
            .next(ConnectionState::Open, Instant(1_000))
            .next(state, Instant(at))
    }

    #[test]
    fn a_first_visit_says_connecting_and_claims_no_data() {
        let first = Status::new(ConnectionState::Connecting);
        assert_eq!(first.label(), "Connecting…");
        assert_eq!(
            first.banner(Instant(0)).unwrap(),
            "Connecting to the server…"
        );
        let refused = first.next(DOWN, Instant(10_000));
        assert_eq!(refused.label(), "Connecting (try 4)");
        let banner = refused.banner(Instant(10_000)).unwrap();
        assert_eq!(
            banner,
            "Connecting (try 4): next try in 4 s. Nothing has been received yet."
        );
        assert!(!banner.contains("last data"));
    }

    #[test]
    fn the_badge_and_the_banner_show_one_try_count_and_it_never_goes_back() {
        let down = live_then(DOWN, 9_000);
        assert_eq!(down.label(), "Reconnecting (try 4)");
        assert_eq!(down.retry_in_secs(Instant(10_000)), Some(4));
        assert_eq!(
            down.banner(Instant(10_000)).unwrap(),
            "Reconnecting (try 4): next try in 4 s. The data shown is from 1 s ago; it \
             updates when the connection is back."
        );
        // The try under way keeps its number in both.
        let trying = down.next(ConnectionState::Connecting, Instant(13_200));
        assert_eq!(trying.label(), "Reconnecting (try 4)");
        assert!(trying
            .banner(Instant(13_200))
            .unwrap()
            .starts_with("Reconnecting (try 4): trying now."));
        // A due (or overdue) try is "now", never a negative count.
        assert!(down
            .banner(Instant(20_000))
            .unwrap()
            .contains("next try now."));
        // Back live: the count starts again.
        let live = trying.next(ConnectionState::Open, Instant(14_000));
        assert_eq!(
            (live.label(), live.banner(Instant(14_000))),
            ("Live".into(), None)
        );
        assert_eq!(live.try_number, None);
        // A dead link replaced at once (no try scheduled) is not a numbered try.
        let replaced = live.next(ConnectionState::Connecting, Instant(15_000));
        assert_eq!(replaced.label(), "Reconnecting…");
    }

    #[test]
    fn while_down_the_data_is_dated_not_passed_off_as_live() {
        let down = live_then(DOWN, 9_000);
        assert!(down
            .banner(Instant(81_000))
            .unwrap()
            .contains("is from 1 min ago;"));
        let signed_out = live_then(ConnectionState::AuthFailed, 9_000);
        let text = signed_out.banner(Instant(21_000)).unwrap();
        assert_eq!(
            text,
            "Signed out: the server refused this session's token. Sign in again for live \
             updates. The data shown is from 12 s ago."
        );
        assert!(Status::new(ConnectionState::Offline)
            .banner(Instant(0))
            .unwrap()
            .starts_with("Offline:"));
        assert_eq!(
            Status::new(ConnectionState::Offline).retry_in_secs(Instant(0)),
            None
        );
    }

    #[test]
    fn the_sharing_line_counts_tabs_in_plain_words() {
        let text = |leads, tabs| sharing_text(leads, tabs).unwrap();
        assert_eq!(
            text(true, 1),
            "this tab holds the socket; no other tab shares it"
        );
        assert_eq!(text(true, 2), "this tab leads; 2 tabs share the socket");
        assert_eq!(text(false, 2), "another tab leads; 2 tabs share the socket");
        assert_eq!(sharing_text(false, 0), None, "not known yet");
    }
}
