//! The browser driver (wasm32 only): runs the client on `web_sys::WebSocket`, one gloo-timers
//! `Timeout`, a microtask for end-of-tick flushes (`later`), and the window's `online`,
//! `offline`, `pageshow` and the document's `visibilitychange` listeners. With feature
//! `resume`, it keeps the resume record in `sessionStorage` (under [`RESUME_STORAGE_KEY`]) and
//! writes it on `pagehide`.
//!
//! Every callback is owned by [`WebIo`] and removed when it is dropped; nothing is leaked with
//! `forget`. A socket's listeners are detached as soon as the core is done with it; since that
//! can happen inside one of the socket's own callbacks, a detached socket is freed in a later
//! microtask rather than while its callback runs. Binary frames arrive as `ArrayBuffer`s and
//! are handed over as bytes. No futures executor is needed.

pub(crate) mod later;
pub(crate) mod listener;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use later::{later, Job};

use gloo_timers::callback::Timeout;
use listener::Listener;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, PageTransitionEvent, WebSocket};

use crate::core::{Config, Instant, SocketId};
use crate::driver::{DriverHandle, Io};
use crate::protocol::CloseCode;
use crate::AppState;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `globalThis.window`: `None` where there is none (a worker).
    #[wasm_bindgen(thread_local_v2, js_namespace = globalThis, js_name = window)]
    static WINDOW: Option<web_sys::Window>;

    /// `Uint8Array.prototype.set.call(into, from)`: copies `from` into the start of `into`,
    /// which must be at least as long (js-sys's `to_vec` does the same after an assertion
    /// that links Rust's formatting: 0.3 KB gzip in an app with tab sharing).
    #[wasm_bindgen(js_namespace = Uint8Array, js_name = "prototype.set.call")]
    fn copy_into(into: &mut [u8], from: &js_sys::Uint8Array);
}

/// The page's window, if it has one (read without the checks `web_sys::window` makes).
pub(crate) fn window() -> Option<web_sys::Window> {
    WINDOW.with(Clone::clone)
}

/// One browser socket and its four listeners.
struct LiveSocket {
    id: SocketId,
    ws: WebSocket,
    _listeners: [Listener; 4],
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        // CONNECTING or OPEN: close it, or it would outlive its owner.
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close_with_code_and_reason(1000, "dropped");
        }
    }
}

/// The sockets the driver holds.
#[derive(Default)]
struct Sockets {
    live: RefCell<Vec<LiveSocket>>,
}

impl Sockets {
    /// Detaches a socket; it is freed in a later microtask, never inside its own callback.
    fn park(&self, id: SocketId) {
        let socket = {
            let mut live = self.live.borrow_mut();
            let Some(pos) = live.iter().position(|s| s.id == id) else {
                return;
            };
            live.remove(pos)
        };
        later(Job::Free(Box::new(socket)));
    }
}

/// The web-sys implementation of [`Io`].
pub struct WebIo {
    sockets: Rc<Sockets>,
    timer: RefCell<Option<Timeout>>,
    window_listeners: RefCell<Vec<Listener>>,
}

/// Makes a relative URL such as `/api/ws/v2` absolute, with `ws://` or `wss://` from the page's
/// origin; `http(s)://` URLs get the matching WebSocket scheme; `ws(s)://` ones are kept.
pub fn resolve_url(url: &str) -> String {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return url.to_owned();
    }
    let mut out = String::with_capacity(url.len() + 32);
    if let Some(rest) = url.strip_prefix("http://") {
        out.push_str("ws://");
        out.push_str(rest);
        return out;
    }
    if let Some(rest) = url.strip_prefix("https://") {
        out.push_str("wss://");
        out.push_str(rest);
        return out;
    }
    let location = window().map(|w| w.location());
    let secure = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:");
    let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
    let scheme = if secure { "wss" } else { "ws" };
    let slash = if url.starts_with('/') { "" } else { "/" };
    for part in [scheme, "://", &host, slash, url] {
        out.push_str(part);
    }
    out
}

impl AppState {
    /// The app's state on the browser's WebSocket, connecting at once. A relative
    /// `config.url` is resolved against the page's origin. Call it once per app (a Yew app
    /// lets `hooks::WsProvider` do it).
    pub fn connect(mut config: Config) -> Rc<AppState> {
        config.url = resolve_url(&config.url);
        #[cfg(feature = "tabs")]
        {
            if config.share.is_some() && crate::tabs::web::supported() {
                return crate::tabs::web::connect_shared(config);
            }
            config.share = None;
        }
        let state = on_browser_io(config, None);
        state.client.connect();
        state
    }
}

/// Turns the browser's `Io` into the one a client uses (a tab's virtual socket): the same
/// type as the tabs' `WrapIo`.
pub(crate) type WrapBrowserIo = Box<dyn FnOnce(Box<dyn Io>) -> Box<dyn Io>>;

/// A client on the browser's sockets and timers, listening to the window, not yet connecting;
/// with `wrap`, its sockets are what `wrap` makes of the browser's (a tab's virtual socket).
pub(crate) fn on_browser_io(config: Config, wrap: Option<WrapBrowserIo>) -> Rc<AppState> {
    let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let io = Rc::new(WebIo::new());
    let browser: Box<dyn Io> = Box::new(SharedWebIo(io.clone()));
    let io_of_client = match wrap {
        Some(wrap) => wrap(browser),
        None => browser,
    };
    let (state, driver) = AppState::with_io(config, seed, io_of_client);
    io.listen_to_window(&driver);
    state
}

/// The `Io` the client owns; the window listeners are attached once the handle exists.
pub(crate) struct SharedWebIo(pub(crate) Rc<WebIo>);

