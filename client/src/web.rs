//! The browser driver (wasm32 only): runs a [`WsClientV2`] on `web_sys::WebSocket`, one
//! gloo-timers `Timeout`, a microtask for end-of-tick flushes, and the window's `online`,
//! `offline`, `pageshow` and the document's `visibilitychange` listeners.
//!
//! Every callback is owned by [`WebIo`] and removed when it is dropped; nothing is leaked with
//! `forget`. A socket's listeners are detached as soon as the core is done with it; since that
//! can happen inside one of the socket's own callbacks, detached sockets are parked and freed in
//! a later microtask rather than while their callback runs.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, PageTransitionEvent, WebSocket};

use crate::client::{Io, WeakClient, WsClientV2};
use crate::core::{Config, Instant, SocketId};
use crate::AppState;

/// One browser socket and its four listeners.
struct LiveSocket {
    id: SocketId,
    ws: WebSocket,
    _listeners: [EventListener; 4],
}

impl Drop for LiveSocket {
    fn drop(&mut self) {
        // CONNECTING or OPEN: close it, or it would outlive its owner.
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close_with_code_and_reason(1000, "dropped");
        }
    }
}

/// The sockets the driver holds: live ones, and detached ones waiting to be freed.
#[derive(Default)]
struct Sockets {
    live: RefCell<Vec<LiveSocket>>,
    parked: RefCell<Vec<LiveSocket>>,
}

impl Sockets {
    /// Detaches a socket; it is freed in a later microtask, never inside its own callback.
    fn park(self: &Rc<Self>, id: SocketId) {
        let socket = {
            let mut live = self.live.borrow_mut();
            let Some(pos) = live.iter().position(|s| s.id == id) else {
                return;
            };
            live.remove(pos)
        };
        let first = self.parked.borrow().is_empty();
        self.parked.borrow_mut().push(socket);
        if first {
            let weak = Rc::downgrade(self);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(sockets) = weak.upgrade() {
                    let freed = std::mem::take(&mut *sockets.parked.borrow_mut());
                    drop(freed);
                }
            });
        }
    }
}

/// The web-sys implementation of [`Io`].
pub struct WebIo {
    client: WeakClient,
    sockets: Rc<Sockets>,
    timer: RefCell<Option<Timeout>>,
    flush_scheduled: Rc<Cell<bool>>,
    _window_listeners: Vec<EventListener>,
}

/// Makes a relative URL such as `/api/ws/v2` absolute, with `ws://` or `wss://` from the page's
/// origin; `http(s)://` URLs get the matching WebSocket scheme; `ws(s)://` ones are kept.
pub fn resolve_url(url: &str) -> String {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return url.to_owned();
    }
    if let Some(rest) = url.strip_prefix("http://") {
        return format!("ws://{rest}");
    }
    if let Some(rest) = url.strip_prefix("https://") {
        return format!("wss://{rest}");
    }
    let location = web_sys::window().map(|w| w.location());
    let secure = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .is_some_and(|p| p == "https:");
    let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
    let scheme = if secure { "wss" } else { "ws" };
    let slash = if url.starts_with('/') { "" } else { "/" };
    format!("{scheme}://{host}{slash}{url}")
}

/// A client on the browser's WebSocket, not yet connected. A relative `config.url` is resolved
/// against the page's origin.
pub fn client(mut config: Config) -> WsClientV2 {
    config.url = resolve_url(&config.url);
    let seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    WsClientV2::with_io(config, seed, |weak| Box::new(WebIo::new(weak)))
}

impl AppState {
    /// The app's state on the browser's WebSocket, connecting at once.
    pub fn connect(config: Config) -> Rc<AppState> {
        let state = AppState::new(client(config));
        state.client.connect();
        state
    }
}

/// Calls `f` with the client, if it is still alive.
fn with_client(weak: &WeakClient, f: impl FnOnce(&WsClientV2)) {
    if let Some(client) = weak.upgrade() {
        f(&client);
    }
}

