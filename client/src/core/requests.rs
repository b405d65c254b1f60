//! Requests in flight: matched to replies by `req_id`, failed by timeout or by the loss of the
//! socket they were sent on.

use std::collections::BTreeMap;

use super::event::{RequestId, SocketId};
use super::time::Instant;

#[derive(Debug)]
struct Pending {
    deadline: Instant,
    sent_on: Option<SocketId>,
}

/// The table of requests waiting for a reply.
#[derive(Debug, Default)]
pub struct Requests {
    pending: BTreeMap<RequestId, Pending>,
    next: u64,
}

impl Requests {
    /// Registers a new request and returns its id.
    pub fn start(&mut self, deadline: Instant) -> RequestId {
        self.next += 1;
        let id = RequestId(self.next);
        self.pending.insert(
            id,
            Pending {
                deadline,
                sent_on: None,
            },
        );
        id
    }

    /// The wire `req_id` of a request.
    pub fn wire_id(id: RequestId) -> String {
        format!("r{}", id.0)
    }

    /// Parses a wire `req_id` back into a request id.
    pub fn parse_wire_id(req_id: &str) -> Option<RequestId> {
        req_id.strip_prefix('r')?.parse().ok().map(RequestId)
    }

    /// Records that the request went out on `socket`.
    pub fn mark_sent(&mut self, id: RequestId, socket: SocketId) {
        if let Some(p) = self.pending.get_mut(&id) {
            p.sent_on = Some(socket);
        }
    }

    /// Removes a request that got its reply; false if it is unknown (already done).
    pub fn finish(&mut self, id: RequestId) -> bool {
        self.pending.remove(&id).is_some()
    }

    /// Removes and returns the requests sent on `socket`.
    pub fn lost_with(&mut self, socket: SocketId) -> Vec<RequestId> {
        self.take_where(|p| p.sent_on == Some(socket))
    }

    /// Removes and returns the requests whose deadline passed.
    pub fn expired(&mut self, now: Instant) -> Vec<RequestId> {
        self.take_where(|p| p.deadline <= now)
    }

    /// Removes and returns every request.
    pub fn take_all(&mut self) -> Vec<RequestId> {
        self.take_where(|_| true)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// How many requests wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True if none wait.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn take_where(&mut self, pred: impl Fn(&Pending) -> bool) -> Vec<RequestId> {
        let ids: Vec<RequestId> = self
            .pending
            .iter()
            .filter(|(_, p)| pred(p))
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.pending.remove(id);
        }
        ids
    }
}
