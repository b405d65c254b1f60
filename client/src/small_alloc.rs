//! [`SmallAlloc`]: a global allocator for single-threaded wasm32 apps, chosen for size (wasm32
//! only; its logic is tested natively on a fake memory). Rust's default on wasm32 is dlmalloc, about 7 KB of wasm; this one is a few hundred
//! bytes. An app opts in, once, in its binary:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: tether_client::small_alloc::SmallAlloc = tether_client::small_alloc::SmallAlloc::new();
//! ```
//!
//! How it works: every block is a power of two of at least 16 bytes, and each size has its own
//! free list. A freed block goes on its size's list and is handed out again for the next
//! request of that size; a request with an empty list takes fresh memory from the end of the
//! heap, which grows (`memory.grow`) when it runs out. Both are a few instructions.
//!
//! What it costs: a block is up to twice the size asked for, and memory freed in one size is
//! never reused for another (nor returned: wasm memory never shrinks). An app whose
//! allocations are small and repeat (a client's frames, events and handlers) keeps a steady
//! heap; one that allocates large buffers of ever different sizes should keep dlmalloc.
//!
//! **Single-threaded only:** it has no locks. wasm32 without the `atomics` target feature (what
//! `wasm32-unknown-unknown` builds by default) has one thread.

#[cfg(target_arch = "wasm32")]
use std::alloc::GlobalAlloc;
use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ptr::null_mut;

/// A wasm page, the unit `memory.grow` counts in.
const PAGE: usize = 65_536;
/// The smallest block, and the alignment of every block from fresh memory.
const MIN: usize = 16;
/// Size classes: 16 B (2^4) up to 2 GiB (2^31).
const CLASSES: usize = 32;

/// The allocator's state: each size's free list, and the fresh memory left.
struct State {
    /// The first free block of each size (0: none); a free block's first word links the next.
    free: [usize; CLASSES],
    /// Fresh memory: `[next, end)`.
    next: usize,
    end: usize,
}

/// A power-of-two, free-list global allocator for single-threaded wasm32 (see the module).
pub struct SmallAlloc {
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // read by wasm32's GlobalAlloc
    state: UnsafeCell<State>,
}

// SAFETY: wasm32 without atomics has one thread, so the state is never shared between threads.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for SmallAlloc {}

impl SmallAlloc {
    /// An allocator with no memory yet.
    pub const fn new() -> SmallAlloc {
        SmallAlloc {
            state: UnsafeCell::new(State {
                free: [0; CLASSES],
                next: 0,
                end: 0,
            }),
        }
    }
}

impl Default for SmallAlloc {
    fn default() -> Self {
        SmallAlloc::new()
    }
}

/// The block size for `layout` (a power of two ≥ [`MIN`] and ≥ its alignment) and its class;
/// `None` past the largest class.
fn class_of(layout: Layout) -> Option<(usize, usize)> {
    let size = layout
        .size()
        .max(layout.align())
        .max(MIN)
        .checked_next_power_of_two()?;
    let class = size.trailing_zeros() as usize;
    (class < CLASSES).then_some((size, class))
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // wasm32's, and the tests'
impl State {
    /// A block for `layout`, from its size's free list or fresh memory; null when memory is
    /// exhausted. `grow(pages)` grows memory as `memory.grow` does: the previous size in
    /// pages, or `usize::MAX`.
    fn alloc(&mut self, layout: Layout, grow: impl FnOnce(usize) -> usize) -> *mut u8 {
        let Some((size, class)) = class_of(layout) else {
            return null_mut();
        };
        let head = self.free[class];
        if head != 0 && head.is_multiple_of(layout.align()) {
            // SAFETY: `head` is a free block of this class; its first word links the next.
            self.free[class] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        self.fresh(size, layout.align(), grow)
    }

    /// Puts a block back on its size's free list.
    ///
    /// # Safety
    /// `ptr` came from [`State::alloc`] with `layout` and is not used again.
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        if let Some((_, class)) = class_of(layout) {
            // SAFETY: the block is at least 16 bytes and aligned for a word (see `fresh`).
            unsafe { *(ptr as *mut usize) = self.free[class] };
            self.free[class] = ptr as usize;
        }
    }

    /// A block of `size` bytes aligned to `align` from fresh memory, growing the heap if needed.
    fn fresh(&mut self, size: usize, align: usize, grow: impl FnOnce(usize) -> usize) -> *mut u8 {
        let align = align.max(MIN);
        let mut start = (self.next + align - 1) & !(align - 1);
        if start.checked_add(size).is_none_or(|e| e > self.end) {
            let pages = (size + align).div_ceil(PAGE);
            let prev = grow(pages);
            if prev == usize::MAX {
                return null_mut();
            }
            let base = prev * PAGE;
            if base != self.end {
                self.next = base; // another grower took the pages between: start afresh
            }
            self.end = base + pages * PAGE;
            start = (self.next + align - 1) & !(align - 1);
        }
        self.next = start + size;
        start as *mut u8
    }

    /// Resizes a block: the same block if the new size is of the same class, else a new one
    /// with the contents copied.
    ///
    /// # Safety
    /// As [`GlobalAlloc::realloc`].
    unsafe fn realloc(
        &mut self,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
        grow: impl FnOnce(usize) -> usize,
    ) -> *mut u8 {
        // SAFETY: the caller's layout with the new size is valid (GlobalAlloc's contract).
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if let (Some((_, old)), Some((_, fits))) = (class_of(layout), class_of(new)) {
            if old == fits {
                return ptr; // the block already fits
            }
        }
        let out = self.alloc(new, grow);
        if !out.is_null() {
            // SAFETY: both blocks are live, distinct, and at least this long.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, out, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        out
    }
}

/// `memory.grow` on the module's memory.
#[cfg(target_arch = "wasm32")]
fn memory_grow(pages: usize) -> usize {
    core::arch::wasm32::memory_grow(0, pages)
}

// SAFETY: every method reaches the state alone (one thread, and no method re-enters the
// allocator), and `State` upholds `GlobalAlloc`'s contract (see its methods).
#[cfg(target_arch = "wasm32")]
unsafe impl GlobalAlloc for SmallAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.state.get()).alloc(layout, memory_grow) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.state.get()).dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.state.get()).realloc(ptr, layout, new_size, memory_grow) }
    }
}

#[cfg(test)]
mod tests;
