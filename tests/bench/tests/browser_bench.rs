//! Browser benchmarks for the `bench` command (scripts/bench.sh), run in headless Chromium with
//! `wasm-pack test --release`. Each prints one `BENCH|name|value|baseline|unit|note` line; the
//! script collects them into BENCHMARKS.md. Baselines run in the same page, on the same stub.

#![cfg(target_arch = "wasm32")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Promise, Reflect};
use tether::core::{ConnectionState, TopicEvent};
use tether::protocol::{ServerMessage, Topic};
use tether_tests::web::{app_for, post, seed_agents, token_for, user_stat, wait_for, ws_url};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The global allocator of this test binary: the system one, counting live bytes, so B4 can
/// read the Rust heap inside wasm memory (which `performance.memory` does not see).
struct CountingAllocator;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Bytes the Rust code of this page holds on its heap now.
fn rust_heap() -> f64 {
    LIVE_BYTES.load(Ordering::Relaxed) as f64
}

fn report(name: &str, value: f64, baseline: f64, unit: &str, note: &str) {
    console_log!("BENCH|{name}|{value:.1}|{baseline:.1}|{unit}|{note}");
}

fn now() -> f64 {
    js_sys::eval("performance.now()").unwrap().as_f64().unwrap()
}

/// The hand-written baseline: `WebSocket` + `JSON.parse` + a `Map` from topic to handlers.
/// Resolves, once subscribed, to `{ finished: Promise<ms>, latencies: number[], ws }`.
const RAW_CLIENT: &str = r#"
return new Promise((ready) => {
  const ws = new WebSocket(url);
  const handlers = new Map();
  const latencies = [];
  let count = 0, t0 = 0, done;
  const finished = new Promise((r) => (done = r));
  const onEvent = (m) => {
    count++;
    if (count === 1) t0 = performance.now();
    latencies.push(Date.now() - m.ts);
    if (count === n) done(performance.now() - t0);
  };
  for (const t of topics) handlers.set(t, [onEvent]);
  let acks = 0;
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === 'subscribe_ack') { acks += m.data.topics.length; if (acks === topics.length) ready({ finished, latencies, ws }); return; }
    if (m.seq === undefined) return;
    const hs = handlers.get(m.topic);
    if (hs) for (const h of hs) h(m);
  };
  ws.onopen = () => {
    if (perTopic) topics.forEach((t, i) => ws.send(JSON.stringify({v:1,type:'subscribe',topic:null,req_id:null,ts:Date.now(),data:{topics:[t],message_id:'b'+i}})));
    else ws.send(JSON.stringify({v:1,type:'subscribe',topic:null,req_id:null,ts:Date.now(),data:{topics,message_id:'b'}}));
  };
});
"#;

/// Opens the raw baseline client; returns (finished promise, latencies array, socket).
async fn raw_client(
    user: u64,
    topics: &[String],
    n: u32,
    per_topic: bool,
) -> (Promise, js_sys::Array, JsValue) {
    let f = Function::new_with_args("url, topics, n, perTopic", RAW_CLIENT);
    let url = format!("{}?token={}", ws_url(), token_for(user).await);
    let list: js_sys::Array = topics.iter().map(|t| JsValue::from_str(t)).collect();
    let args = js_sys::Array::of4(&url.into(), &list, &n.into(), &per_topic.into());
    let ready: Promise = f.apply(&JsValue::NULL, &args).unwrap().dyn_into().unwrap();
    let handle = within(60_000, JsFuture::from(ready))
        .await
        .expect("the raw client subscribed")
        .unwrap();
    let get = |k: &str| Reflect::get(&handle, &k.into()).unwrap();
    (
        get("finished").dyn_into().unwrap(),
        get("latencies").dyn_into().unwrap(),
        get("ws"),
    )
}

/// `fut`, or `None` after `ms`.
async fn within<F: std::future::Future>(ms: u32, fut: F) -> Option<F::Output> {
    use futures::FutureExt;
    futures::select! {
        out = Box::pin(fut).fuse() => Some(out),
        _ = TimeoutFuture::new(ms).fuse() => None,
    }
}

fn close_raw(ws: &JsValue) {
    let close: Function = Reflect::get(ws, &"close".into())
        .unwrap()
        .dyn_into()
        .unwrap();
    let _ = close.call0(ws);
}

