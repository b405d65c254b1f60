//! Sharing in the browser: a `BroadcastChannel` per name, `navigator.locks` for leadership,
//! microtasks for deferral, and the page's `pagehide` to say goodbye. Every closure given to
//! the browser is owned here and removed on drop.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, BroadcastChannel, MessageEvent};

use super::node::TabNode;
use super::platform::{Channel, Lock, Platform, WrapIo};
use crate::core::Config;
use crate::web::listener::Listener;
use crate::AppState;

/// What names the channel and the locks, before the app's name. It carries the version of the
/// channel's messages (`wire`): tabs of a build that writes them otherwise share among
/// themselves, on a channel and locks of their own, and never misread each other.
const CHANNEL_PREFIX: &str = "tether.2:";

/// True if this browser has what sharing needs: Web Locks and `BroadcastChannel`.
pub(crate) fn supported() -> bool {
    let Some(window) = crate::web::window() else {
        return false;
    };
    let locks = Reflect::get(&window.navigator(), &"locks".into()).unwrap_or(JsValue::UNDEFINED);
    let channel = Reflect::get(&window, &"BroadcastChannel".into()).unwrap_or(JsValue::UNDEFINED);
    !locks.is_undefined() && !channel.is_undefined()
}

/// This tab's state, sharing `config.share` with the other tabs of the browser profile.
pub(crate) fn connect_shared(config: Config) -> Rc<AppState> {
    let id = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let platform = Rc::new(WebPlatform::default());
    let app = TabNode::start(config, id, platform.clone());
    if let (Some(window), Some(node)) = (crate::web::window(), app.tab.borrow().clone()) {
        let weak = Rc::downgrade(&node);
        let listener = Listener::new(&window, "pagehide", move |_| {
            if let Some(node) = weak.upgrade() {
                node.leave();
            }
        });
        *platform.pagehide.borrow_mut() = Some(listener);
    }
    app
}

#[derive(Default)]
struct WebPlatform {
    pagehide: RefCell<Option<Listener>>,
}

struct WebChannel {
    channel: BroadcastChannel,
    _listener: Listener,
}

impl Channel for WebChannel {
    fn post(&self, text: &str) {
        let _ = self.channel.post_message(&JsValue::from_str(text));
    }
}

/// A channel that reaches no one.
struct Silent;

impl Channel for Silent {
    fn post(&self, _: &str) {}
}

impl Drop for WebChannel {
    fn drop(&mut self) {
        self.channel.close();
    }
}

/// The callback `navigator.locks.request` calls once the lock is granted. It ignores the lock
/// the browser passes: taking it as an argument would make its shim the same wasm type as
/// `Display::fmt`, and so keep Rust's formatting code in every app that shares tabs (wasm-opt
/// keeps a table's functions of each type some indirect call has).
type LockCallback = Closure<dyn FnMut() -> Promise>;
/// Handles the rejection of the request: aborted before it was granted (nothing to do), or
/// stolen by another tab after it was.
type OnRejected = Closure<dyn FnMut(JsValue)>;

/// One request for a Web Lock. The lock is held until this is dropped (the page going away
/// drops it too): dropping resolves the promise the grant returned, which releases the lock, or
/// aborts the request if it was not granted yet.
struct WebLock {
    name: String,
    callback: RefCell<Option<LockCallback>>,
    on_rejected: RefCell<Option<OnRejected>>,
    /// Resolves the promise that holds the lock, once granted (taken when it is stolen).
    release: Rc<RefCell<Option<Function>>>,
    abort: RefCell<Option<AbortController>>,
}

impl WebLock {
    fn ask(&self, steal: bool, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        let mut granted = Some(granted);
        let release = self.release.clone();
        let callback = LockCallback::new(move || {
            if let Some(granted) = granted.take() {
                granted();
            }
            // Settles when the lock is dropped: until then this page holds the lock.
            let release = release.clone();
            Promise::new(&mut |resolve, _| *release.borrow_mut() = Some(resolve))
        });
        let locks = crate::web::window()
            .map(|w| Reflect::get(&w.navigator(), &"locks".into()).unwrap_or(JsValue::UNDEFINED));
        let request = locks
            .filter(|l| !l.is_undefined())
            .and_then(|l| Some((Reflect::get(&l, &"request".into()).ok()?, l)));
        if let Some((request, locks)) = request {
            if let Some(request) = request.dyn_ref::<Function>() {
                let options = js_sys::Object::new();
                // A steal cannot be aborted (the API refuses both together), and is granted
                // at once anyway.
                let abort = if steal {
                    let _ = Reflect::set(&options, &"steal".into(), &JsValue::TRUE);
                    None
                } else {
                    AbortController::new().ok()
                };
                if let Some(abort) = &abort {
                    let _ = Reflect::set(&options, &"signal".into(), &abort.signal());
                }
                let pending = request.call3(
                    &locks,
                    &JsValue::from_str(&self.name),
                    &options,
                    callback.as_ref().unchecked_ref(),
                );
                // The request's promise rejects when the request is aborted before the grant,
                // or, once granted, when another tab steals the lock.
                let release = self.release.clone();
                let mut stolen = Some(stolen);
                let on_rejected = OnRejected::new(move |_| {
                    if release.borrow_mut().take().is_some() {
                        if let Some(stolen) = stolen.take() {
                            stolen();
                        }
                    }
                });
                if let Ok(pending) = pending.and_then(|p| p.dyn_into::<Promise>()) {
                    let _ = pending.catch(&on_rejected);
                }
                *self.on_rejected.borrow_mut() = Some(on_rejected);
                *self.abort.borrow_mut() = abort;
            }
        }
        *self.callback.borrow_mut() = Some(callback);
    }
}

impl Lock for WebLock {
    fn request(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        self.ask(false, granted, stolen);
    }

    fn steal(&self, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        self.ask(true, granted, stolen);
    }
}

impl Drop for WebLock {
    fn drop(&mut self) {
        match self.release.borrow_mut().take() {
            Some(resolve) => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
            None => {
                if let Some(abort) = self.abort.borrow_mut().take() {
                    abort.abort();
                }
            }
        }
    }
}

impl Platform for WebPlatform {
    fn channel(&self, name: &str, on_message: Box<dyn Fn(String)>) -> Box<dyn Channel> {
        let Ok(channel) = BroadcastChannel::new(&[CHANNEL_PREFIX, name].concat()) else {
            // Checked before sharing; should the browser still refuse, this tab hears no one
            // and, once it holds the lock, serves itself.
            return Box::new(Silent);
        };
        let listener = Listener::new(&channel, "message", move |e| {
            if let Some(text) = e.unchecked_ref::<MessageEvent>().data().as_string() {
                on_message(text);
            }
        });
        Box::new(WebChannel {
            channel,
            _listener: listener,
        })
    }

    fn lock(&self, name: &str) -> Box<dyn Lock> {
        Box::new(WebLock {
            name: [CHANNEL_PREFIX, name].concat(),
            callback: RefCell::new(None),
            on_rejected: RefCell::new(None),
            release: Rc::default(),
            abort: RefCell::new(None),
        })
    }

    fn defer(&self, f: Box<dyn FnOnce()>) {
        crate::web::later::later(crate::web::later::Job::Run(f));
    }

    fn later(&self, f: Box<dyn FnOnce()>) -> Box<dyn Any> {
        Box::new(gloo_timers::callback::Timeout::new(0, f))
    }

    /// (`config.url` is resolved already: `AppState::connect` did it before sharing.)
    fn client(&self, config: Config, wrap: Option<WrapIo>) -> Rc<AppState> {
        crate::web::on_browser_io(config, wrap)
    }
}
