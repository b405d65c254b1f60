//! Counters the core keeps, and the snapshot the app reads for its health panel.

use super::state::ConnectionState;
use super::time::{Instant, Millis};
use super::topics::StatusCounts;

/// Running counters, updated by the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames received.
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
    /// Bytes received (UTF-8 length of text frames).
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Sockets that proved themselves after the first one did.
    pub reconnects: u64,
    /// Sockets that closed before proving themselves (a proxy accepting and dropping, a server
    /// refusing): failed attempts, not reconnects.
    pub unproven_sockets: u64,
    /// Events dropped because their `seq` was already delivered.
    pub duplicates_dropped: u64,
    /// Frames that could not be decoded (or binary frames that were not text).
    pub malformed_frames: u64,
    /// Events delivered to handlers.
    pub events_delivered: u64,
    /// Events for topics nobody holds (any more).
    pub events_unrouted: u64,
    /// Events whose `seq` skipped ahead (the server lost some).
    pub seq_gaps: u64,
    /// Sockets declared dead for silence.
    pub dead_connections: u64,
    /// Resyncs delivered to handlers.
    pub resyncs: u64,
}

/// Whether the server replays the events a client missed while disconnected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Replay {
    /// Not known yet: no subscription has been answered on this server.
    #[default]
    Unknown,
    /// The server acknowledges subscriptions and replays from `since` (tether's extensions):
    /// events sent during a gap arrive after the reconnect.
    Offered,
    /// The server neither acknowledges nor replays (the origin's contract): events sent during
    /// a gap are not recovered; handlers get `ResyncRequired` and views reload instead.
    NotOffered,
}

/// Round-trip time from ping/pong.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rtt {
    /// The latest sample.
    pub last: Option<Millis>,
    /// Exponentially weighted moving average, in milliseconds.
    pub ewma: Option<f64>,
}

impl Rtt {
    /// Adds a sample with weight `alpha`.
    pub fn record(&mut self, sample: Millis, alpha: f64) {
        self.last = Some(sample);
        let s = sample.0 as f64;
        self.ewma = Some(match self.ewma {
            None => s,
            Some(avg) => avg + alpha * (s - avg),
        });
    }
}

/// A point-in-time view of the connection's health. Equal snapshots mean nothing shown
/// changed, so a view can re-render only on change.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// The state.
    pub state: ConnectionState,
    /// Round-trip time.
    pub rtt: Rtt,
    /// Frames, bytes, reconnects, duplicates, malformed frames, deliveries.
    pub counters: Counters,
    /// When the current socket proved itself.
    pub connected_since: Option<Instant>,
    /// Held topics by status.
    pub subscriptions: StatusCounts,
    /// Frames waiting in the outbox.
    pub outbox_len: usize,
    /// Requests waiting for replies.
    pub pending_requests: usize,
    /// Whether the server replays missed events.
    pub replay: Replay,
    /// What resuming across reloads did (feature `resume`; zeros when it is off).
    #[cfg(feature = "resume")]
    pub resume: super::resume::ResumeCounters,
}

impl Metrics {
    /// How long the current socket has been up at `now`.
    pub fn uptime(&self, now: Instant) -> Option<Millis> {
        self.connected_since.map(|t| now - t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_weights_the_newest_sample() {
        let mut rtt = Rtt::default();
        rtt.record(Millis(100), 0.2);
        rtt.record(Millis(200), 0.2);
        assert_eq!(rtt.last, Some(Millis(200)));
        assert!((rtt.ewma.unwrap() - 120.0).abs() < 1e-9);
    }
}