/// Publishes `per_topic` events, about 200 B each, on every topic at once.
async fn publish_all(topics: &[String], per_topic: u32, rate: u32) {
    let calls = topics.iter().map(|t| {
        post_owned(format!(
            "/api/test/publish?topic={t}&count={per_topic}&rate={rate}&size=120"
        ))
    });
    futures::future::join_all(calls).await;
}

async fn post_owned(path: String) -> serde_json::Value {
    post(&path).await
}

async fn topics_for(user: u64, agents: usize, threads: usize) -> Vec<String> {
    let seeded = post(&format!(
        "/api/test/seed?owner={user}&agents={agents}&threads={threads}"
    ))
    .await;
    let ids = |k: &str| {
        seeded[k]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_u64())
            .collect::<Vec<_>>()
    };
    let mut topics: Vec<String> = ids("ids")
        .into_iter()
        .map(|id| Topic::Agent(id).to_string())
        .collect();
    topics.extend(
        ids("thread_ids")
            .into_iter()
            .take(threads)
            .map(|id| Topic::Thread(id).to_string()),
    );
    topics
}

#[wasm_bindgen_test]
async fn b1_dispatch_throughput() {
    const N: u32 = 200_000;
    let user = 201;
    let topics = topics_for(user, 5, 5).await;
    assert_eq!(topics.len(), 10, "{topics:?}");
    let per_topic = N / topics.len() as u32;

    // The client: typed handlers on 10 topics.
    let app = app_for(user, |_| {}).await;
    let count = Rc::new(Cell::new(0u32));
    let (first, last) = (Rc::new(Cell::new(0.0)), Rc::new(Cell::new(0.0)));
    let subs: Vec<_> = topics
        .iter()
        .map(|t| {
            let (count, first, last) = (count.clone(), first.clone(), last.clone());
            app.topics
                .subscribe(t.parse().unwrap(), move |e: &TopicEvent| {
                    let typed = matches!(
                        e.frame.msg,
                        ServerMessage::AgentUpdated(_) | ServerMessage::StreamChunk(_)
                    );
                    if typed && e.frame.seq.is_some() {
                        let n = count.get() + 1;
                        count.set(n);
                        if n == 1 {
                            first.set(now());
                        }
                        if n == N {
                            last.set(now());
                        }
                    }
                })
        })
        .collect();
    wait_for("acks", 10_000, || {
        app.client.metrics().subscriptions.active == 10
    })
    .await;
    publish_all(&topics, per_topic, 0).await;
    wait_for("200k events", 300_000, || count.get() == N).await;
    let client_rate = f64::from(N) / ((last.get() - first.get()) / 1000.0);
    assert_eq!(app.client.metrics().counters.duplicates_dropped, 0);
    drop(subs);
    app.client.close();

    // The raw JavaScript baseline over the same kind of frames.
    let (finished, _, ws) = raw_client(user, &topics, N, false).await;
    publish_all(&topics, per_topic, 0).await;
    let ms = within(300_000, JsFuture::from(finished))
        .await
        .expect("the baseline finished")
        .unwrap()
        .as_f64()
        .unwrap();
    close_raw(&ws);
    let raw_rate = f64::from(N) / (ms / 1000.0);
    report(
        "B1 dispatch throughput (200k events, 10 topics)",
        client_rate,
        raw_rate,
        "events/s",
        "baseline: raw JS WebSocket + JSON.parse + Map",
    );
}

