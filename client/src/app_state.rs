//! `AppState`: the handle the app creates once and shares (an `Rc`, or Yew context through
//! `hooks::WsProvider`). It holds the app's one [`WsClientV2`] and its [`TopicManager`]. Views
//! never open sockets; they register handlers with `topics` and drop them when they unmount.
//!
//! An `AppState` is the only way to get a client, and it creates the client's one topic
//! manager, so no second manager can take a client's events.

#[cfg(feature = "tabs")]
use std::cell::RefCell;

#[cfg(all(feature = "tabs", target_arch = "wasm32"))]
use crate::tabs::TabEnd;
use std::rc::Rc;

use crate::client::WsClientV2;
use crate::core::{Config, ConnectionState, Metrics};
use crate::driver::{DriverHandle, Io};
use crate::listeners::ListenerGuard;
use crate::topic_manager::TopicManager;

/// The app-wide real-time state.
pub struct AppState {
    /// The single socket (with sharing across tabs, this tab's link to the shared one).
    pub client: WsClientV2,
    /// Routes events to the views' handlers.
    pub topics: TopicManager,
    /// This tab's end of the sharing, when tabs share one socket.
    #[cfg(feature = "tabs")]
    pub(crate) tab: RefCell<Option<Rc<crate::tabs::TabHandle>>>,
}

impl AppState {
    /// A state whose client (not yet connected) runs on the driver `io`; `seed` feeds the
    /// backoff jitter. Returns the handle the driver reports through. For custom drivers and
    /// tests; apps call [`AppState::connect`].
    pub fn with_io(config: Config, seed: u64, io: Box<dyn Io>) -> (Rc<AppState>, DriverHandle) {
        let client = WsClientV2::new(config, seed, io);
        let handle = client.driver_handle();
        let topics = TopicManager::new(client.clone());
        let state = AppState {
            client,
            topics,
            #[cfg(feature = "tabs")]
            tab: RefCell::new(None),
        };
        (Rc::new(state), handle)
    }

    /// With sharing across tabs, this tab's part, the shared state and how many tabs share;
    /// `None` when this tab has its own socket. Feature `tabs`.
    #[cfg(feature = "tabs")]
    pub fn sharing(&self) -> Option<crate::tabs::Sharing> {
        self.tab.borrow().as_ref().map(|node| node.sharing())
    }

    /// The connection's state: the shared socket's, when tabs share one (this tab's link to
    /// the leader follows it), else this client's. Never `Open` while this tab's own link is
    /// down (a leader that vanished leaves its last status behind).
    pub fn state(&self) -> ConnectionState {
        let own = self.client.state();
        #[cfg(feature = "tabs")]
        if let Some(sharing) = self.sharing() {
            return if sharing.state.is_open() && !own.is_open() {
                own
            } else {
                sharing.state
            };
        }
        own
    }

    /// The client's health snapshot. When tabs share one socket, the state, replay, RTT,
    /// reconnects and failed attempts are the shared socket's (as its leader last said); the
    /// other counters and the subscriptions stay this tab's own.
    pub fn metrics(&self) -> Metrics {
        #[cfg_attr(not(feature = "tabs"), allow(unused_mut))]
        let mut metrics = self.client.metrics();
        #[cfg(feature = "tabs")]
        if let Some(sharing) = self.sharing() {
            metrics.state = self.state();
            metrics.replay = sharing.replay;
            metrics.rtt = sharing.health.rtt;
            metrics.counters.reconnects = sharing.health.reconnects;
            metrics.counters.unproven_sockets = sharing.health.failed_attempts;
        }
        metrics
    }

    /// Calls `callback` with [`AppState::state`] whenever it may have changed, until the guard
    /// drops.
    pub fn on_state_change(
        self: &Rc<Self>,
        callback: impl Fn(&ConnectionState) + 'static,
    ) -> ListenerGuard {
        #[cfg(not(feature = "tabs"))]
        return self.client.on_state_change(callback);
        #[cfg(feature = "tabs")]
        {
            let callback: Rc<dyn Fn(&ConnectionState)> = Rc::new(callback);
            let weak = Rc::downgrade(self);
            let report = move || {
                if let Some(app) = weak.upgrade() {
                    callback(&app.state());
                }
            };
            let own = {
                let report = report.clone();
                self.client.on_state_change(move |_| report())
            };
            let node = self.tab.borrow().clone();
            let shared = node.map(|node| {
                let id = node
                    .changes()
                    .add(Rc::new(move |_: &crate::tabs::Sharing| report()));
                let node = Rc::downgrade(&node);
                ListenerGuard::new(move || {
                    if let Some(node) = node.upgrade() {
                        node.changes().remove(id);
                    }
                })
            });
            ListenerGuard::new(move || drop((own, shared)))
        }
    }

    /// Replaces the socket now ("Retry now"): the shared one, when tabs share.
    pub fn retry_now(&self) {
        #[cfg(feature = "tabs")]
        {
            let node = self.tab.borrow().clone();
            if let Some(node) = node {
                node.reconnect_shared();
            }
        }
        self.client.reconnect();
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.client.close();
        #[cfg(feature = "tabs")]
        if let Some(node) = self.tab.get_mut().take() {
            node.leave();
        }
    }
}
