//! `AppState`: the handle the app creates once and shares (an `Rc`, or Yew context through
//! `hooks::WsProvider`). It holds the app's one [`WsClientV2`] and its [`TopicManager`]. Views
//! never open sockets; they register handlers with `topics` and drop them when they unmount.
//!
//! An `AppState` is the only way to get a client, and it creates the client's one topic
//! manager, so no second manager can take a client's events.

use std::rc::Rc;

use crate::client::WsClientV2;
use crate::core::Config;
use crate::driver::{DriverHandle, Io};
use crate::topic_manager::TopicManager;

/// The app-wide real-time state.
pub struct AppState {
    /// The single socket.
    pub client: WsClientV2,
    /// Routes events to the views' handlers.
    pub topics: TopicManager,
}

impl AppState {
    /// A state whose client (not yet connected) runs on the driver `io`; `seed` feeds the
    /// backoff jitter. Returns the handle the driver reports through. For custom drivers and
    /// tests; apps call [`AppState::connect`].
    pub fn with_io(config: Config, seed: u64, io: Box<dyn Io>) -> (Rc<AppState>, DriverHandle) {
        let client = WsClientV2::new(config, seed, io);
        let handle = client.driver_handle();
        let topics = TopicManager::new(client.clone());
        (Rc::new(AppState { client, topics }), handle)
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.client.close();
    }
}
