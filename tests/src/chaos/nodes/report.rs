//! What a cross-node chaos run reports, and what it requires.

use std::fmt;

use super::super::views::Mark;
use super::super::ChaosReport;

/// The single-node report's counts, and what only several nodes on Redis have.
#[derive(Clone, Debug, Default)]
pub struct NodesReport {
    /// Faults, deliveries, losses, repeats, leaks, as the single-node run counts them.
    pub chaos: ChaosReport,
    /// `resync_required` marks with no Redis data loss since the view's previous mark.
    pub unexplained_resyncs: u64,
    /// Restarts of Redis that lost its data.
    pub data_losses: u64,
    /// Topics the nodes alive at the end repaired from the log after a pub/sub gap.
    pub repairs: u64,
    /// Topics whose subscribers those nodes told to resync because the log was lost.
    pub lost_by_broker: u64,
}

impl NodesReport {
    /// Counts a view's resyncs, and those no lost log explains.
    pub(super) fn count_resyncs(&mut self, marks: &[Mark]) {
        self.chaos.resyncs += marks
            .iter()
            .filter(|m| matches!(m, Mark::Resync { .. }))
            .count() as u64;
        let unexplained = super::unexplained_resyncs(marks);
        if unexplained > 0 && std::env::var("CHAOS_DEBUG").is_ok() {
            eprintln!("UNEXPLAINED resync: {marks:?}");
        }
        self.unexplained_resyncs += unexplained;
    }

    /// Nothing lost unannounced, repeated or reordered, every resync explained by a lost log,
    /// and the single-node run's other requirements (no leak, one open socket at the end, the
    /// heartbeat caught every half-open socket).
    pub fn is_sound(&self) -> bool {
        self.chaos.is_sound() && self.chaos.tally.lost == 0 && self.unexplained_resyncs == 0
    }
}

impl fmt::Display for NodesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.chaos)?;
        write!(
            f,
            "  across nodes (the publish log is Redis's streams): resyncs {} ({} unexplained) after {} restarts of Redis that lost its data; \
             the nodes alive at the end repaired {} topics from the log and announced {} lost",
            self.chaos.resyncs,
            self.unexplained_resyncs,
            self.data_losses,
            self.repairs,
            self.lost_by_broker
        )
    }
}
