//! [`PageIo`]: a driver with no socket and no timers, for measuring the client in the page.
//! It remembers what the client opened and sent; the measurement feeds frames through the
//! client's `DriverHandle` itself. The clock is the page's (`Date.now()`), as the browser
//! driver's is, so that reading it costs what it costs there.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use tether_client::core::SocketId;
use tether_client::driver::{DriverHandle, Io};
use tether_client::protocol::CloseCode;
use tether_client::Instant;

/// A driver with no socket. Timers never fire.
#[derive(Default)]
pub struct PageIo {
    /// The socket the client opened, once it has.
    pub opened: Rc<Cell<Option<SocketId>>>,
    /// Every frame the client sent, in order.
    pub sent: Rc<RefCell<Vec<String>>>,
}

impl Io for PageIo {
    fn now(&self) -> Instant {
        Instant(js_sys::Date::now() as u64)
    }
    fn open(&self, socket: SocketId, _url: &str, _driver: &DriverHandle) {
        self.opened.set(Some(socket));
    }
    fn send(&self, _socket: SocketId, text: &str) {
        self.sent.borrow_mut().push(text.to_owned());
    }
    fn close(&self, _socket: SocketId, _code: CloseCode, _reason: &str) {}
    fn set_timer(&self, _at: Option<Instant>, _driver: &DriverHandle) {}
    fn schedule_flush(&self, _driver: &DriverHandle) {}
}
