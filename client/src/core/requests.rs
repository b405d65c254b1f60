//! Requests in flight: matched to replies by `req_id`, failed by their deadline or by the loss
//! of the socket they were sent on. A request waiting in the outbox has no deadline here: the
//! outbox's own deadline covers it until it is sent.

use super::event::{RequestId, SocketId};
use super::time::Instant;

#[derive(Debug)]
struct Pending {
    id: RequestId,
    /// The reply is due by then (set when sent).
    deadline: Option<Instant>,
    sent_on: Option<SocketId>,
}

/// The table of requests waiting for a reply, oldest first (ids grow, so it stays sorted).
#[derive(Debug, Default)]
pub struct Requests {
    pending: Vec<Pending>,
    next: u64,
}

impl Requests {
    /// Registers a new request, not yet sent, and returns its id.
    pub fn start(&mut self) -> RequestId {
        self.next += 1;
        let id = RequestId(self.next);
        self.pending.push(Pending {
            id,
            deadline: None,
            sent_on: None,
        });
        id
    }

    /// The wire `req_id` of a request: `r` and its number.
    pub fn wire_id(id: RequestId) -> String {
        let mut wire = String::from("r");
        crate::protocol::json::push_u64(&mut wire, id.0);
        wire
    }

    /// Parses a wire `req_id` of this client's requests: `r` and a canonical decimal. Other ids
    /// (`p7` for pings, `s3` echoed by a server, `r01`) are not requests.
    pub fn parse_wire_id(req_id: &str) -> Option<RequestId> {
        let digits = req_id.strip_prefix('r')?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        canonical
            .then(|| digits.parse().ok().map(RequestId))
            .flatten()
    }

    /// Records that the request went out on `socket`; its reply is due by `deadline`.
    pub fn mark_sent(&mut self, id: RequestId, socket: SocketId, deadline: Instant) {
        if let Some(p) = self.find(id).and_then(|i| self.pending.get_mut(i)) {
            p.sent_on = Some(socket);
            p.deadline = Some(deadline);
        }
    }

    /// Removes a request; false if it is unknown (already finished).
    pub fn finish(&mut self, id: RequestId) -> bool {
        let Some(i) = self.find(id) else {
            return false;
        };
        self.pending.remove(i);
        true
    }

    /// Removes and returns the requests sent on `socket`.
    pub fn lost_with(&mut self, socket: SocketId) -> Vec<RequestId> {
        self.take_where(|p| p.sent_on == Some(socket))
    }

    /// Removes and returns the sent requests whose reply is overdue.
    pub fn expired(&mut self, now: Instant) -> Vec<RequestId> {
        self.take_where(|p| p.deadline.is_some_and(|d| d <= now))
    }

    /// Removes and returns every request.
    pub fn take_all(&mut self) -> Vec<RequestId> {
        self.take_where(|_| true)
    }

    /// The earliest reply deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().filter_map(|p| p.deadline).min()
    }

    /// How many requests wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True if none wait.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn find(&self, id: RequestId) -> Option<usize> {
        self.pending.binary_search_by_key(&id, |p| p.id).ok()
    }

    fn take_where(&mut self, pred: impl Fn(&Pending) -> bool) -> Vec<RequestId> {
        let mut taken = Vec::new();
        self.pending.retain(|p| {
            let take = pred(p);
            if take {
                taken.push(p.id);
            }
            !take
        });
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_r_ids_are_requests() {
        assert_eq!(Requests::parse_wire_id("r12"), Some(RequestId(12)));
        for other in [
            "p12",
            "s1",
            "r",
            "r01",
            "r-1",
            "r1x",
            "",
            "R1",
            "r99999999999999999999",
        ] {
            assert_eq!(Requests::parse_wire_id(other), None, "{other:?}");
        }
        assert_eq!(Requests::wire_id(RequestId(7)), "r7");
    }

    #[test]
    fn a_request_finishes_once_and_times_out_only_after_it_was_sent() {
        let mut r = Requests::default();
        let (a, b) = (r.start(), r.start());
        assert_ne!(a, b);
        assert_eq!(
            r.next_deadline(),
            None,
            "queued requests have no reply deadline"
        );
        r.mark_sent(a, SocketId(1), Instant(100));
        assert_eq!(r.expired(Instant(99)), []);
        assert_eq!(r.expired(Instant(100)), [a]);
        assert!(!r.finish(a), "an expired request cannot finish again");
        r.mark_sent(b, SocketId(2), Instant(500));
        assert_eq!(r.lost_with(SocketId(1)), []);
        assert_eq!(r.lost_with(SocketId(2)), [b]);
        assert!(r.is_empty());
    }
}