#[wasm_bindgen_test]
async fn b3_resubscribe_latency() {
    let user = 203;
    let ids = seed_agents(user, 1000).await;
    let topics: Vec<String> = ids.iter().map(|id| Topic::Agent(*id).to_string()).collect();
    let app = app_for(user, |_| {}).await;
    let replayed_at = Rc::new(Cell::new(0.0));
    let subs: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let at = replayed_at.clone();
            app.topics
                .subscribe(Topic::Agent(*id), move |e: &TopicEvent| {
                    if i == 0 && e.frame.seq.is_some() && at.get() == 0.0 {
                        at.set(now());
                    }
                })
        })
        .collect();
    wait_for("1000 acks", 20_000, || {
        app.client.metrics().subscriptions.active == 1000
    })
    .await;
    let opened_at = Rc::new(Cell::new(0.0));
    let o = opened_at.clone();
    let _g = app.client.on_state_change(move |s| {
        if *s == ConnectionState::Open {
            o.set(now());
        }
    });
    let frames_before = app.client.metrics().counters.frames_out;
    post("/api/test/refuse?ms=300").await;
    post("/api/test/drop").await;
    post(&format!(
        "/api/test/publish?topic={}&count=1&rate=0",
        topics[0]
    ))
    .await;
    wait_for("reopen", 20_000, || opened_at.get() > 0.0).await;
    let mut acked_at = now();
    let deadline = acked_at + 20_000.0;
    while app.client.metrics().subscriptions.active < 1000 {
        assert!(now() < deadline, "acks did not arrive");
        TimeoutFuture::new(0).await;
        acked_at = now();
    }
    wait_for("the replayed event", 10_000, || replayed_at.get() > 0.0).await;
    let latency = acked_at.max(replayed_at.get()) - opened_at.get();
    let frames = app.client.metrics().counters.frames_out - frames_before;
    drop(subs);
    app.client.close();

    // Baseline: a naive client sending one subscribe per topic.
    let t0 = now();
    let (_, _, ws) = raw_client(user, &topics, 1, true).await;
    let naive = now() - t0;
    close_raw(&ws);
    report("B3 resubscribe 1000 topics (open to all acks + replay)", latency, naive, "ms", &format!("client sent {frames} frames (one subscribe, the rest heartbeat pings); baseline: raw JS, 1000 subscribe frames, connect included"));
}

/// The JS heap in use after a forced collection (webdriver.json starts Chromium with
/// `--js-flags=--expose-gc --enable-precise-memory-info`).
fn heap() -> f64 {
    js_sys::eval("(typeof gc === 'function' && gc(), performance.memory ? performance.memory.usedJSHeapSize : 0)")
        .unwrap()
        .as_f64()
        .unwrap_or(0.0)
}

mod soak {
    //! The components B4 mounts and unmounts: the dashboard and chat hooks, `use_topic` and
    //! `use_connection`, under a `WsProvider`.

    use tether::hooks::{
        use_chat, use_connection, use_dashboard, use_topic, WsContext, WsProvider,
    };
    use tether::protocol::Topic;
    use yew::prelude::*;

    #[derive(Properties, PartialEq)]
    pub struct SoakProps {
        pub context: WsContext,
        pub thread: u64,
        pub agent: u64,
        /// Which components [`Soak`] mounts.
        pub part: Part,
    }

    /// All four soak components, or one of them alone.
    #[derive(Clone, Copy, Debug, PartialEq)]
    pub enum Part {
        All,
        Dashboard,
        Chat,
        Topic,
        Connection,
    }

    impl Part {
        /// The hook a single part exercises.
        pub fn hook(self) -> &'static str {
            match self {
                Part::All => "all hooks",
                Part::Dashboard => "use_dashboard",
                Part::Chat => "use_chat",
                Part::Topic => "use_topic",
                Part::Connection => "use_connection",
            }
        }

        fn shows(self, part: Part) -> bool {
            self == Part::All || self == part
        }
    }

    #[component]
    fn Dashboard() -> Html {
        let d = use_dashboard();
        html! { <p>{ d.model.agents().count() }</p> }
    }

    #[component]
    fn Chat(props: &SoakProps) -> Html {
        let c = use_chat(props.thread);
        html! { <p>{ c.model.entries().len() }</p> }
    }

    #[component]
    fn TopicView(props: &SoakProps) -> Html {
        use_topic(Topic::Agent(props.agent), Callback::from(|_| ()));
        html! { <p>{ "topic" }</p> }
    }

    #[component]
    fn Badge() -> Html {
        let c = use_connection();
        html! { <p>{ c.state.name() }</p> }
    }

    /// The root: shows [`Soak`] (or [`Plain`] when `plain`) while `on`; the bench flips `on`
    /// through `control`.
    #[derive(Properties)]
    pub struct RootProps {
        pub soak: SoakProps,
        pub plain: bool,
        pub control: std::rc::Rc<std::cell::RefCell<Option<Callback<bool>>>>,
    }

    impl PartialEq for RootProps {
        fn eq(&self, other: &Self) -> bool {
            self.soak == other.soak
                && self.plain == other.plain
                && std::rc::Rc::ptr_eq(&self.control, &other.control)
        }
    }

    #[component]
    pub fn Root(props: &RootProps) -> Html {
        let on = use_state(|| false);
        let setter = on.clone();
        *props.control.borrow_mut() = Some(Callback::from(move |v: bool| setter.set(v)));
        let s = &props.soak;
        html! {
            if !*on {}
            else if props.plain { <Plain /> }
            else { <Soak context={s.context.clone()} thread={s.thread} agent={s.agent} part={s.part} /> }
        }
    }

    /// The heap baseline: a tree of the same shape made of plain Yew components (a context
    /// provider, state, an effect with a cleanup) and no tether.
    #[component]
    pub fn Plain() -> Html {
        html! {
            <ContextProvider<u64> context={7}>
                <PlainLeaf /><PlainLeaf /><PlainLeaf /><PlainLeaf />
            </ContextProvider<u64>>
        }
    }

    #[component]
    fn PlainLeaf() -> Html {
        let value = use_context::<u64>().unwrap_or_default();
        let state = use_state(|| 0u64);
        let set = state.clone();
        use_effect_with(value, move |v| {
            set.set(*v);
            move || drop(set)
        });
        html! { <p>{ *state }</p> }
    }

    #[component]
    pub fn Soak(props: &SoakProps) -> Html {
        html! {
            <WsProvider context={props.context.clone()}>
                if props.part.shows(Part::Dashboard) { <Dashboard /> }
                if props.part.shows(Part::Chat) {
                    <Chat context={props.context.clone()} thread={props.thread} agent={props.agent} part={Part::Chat} />
                }
                if props.part.shows(Part::Topic) {
                    <TopicView context={props.context.clone()} thread={props.thread} agent={props.agent} part={Part::Topic} />
                }
                if props.part.shows(Part::Connection) { <Badge /> }
            </WsProvider>
        }
    }
}

