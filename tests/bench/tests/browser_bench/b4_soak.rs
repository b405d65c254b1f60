//! B4, leak soak: 10,000 mount/unmount cycles of components using every hook, under providers
//! that stay mounted. After it, the client must hold what it held before: handlers, stub
//! subscriptions, state listeners, live timers (counted by wrapping the page's timer
//! functions), and the heap, whose growth per cycle is set against a plain Yew tree's.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use tether::agents::hooks::AgentsContext;
use tether::agents::rest::Api;
use tether::hooks::WsContext;
use tether::ConnectionState;
use tether_tests::web::{app_for, post, stub, token_for, user_stat, wait_for};
use wasm_bindgen_test::wasm_bindgen_test;
use yew::AttrValue;

use crate::alloc::rust_heap;
use crate::page::{heap, install_timer_probe, now, timers, yield_now};
use crate::report::{num, report};
use crate::soak::{Part, Root, RootProps};

const CYCLES: usize = 10_000;
const PART_CYCLES: usize = 2_000;
const WARM_UP: usize = 200;

/// The providers' contexts and the seeded ids.
#[derive(Clone)]
struct Setup {
    ws: WsContext,
    agents: AgentsContext,
    thread: u64,
    agent: u64,
}

/// Renders a [`Root`] showing `part` and mounts and unmounts it `cycles` times; returns
/// seconds. Ends with the root destroyed, after in-flight fetches had 2 s to finish.
async fn soak_cycles(s: &Setup, part: Part, cycles: usize) -> f64 {
    let root = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .create_element("div")
        .unwrap();
    let control = Rc::new(RefCell::new(None::<yew::Callback<bool>>));
    let props = RootProps {
        ws: s.ws.clone(),
        agents: s.agents.clone(),
        thread: s.thread,
        agent: s.agent,
        part,
        control: control.clone(),
    };
    let handle = yew::Renderer::<Root>::with_root_and_props(root, props).render();
    wait_for("the root to render", 5_000, || control.borrow().is_some()).await;
    let flip = |v: bool| control.borrow().clone().expect("rendered").emit(v);
    let started = now();
    for i in 0..cycles {
        flip(true);
        yield_now().await; // mounted: effects subscribe
        flip(false);
        yield_now().await; // unmounted, often before a fetch or a socket event came in
        if i % 200 == 0 {
            TimeoutFuture::new(0).await; // let socket and fetch events in, as between renders
        }
    }
    let seconds = (now() - started) / 1000.0;
    TimeoutFuture::new(2_000).await; // in-flight fetches finish; their results find no view
    handle.destroy();
    yield_now().await;
    seconds
}

/// The JS and the Rust heap now, in bytes.
fn heaps() -> (f64, f64) {
    (heap(), rust_heap())
}

