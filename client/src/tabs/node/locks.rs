//! The locks, for the node's shell: asking for (or stealing) the leadership lock, starting the
//! hub when it is granted, and each tab's own lock, which tells the leader a tab is gone.

use super::{NodeCore, NodeHost, TabNode};
use crate::tabs::hub::Hub;
use crate::tabs::platform::{Lock, Platform};
use crate::tabs::wire::TabId;

impl<P: Platform + 'static> TabNode<P> {
    /// Asks for the leadership lock (dropping any earlier request first); with `steal`, takes
    /// it from a leader that has gone silent.
    pub(super) fn ask_to_lead(&self, steal: bool) {
        drop(self.lock.take());
        let lock = self.platform.lock(&self.name);
        let granted = self.me.clone();
        let granted: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(node) = granted.upgrade() {
                node.input(NodeCore::handle_granted);
            }
        });
        let stolen = self.me.clone();
        let stolen: Box<dyn FnOnce()> = Box::new(move || {
            if let Some(node) = stolen.upgrade() {
                node.input(NodeCore::handle_stolen);
            }
        });
        if steal {
            lock.steal(granted, stolen);
        } else {
            lock.request(granted, stolen);
        }
        self.lock.set(Some(lock));
    }

    /// Opens the real socket, in a hub: this tab leads.
    pub(super) fn lead(&self) {
        let mut config = self.settings.settings();
        config.share = None;
        config.relay_replies = true;
        // The tabs' own clients resume, each from its storage; the hub's never does.
        #[cfg(feature = "resume")]
        {
            config.resume = None;
        }
        let token = self.token.clone();
        config.token = Box::new(move || (token.borrow_mut())());
        let upstream = self.platform.real_client(config);
        let hub = Hub::start(self.id, Box::new(NodeHost(self.me.clone())), upstream);
        self.hub.set(Some(hub));
    }

    /// Waits on `tab`'s own lock: `gone` runs (later, not inside the grant) once the browser
    /// gives it to this tab, which means `tab` closed or crashed. Drop the lock to stop
    /// waiting (and to release it once granted).
    pub(super) fn watch_tab(&self, tab: TabId, gone: Box<dyn FnOnce()>) -> Box<dyn Lock> {
        let lock = self.platform.lock(&alive_lock(&self.name, tab));
        let platform = self.platform.clone();
        lock.request(Box::new(move || platform.defer(gone)), Box::new(|| {}));
        lock
    }
}

/// The name of tab `tab`'s own lock.
pub(super) fn alive_lock(name: &str, tab: TabId) -> String {
    let mut lock = [name, ":tab:"].concat();
    crate::protocol::json::push_u64(&mut lock, tab);
    lock
}

/// A lock never granted (the node has gone).
pub(super) struct NoLock;

impl Lock for NoLock {
    fn request(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
    fn steal(&self, _: Box<dyn FnOnce()>, _: Box<dyn FnOnce()>) {}
}
