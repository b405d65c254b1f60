//! The registry of open connections, so that shutdown (and a test server's faults) can reach
//! every one of them: close with a code, abort, go half-open, or inject a raw frame. It counts
//! each user's connections too, and admits a new one only within the per-user cap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tungstenite::Utf8Bytes;

use super::queue::{ConnId, SendQueue, UserKey};

/// The open connections, by id, and how many each user has.
#[derive(Debug, Default)]
struct Open {
    by_id: HashMap<ConnId, SendQueue>,
    per_user: HashMap<UserKey, usize>,
}

/// Every open connection, by id.
#[derive(Debug)]
pub struct Registry {
    open: Mutex<Open>,
    next_id: AtomicU64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            open: Mutex::default(),
            next_id: AtomicU64::new(1),
        }
    }
}

impl Registry {
    /// A fresh connection id.
    pub fn next_id(&self) -> ConnId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a connection if its user has fewer than `max_per_user`; false if not.
    pub fn insert_within(&self, queue: SendQueue, max_per_user: usize) -> bool {
        let mut open = self.lock();
        let of_user = open.per_user.entry(queue.user().clone()).or_default();
        if *of_user >= max_per_user.max(1) {
            if *of_user == 0 {
                open.per_user.remove(queue.user());
            }
            return false;
        }
        *of_user += 1;
        open.by_id.insert(queue.id(), queue);
        true
    }

    /// Removes a connection.
    pub fn remove(&self, id: ConnId) {
        let mut open = self.lock();
        let Some(queue) = open.by_id.remove(&id) else {
            return;
        };
        if let Some(n) = open.per_user.get_mut(queue.user()) {
            *n -= 1;
            if *n == 0 {
                open.per_user.remove(queue.user());
            }
        }
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    /// How many connections `user` has.
    pub fn count_of(&self, user: &UserKey) -> usize {
        self.lock().per_user.get(user).copied().unwrap_or(0)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks every connection to close with `code`; returns how many were asked.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        self.close(None, code, reason)
    }

    /// Asks the connections of `user` (or all) to close with `code`; returns how many.
    pub fn close(&self, user: Option<&UserKey>, code: u16, reason: &str) -> usize {
        self.for_each(user, |o| {
            o.signal().close(code, reason);
        })
    }

    /// Drops the connections of `user` (or all) without a close frame; returns how many.
    pub fn abort(&self, user: Option<&UserKey>) -> usize {
        self.for_each(user, |o| {
            o.signal().abort();
        })
    }

    /// Makes the connections of `user` (or all) half-open; returns how many.
    pub fn half_open(&self, user: Option<&UserKey>) -> usize {
        self.for_each(user, |o| o.signal().go_half_open())
    }

    /// Queues a raw text frame on the connections of `user` (or all); returns how many.
    pub fn send(&self, user: Option<&UserKey>, text: &Utf8Bytes) -> usize {
        self.for_each(user, |o| {
            o.deliver_frame(text.clone());
        })
    }

    fn for_each(&self, user: Option<&UserKey>, f: impl Fn(&SendQueue)) -> usize {
        let open = self.lock();
        let mut hit = 0;
        for queue in open
            .by_id
            .values()
            .filter(|o| user.is_none_or(|u| o.user() == u))
        {
            f(queue);
            hit += 1;
        }
        hit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{Ending, Outbound, Stats};
    use std::sync::Arc;

    fn queue(reg: &Registry, user: &str) -> (SendQueue, tokio::sync::mpsc::Receiver<Outbound>) {
        let stats = Arc::new(Stats::default());
        SendQueue::new(
            reg.next_id(),
            UserKey::from(user),
            (8, 1 << 16),
            true,
            stats,
        )
    }

    #[test]
    fn ids_are_distinct_from_one_and_each_user_is_capped() {
        let reg = Registry::default();
        let (a1, _r1) = queue(&reg, "a");
        let (a2, _r2) = queue(&reg, "a");
        let (b1, _r3) = queue(&reg, "b");
        assert_eq!((a1.id(), a2.id(), b1.id()), (1, 2, 3));
        assert!(reg.is_empty());
        assert!(reg.insert_within(a1.clone(), 1));
        assert!(
            !reg.insert_within(a2.clone(), 1),
            "a's second is over its cap"
        );
        assert!(reg.insert_within(b1, 1), "b has a cap of its own");
        assert_eq!((reg.len(), reg.count_of(&UserKey::from("a"))), (2, 1));
        assert!(!reg.is_empty());
        reg.remove(a1.id());
        reg.remove(a1.id());
        assert_eq!(reg.count_of(&UserKey::from("a")), 0, "removed once");
        assert!(reg.insert_within(a2, 1), "the cap counts what is open");
        assert_eq!(reg.len(), 2);
        let (c, _r4) = queue(&reg, "c");
        assert!(reg.insert_within(c, 0), "a cap of 0 is a cap of 1");
    }

    #[test]
    fn a_user_with_none_open_leaves_no_entry_behind() {
        let reg = Registry::default();
        let (a, _r) = queue(&reg, "a");
        let (b, _s) = queue(&reg, "b");
        assert!(reg.insert_within(a, 1) && reg.insert_within(b, 1));
        reg.remove(1);
        assert_eq!(reg.count_of(&UserKey::from("a")), 0);
        assert_eq!(
            reg.count_of(&UserKey::from("b")),
            1,
            "only a's count went down"
        );
        let users: Vec<UserKey> = reg.lock().per_user.keys().cloned().collect();
        assert_eq!(
            users,
            [UserKey::from("b")],
            "no entry for a user with none open"
        );
    }

    #[test]
    fn closing_sending_and_half_opening_reach_the_user_asked_or_all() {
        let reg = Registry::default();
        let (a, mut a_rx) = queue(&reg, "a");
        let (b, mut b_rx) = queue(&reg, "b");
        for q in [&a, &b] {
            assert!(reg.insert_within(q.clone(), 4));
        }
        let user_a = UserKey::from("a");
        assert_eq!(reg.send(Some(&user_a), &Utf8Bytes::from("x")), 1);
        assert!(a_rx.try_recv().is_ok() && b_rx.try_recv().is_err());
        assert_eq!(reg.send(None, &Utf8Bytes::from("y")), 2);
        assert!(a_rx.try_recv().is_ok() && b_rx.try_recv().is_ok());
        assert_eq!(reg.half_open(Some(&user_a)), 1);
        assert!(a.signal().is_half_open() && !b.signal().is_half_open());
        assert_eq!(reg.abort(Some(&user_a)), 1);
        assert_eq!(a.signal().ending(), Some(Ending::Abort));
        assert_eq!(b.signal().ending(), None);
        assert_eq!(reg.close_all(4000, "bye"), 2);
        let closed = Ending::Close {
            code: 4000,
            reason: "bye".into(),
        };
        assert_eq!(b.signal().ending(), Some(closed));
        assert_eq!(reg.close(Some(&UserKey::from("z")), 4000, "none"), 0);
    }
}
