//! Wall-clock time in the protocol's unit: the library's clock.

pub use tether_server::clock::{now_ms, now_secs};
