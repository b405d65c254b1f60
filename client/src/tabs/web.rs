//! Sharing in the browser: a `BroadcastChannel` per name, `navigator.locks` for leadership,
//! microtasks for deferral, and the page's `pagehide` to say goodbye. Every closure given to
//! the browser is owned here and removed on drop.

use std::any::Any;
use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::node::{TabEnd, TabNode};
use super::platform::{Channel, Lock, Platform, WrapIo};
use crate::core::Config;
use crate::web::listener::Listener;
use crate::AppState;

/// What names the channel and the locks, before the app's name. It carries the version of the
/// channel's messages (`wire`): tabs of a build that writes them otherwise share among
/// themselves, on a channel and locks of their own, and never misread each other.
const CHANNEL_PREFIX: &str = "tether.2:";

/// True if this is a page (not a worker) whose browser has what sharing needs: Web Locks and
/// `BroadcastChannel`.
pub(crate) fn supported() -> bool {
    crate::web::window().is_some() && tether_can_share()
}

/// This tab's state, sharing `config.share` with the other tabs of the browser profile.
pub(crate) fn connect_shared(config: Config) -> Rc<AppState> {
    let id = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    let platform = Rc::new(WebPlatform::default());
    let (app, node) = TabNode::start(config, id, platform.clone());
    *app.tab.borrow_mut() = Some(node.clone());
    if let Some(window) = crate::web::window() {
        let weak = Rc::downgrade(&node);
        let listener = Listener::new(&window, "pagehide", move |_| {
            if let Some(node) = weak.upgrade() {
                node.leave();
            }
        });
        let _ = platform.pagehide.set(listener);
    }
    app
}

/// The browser, as sharing uses it.
#[derive(Default)]
pub(crate) struct WebPlatform {
    pagehide: OnceCell<Listener>,
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

/// One request for a Web Lock, in JavaScript (its promises say in a few lines what Rust says in
/// many, through glue for each call).
#[wasm_bindgen(inline_js = r#"
export function tether_can_share() {
  return !!(navigator.locks && self.BroadcastChannel);
}
export function tether_lock(name, steal, granted, stolen) {
  const held = { go: null, abort: steal ? null : new AbortController() };
  if (!navigator.locks) return held;
  navigator.locks
    .request(name, steal ? { steal } : { signal: held.abort.signal }, () => {
      const holding = new Promise((go) => { held.go = go; });
      granted();
      return holding;
    })
    .catch(() => { if (held.go) { held.go = null; stolen(); } });
  return held;
}
export function tether_unlock(held) {
  const go = held.go;
  held.go = null;
  if (go) go(); else if (held.abort) held.abort.abort();
}
"#)]
extern "C" {
    /// True if this browser has Web Locks and `BroadcastChannel`.
    fn tether_can_share() -> bool;
    /// Asks for the lock `name` (with `steal`, takes it at once): `granted` runs once this page
    /// holds it, which it does until [`tether_unlock`]; `stolen` runs if another tab steals it
    /// after that (the request's promise rejects; before the grant, a rejection means the
    /// request was abandoned). Returns the request's handle (`go` releases a granted lock: it
    /// is set before `granted` runs, which may let the lock go at once).
    fn tether_lock(
        name: &str,
        steal: bool,
        granted: &Closure<dyn FnMut()>,
        stolen: &Closure<dyn FnMut()>,
    ) -> JsValue;
    /// Lets the lock go: resolves the promise its grant returned, or abandons the request if it
    /// was not granted yet.
    fn tether_unlock(held: &JsValue);
}

/// A callback the browser may call more than once, running `f` the first time.
fn once(f: Box<dyn FnOnce()>) -> Closure<dyn FnMut()> {
    let mut f = Some(f);
    Closure::new(move || {
        if let Some(f) = f.take() {
            f();
        }
    })
}

/// One request for a Web Lock. The lock is held until this is dropped (the page going away
/// drops it too), unless another tab steals it.
struct WebLock {
    name: String,
    held: Cell<Option<Asked>>,
}

/// A request made: its handle, and the callbacks JavaScript holds (granted, stolen), kept
/// alive with it.
struct Asked {
    handle: JsValue,
    _callbacks: [Closure<dyn FnMut()>; 2],
}

impl WebLock {
    fn ask(&self, steal: bool, granted: Box<dyn FnOnce()>, stolen: Box<dyn FnOnce()>) {
        let callbacks = [once(granted), once(stolen)];
        let asked = Asked {
            handle: tether_lock(&self.name, steal, &callbacks[0], &callbacks[1]),
            _callbacks: callbacks,
        };
        if let Some(old) = self.held.replace(Some(asked)) {
            tether_unlock(&old.handle);
        }
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
        if let Some(asked) = self.held.get_mut().take() {
            tether_unlock(&asked.handle);
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
            held: Cell::new(None),
        })
    }

    fn defer(&self, f: Box<dyn FnOnce()>) {
        crate::web::later::later(crate::web::later::Job::Run(f));
    }

    fn later(&self, f: Box<dyn FnOnce()>) -> Box<dyn Any> {
        Box::new(gloo_timers::callback::Timeout::new(0, f))
    }

    fn tab_client(&self, config: Config, wrap: WrapIo) -> Rc<AppState> {
        crate::web::on_browser_io(config, Some(wrap))
    }

    /// (`config.url` is resolved already: `AppState::connect` did it before sharing.)
    fn real_client(&self, config: Config) -> Rc<AppState> {
        let app = crate::web::on_browser_io(config, None);
        app.client.connect();
        app
    }
}
