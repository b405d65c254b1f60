//! The cross-node chaos run's faults: a node killed with SIGKILL (and started again), Redis
//! restarted keeping or losing its data, and the single-node run's socket faults through both
//! nodes' test control. A fault counts as effective only when it took effect: the node was
//! running and is gone, Redis was running and answers again (with its data loaded, or empty),
//! a socket fault hit one of the client's sockets.

use tether_client::core::Rng;

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NodeFault {
    /// SIGKILL node `0` or `1`, then start it again.
    KillNode(usize),
    /// Restart Redis, keeping its data (saved, then loaded) or not.
    RestartRedis {
        /// Whether the data survives.
        keep: bool,
    },
    /// A socket fault through test control (`drop?user=1`, …), named.
    Socket(&'static str, String),
}

impl NodeFault {
    /// A fault drawn by `rng`.
    pub(super) fn draw(rng: &mut Rng) -> NodeFault {
        let user = super::USER;
        match rng.up_to(9) {
            0 | 1 => NodeFault::KillNode(rng.up_to(1) as usize),
            2 => NodeFault::RestartRedis { keep: true },
            3 => NodeFault::RestartRedis { keep: false },
            4 => NodeFault::Socket("drop", format!("drop?user={user}")),
            5 => NodeFault::Socket("half-open", format!("half-open?user={user}")),
            6 => NodeFault::Socket("duplicate", format!("duplicate?last=2&user={user}")),
            7 => NodeFault::Socket("reorder", format!("reorder?user={user}")),
            _ => {
                let code = [1001, 1011, 1012][rng.up_to(2) as usize];
                let name = match code {
                    1001 => "close 1001",
                    1011 => "close 1011",
                    _ => "close 1012",
                };
                NodeFault::Socket(name, format!("close?code={code}&reason=chaos&user={user}"))
            }
        }
    }

    /// Its name in the report.
    pub(super) fn name(&self) -> String {
        match self {
            NodeFault::KillNode(_) => "node killed".into(),
            NodeFault::RestartRedis { keep: true } => "redis restart keeping data".into(),
            NodeFault::RestartRedis { keep: false } => "redis restart losing data".into(),
            NodeFault::Socket(name, _) => (*name).into(),
        }
    }
}
