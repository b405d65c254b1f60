//! Off the browser (host `cargo check` and `cargo doc`, Yew's server-side rendering),
//! [`AppState::connect`] builds its client on an inert driver: it never opens a socket, arms no
//! timer, and the client stays `Idle`. The hooks then render their empty state. For a real
//! native client, use `tether_client::native` (feature `native`).

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::{Config, Instant, SocketId};
use crate::driver::{DriverHandle, Io};
use crate::protocol::CloseCode;
use crate::AppState;

/// A driver that does nothing.
struct InertIo;

impl Io for InertIo {
    fn now(&self) -> Instant {
        Instant(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        )
    }
    fn open(&self, _: SocketId, _: &str, _: &DriverHandle) {}
    fn send(&self, _: SocketId, _: &str) {}
    fn close(&self, _: SocketId, _: CloseCode, _: &str) {}
    fn set_timer(&self, _: Option<Instant>, _: &DriverHandle) {}
    fn schedule_flush(&self, _: &DriverHandle) {}
}

impl AppState {
    /// Off wasm32: an inert state that never connects (see the module docs). In the browser
    /// this opens the app's socket at once.
    pub fn connect(config: Config) -> Rc<AppState> {
        AppState::with_io(config, 0, Box::new(InertIo)).0
    }
}
