//! What a cross-node chaos run reports, and what it requires.

use std::fmt;

use super::super::views::Mark;
use super::super::ChaosReport;

/// The single-node report's counts, and what only several nodes on Redis have.
#[derive(Clone, Debug, Default)]
pub struct NodesReport {
    /// Faults, deliveries, losses, repeats, leaks, as the single-node run counts them.
    pub chaos: ChaosReport,
    /// Restarts of Redis that lost its data.
    pub data_losses: u64,
    /// Topics the nodes alive at the end repaired from the log after a pub/sub gap.
    pub repairs: u64,
    /// Topics whose subscribers those nodes told to resync because the log was lost.
    pub lost_by_broker: u64,
}

impl NodesReport {
    /// Counts a view's resyncs.
    pub(super) fn count_resyncs(&mut self, marks: &[Mark]) {
        self.chaos.resyncs += super::resyncs(marks);
    }

    /// The single-node run's requirements (nothing lost unannounced, repeated or reordered,
    /// every resync justified by a loss of Redis's data, every start agreeing with Redis's log,
    /// no leak, one open socket at the end, the heartbeat caught every half-open socket, every
    /// frame conformed, no wait timed out).
    pub fn is_sound(&self) -> bool {
        self.chaos.is_sound()
    }
}

impl fmt::Display for NodesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.chaos)?;
        write!(
            f,
            "  across nodes (the publish log is Redis's streams): resyncs {} ({} unjustified by a loss of Redis's data) after {} restarts of Redis that lost its data; \
             the nodes alive at the end repaired {} topics from the log and announced {} lost",
            self.chaos.resyncs,
            self.chaos.tally.unjustified_resyncs,
            self.data_losses,
            self.repairs,
            self.lost_by_broker
        )
    }
}