impl WebIo {
    pub(crate) fn new() -> WebIo {
        WebIo {
            sockets: Rc::new(Sockets::default()),
            timer: RefCell::new(None),
            window_listeners: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn listen_to_window(&self, driver: &DriverHandle) {
        let Some(window) = window() else {
            return;
        };
        let mut listeners = Vec::new();
        let d = driver.clone();
        listeners.push(Listener::new(&window, "online", move |_| d.handle_online()));
        let d = driver.clone();
        listeners.push(Listener::new(&window, "offline", move |_| {
            d.handle_offline()
        }));
        let d = driver.clone();
        listeners.push(Listener::new(&window, "pageshow", move |e| {
            d.handle_pageshow(e.unchecked_ref::<PageTransitionEvent>().persisted());
        }));
        #[cfg(feature = "resume")]
        {
            let d = driver.clone();
            listeners.push(Listener::new(&window, "pagehide", move |_| {
                d.handle_pagehide()
            }));
        }
        if let Some(document) = window.document() {
            let d = driver.clone();
            let doc = document.clone();
            listeners.push(Listener::new(&document, "visibilitychange", move |_| {
                d.handle_visibility(!doc.hidden())
            }));
        }
        *self.window_listeners.borrow_mut() = listeners;
    }

    fn listen(&self, ws: &WebSocket, id: SocketId, driver: &DriverHandle) -> [Listener; 4] {
        let d = driver.clone();
        let open = Listener::new(ws, "open", move |_| d.handle_socket_opened(id));
        let d = driver.clone();
        let message = Listener::new(ws, "message", move |e| {
            let data = e.unchecked_ref::<MessageEvent>().data();
            match data.as_string() {
                Some(text) => d.handle_socket_text(id, text),
                None => d.handle_socket_bytes(id, frame_bytes(&data)),
            }
        });
        let d = driver.clone();
        let error = Listener::new(ws, "error", move |_| d.handle_socket_error(id));
        let d = driver.clone();
        let sockets: Weak<Sockets> = Rc::downgrade(&self.sockets);
        let close = Listener::new(ws, "close", move |e| {
            let e = e.unchecked_ref::<CloseEvent>();
            let (code, reason) = (e.code(), e.reason());
            if let Some(sockets) = sockets.upgrade() {
                sockets.park(id);
            }
            d.handle_socket_closed(id, CloseCode(code), &reason);
        });
        [open, message, error, close]
    }
}

/// A binary frame's bytes (its `ArrayBuffer`), copied into wasm memory: what the driver hands
/// the client for each binary frame, public so that a benchmark copies frames as it does.
/// `data` must be an `ArrayBuffer` (or a `Uint8Array`), as a socket whose `binaryType` is
/// `arraybuffer` gives.
pub fn frame_bytes(data: &wasm_bindgen::JsValue) -> Vec<u8> {
    let view = js_sys::Uint8Array::new(data);
    let mut bytes = vec![0; view.length() as usize];
    copy_into(&mut bytes, &view);
    bytes
}

/// The `sessionStorage` item that holds the tab's resume record (feature `resume`). One per
/// tab: the record names its resume key, and a record of another key is ignored.
#[cfg(feature = "resume")]
pub const RESUME_STORAGE_KEY: &str = "tether-resume";

#[cfg(feature = "resume")]
fn session_storage() -> Option<web_sys::Storage> {
    window()?.session_storage().ok().flatten()
}

impl Io for SharedWebIo {
    #[cfg(feature = "resume")]
    fn load_resume(&self) -> Option<String> {
        session_storage()?
            .get_item(RESUME_STORAGE_KEY)
            .ok()
            .flatten()
    }

    #[cfg(feature = "resume")]
    fn store_resume(&self, record: &str) {
        if let Some(storage) = session_storage() {
            // A full storage (quota) keeps the previous record: the next page resumes from
            // there, or resyncs if it is too old.
            let _ = storage.set_item(RESUME_STORAGE_KEY, record);
        }
    }

    fn now(&self) -> Instant {
        Instant(js_sys::Date::now() as u64)
    }

    fn open(&self, socket: SocketId, url: &str, driver: &DriverHandle) {
        match WebSocket::new(url) {
            Ok(ws) => {
                ws.set_binary_type(BinaryType::Arraybuffer);
                let listeners = self.0.listen(&ws, socket, driver);
                self.0.sockets.live.borrow_mut().push(LiveSocket {
                    id: socket,
                    ws,
                    _listeners: listeners,
                });
            }
            // A URL the browser refuses: a failed attempt, reported after this call.
            Err(_) => later(Job::Failed(driver.clone(), socket)),
        }
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some(s) = self.0.sockets.live.borrow().iter().find(|s| s.id == socket) {
            // Throws only while CONNECTING, which the core never sends in.
            let _ = s.ws.send_with_str(text);
        }
    }

    fn close(&self, socket: SocketId, code: CloseCode, reason: &str) {
        if let Some(s) = self.0.sockets.live.borrow().iter().find(|s| s.id == socket) {
            let _ = s.ws.close_with_code_and_reason(code.0, reason);
        }
        self.0.sockets.park(socket);
    }

    fn set_timer(&self, at: Option<Instant>, driver: &DriverHandle) {
        let timeout = at.map(|at| {
            let delay = at.0.saturating_sub(self.now().0).min(i32::MAX as u64) as u32;
            let d = driver.clone();
            // The work re-arms the timer, dropping this Timeout while its closure runs: the
            // closure is freed once it returns (wasm-bindgen counts the calls in progress).
            Timeout::new(delay, move || d.handle_timeout())
        });
        *self.0.timer.borrow_mut() = timeout; // Dropping the previous Timeout cancels it.
    }

    fn schedule_flush(&self, driver: &DriverHandle) {
        // The core asks once per tick (until its flush runs).
        later(Job::Flush(driver.clone()));
    }
}
