//! The hub's side of test control's faults: events sent again (`duplicate`), an older event
//! after a newer one (`reorder`), and a history forgotten (a restart that loses it).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use super::log::Published;
use super::HubGuard;
use crate::auth::UserId;
use crate::ws::send_queue::Delivery;

/// How many frames a fault queued, on how many sockets and topics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Redelivered {
    /// Frames queued.
    pub frames: usize,
    /// Distinct sockets that got at least one.
    pub sockets: usize,
    /// Topics that had something to send.
    pub topics: usize,
}

impl HubGuard<'_> {
    /// Sends the last `count` buffered events of every topic again to its current subscribers
    /// (of `user`, or all), as an at-least-once server would after a failover.
    pub fn redeliver(&mut self, count: usize, user: Option<UserId>) -> Redelivered {
        self.resend(user, |recent| {
            let skip = recent.len().saturating_sub(count);
            recent.iter().skip(skip).cloned().collect()
        })
    }

    /// For every topic with at least two buffered events, sends the one before the last again
    /// to its current subscribers (of `user`, or all): an older event after a newer one.
    pub fn reorder(&mut self, user: Option<UserId>) -> Redelivered {
        self.resend(user, |recent| match recent.len() {
            len if len >= 2 => recent.get(len - 2).cloned().into_iter().collect(),
            _ => Vec::new(),
        })
    }

    fn resend(
        &mut self,
        user: Option<UserId>,
        pick: impl Fn(&VecDeque<Arc<Published>>) -> Vec<Arc<Published>>,
    ) -> Redelivered {
        let mut done = Redelivered::default();
        let mut sockets = HashSet::new();
        for log in self.inner.topics.values() {
            let events = pick(&log.recent);
            let mut any = false;
            for queue in log.subscribers_of(user) {
                for event in &events {
                    if queue.deliver_event(event) != Delivery::Gone {
                        done.frames += 1;
                        any = true;
                        sockets.insert(queue.id());
                    }
                }
            }
            done.topics += usize::from(any);
        }
        done.sockets = sockets.len();
        done
    }

    /// Forgets every topic's history, as a server restarted without persistence would: every
    /// `seq` back to 0, the replay buffers emptied, a new publish-log epoch. Subscribers stay
    /// until their connections end. Returns how many topics had a history.
    pub fn lose_history(&mut self) -> usize {
        self.inner.epoch += 1;
        self.inner.forget_replay();
        let mut reset = 0;
        for log in self.inner.topics.values_mut() {
            reset += usize::from(log.seq > 0);
            log.seq = 0;
        }
        reset
    }
}
