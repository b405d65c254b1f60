//! Browser benchmarks for the `bench` command (scripts/bench.sh), run in headless Chromium with
//! `wasm-pack test --release`. Each prints `BENCH|…` lines (see [`report`]); the script collects
//! them into BENCHMARKS.md. Every baseline runs in the same page, on the same stub, in the same
//! run; timings alternate between the client and its baseline and report the median of their
//! runs with the spread.
//!
//! - [`b1_dispatch`]: recorded frames fed straight into the client (no socket) against
//!   `JSON.parse` + `Map` dispatch, and the same over a real socket end to end.
//! - [`b3_resubscribe`]: from socket open to every topic acknowledged and the missed event in.
//! - [`b4_soak`]: mount/unmount of the hooks; handlers, subscriptions, listeners, timers, heap.
//! - [`b5_latency`]: send-to-handler latency at 1,000 events/s, on `performance.now`.

#![cfg(target_arch = "wasm32")]

mod alloc;
mod b1_dispatch;
mod b1_end_to_end;
mod b3_resubscribe;
mod b4_soak;
mod b5_latency;
mod page;
mod report;
mod soak;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
