//! The protocol state of one authenticated connection: who it is, the topics it holds and its
//! send queue. Replies go through the send queue like events, so they keep their order.

use std::collections::BTreeSet;

use tether_wire::{Control, Topic};

use crate::auth::UserId;
use crate::domain::wire;
use crate::state::ServerState;
use crate::ws::send_queue::SendQueue;

/// One connection's protocol state.
#[derive(Debug)]
pub struct Session {
    state: ServerState,
    queue: SendQueue,
    held: BTreeSet<Topic>,
}

impl Session {
    /// A session with no topics.
    pub fn new(state: ServerState, queue: SendQueue) -> Self {
        Session {
            state,
            queue,
            held: BTreeSet::new(),
        }
    }

    /// The shared state.
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// The connection's queue.
    pub fn queue(&self) -> &SendQueue {
        &self.queue
    }

    /// The user.
    pub fn user(&self) -> UserId {
        self.queue.user()
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
        self.state.hub.lock().leave(topic, self.queue.id());
        self.state.stats.subscriptions_changed(self.user(), -1);
        true
    }

    /// Whether the connection gets tether's extensions.
    pub fn extended(&self) -> bool {
        self.queue.extended()
    }

    /// Queues a connection-level reply, stamped with the current time.
    pub fn reply(&self, control: &Control, req_id: Option<String>) {
        self.queue
            .deliver_frame(wire::control_frame(control, req_id));
    }

    /// Leaves every held topic; called once the socket is gone.
    pub fn end(mut self) {
        let held = std::mem::take(&mut self.held);
        let mut hub = self.state.hub.lock();
        for topic in &held {
            hub.leave(topic, self.queue.id());
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