impl WebIo {
    fn new(client: WeakClient) -> WebIo {
        let mut window_listeners = Vec::new();
        if let Some(window) = web_sys::window() {
            let c = client.clone();
            window_listeners.push(EventListener::new(&window, "online", move |_| {
                with_client(&c, |c| c.handle_online(true))
            }));
            let c = client.clone();
            window_listeners.push(EventListener::new(&window, "offline", move |_| {
                with_client(&c, |c| c.handle_online(false))
            }));
            let c = client.clone();
            window_listeners.push(EventListener::new(&window, "pageshow", move |e| {
                let persisted = e
                    .dyn_ref::<PageTransitionEvent>()
                    .is_some_and(|e| e.persisted());
                with_client(&c, |c| c.handle_pageshow(persisted));
            }));
            if let Some(document) = window.document() {
                let c = client.clone();
                let doc = document.clone();
                window_listeners.push(EventListener::new(
                    &document,
                    "visibilitychange",
                    move |_| {
                        let visible = doc.visibility_state() == web_sys::VisibilityState::Visible;
                        with_client(&c, |c| c.handle_visibility(visible));
                    },
                ));
            }
        }
        WebIo {
            client,
            sockets: Rc::new(Sockets::default()),
            timer: RefCell::new(None),
            flush_scheduled: Rc::new(Cell::new(false)),
            _window_listeners: window_listeners,
        }
    }

    fn listen(&self, ws: &WebSocket, id: SocketId) -> [EventListener; 4] {
        let c = self.client.clone();
        let open = EventListener::new(ws, "open", move |_| {
            with_client(&c, |c| c.handle_socket_opened(id))
        });
        let c = self.client.clone();
        let message = EventListener::new(ws, "message", move |e| {
            let Some(e) = e.dyn_ref::<MessageEvent>() else {
                return;
            };
            // Text frames only; a binary frame is reported to the core as a malformed one.
            let text = e
                .data()
                .as_string()
                .unwrap_or_else(|| "<binary frame>".to_owned());
            with_client(&c, |c| c.handle_socket_message(id, &text));
        });
        let c = self.client.clone();
        let error = EventListener::new(ws, "error", move |_| {
            with_client(&c, |c| c.handle_socket_error(id))
        });
        let c = self.client.clone();
        let sockets: Weak<Sockets> = Rc::downgrade(&self.sockets);
        let close = EventListener::new(ws, "close", move |e| {
            let (code, reason) = e
                .dyn_ref::<CloseEvent>()
                .map_or((1006, String::new()), |e| (e.code(), e.reason()));
            if let Some(sockets) = sockets.upgrade() {
                sockets.park(id);
            }
            with_client(&c, |c| c.handle_socket_closed(id, code, &reason));
        });
        [open, message, error, close]
    }
}

impl Io for WebIo {
    fn now(&self) -> Instant {
        Instant(js_sys::Date::now() as u64)
    }

    fn open(&self, socket: SocketId, url: &str) {
        match WebSocket::new(url) {
            Ok(ws) => {
                let listeners = self.listen(&ws, socket);
                self.sockets.live.borrow_mut().push(LiveSocket {
                    id: socket,
                    ws,
                    _listeners: listeners,
                });
            }
            Err(_) => {
                // A URL the browser refuses: report it as a failed attempt, asynchronously.
                let c = self.client.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    with_client(&c, |c| c.handle_socket_closed(socket, 1006, "invalid url"));
                });
            }
        }
    }

    fn send(&self, socket: SocketId, text: &str) {
        if let Some(s) = self.sockets.live.borrow().iter().find(|s| s.id == socket) {
            // Throws only while CONNECTING, which the core never sends in.
            let _ = s.ws.send_with_str(text);
        }
    }

    fn close(&self, socket: SocketId, code: u16, reason: &str) {
        if let Some(s) = self.sockets.live.borrow().iter().find(|s| s.id == socket) {
            let _ = s.ws.close_with_code_and_reason(code, reason);
        }
        self.sockets.park(socket);
    }

    fn set_timer(&self, at: Option<Instant>) {
        let timeout = at.map(|at| {
            let delay = at.0.saturating_sub(self.now().0).min(i32::MAX as u64) as u32;
            let c = self.client.clone();
            // The callback only queues the work, so replacing this Timeout from inside the
            // work never drops a closure while it runs.
            Timeout::new(delay, move || {
                wasm_bindgen_futures::spawn_local(async move {
                    with_client(&c, WsClientV2::handle_timeout)
                });
            })
        });
        *self.timer.borrow_mut() = timeout; // Dropping the previous Timeout cancels it.
    }

    fn schedule_flush(&self) {
        if self.flush_scheduled.replace(true) {
            return;
        }
        let c = self.client.clone();
        let flag = self.flush_scheduled.clone();
        wasm_bindgen_futures::spawn_local(async move {
            flag.set(false);
            with_client(&c, WsClientV2::flush);
        });
    }
}
