//! The protocol state of one authenticated connection: who it is, the topics it holds and its
//! outbox. Replies are queued on the outbox like events, so they keep their order.

use std::collections::BTreeSet;

use tether::protocol::{Control, Topic};

use crate::auth::UserId;
use crate::outbox::Outbox;
use crate::state::AppState;
use crate::wire;

/// One connection's protocol state.
#[derive(Debug)]
pub struct Session {
    state: AppState,
    outbox: Outbox,
    held: BTreeSet<Topic>,
}

impl Session {
    /// A session with no topics.
    pub fn new(state: AppState, outbox: Outbox) -> Self {
        Session {
            state,
            outbox,
            held: BTreeSet::new(),
        }
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The connection's outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The user.
    pub fn user(&self) -> UserId {
        self.outbox.user()
    }

    /// The topics held.
    pub fn held(&self) -> &BTreeSet<Topic> {
        &self.held
    }

    /// Records topics as held; returns how many were new.
    pub fn hold(&mut self, topics: impl IntoIterator<Item = Topic>) -> usize {
        let added = topics
            .into_iter()
            .filter(|t| self.held.insert(t.clone()))
            .count();
        self.state
            .stats
            .subscriptions_changed(self.user(), to_delta(added));
        added
    }

    /// Forgets a held topic and leaves it in the hub; false if it was not held.
    pub fn release(&mut self, topic: &Topic) -> bool {
        if !self.held.remove(topic) {
            return false;
        }
        self.state.hub.lock().leave(topic, self.outbox.id());
        self.state.stats.subscriptions_changed(self.user(), -1);
        true
    }

    /// Whether the connection gets tether's extensions.
    pub fn extended(&self) -> bool {
        self.outbox.extended()
    }

    /// Queues a connection-level reply, stamped with the current time.
    pub fn reply(&self, control: &Control, req_id: Option<String>) {
        self.outbox
            .deliver_frame(wire::control_frame(control, req_id));
    }

    /// Leaves every held topic; called once the socket is gone.
    pub fn end(mut self) {
        let held = std::mem::take(&mut self.held);
        let mut hub = self.state.hub.lock();
        for topic in &held {
            hub.leave(topic, self.outbox.id());
        }
        drop(hub);
        self.state
            .stats
            .subscriptions_changed(self.user(), -to_delta(held.len()));
    }
}

fn to_delta(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
