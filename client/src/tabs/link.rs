//! [`TabLink`]: the driver of a tab's own client when tabs share a socket. It keeps the
//! platform's clock, timer and end-of-tick flush, and replaces the socket with a virtual one:
//! frames go to the leader's hub over the tabs' channel, and what the hub says for this tab
//! comes back through the node to the client's [`DriverHandle`].

use std::rc::Weak;

use super::node::TabNode;
use crate::core::{Instant, SocketId};
use crate::driver::{DriverHandle, Io};
use crate::protocol::CloseCode;

/// A tab client's driver: the platform's timers, and a virtual socket to the hub.
pub struct TabLink {
    pub(super) timers: Box<dyn Io>,
    pub(super) node: Weak<TabNode>,
}

impl Io for TabLink {
    fn now(&self) -> Instant {
        self.timers.now()
    }

    fn open(&self, socket: SocketId, _url: &str, driver: &DriverHandle) {
        if let Some(node) = self.node.upgrade() {
            node.open_virtual(socket, driver.clone());
        }
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some(node) = self.node.upgrade() {
            node.send_virtual(socket, text);
        }
    }

    fn close(&self, socket: SocketId, code: CloseCode, _reason: &str) {
        if let Some(node) = self.node.upgrade() {
            node.close_virtual(socket, code);
        }
    }

    fn set_timer(&self, at: Option<Instant>, driver: &DriverHandle) {
        self.timers.set_timer(at, driver);
    }

    fn schedule_flush(&self, driver: &DriverHandle) {
        self.timers.schedule_flush(driver);
    }

    /// The tab's own storage: each tab resumes its own topics, through the hub.
    #[cfg(feature = "resume")]
    fn load_resume(&self) -> Option<String> {
        self.timers.load_resume()
    }

    #[cfg(feature = "resume")]
    fn store_resume(&self, record: &str) {
        self.timers.store_resume(record);
    }
}
