//! Shared scenarios for the cross-crate tests and the `chaos` command (native only):
//!
//! - [`chaos`]: views mount and unmount on a native client (or on tabs sharing one socket)
//!   while the stub publishes and a seeded schedule injects faults; every view must see every
//!   event of its lifetime exactly once, in order.
//! - [`e2e`]: the end-to-end tests' stub, browser and proxy.
//! - [`herd`]: many native clients reconnecting after a stub restart, as a histogram;
//!   [`herd_tabs`]: browsers of several tabs doing the same, sharing a socket or not.
//! - [`nodes`]: stub processes on one Redis, a TCP balancer, and the publish log read from
//!   Redis; [`redis`]: a `redis-server` of a test's own.
//! - [`stub`]: an in-process stub and its HTTP control API.
//! - [`wait`]: waiting for a condition, with a deadline that is never a pass.
//! - [`wire_audit`]: the proxy every native test reaches the stub through, which checks each
//!   frame against the origin's contract.
//! - `web` (wasm32): the same control API from the browser, for the browser tests and benches.

#[cfg(not(target_arch = "wasm32"))]
pub mod chaos;
#[cfg(not(target_arch = "wasm32"))]
pub mod e2e;
#[cfg(not(target_arch = "wasm32"))]
pub mod herd;
#[cfg(not(target_arch = "wasm32"))]
pub mod herd_tabs;
#[cfg(not(target_arch = "wasm32"))]
pub mod nodes;
#[cfg(not(target_arch = "wasm32"))]
pub mod redis;
#[cfg(not(target_arch = "wasm32"))]
pub mod stub;
#[cfg(not(target_arch = "wasm32"))]
pub mod wait;
#[cfg(target_arch = "wasm32")]
pub mod web;
#[cfg(not(target_arch = "wasm32"))]
pub mod wire_audit;
