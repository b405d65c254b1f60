//! What the bench's wasm measurements share (B1 in the browser, and the instruction count of
//! its path under Node): [`PageIo`], a driver with no socket. Empty off wasm32, where the
//! native measurements (the `fanout` binaries) need none of it.

#[cfg(target_arch = "wasm32")]
mod page_io;

#[cfg(target_arch = "wasm32")]
pub use page_io::PageIo;
