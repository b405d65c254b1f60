//! The allocator's logic on a fake memory: a page-aligned buffer that `grow` hands out page by
//! page, as `memory.grow` does, so that every block can be checked against the pages granted.

use std::alloc::{alloc_zeroed, dealloc, Layout};

use super::{State, PAGE};

/// A fake wasm memory of `pages` pages; `grow` grants them in order, then refuses.
struct Memory {
    base: *mut u8,
    pages: usize,
    used: usize,
    /// Pages skipped before the next grant (another grower's), to test a gap.
    skip: usize,
}

impl Memory {
    fn new(pages: usize) -> Memory {
        let base = unsafe { alloc_zeroed(Memory::layout(pages)) };
        assert!(!base.is_null());
        Memory {
            base,
            pages,
            used: 0,
            skip: 0,
        }
    }

    fn layout(pages: usize) -> Layout {
        Layout::from_size_align(pages * PAGE, PAGE).unwrap()
    }

    /// As `memory.grow`: the previous size in pages (counted from address 0), or `usize::MAX`.
    fn grow(&mut self, pages: usize) -> usize {
        let from = self.used + std::mem::take(&mut self.skip);
        if from + pages > self.pages {
            return usize::MAX;
        }
        self.used = from + pages;
        self.base as usize / PAGE + from
    }

    /// True if `[p, p + len)` lies in the pages granted so far.
    fn granted(&self, p: *mut u8, len: usize) -> bool {
        let (p, base) = (p as usize, self.base as usize);
        p >= base && p + len <= base + self.used * PAGE
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        unsafe { dealloc(self.base, Memory::layout(self.pages)) };
    }
}

fn state() -> State {
    State {
        free: [0; super::CLASSES],
        next: 0,
        end: 0,
    }
}

/// A deterministic stream of numbers (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

#[test]
fn blocks_are_aligned_in_granted_memory_and_keep_their_contents_while_others_come_and_go() {
    let mut mem = Memory::new(256);
    let mut s = state();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Live blocks: (pointer, layout, the byte each of its bytes holds).
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    for round in 0..20_000u32 {
        if !live.is_empty() && rng.next(3) == 0 {
            let (p, layout, fill) = live.swap_remove(rng.next(live.len()));
            let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
            assert!(
                bytes.iter().all(|&b| b == fill),
                "a block kept its contents"
            );
            unsafe { s.dealloc(p, layout) };
            continue;
        }
        let range = if rng.next(20) == 0 { 20_000 } else { 200 };
        let size = 1 + rng.next(range);
        let align = 1 << rng.next(7); // 1 to 64
        let layout = Layout::from_size_align(size, align).unwrap();
        let p = s.alloc(layout, |n| mem.grow(n));
        assert!(!p.is_null(), "memory left at round {round}");
        assert_eq!(p as usize % align, 0, "aligned");
        assert!(mem.granted(p, size), "inside the pages granted");
        let fill = round as u8;
        unsafe { std::ptr::write_bytes(p, fill, size) };
        live.push((p, layout, fill));
    }
    // No two live blocks overlap, and every one still holds what was written.
    let mut spans: Vec<(usize, usize)> = live
        .iter()
        .map(|&(p, l, _)| (p as usize, p as usize + l.size()))
        .collect();
    spans.sort_unstable();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
    for &(p, layout, fill) in &live {
        let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
        assert!(bytes.iter().all(|&b| b == fill));
    }
}

#[test]
fn a_steady_pattern_of_allocations_reuses_freed_blocks_and_stops_growing() {
    let mut mem = Memory::new(16);
    let mut s = state();
    // What a client does per event: a frame's text, its record, two decoded strings.
    let sizes = [208, 48, 12, 7];
    for _ in 0..100_000 {
        let blocks: Vec<(*mut u8, Layout)> = sizes
            .iter()
            .map(|&n| {
                let layout = Layout::from_size_align(n, 8).unwrap();
                (s.alloc(layout, |n| mem.grow(n)), layout)
            })
            .collect();
        for (p, layout) in blocks {
            assert!(!p.is_null());
            unsafe { s.dealloc(p, layout) };
        }
    }
    assert_eq!(mem.used, 1, "one page holds the steady heap");
}

#[test]
fn realloc_keeps_the_contents_and_keeps_a_block_that_still_fits() {
    let mut mem = Memory::new(64);
    let mut s = state();
    let mut layout = Layout::from_size_align(1, 1).unwrap();
    let mut p = s.alloc(layout, |n| mem.grow(n));
    unsafe { *p = 7 };
    let mut len = 1;
    while len < 100_000 {
        let new_len = len * 3 / 2 + 1;
        let same_class = super::class_of(layout)
            == super::class_of(Layout::from_size_align(new_len, 1).unwrap());
        let q = unsafe { s.realloc(p, layout, new_len, |n| mem.grow(n)) };
        assert!(!q.is_null());
        assert_eq!(q == p, same_class, "moves only to another class");
        let kept = unsafe { std::slice::from_raw_parts(q, len) };
        assert!(kept.iter().all(|&b| b == 7), "the contents moved with it");
        unsafe { std::ptr::write_bytes(q, 7, new_len) };
        (p, len, layout) = (q, new_len, Layout::from_size_align(new_len, 1).unwrap());
    }
    // Shrinking to another class copies what fits.
    let q = unsafe { s.realloc(p, layout, 10, |n| mem.grow(n)) };
    let kept = unsafe { std::slice::from_raw_parts(q, 10) };
    assert!(kept.iter().all(|&b| b == 7));
}

#[test]
fn exhausted_memory_gives_null_and_a_gap_left_by_another_grower_is_skipped() {
    let mut mem = Memory::new(4);
    let mut s = state();
    let small = Layout::from_size_align(100, 8).unwrap();
    let first = s.alloc(small, |n| mem.grow(n));
    assert!(mem.granted(first, 100));
    mem.skip = 1; // someone else grew memory by a page
    let big = Layout::from_size_align(PAGE, 8).unwrap();
    let p = s.alloc(big, |n| mem.grow(n));
    assert!(!p.is_null() && mem.granted(p, PAGE));
    assert!(
        p as usize >= mem.base as usize + 2 * PAGE,
        "not in the page skipped"
    );
    // Nothing left for another large block: null, not a block outside memory.
    assert!(s
        .alloc(Layout::from_size_align(2 * PAGE, 8).unwrap(), |n| mem
            .grow(n))
        .is_null());
    // Past the largest class: null.
    assert!(s
        .alloc(Layout::from_size_align(usize::MAX / 2, 1).unwrap(), |n| mem
            .grow(n))
        .is_null());
}
