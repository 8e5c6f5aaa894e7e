//! Cross-crate tests for Auralis; the tests themselves live in `tests/`.
//!
//! This library holds what several of them share: a global allocator that
//! counts the allocations made by the current thread, so a test can prove
//! that a hot path allocates nothing, and a tiny SoundFont builder for the
//! corpus of broken fonts.

pub mod loudness;
pub mod sf2_builder;
pub mod skip;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// A global allocator that forwards to [`System`] and counts, per thread,
/// every allocation and reallocation.
///
/// Install it in a test binary with
/// `#[global_allocator] static A: CountingAllocator = CountingAllocator;`
/// and measure with [`allocations_during`].
pub struct CountingAllocator;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with` because allocations can happen while the thread's locals
    // are being torn down.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; counting touches only a const-initialised
// thread-local, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded with the caller's layout, as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is the system's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns its result with the number of allocations the
/// current thread made meanwhile (meaningful only where
/// [`CountingAllocator`] is the global allocator).
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = COUNT.with(Cell::get);
    let r = f();
    (r, COUNT.with(Cell::get) - before)
}
