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