/// Lets microtasks (Yew's scheduler, effects) run.
async fn yield_now() {
    for _ in 0..3 {
        JsFuture::from(Promise::resolve(&JsValue::NULL))
            .await
            .unwrap();
    }
}

/// Renders a [`soak::Root`] and mounts and unmounts its child `cycles` times; returns seconds.
async fn soak_cycles(soak: soak::SoakProps, plain: bool, cycles: usize) -> f64 {
    let root = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .create_element("div")
        .unwrap();
    let control = Rc::new(RefCell::new(None::<yew::Callback<bool>>));
    let props = soak::RootProps {
        soak,
        plain,
        control: control.clone(),
    };
    let handle = yew::Renderer::<soak::Root>::with_root_and_props(root, props).render();
    wait_for("the root to render", 5_000, || control.borrow().is_some()).await;
    let flip = |v: bool| control.borrow().clone().expect("rendered").emit(v);
    let started = now();
    for i in 0..cycles {
        flip(true);
        yield_now().await; // mounted: effects subscribe
        flip(false);
        yield_now().await; // unmounted, often before a fetch or a socket event came in
        if i % 200 == 0 {
            TimeoutFuture::new(0).await; // let socket and fetch events in, as between real renders
        }
    }
    let seconds = (now() - started) / 1000.0;
    TimeoutFuture::new(2_000).await; // in-flight fetches finish; their results find no view
    handle.destroy();
    yield_now().await;
    seconds
}