#[wasm_bindgen_test]
async fn b4_soak() {
    install_timer_probe();
    let user = 204;
    let seeded = post(&format!("/api/test/seed?owner={user}&agents=3&threads=1")).await;
    let token = token_for(user).await;
    let app = app_for(user, |_| {}).await;
    wait_for("open", 5_000, || {
        app.client.state() == ConnectionState::Open
    })
    .await;
    let s = Setup {
        ws: WsContext {
            app: app.clone(),
            token: Some(AttrValue::from(token.clone())),
        },
        agents: AgentsContext {
            api: Api::new(stub(), Some(token)),
            user,
        },
        thread: seeded["thread_ids"][0].as_u64().unwrap(),
        agent: seeded["ids"][0].as_u64().unwrap(),
    };
    // Both trees once briefly, so one-time costs (Yew's and ours) land before any reading.
    soak_cycles(&s, Part::Plain, WARM_UP).await;
    soak_cycles(&s, Part::All, WARM_UP).await;

    let plain_before = heaps();
    soak_cycles(&s, Part::Plain, CYCLES).await;
    let plain_after = heaps();

    let handlers = app.topics.total_handlers() as f64;
    let listeners = app.client.listener_count() as f64;
    let subs = user_stat(user, "subscriptions").await as f64;
    let timers_before = timers();
    // In two halves, to tell growth that stops (a buffer reaching its size) from a leak.
    let before = heaps();
    let seconds = soak_cycles(&s, Part::All, CYCLES / 2).await;
    let half = heaps();
    let seconds = seconds + soak_cycles(&s, Part::All, CYCLES / 2).await;
    let after = heaps();
    let timers_after = timers();
    let (intervals, timeouts) = (
        timers_after.intervals - timers_before.intervals,
        timers_after.timeouts - timers_before.timeouts,
    );
    assert!(
        intervals >= CYCLES as f64,
        "the probe saw use_metrics' intervals: {intervals}"
    );

    let counts = "counted before and after the soak, in the same page";
    let what = format!("{CYCLES} mount/unmount cycles of components using use_dashboard, use_chat, use_topic, use_connection and use_metrics in {seconds:.0} s");
    report(
        "B4 leak soak: live handlers",
        &[app.topics.total_handlers() as f64],
        &[handlers],
        "handlers",
        counts,
        &format!("{what}; baseline: before"),
    );
    report(
        "B4 leak soak: stub subscriptions",
        &[user_stat(user, "subscriptions").await as f64],
        &[subs],
        "topics",
        "counted by the stub (/api/stats)",
        "baseline: before",
    );
    report(
        "B4 leak soak: state listeners",
        &[app.client.listener_count() as f64],
        &[listeners],
        "listeners",
        counts,
        "use_connection's and the managers' listeners; baseline: before",
    );
    report(
        "B4 leak soak: live timers in the page",
        &[timers_after.live],
        &[timers_before.live],
        "timers",
        "counted by wrapping setTimeout, clearTimeout, setInterval and clearInterval: pending timeouts plus uncleared intervals",
        &format!("{} intervals and {} timeouts were started during the soak (use_metrics holds an interval per mount); baseline: before", num(intervals), num(timeouts)),
    );
    report(
        "B4 leak soak: JS heap",
        &[after.0 / 1024.0],
        &[before.0 / 1024.0],
        "KiB",
        "performance.memory.usedJSHeapSize after a forced GC (V8 rounds it to pages)",
        "baseline: before",
    );
    let per_cycle = |b: f64, a: f64, cycles: usize| (a - b) / cycles as f64;
    report(
        "B4 leak soak: JS heap growth per cycle",
        &[per_cycle(before.0, after.0, CYCLES)],
        &[per_cycle(plain_before.0, plain_after.0, CYCLES)],
        "B/cycle",
        "the heap reading's granularity: a few KiB over the soak is under 1 B/cycle",
        "baseline: the same cycles of a tree of plain Yew components (context provider, state, effect), no tether",
    );
    report(
        "B4 leak soak: Rust heap in wasm memory",
        &[after.1 / 1024.0],
        &[before.1 / 1024.0],
        "KiB",
        "live bytes counted by this page's global allocator (exact)",
        "baseline: before",
    );
    report(
        "B4 leak soak: Rust heap growth per cycle",
        &[per_cycle(before.1, after.1, CYCLES)],
        &[per_cycle(plain_before.1, plain_after.1, CYCLES)],
        "B/cycle",
        "exact (the allocator counts every byte)",
        &format!(
            "first half {} B/cycle, second half {} B/cycle (JS heap: {} and {}); baseline: the plain Yew tree above",
            num(per_cycle(before.1, half.1, CYCLES / 2)),
            num(per_cycle(half.1, after.1, CYCLES / 2)),
            num(per_cycle(before.0, half.0, CYCLES / 2)),
            num(per_cycle(half.0, after.0, CYCLES / 2)),
        ),
    );

    // Each hook alone, to tell which one holds on to what.
    let plain = per_cycle(
        plain_before.0 + plain_before.1,
        plain_after.0 + plain_after.1,
        CYCLES,
    );
    for part in [
        Part::Dashboard,
        Part::Chat,
        Part::Topic,
        Part::Connection,
        Part::Metrics,
    ] {
        soak_cycles(&s, part, WARM_UP).await;
        let (b, t) = (heaps(), timers().live);
        soak_cycles(&s, part, PART_CYCLES / 2).await;
        let m = heaps();
        soak_cycles(&s, part, PART_CYCLES / 2).await;
        let (a, t_after) = (heaps(), timers().live);
        let halves = |k: fn(&(f64, f64)) -> f64| {
            let (first, second) = (k(&m) - k(&b), k(&a) - k(&m));
            format!(
                "{} then {}",
                num(first / (PART_CYCLES / 2) as f64),
                num(second / (PART_CYCLES / 2) as f64)
            )
        };
        let (js, rust) = (
            per_cycle(b.0, a.0, PART_CYCLES),
            per_cycle(b.1, a.1, PART_CYCLES),
        );
        report(
            &format!("B4 leak soak: heap growth per cycle, {} alone", part.hook()),
            &[js + rust],
            &[plain],
            "B/cycle",
            "JS heap granularity (the Rust part is exact, but counts whatever is in flight at the reading: a fetch, a frame)",
            &format!(
                "{PART_CYCLES} cycles in two halves: JS heap {} + Rust heap {} B/cycle (halves: JS {}, Rust {}); live timers {} before, {} after; baseline: the plain Yew tree, JS + Rust",
                num(js), num(rust), halves(|h| h.0), halves(|h| h.1), num(t), num(t_after)
            ),
        );
    }
    app.client.close();
}
