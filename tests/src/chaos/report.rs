//! What a chaos run reports, and what it requires.

use std::collections::BTreeMap;
use std::fmt;

use super::check::Tally;
use crate::wait::Timeouts;
use crate::wire_audit::FrameTally;

/// Chat messages sent while the socket was down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sends {
    /// Sent while disconnected (queued in the outbox).
    pub queued: u64,
    /// Confirmed by the server, and stored once.
    pub delivered: u64,
    /// Gave up unsent after the queue timeout, and stored never.
    pub expired: u64,
    /// Sent, but the connection dropped before the reply (stored once or never).
    pub uncertain: u64,
    /// Not settled by the end of the run.
    pub unsettled: u64,
    /// Stored more than once.
    pub duplicated: u64,
    /// Whose outcome disagrees with the store (confirmed but absent, "not sent" but present).
    pub wrong: u64,
}

/// What happened, and what was checked.
#[derive(Clone, Debug, Default)]
pub struct ChaosReport {
    /// Which run.
    pub label: &'static str,
    /// Faults attempted, by kind.
    pub attempted: BTreeMap<String, usize>,
    /// Faults that hit at least one of the client's sockets, by kind.
    pub effective: BTreeMap<String, usize>,
    /// Events published (run updates and chat messages).
    pub published: u64,
    /// Deliveries, losses, announced gaps, repeats and reversals over every view lifetime.
    pub tally: Tally,
    /// Of those, the lifetimes of history views (which reload after a resync).
    pub history_tally: Tally,
    /// Of those, the lifetimes of views mounted while the socket was down.
    pub offline_tally: Tally,
    /// View lifetimes checked.
    pub lifetimes: usize,
    /// The stub's membership entries for the user (its answers to subscribes, and releases).
    pub answers: usize,
    /// Of those, mounted while the socket was down.
    pub mounted_offline: usize,
    /// `ResyncRequired` told to event views.
    pub resyncs: u64,
    /// History reloads after a resync.
    pub reloads: u64,
    /// Chat messages sent while disconnected.
    pub sends: Sends,
    /// Times the app refreshed its token after 4401.
    pub reauthenticated: u64,
    /// Repeated frames the client dropped by `seq` before any handler saw them.
    pub duplicates_dropped: u64,
    /// Dead connections the client's heartbeat detected (each half-open fault needs one).
    pub dead_detected: u64,
    /// Sockets the client opened.
    pub sockets_opened: u64,
    /// The client's state at the end.
    pub final_state: String,
    /// Sockets the stub sees open for the test user at the end.
    pub stub_sockets_open: u64,
    /// Socket tasks of the driver at the end.
    pub driver_sockets: usize,
    /// Handlers left after every view unmounted.
    pub leaked_handlers: usize,
    /// Subscriptions the stub still holds for the user after every view unmounted.
    pub leaked_subscriptions: u64,
    /// State and error listeners left.
    pub leaked_listeners: usize,
    /// Armed timers of the driver at the end (one is the heartbeat's).
    pub driver_timers: usize,
    /// Waits that reached their deadline.
    pub timeouts: Timeouts,
    /// The frames on the wire, checked against the origin's contract.
    pub frames: FrameTally,
    /// Wall time.
    pub seconds: f64,
}

impl ChaosReport {
    /// An empty report for `label`.
    pub fn new(label: &'static str) -> ChaosReport {
        ChaosReport {
            label,
            ..ChaosReport::default()
        }
    }

    /// Records a fault; `effective` if it hit a socket.
    pub fn fault(&mut self, name: &str, effective: bool) {
        *self.attempted.entry(name.to_owned()).or_default() += 1;
        if effective {
            *self.effective.entry(name.to_owned()).or_default() += 1;
        }
    }

    /// Adds one view lifetime.
    pub fn add(&mut self, tally: Tally, offline: bool, history: bool) {
        self.tally += tally;
        self.lifetimes += 1;
        if history {
            self.history_tally += tally;
        }
        if offline {
            self.offline_tally += tally;
            self.mounted_offline += 1;
        }
    }

    /// Faults attempted.
    pub fn total_attempted(&self) -> usize {
        self.attempted.values().sum()
    }

    /// Faults that took effect.
    pub fn total_effective(&self) -> usize {
        self.effective.values().sum()
    }

    /// Effective faults of one kind.
    pub fn hits(&self, kind: &str) -> usize {
        self.effective.get(kind).copied().unwrap_or(0)
    }

