//! B4, leak soak: 10,000 mount/unmount cycles of components using every hook, under providers
//! that stay mounted. After it, the client must hold what it held before: handlers, stub
//! subscriptions, state listeners, live timers (counted by wrapping the page's timer
//! functions), and memory: live Rust allocations (exact, and blind to buffers that grow),
//! Rust heap bytes and the JS heap, each per cycle against a plain Yew tree's, over two halves
//! so that a one-time step shows apart from steady growth.
//!
//! After printing its figures it fails (and with it the bench command) on a leak: a handler,
//! stub subscription, state listener or live timer more than before the soak, or live Rust
//! allocations still growing in the second half of a soak (more than [`ALLOCS_PER_CYCLE`]),
//! each named in a `B4 LEAK` line. The heaps' bytes are reported only: capacities and V8's
//! coarse steps make them no verdict.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use tether_client::agents::hooks::AgentsContext;
use tether_client::agents::rest::Api;
use tether_client::hooks::WsContext;
use tether_client::ConnectionState;
use tether_tests::web::{app_for, post, stub, token_for, user_stat, wait_for};
use wasm_bindgen_test::wasm_bindgen_test;
use yew::AttrValue;

use crate::alloc::{rust_allocations, rust_heap};
use crate::page::{heap, install_timer_probe, now, timers, yield_now};
use crate::report::{num, report};
use crate::soak::{Part, Root, RootProps};

const CYCLES: usize = 10_000;
const PART_CYCLES: usize = 2_000;
const WARM_UP: usize = 200;
/// Live allocations a soak's second half may gain per cycle: a leak keeps at least one per
/// cycle; this allows one-time steps of up to one allocation per hundred cycles.
const ALLOCS_PER_CYCLE: f64 = 0.01;

/// The leaks found: what grew, by how much.
#[derive(Default)]
struct Leaks(Vec<String>);

impl Leaks {
    /// A count that must be the same after the soak as before.
    fn same(&mut self, what: &str, before: f64, after: f64) {
        if after != before {
            self.0
                .push(format!("{what}: {before} before, {after} after"));
        }
    }

    /// Live allocations over the second half of a soak (`r[1..]`, `cycles` each).
    fn allocations(&mut self, what: &str, r: &[Held], cycles: usize) {
        let grown = per_cycle(&r[1..], cycles, |h| h.allocs);
        if grown > ALLOCS_PER_CYCLE {
            self.0.push(format!(
                "{what}: live allocations grew {grown} per cycle in the second half"
            ));
        }
    }
}

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

/// What the page holds: JS heap bytes, Rust heap bytes, live Rust allocations.
#[derive(Clone, Copy)]
struct Held {
    js: f64,
    rust: f64,
    allocs: f64,
}

fn held() -> Held {
    Held {
        js: heap(),
        rust: rust_heap(),
        allocs: rust_allocations(),
    }
}

/// Growth per cycle of one measure over readings `r` taken every `cycles` cycles.
fn per_cycle(r: &[Held], cycles: usize, k: fn(&Held) -> f64) -> f64 {
    (k(&r[r.len() - 1]) - k(&r[0])) / (cycles * (r.len() - 1)) as f64
}

/// "a then b": the growth per cycle of each half.
fn halves(r: &[Held; 3], cycles: usize, k: fn(&Held) -> f64) -> String {
    format!(
        "{} then {}",
        num(per_cycle(&r[..2], cycles, k)),
        num(per_cycle(&r[1..], cycles, k))
    )
}

