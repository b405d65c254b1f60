//! The registry of open connections, so that shutdown (and a test server's faults) can reach
//! every one of them: close with a code, abort, go half-open, or inject a raw frame.

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::queue::{ConnId, SendQueue, UserKey};

/// Every open connection, by id.
#[derive(Debug)]
pub struct Registry {
    open: Mutex<HashMap<ConnId, SendQueue>>,
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

    /// Adds a connection.
    pub fn insert(&self, queue: SendQueue) {
        self.lock().insert(queue.id(), queue);
    }

    /// Removes a connection.
    pub fn remove(&self, id: ConnId) {
        self.lock().remove(&id);
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
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
        for queue in open.values().filter(|o| user.is_none_or(|u| o.user() == u)) {
            f(queue);
            hit += 1;
        }
        hit
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, SendQueue>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}
