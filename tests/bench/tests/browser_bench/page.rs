//! The page's side of the benchmarks: the clock, the JavaScript baselines (`raw.js`), probes
//! installed into the page (socket opens, live timers), the JS heap, and the stub calls.

use std::future::Future;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Promise, Reflect};
use tether_tests::web::{post, token_for, ws_url};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds, at the page's timer resolution (Chromium: 0.1 ms
    /// without cross-origin isolation).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn now() -> f64;
}

/// `fut`, or `None` after `ms`.
pub async fn within<F: Future>(ms: u32, fut: F) -> Option<F::Output> {
    use futures::FutureExt;
    futures::select! {
        out = Box::pin(fut).fuse() => Some(out),
        _ = TimeoutFuture::new(ms).fuse() => None,
    }
}

/// Awaits a JS promise for up to `ms`; panics naming `what` on time-out or rejection.
pub async fn settle(promise: JsValue, ms: u32, what: &str) -> JsValue {
    let promise: Promise = promise.dyn_into().expect("a promise");
    within(ms, JsFuture::from(promise))
        .await
        .unwrap_or_else(|| panic!("timed out after {ms} ms waiting for {what}"))
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

/// `obj[key]`.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[key]` as a number (NaN if it is not one).
pub fn num(obj: &JsValue, key: &str) -> f64 {
    get(obj, key).as_f64().unwrap_or(f64::NAN)
}

/// Calls `obj.method(...args)`.
pub fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let f: Function = get(obj, method)
        .dyn_into()
        .unwrap_or_else(|_| panic!("{method} is not a function"));
    let args: Array = args.iter().collect();
    f.apply(obj, &args)
        .unwrap_or_else(|e| panic!("{method}: {e:?}"))
}

/// The JavaScript baselines of `raw.js`, evaluated once per page.
pub fn raw() -> JsValue {
    thread_local! {
        static RAW: JsValue = Function::new_no_args(include_str!("raw.js"))
            .call0(&JsValue::NULL)
            .expect("raw.js evaluates");
    }
    RAW.with(Clone::clone)
}

/// The stub's socket URL for `user`, with a fresh token and tether's extensions.
pub async fn raw_url(user: u64) -> String {
    format!("{}?token={}&tether=1", ws_url(), token_for(user).await)
}

/// Opens a raw baseline client (`raw.js`'s `connect`) for `user`; the token is fetched first.
pub async fn raw_client(user: u64) -> JsValue {
    let url = raw_url(user).await;
    settle(
        call(&raw(), "connect", &[url.into()]),
        10_000,
        "the raw client to open",
    )
    .await
}

/// Runs `source` once in the page (the probes below).
fn run_once(source: &str) {
    Function::new_no_args(source)
        .call0(&JsValue::NULL)
        .expect("probe installs");
}

/// Records `performance.now()` at every WebSocket `open` in the page, the client's and the
/// baselines' alike, from a listener added in the constructor (so it runs first).
pub fn install_open_probe() {
    run_once(
        "if (globalThis.__benchOpens) return;
         globalThis.__benchOpens = [];
         globalThis.__benchAcks = [];
         const W = globalThis.WebSocket;
         const acked = () => globalThis.__benchAcks.push(performance.now());
         globalThis.WebSocket = class extends W {
           constructor(...a) {
             super(...a);
             this.addEventListener('open', () => globalThis.__benchOpens.push(performance.now()));
             // After every listener of the ack has run (the client's included).
             this.addEventListener('message', (e) => {
               if (typeof e.data === 'string' && e.data.includes('\"subscribe_ack\"')) queueMicrotask(acked);
             });
           }
         };",
    );
}

/// The open times recorded so far.
pub fn opens() -> Vec<f64> {
    times("globalThis.__benchOpens")
}

/// The times each socket's `subscribe_ack`s had been handled, so far.
pub fn acks() -> Vec<f64> {
    times("globalThis.__benchAcks")
}

fn times(array: &str) -> Vec<f64> {
    let a: Array = js_sys::eval(array).unwrap().into();
    a.iter().map(|v| v.as_f64().unwrap()).collect()
}

/// Wraps `setTimeout`, `clearTimeout`, `setInterval` and `clearInterval` to count the timers
/// live in the page (pending timeouts, uncleared intervals) and the ones ever started.
pub fn install_timer_probe() {
    run_once(include_str!("timers.js"));
}

/// What the timer probe counted.
pub struct Timers {
    /// Timeouts armed and not yet fired nor cleared, plus intervals not cleared.
    pub live: f64,
    /// Timeouts started since the probe was installed.
    pub timeouts: f64,
    /// Intervals started since the probe was installed.
    pub intervals: f64,
}

/// The timer probe's counts now.
pub fn timers() -> Timers {
    let t = js_sys::eval("globalThis.__benchTimers").unwrap();
    let size = |k: &str| num(&get(&t, k), "size");
    Timers {
        live: size("timeouts") + size("intervals"),
        timeouts: num(&t, "startedTimeouts"),
        intervals: num(&t, "startedIntervals"),
    }
}

/// The JS heap in use after a forced collection (webdriver.json starts Chromium with
/// `--js-flags=--expose-gc --enable-precise-memory-info`).
pub fn heap() -> f64 {
    js_sys::eval("(typeof gc === 'function' && gc(), performance.memory ? performance.memory.usedJSHeapSize : 0)")
        .unwrap()
        .as_f64()
        .unwrap_or(0.0)
}

/// Lets microtasks (Yew's scheduler, effects) run.
pub async fn yield_now() {
    for _ in 0..3 {
        JsFuture::from(Promise::resolve(&JsValue::NULL))
            .await
            .unwrap();
    }
}

/// Publishes `per_topic` `agent_updated` events (names `size` bytes long) on every topic at
/// once, at `rate` per second and topic (0: as fast as the stub can).
pub async fn publish_all(topics: &[String], per_topic: u32, rate: u32, size: u32) {
    let calls = topics.iter().map(|t| async move {
        post(&format!(
            "/api/test/publish?topic={t}&count={per_topic}&rate={rate}&size={size}&kind=agent_updated"
        ))
        .await
    });
    futures::future::join_all(calls).await;
}

/// Seeds `n` agents for `user`; returns their topics.
pub async fn agent_topics(user: u64, n: usize) -> Vec<String> {
    let ids = tether_tests::web::seed_agents(user, n).await;
    ids.iter()
        .map(|id| {
            tether_client::protocol::Topic::agent(*id)
                .as_str()
                .to_owned()
        })
        .collect()
}

/// The agent fields an app's view reads: both the client and the baselines decode these.
#[derive(serde::Deserialize)]
pub struct Agent {
    /// The agent's name.
    pub name: String,
    /// Its status.
    pub status: String,
}