/// Soaks `part` for `cycles` in two halves; returns the three readings.
async fn soak_in_halves(s: &Setup, part: Part, cycles: usize) -> ([Held; 3], f64) {
    let first = held();
    let t1 = soak_cycles(s, part, cycles / 2).await;
    let mid = held();
    let t2 = soak_cycles(s, part, cycles / 2).await;
    ([first, mid, held()], t1 + t2)
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
    let (plain, _) = soak_in_halves(&s, Part::Plain, CYCLES).await;

    let handlers = app.topics.total_handlers() as f64;
    let listeners = app.client.listener_count() as f64;
    let subs = user_stat(user, "subscriptions").await as f64;
    let timers_before = timers();
    let (all, seconds) = soak_in_halves(&s, Part::All, CYCLES).await;
    let timers_after = timers();
    let (intervals, timeouts) = (
        timers_after.intervals - timers_before.intervals,
        timers_after.timeouts - timers_before.timeouts,
    );
    // Most mounts run their effects before the next flip unmounts them; the probe must have
    // seen their intervals, or it is not counting the page's timers.
    assert!(
        intervals >= (CYCLES / 2) as f64,
        "the probe saw only {intervals} intervals in {CYCLES} mounts"
    );

    let mut leaks = Leaks::default();
    leaks.same(
        "live handlers",
        handlers,
        app.topics.total_handlers() as f64,
    );
    leaks.same(
        "stub subscriptions",
        subs,
        user_stat(user, "subscriptions").await as f64,
    );
    leaks.same(
        "state listeners",
        listeners,
        app.client.listener_count() as f64,
    );
    leaks.same("live timers", timers_before.live, timers_after.live);
    leaks.allocations("all hooks", &all, CYCLES / 2);
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
        &format!("{} intervals and {} timeouts were started during the soak (use_metrics holds an interval from its effect, which most of the {CYCLES} mounts ran); baseline: before", num(intervals), num(timeouts)),
    );
    let half = CYCLES / 2;
    let growth = |name: &str, k: fn(&Held) -> f64, unit: &str, limit: &str| {
        report(
            &format!("B4 leak soak: {name}, growth per cycle"),
            &[per_cycle(&all, half, k)],
            &[per_cycle(&plain, half, k)],
            unit,
            limit,
            &format!(
                "halves: {} (the plain tree: {}); baseline: the same cycles of a tree of plain Yew components (context provider, state, effect), no tether",
                halves(&all, half, k),
                halves(&plain, half, k)
            ),
        );
    };
    growth(
        "live Rust allocations",
        |h| h.allocs,
        "allocations/cycle",
        "exact: the page's allocator counts every allocation and free",
    );
    growth(
        "Rust heap",
        |h| h.rust,
        "B/cycle",
        "exact, but bytes are capacities: a buffer that doubles shows as a one-time step",
    );
    growth(
        "JS heap",
        |h| h.js,
        "B/cycle",
        "performance.memory.usedJSHeapSize after a forced GC: V8 reports it in coarse steps",
    );

    // Each hook alone, to tell which one holds on to what.
    for part in [
        Part::Dashboard,
        Part::Chat,
        Part::Topic,
        Part::Connection,
        Part::Metrics,
    ] {
        soak_cycles(&s, part, WARM_UP).await;
        let t = timers().live;
        let (r, _) = soak_in_halves(&s, part, PART_CYCLES).await;
        let per = PART_CYCLES / 2;
        leaks.allocations(part.hook(), &r, per);
        leaks.same(
            &format!("live timers, {} alone", part.hook()),
            t,
            timers().live,
        );
        report(
            &format!("B4 leak soak: live Rust allocations per cycle, {} alone", part.hook()),
            &[per_cycle(&r, per, |h| h.allocs)],
            &[per_cycle(&plain, half, |h| h.allocs)],
            "allocations/cycle",
            "exact (the allocator counts them)",
            &format!(
                "{PART_CYCLES} cycles; halves: allocations {}, Rust heap {} B/cycle, JS heap {} B/cycle; live timers {} before, {} after; baseline: the plain Yew tree",
                halves(&r, per, |h| h.allocs),
                halves(&r, per, |h| h.rust),
                halves(&r, per, |h| h.js),
                num(t),
                num(timers().live)
            ),
        );
    }
    app.client.close();
    assert!(
        leaks.0.is_empty(),
        "B4 LEAK: {}",
        leaks.0.join("; B4 LEAK: ")
    );
}
