//! [`TabLink`]: the driver of a tab's own client when tabs share a socket. It keeps the
//! platform's clock, timer and end-of-tick flush, and replaces the socket with a virtual one:
//! frames go to the leader's hub over the tabs' channel, and what the hub says for this tab
//! comes back through the node to the client's [`DriverHandle`].

use crate::core::{Instant, SocketId};
use crate::driver::{DriverHandle, Io};
use crate::protocol::CloseCode;

/// The tab's end of the sharing, as its link sees it: where the virtual socket's frames go.
pub(super) trait LinkHost {
    /// The client opens its virtual socket.
    fn open(&self, socket: SocketId, driver: DriverHandle);
    /// The client sends a frame.
    fn send(&self, socket: SocketId, text: &str);
    /// The client closes its virtual socket.
    fn close(&self, socket: SocketId, code: CloseCode);
}

/// A tab client's driver: the platform's timers, and a virtual socket to the hub.
pub struct TabLink {
    pub(super) timers: Box<dyn Io>,
    pub(super) node: Box<dyn LinkHost>,
}

impl Io for TabLink {
    fn now(&self) -> Instant {
        self.timers.now()
    }

    fn open(&self, socket: SocketId, _url: &str, driver: &DriverHandle) {
        self.node.open(socket, driver.clone());
    }

    fn send(&self, socket: SocketId, text: &str) {
        self.node.send(socket, text);
    }

    fn close(&self, socket: SocketId, code: CloseCode, _reason: &str) {
        self.node.close(socket, code);
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