    /// True if every view lifetime is clean (nothing lost unannounced or outside a gap the
    /// stub shows, nothing repeated or reordered, no resync the stub does not account for, no
    /// start that disagrees with the stub's), nothing leaked, the client ended open on one
    /// socket, no offline send was stored twice, contradicted its outcome or stayed unsettled,
    /// every 4401 made the app sign in again (it is final), the heartbeat detected every
    /// half-open socket (before the server's idle timeout did), every frame conformed to the
    /// origin's contract, and no wait timed out.
    pub fn is_sound(&self) -> bool {
        self.reauthenticated >= self.hits("close 4401") as u64
            && self.dead_detected >= self.hits("half-open") as u64
            && self.tally.is_clean()
            && self.sends.duplicated == 0
            && self.sends.wrong == 0
            && self.sends.unsettled == 0
            && self.final_state == "open"
            && self.stub_sockets_open == 1
            && self.driver_sockets == 1
            && self.leaked_handlers == 0
            && self.leaked_subscriptions == 0
            && self.leaked_listeners == 0
            && self.driver_timers <= 1
            && self.frames.is_clean()
            && self.timeouts.is_empty()
    }
}

impl fmt::Display for ChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self
            .attempted
            .iter()
            .map(|(k, n)| format!("{k} {}/{n}", self.effective.get(k).copied().unwrap_or(0)))
            .collect();
        let t = &self.tally;
        writeln!(f, "chaos, {}:", self.label)?;
        writeln!(
            f,
            "  faults: {} effective of {} attempted ({})",
            self.total_effective(),
            self.total_attempted(),
            kinds.join(", ")
        )?;
        writeln!(
            f,
            "  events published {}; delivered {} over {} view lifetimes ({} mounted while down)",
            self.published, t.delivered, self.lifetimes, self.mounted_offline
        )?;
        writeln!(
            f,
            "  counted from each view's start at the stub against its publish log: lost {}  duplicated {}  reordered {}",
            t.lost, t.duplicated, t.reordered
        )?;
        writeln!(
            f,
            "  missed where the stub could not replay, announced by resync_required: {} (resyncs {}, of which unjustified by the stub's answers {}; history reloads {})",
            t.announced, self.resyncs, t.unjustified_resyncs, self.reloads
        )?;
        writeln!(
            f,
            "  without replay, published while the socket was down and missed: {} in {} gaps ({} unannounced; {} delivered that the stub never sent)",
            t.lost_in_gaps, t.gaps, t.unannounced_gaps, t.seen_in_gaps
        )?;
        writeln!(
            f,
            "  starts reported by the client that disagree with the stub's {} answers: {}",
            self.answers, t.wrong_starts
        )?;
        writeln!(
            f,
            "  of those, history views (reload over REST): delivered {}, lost {}, duplicated {}, reordered {}",
            self.history_tally.delivered,
            self.history_tally.lost,
            self.history_tally.duplicated,
            self.history_tally.reordered
        )?;
        writeln!(
            f,
            "  of those, views mounted while down: lost {}, duplicated {}, reordered {}",
            self.offline_tally.lost, self.offline_tally.duplicated, self.offline_tally.reordered
        )?;
        let s = &self.sends;
        writeln!(
            f,
            "  sent while disconnected: {} (delivered once {}, expired unsent {}, uncertain {}, unsettled {}; stored twice {}, contradicted {})",
            s.queued, s.delivered, s.expired, s.uncertain, s.unsettled, s.duplicated, s.wrong
        )?;
        writeln!(
            f,
            "  4401 re-authentications {} (after {} closes with 4401); dead sockets detected by the heartbeat {} (after {} half-open faults); repeated frames dropped by seq {}",
            self.reauthenticated,
            self.hits("close 4401"),
            self.dead_detected,
            self.hits("half-open"),
            self.duplicates_dropped
        )?;
        writeln!(
            f,
            "  end: client {} on {} socket(s) (stub sees {}); {} sockets opened in all",
            self.final_state, self.driver_sockets, self.stub_sockets_open, self.sockets_opened
        )?;
        writeln!(
            f,
            "  leaks: handlers {}, stub subscriptions {}, listeners {}, timers armed {} (heartbeat)",
            self.leaked_handlers, self.leaked_subscriptions, self.leaked_listeners, self.driver_timers,
        )?;
        writeln!(f, "  {}", self.frames)?;
        write!(
            f,
            "  waits timed out: {}; {:.1} s",
            self.timeouts, self.seconds
        )
    }
}