#[wasm_bindgen_test]
async fn b4_leak_soak() {
    use tether::hooks::WsContext;
    use tether::rest::Api;
    const CYCLES: usize = 10_000;
    const WARM_UP: usize = 200;
    let user = 204;
    let seeded = post(&format!("/api/test/seed?owner={user}&agents=3&threads=1")).await;
    let agent = seeded["ids"][0].as_u64().unwrap();
    let thread = seeded["thread_ids"][0].as_u64().unwrap();
    let token = token_for(user).await;
    let app = app_for(user, |_| {}).await;
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    let soak_part = |part| soak::SoakProps {
        context: WsContext {
            app: app.clone(),
            api: Api::new(tether_tests::web::stub(), token.clone()),
            user,
        },
        thread,
        agent,
        part,
    };
    let soak = || soak_part(soak::Part::All);
    // Both trees once briefly, so one-time costs (Yew's and ours) land before any reading.
    soak_cycles(soak(), true, WARM_UP).await;
    soak_cycles(soak(), false, WARM_UP).await;

    let (plain_before, plain_rust_before) = (heap(), rust_heap());
    soak_cycles(soak(), true, CYCLES).await;
    let (plain_after, plain_rust_after) = (heap(), rust_heap());

    let handlers_before = app.topics.total_handlers();
    let listeners_before = app.client.listener_count();
    let subs_before = user_stat(user, "subscriptions").await;
    let (heap_before, rust_before) = (heap(), rust_heap());
    let seconds = soak_cycles(soak(), false, CYCLES).await;
    let handlers_after = app.topics.total_handlers();
    let listeners_after = app.client.listener_count();
    let subs_after = user_stat(user, "subscriptions").await;
    let (heap_after, rust_after) = (heap(), rust_heap());
    let note = format!("{CYCLES} mount/unmount cycles of Yew components using use_dashboard, use_chat, use_topic and use_connection in {seconds:.0} s; baseline: before");
    report(
        "B4 leak soak: live handlers",
        handlers_after as f64,
        handlers_before as f64,
        "handlers",
        &note,
    );
    report(
        "B4 leak soak: stub subscriptions",
        subs_after as f64,
        subs_before as f64,
        "topics",
        "baseline: before",
    );
    report("B4 leak soak: state listeners and their timers (use_connection's interval)", listeners_after as f64, listeners_before as f64, "listeners", "each use_connection holds one listener and one interval, dropped together; baseline: before");
    report(
        "B4 leak soak: JS heap",
        heap_after / 1024.0,
        heap_before / 1024.0,
        "KiB",
        "performance.memory.usedJSHeapSize after a forced GC; baseline: before",
    );
    let per_cycle = |before: f64, after: f64| (after - before) / CYCLES as f64;
    report(
        "B4 leak soak: JS heap growth per cycle",
        per_cycle(heap_before, heap_after),
        per_cycle(plain_before, plain_after),
        "B/cycle",
        "baseline: the same cycles of a tree of plain Yew components (context provider, state, effect), no tether",
    );
    report(
        "B4 leak soak: Rust heap in wasm memory",
        rust_after / 1024.0,
        rust_before / 1024.0,
        "KiB",
        "live bytes counted by this page's global allocator; baseline: before",
    );
    report(
        "B4 leak soak: Rust heap growth per cycle",
        per_cycle(rust_before, rust_after),
        per_cycle(plain_rust_before, plain_rust_after),
        "B/cycle",
        "baseline: the plain Yew tree above",
    );
    // Each hook alone, to tell which one holds on to what.
    const PART_CYCLES: usize = 2_000;
    let plain = per_cycle(
        plain_before + plain_rust_before,
        plain_after + plain_rust_after,
    );
    for part in [
        soak::Part::Dashboard,
        soak::Part::Chat,
        soak::Part::Topic,
        soak::Part::Connection,
    ] {
        soak_cycles(soak_part(part), false, WARM_UP).await;
        let (js, rust) = (heap(), rust_heap());
        soak_cycles(soak_part(part), false, PART_CYCLES).await;
        let (js_grew, rust_grew) = (heap() - js, rust_heap() - rust);
        let cycles = PART_CYCLES as f64;
        report(
            &format!("B4 leak soak: heap growth per cycle, {} alone", part.hook()),
            (js_grew + rust_grew) / cycles,
            plain,
            "B/cycle",
            &format!(
                "{PART_CYCLES} cycles: JS heap {:.1} + Rust heap {:.1} B/cycle; baseline: the plain Yew tree, JS + Rust",
                js_grew / cycles,
                rust_grew / cycles
            ),
        );
    }
    app.client.close();
}

