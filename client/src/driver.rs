//! The driver's side of the client: the [`Io`] a driver implements (sockets, one timer, an
//! end-of-tick flush, the clock) and the [`DriverHandle`] through which it reports what
//! happened. Apps never see either: they hold a [`WsClientV2`].
//!
//! The browser's driver is `tether_client::web`, the tokio one `tether_client::native`; tests use a fake with a
//! manual clock. A driver gets a handle with every call that may need to report back later.

use std::rc::Weak;

use crate::client::{Shared, WsClientV2};
use crate::core::{Clock, Connection, Instant, SocketId};
use crate::protocol::CloseCode;

/// What a driver must be able to do. No call may synchronously call back into the client:
/// report through the handle later (a microtask, a task, a callback).
pub trait Io {
    /// The time now, in milliseconds since the Unix epoch.
    fn now(&self) -> Instant;
    /// Opens a socket to `url` (which carries the token: never log it) and reports its events
    /// through `driver`.
    fn open(&self, socket: SocketId, url: &str, driver: &DriverHandle);
    /// Sends a text frame on an open socket.
    fn send(&self, socket: SocketId, text: &str);
    /// Closes a socket and stops reporting its events.
    fn close(&self, socket: SocketId, code: CloseCode, reason: &str);
    /// Arms the single timer (replacing any armed one) or, with `None`, cancels it. When it
    /// fires, call [`DriverHandle::handle_timeout`].
    fn set_timer(&self, at: Option<Instant>, driver: &DriverHandle);
    /// Calls [`DriverHandle::handle_flush`] at the end of the current tick.
    fn schedule_flush(&self, driver: &DriverHandle);
    /// The resume record this tab stored last, if any (feature `resume`; the browser's is
    /// in `sessionStorage`). The default stores nothing.
    #[cfg(feature = "resume")]
    fn load_resume(&self) -> Option<String> {
        None
    }
    /// Stores the resume record, replacing the previous one (feature `resume`).
    #[cfg(feature = "resume")]
    fn store_resume(&self, _record: &str) {}
}

/// Reports a driver's events to its client. Weak: it does not keep the client alive, and every
/// call on a dropped client does nothing. The names match the core's `handle_*` inputs.
#[derive(Clone)]
pub struct DriverHandle(pub(crate) Weak<Shared>);

impl DriverHandle {
    fn drive(&self, f: impl FnOnce(&mut Connection, Instant)) {
        if let Some(shared) = self.0.upgrade() {
            WsClientV2 { shared }.drive(f);
        }
    }

    /// True while the client lives.
    pub fn is_alive(&self) -> bool {
        self.0.strong_count() > 0
    }

    /// A socket opened.
    pub fn handle_socket_opened(&self, socket: SocketId) {
        self.drive(|c, now| c.handle_socket_opened(socket, now));
    }

    /// A socket closed (1006 when it dropped without a close frame).
    pub fn handle_socket_closed(&self, socket: SocketId, code: CloseCode, reason: &str) {
        self.drive(|c, now| c.handle_socket_closed(socket, code, reason, now));
    }

    /// The server refused a socket's handshake with an HTTP status.
    pub fn handle_socket_refused(&self, socket: SocketId, status: u16) {
        self.drive(|c, now| c.handle_socket_refused(socket, status, now));
    }

    /// A socket reported an error.
    pub fn handle_socket_error(&self, socket: SocketId) {
        self.drive(|c, now| c.handle_socket_error(socket, now));
    }

    /// A frame arrived: the clock is read only if the core needs the time.
    fn drive_frame(&self, f: impl FnOnce(&mut Connection, Clock)) {
        if let Some(shared) = self.0.upgrade() {
            WsClientV2 { shared }.drive_frame(f);
        }
    }

    /// A text frame arrived.
    pub fn handle_socket_message(&self, socket: SocketId, text: &str) {
        self.drive_frame(|c, clock| c.handle_socket_message_clocked(socket, text, clock));
    }

    /// A text frame arrived that the driver owns: an event keeps it without a copy.
    pub fn handle_socket_text(&self, socket: SocketId, text: String) {
        self.drive_frame(|c, clock| c.handle_socket_text_clocked(socket, text, clock));
    }

    /// A binary frame arrived.
    pub fn handle_socket_binary(&self, socket: SocketId, bytes: &[u8]) {
        self.handle_socket_bytes(socket, bytes.to_vec());
    }

    /// A binary frame arrived that the driver owns: UTF-8 JSON text (a server's answer to
    /// `binary=1`) is kept by an event without a copy.
    pub fn handle_socket_bytes(&self, socket: SocketId, bytes: Vec<u8>) {
        self.drive_frame(|c, clock| c.handle_socket_bytes_clocked(socket, bytes, clock));
    }

    /// The armed timer fired.
    pub fn handle_timeout(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.armed.set(None);
            WsClientV2 { shared }.drive(|c, now| c.handle_timeout(now));
        }
    }

    /// The end of the tick a flush was scheduled in.
    pub fn handle_flush(&self) {
        self.drive(|c, now| c.handle_flush(now));
    }

    /// The browser went online.
    pub fn handle_online(&self) {
        self.drive(|c, now| c.handle_online(now));
    }

    /// The browser went offline.
    pub fn handle_offline(&self) {
        self.drive(|c, now| c.handle_offline(now));
    }

    /// The page became visible (`true`) or hidden.
    pub fn handle_visibility(&self, visible: bool) {
        self.drive(|c, now| c.handle_visibility(visible, now));
    }

    /// `pagehide`: the page may be unloading or entering the back/forward cache.
    pub fn handle_pagehide(&self) {
        #[cfg(feature = "resume")]
        self.drive(|c, now| c.handle_pagehide(now));
    }

    /// `pageshow`; `persisted` when restored from the back/forward cache.
    pub fn handle_pageshow(&self, persisted: bool) {
        self.drive(|c, now| c.handle_pageshow(persisted, now));
    }
}
