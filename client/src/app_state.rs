//! `AppState`: the handle the app creates once and shares (an `Rc`, or Yew context). It holds the
//! app's one [`WsClientV2`] and its [`TopicManager`]. Views never open sockets; they register
//! handlers with `topics` and drop them when they unmount.

use std::rc::Rc;

use crate::client::WsClientV2;
use crate::topic_manager::TopicManager;

/// The app-wide real-time state.
pub struct AppState {
    /// The single socket.
    pub client: WsClientV2,
    /// Routes events to the views' handlers.
    pub topics: TopicManager,
}

impl AppState {
    /// Wraps a client (not yet connected) and gives it a topic manager.
    pub fn new(client: WsClientV2) -> Rc<AppState> {
        let topics = TopicManager::new(client.clone());
        Rc::new(AppState { client, topics })
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        self.client.close();
    }
}
