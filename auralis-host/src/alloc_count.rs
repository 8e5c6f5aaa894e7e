//! The one counting global allocator: the server's allocator figures
//! (what Python's GC counts stood for in the original system), and the
//! per-thread count the zero-allocation tests read
//! ([`allocations_during`]). The binary and those tests install
//! [`CountingAlloc`]; a library user that does not sees `counting: false`
//! and zeros.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static DEALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static ACTIVE: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Allocations (and reallocations) made by this thread.
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation of this thread. `try_with`, because allocations
/// happen while a thread's locals are torn down; a const-initialised
/// local never allocates itself.
fn bump_thread() {
    let _ = THREAD.try_with(|c| c.set(c.get() + 1));
}

/// The system allocator with three relaxed counters.
#[derive(Debug)]
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters have no effect on the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ACTIVE.store(true, Relaxed);
        ALLOCATIONS.fetch_add(1, Relaxed);
        bump_thread();
        LIVE.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: the caller's layout contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        DEALLOCATIONS.fetch_add(1, Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: `ptr` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        bump_thread();
        DEALLOCATIONS.fetch_add(1, Relaxed);
        LIVE.fetch_add(new_size as u64, Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// The allocator's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocStats {
    /// Allocations (and reallocations) since start.
    pub allocations: u64,
    /// Frees (and reallocations) since start.
    pub deallocations: u64,
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// Whether [`CountingAlloc`] is the global allocator.
    pub counting: bool,
}

/// The figures now.
pub fn stats() -> AllocStats {
    AllocStats {
        allocations: ALLOCATIONS.load(Relaxed),
        deallocations: DEALLOCATIONS.load(Relaxed),
        live_bytes: LIVE.load(Relaxed),
        counting: ACTIVE.load(Relaxed),
    }
}

/// Runs `f` and returns its result with the number of allocations the
/// current thread made meanwhile (meaningful only where [`CountingAlloc`]
/// is the global allocator).
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = THREAD.with(Cell::get);
    let r = f();
    (r, THREAD.with(Cell::get) - before)
}
