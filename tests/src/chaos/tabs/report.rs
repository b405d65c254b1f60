//! What a chaos run with tabs reports, and what it requires.

use std::fmt;

use crate::chaos::Tally;
use crate::wait::Timeouts;
use crate::wire_audit::FrameTally;

/// What a run with tabs did, and what it found.
#[derive(Clone, Debug, Default)]
pub struct TabChaosReport {
    /// Faults attempted, and those that hit the shared socket.
    pub faults: (usize, usize),
    /// Events published.
    pub published: u64,
    /// Every view lifetime, counted from its start against the publish log.
    pub tally: Tally,
    /// Of those, the lifetimes ended by their tab going away.
    pub gone_tally: Tally,
    /// View lifetimes checked, and of those, the views whose tab went away under them.
    pub lifetimes: (usize, usize),
    /// Tabs opened, closed, and crashed (followers).
    pub opened: u64,
    /// Followers closed.
    pub closed: u64,
    /// Followers crashed.
    pub crashed: u64,
    /// Leaders closed.
    pub leaders_closed: u64,
    /// Leaders killed without a goodbye.
    pub leaders_killed: u64,
    /// Most sockets the stub saw open for the user at once (sampled each step).
    pub max_sockets: u64,
    /// Sockets the stub saw opened for the user in all.
    pub sockets_opened: u64,
    /// Sockets, subscriptions and handlers left at the end (1, 0, 0 expected).
    pub end: (u64, u64, usize),
    /// Resyncs told to views.
    pub resyncs: u64,
    /// Leadership locks stolen from a silent leader (as the simulated browser counts them).
    pub steals: u64,
    /// The stub's membership entries for the user.
    pub answers: usize,
    /// Waits that reached their deadline.
    pub timeouts: Timeouts,
    /// The frames on the wire, checked against the origin's contract.
    pub frames: FrameTally,
    /// Wall time.
    pub seconds: f64,
}

impl TabChaosReport {
    /// Every lifetime clean (nothing lost unannounced, repeated or reordered, no resync the
    /// stub does not account for, no wrong start); one socket at the end and nothing leaked;
    /// every frame conformed to the origin's contract; no wait timed out.
    pub fn is_sound(&self) -> bool {
        self.tally.is_clean()
            && self.end == (1, 0, 0)
            && self.frames.is_clean()
            && self.timeouts.is_empty()
    }
}

impl fmt::Display for TabChaosReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        writeln!(f, "chaos, tabs sharing one socket (tether profile):")?;
        writeln!(
            f,
            "  faults: {} effective of {} attempted; tabs opened {}, followers closed {} and crashed {}, leaders closed {} and killed {}",
            self.faults.1, self.faults.0, self.opened, self.closed, self.crashed, self.leaders_closed, self.leaders_killed
        )?;
        writeln!(
            f,
            "  events published {}; delivered {} over {} view lifetimes ({} ended by their tab going away)",
            self.published, t.delivered, self.lifetimes.0, self.lifetimes.1
        )?;
        writeln!(
            f,
            "  counted from each view's start at the stub against its publish log: lost {}  duplicated {}  reordered {} (resyncs {}, unjustified {}; announced {}; starts that disagree with the stub's {} answers {})",
            t.lost, t.duplicated, t.reordered, self.resyncs, t.unjustified_resyncs, t.announced, self.answers, t.wrong_starts
        )?;
        writeln!(
            f,
            "  of those, views whose tab went away (counted to the close): delivered {}, lost {}",
            self.gone_tally.delivered, self.gone_tally.lost
        )?;
        writeln!(
            f,
            "  sockets at the stub: at most {} open at once, {} opened in all; locks stolen {}; end: {} open, {} subscriptions, {} handlers",
            self.max_sockets, self.sockets_opened, self.steals, self.end.0, self.end.1, self.end.2
        )?;
        writeln!(f, "  {}", self.frames)?;
        write!(
            f,
            "  waits timed out: {}; {:.1} s",
            self.timeouts, self.seconds
        )
    }
}
