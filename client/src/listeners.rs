//! A list of callbacks that may be added to and removed from while it is being notified.
//!
//! Notifying copies the current list first and checks each entry's `alive` flag just before
//! calling it, so a callback removed during notification is not called after its removal, and
//! one added during notification is first called for the next notification. Nothing is
//! borrowed while a callback runs.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::core::vec_edit::remove_at;

/// One registered callback.
struct Entry<A: ?Sized> {
    id: u64,
    alive: Rc<Cell<bool>>,
    callback: Rc<dyn Fn(&A)>,
}

impl<A: ?Sized> Clone for Entry<A> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            alive: self.alive.clone(),
            callback: self.callback.clone(),
        }
    }
}

/// Callbacks taking `&A`.
pub(crate) struct Listeners<A: ?Sized> {
    entries: RefCell<Vec<Entry<A>>>,
    next_id: Cell<u64>,
}

impl<A: ?Sized> Default for Listeners<A> {
    fn default() -> Self {
        Listeners {
            entries: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
        }
    }
}

impl<A: ?Sized> Listeners<A> {
    /// Adds a callback; returns its id for [`Listeners::remove`].
    pub(crate) fn add(&self, callback: Rc<dyn Fn(&A)>) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.entries.borrow_mut().push(Entry {
            id,
            alive: Rc::new(Cell::new(true)),
            callback,
        });
        id
    }

    /// Removes a callback. Returns false if it was already gone.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries
            .iter()
            .position(|e| e.id == id)
            .and_then(|pos| remove_at(&mut entries, pos))
        else {
            return false;
        };
        entry.alive.set(false);
        true
    }

    /// Calls every callback registered now and still registered when its turn comes.
    pub(crate) fn notify(&self, arg: &A) {
        let snapshot: Vec<Entry<A>> = self.entries.borrow().clone();
        for entry in snapshot {
            if entry.alive.get() {
                (entry.callback)(arg);
            }
        }
    }

    /// How many callbacks are registered.
    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }
}

/// Removes a callback when dropped. Returned by `on_state_change` and `on_error`.
#[must_use = "the callback is removed when this guard is dropped"]
pub struct ListenerGuard {
    remove: Option<Box<dyn FnOnce()>>,
}

impl ListenerGuard {
    pub(crate) fn new(remove: impl FnOnce() + 'static) -> ListenerGuard {
        ListenerGuard {
            remove: Some(Box::new(remove)),
        }
    }
}

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        if let Some(remove) = self.remove.take() {
            remove();
        }
    }
}

impl std::fmt::Debug for ListenerGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenerGuard")
    }
}
