//! `use_owned`: somewhere for a hook to keep what it registered (a subscription, a listener, a
//! manager) so that it is released when the component is, even if an effect runs after the
//! component is gone or its clean-up never runs (a view unmounted in the tick it mounted).
//!
//! The component's hook state holds the only strong reference; effects and callbacks get an
//! [`Owned`] handle, which is weak: an effect that runs late stores nothing.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use yew::prelude::*;

/// A weak handle to a hook-owned slot.
pub(crate) struct Owned<T>(Weak<RefCell<Option<T>>>);

impl<T> Clone for Owned<T> {
    fn clone(&self) -> Self {
        Owned(self.0.clone())
    }
}

impl<T> Owned<T> {
    /// Stores what `make` builds, if the component is still alive.
    pub(crate) fn set(&self, make: impl FnOnce() -> T) {
        if let Some(slot) = self.0.upgrade() {
            let value = make();
            let old = slot.borrow_mut().replace(value);
            drop(old); // after the borrow: dropping may call back into the client
        }
    }

    /// Releases what is stored.
    pub(crate) fn clear(&self) {
        if let Some(slot) = self.0.upgrade() {
            let old = slot.borrow_mut().take();
            drop(old);
        }
    }

    /// Runs `f` on what is stored, if anything.
    #[cfg_attr(not(feature = "agents"), allow(dead_code))]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let slot = self.0.upgrade()?;
        let borrowed = slot.borrow();
        borrowed.as_ref().map(f)
    }
}

/// A slot owned by the calling component.
#[hook]
pub(crate) fn use_owned<T: 'static>() -> Owned<T> {
    let slot: Rc<RefCell<Option<T>>> = use_mut_ref(|| None);
    Owned(Rc::downgrade(&slot))
}
