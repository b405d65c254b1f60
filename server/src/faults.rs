//! Faults a test server injects (feature `faults`; production builds leave it out): sockets
//! dropped, closed with a code, made half-open or sent a raw frame; recent events sent again
//! (`duplicate`) or an older one after a newer one (`reorder`), as an at-least-once server
//! would after a failover; new connections refused for a while; and the history lost, as a
//! store restarted without its data. Each aims at one user's sockets, or at all.

use std::sync::Arc;
use std::time::Duration;
use tungstenite::Utf8Bytes;

use crate::broker::BrokerError;
use crate::delivery::UserKey;
use crate::hub::{Publication, Redelivered};
use crate::server::Core;

/// A test server's reach into a [`crate::TetherServer`].
#[derive(Clone)]
pub struct Faults {
    core: Arc<Core>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Faults {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Faults { core }
    }

    /// Drops the sockets of `user` (or all) without a close frame; returns how many.
    pub fn drop_sockets(&self, user: Option<&UserKey>) -> usize {
        self.core.sockets.registry.abort(user)
    }

    /// Closes the sockets of `user` (or all) with `code` and `reason`; returns how many.
    pub fn close(&self, user: Option<&UserKey>, code: u16, reason: &str) -> usize {
        self.core.sockets.registry.close(user, code, reason)
    }

    /// Makes the sockets of `user` (or all) half-open: they send nothing more and enforce no
    /// idle timeout, as a stalled peer would; returns how many.
    pub fn half_open(&self, user: Option<&UserKey>) -> usize {
        self.core.sockets.registry.half_open(user)
    }

    /// Queues a raw text frame on the sockets of `user` (or all); returns how many.
    pub fn send_raw(&self, user: Option<&UserKey>, text: &str) -> usize {
        self.core
            .sockets
            .registry
            .send(user, &Utf8Bytes::from(text))
    }

    /// Sends the last `count` kept events of every topic again to its subscribers (of `user`,
    /// or all), `seq`s unchanged.
    pub async fn redeliver(&self, count: usize, user: Option<&UserKey>) -> Redelivered {
        let mut again = Vec::new();
        for topic in self.core.hub.topics_of(user) {
            let kept = self.kept(&topic, count).await;
            again.extend(kept);
        }
        self.core.hub.resend(&again, user)
    }

    /// For every topic with at least two kept events, sends the one before the last again to
    /// its subscribers (of `user`, or all): an older event after a newer one.
    pub async fn reorder(&self, user: Option<&UserKey>) -> Redelivered {
        let mut again = Vec::new();
        for topic in self.core.hub.topics_of(user) {
            let kept = self.kept(&topic, 2).await;
            if let [before_last, _] = kept.as_slice() {
                again.push(before_last.clone());
            }
        }
        self.core.hub.resend(&again, user)
    }

    /// The last `count` kept events of `topic` (fewer if fewer are kept), oldest first.
    async fn kept(&self, topic: &tether_wire::Topic, count: usize) -> Vec<Arc<Publication>> {
        let broker = &self.core.broker;
        let Ok(now) = broker.history(topic.clone(), None).await else {
            return Vec::new();
        };
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        let since = now.position.offset.saturating_sub(count);
        let Ok(history) = broker.history(topic.clone(), Some(since)).await else {
            return Vec::new();
        };
        let mut kept = history.publications;
        let newer = kept
            .len()
            .saturating_sub(usize::try_from(count).unwrap_or(usize::MAX));
        kept.split_off(newer)
    }

    /// Refuses new upgrades (503) for `duration` from now, extending any earlier refusal.
    pub fn refuse_for(&self, duration: Duration) {
        self.core.sockets.admission.refuse_for(duration);
    }

    /// Ends a refusal now.
    pub fn admit_now(&self) {
        self.core.sockets.admission.admit_now();
    }

    /// Makes the broker forget every topic's stream (see
    /// [`Broker::lose_history`](crate::broker::Broker::lose_history)); returns how many topics
    /// had one.
    pub async fn lose_history(&self) -> Result<usize, BrokerError> {
        self.core.broker.lose_history().await
    }
}