#[wasm_bindgen_test]
async fn b5_end_to_end_latency() {
    const N: u32 = 10_000;
    const WARM_UP: u32 = 1_000;
    let user = 205;
    let topics = topics_for(user, 1, 0).await;
    let app = app_for(user, |_| {}).await;
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let l = latencies.clone();
    let _sub = app
        .topics
        .subscribe(topics[0].parse().unwrap(), move |e: &TopicEvent| {
            if e.frame.seq.is_some() {
                l.borrow_mut().push(js_sys::Date::now() - e.frame.ts as f64);
            }
        });
    wait_for("ack", 10_000, || {
        app.client.metrics().subscriptions.active == 1
    })
    .await;
    // A warm-up round first (wasm compiles lazily, JS tiers up), the same for both clients.
    publish_all(&topics, WARM_UP, 1_000).await;
    wait_for("the warm-up events", 10_000, || {
        latencies.borrow().len() == WARM_UP as usize
    })
    .await;
    latencies.borrow_mut().clear();
    publish_all(&topics, N, 1_000).await;
    wait_for("all events", 20_000, || {
        latencies.borrow().len() == N as usize
    })
    .await;
    app.client.close();
    // The baseline alone on the page, over the same schedule.
    let (warm, _, ws) = raw_client(user, &topics, WARM_UP, false).await;
    publish_all(&topics, WARM_UP, 1_000).await;
    within(60_000, JsFuture::from(warm))
        .await
        .expect("the baseline warmed up")
        .unwrap();
    close_raw(&ws);
    let (finished, raw, ws) = raw_client(user, &topics, N, false).await;
    publish_all(&topics, N, 1_000).await;
    within(60_000, JsFuture::from(finished))
        .await
        .expect("the baseline finished")
        .unwrap();
    close_raw(&ws);
    let pct = |mut v: Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[((v.len() as f64 - 1.0) * p) as usize]
    };
    let raw: Vec<f64> = raw.iter().map(|v| v.as_f64().unwrap()).collect();
    let ours = latencies.borrow().clone();
    report(
        "B5 publish-to-handler latency p50 at 1000 events/s",
        pct(ours.clone(), 0.5),
        pct(raw.clone(), 0.5),
        "ms",
        "baseline: raw JS client, same schedule, run after; each after a 1000-event warm-up; ts has 1 ms resolution, so 0 means under 1 ms",
    );
    report(
        "B5 publish-to-handler latency p99 at 1000 events/s",
        pct(ours.clone(), 0.99),
        pct(raw.clone(), 0.99),
        "ms",
        &format!("{N} events each; clock resolution 1 ms"),
    );
    // One pause of the page or the stub delays every event published during it, so a single
    // 40 ms pause alone moves p99: count the delayed events as well.
    let delayed = |v: &[f64]| v.iter().filter(|l| **l > 10.0).count() as f64;
    report(
        "B5 events delivered more than 10 ms after publish",
        delayed(&ours),
        delayed(&raw),
        "events",
        &format!("of {N}"),
    );
}

/// Where B1's time goes, per event: copying the frame from JS into wasm, decoding it, and the
/// core's admission plus dispatch to a handler. Same page, same frames, measured one part at a
/// time over 200k events.
#[wasm_bindgen_test]
async fn b1_breakdown() {
    use tether::core::{Config, Connection, Instant, Output, SocketId};
    use tether::protocol::ServerFrame;
    const N: usize = 200_000;
    let frames: Vec<String> = (1..=N as u64)
        .map(|seq| {
            format!(
                r#"{{"v":1,"type":"agent_updated","topic":"agent:1","req_id":null,"ts":1767225600000,"seq":{seq},"data":{{"id":1,"owner_id":1,"name":"Researcher","status":"running","created_at":1767225000000,"updated_at":1767225600000,"note":"xxxxxxxxxxxxxxxxxxxxxxxx"}}}}"#
            )
        })
        .collect();
    let bytes = frames[0].len();
    let js: Vec<JsValue> = frames.iter().map(|f| JsValue::from_str(f)).collect();

    let t0 = now();
    let mut total = 0;
    for v in &js {
        total += v.as_string().map_or(0, |s| s.len());
    }
    let copy = (now() - t0) * 1000.0 / N as f64;
    assert!(total > 0);

    let t0 = now();
    for f in &frames {
        assert!(ServerFrame::decode(f).is_ok());
    }
    let parse = (now() - t0) * 1000.0 / N as f64;

    let mut core = Connection::new(Config::new("ws://bench"), 1);
    core.handle_connect(Instant(0));
    core.handle_socket_opened(SocketId(1), Instant(0));
    core.subscribe(&Topic::Agent(1), Instant(0));
    while core.poll_output().is_some() {}
    let delivered = Cell::new(0);
    let handler = |_: &TopicEvent| delivered.set(delivered.get() + 1);
    let t0 = now();
    for f in &frames {
        core.handle_socket_message(SocketId(1), f, Instant(0));
        while let Some(out) = core.poll_output() {
            if let Output::Deliver(e) = out {
                handler(&e);
            }
        }
    }
    let full = (now() - t0) * 1000.0 / N as f64;
    assert_eq!(delivered.get(), N);
    report(
        "B1 breakdown: copy JS string into wasm",
        copy,
        full + copy,
        "us/event",
        &format!("{bytes} B frames; baseline: the whole path"),
    );
    report(
        "B1 breakdown: decode (serde_json, typed)",
        parse,
        full + copy,
        "us/event",
        "baseline: the whole path",
    );
    report(
        "B1 breakdown: decode + seq check + dispatch (core)",
        full,
        full + copy,
        "us/event",
        "baseline: the whole path",
    );
}
