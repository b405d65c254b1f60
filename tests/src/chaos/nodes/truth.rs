//! The cross-node chaos run's ground truth: each topic's publish log read from Redis (see
//! [`crate::nodes::truth`]), accumulated across Redis restarts. Before a restart that loses the
//! data, the logs are read and kept; what Redis holds afterwards belongs to the next
//! *incarnation* of its data, which is the `epoch` of the entries (and of the views' stamps).
//! Each entry's `n`, its place among every event published on any topic, is the id its data
//! carries: the run publishes one event at a time, numbering them 1, 2, … as it goes.

use crate::nodes::truth::read_log;
use crate::stub::Published;

/// The publish log of every topic, over every incarnation of Redis's data.
pub(super) struct Truth {
    url: String,
    topics: Vec<String>,
    /// Per topic, the entries of earlier incarnations.
    kept: Vec<Vec<Published>>,
    /// The incarnation Redis's data is in now.
    incarnation: u64,
}

impl Truth {
    pub(super) fn new(url: String, topics: Vec<String>) -> Truth {
        let kept = vec![Vec::new(); topics.len()];
        Truth {
            url,
            topics,
            kept,
            incarnation: 0,
        }
    }

    /// Topic `t`'s log: the kept entries, then what Redis holds now.
    pub(super) fn log(&self, t: usize) -> Vec<Published> {
        let mut log = self.kept[t].clone();
        log.extend(self.current(t));
        log
    }

    /// What Redis holds of topic `t` now, in the current incarnation.
    fn current(&self, t: usize) -> Vec<Published> {
        read_log(&self.url, "tether", &self.topics[t])
            .into_iter()
            .map(|l| Published {
                n: l.data["id"].as_u64().unwrap_or(0),
                epoch: self.incarnation,
                seq: l.seq,
                kind: l.kind,
                id: l.data["id"].as_u64(),
            })
            .collect()
    }

    /// Redis is about to lose its data: keeps what it holds; later entries are of the next
    /// incarnation.
    pub(super) fn before_data_loss(&mut self) {
        for t in 0..self.topics.len() {
            let now = self.current(t);
            self.kept[t].extend(now);
        }
        self.incarnation += 1;
    }
}
