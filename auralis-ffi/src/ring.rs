//! The core's ring for C audio programs: render on a worker thread, read
//! in the audio callback, no lock between them. The ring lives in caller
//! memory (`auralis_ring_size`, `auralis_ring_init`); one thread calls the
//! producer's functions, one the consumer's, any thread the read-only
//! ones.

use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use std::time::{Duration, Instant};

use auralis_core::buffer::{BufferManager, Consumer, Health, Monitor, Producer, RingState};

use crate::boundary::{arg, check, guard, slice, slice_mut, Out};
use crate::types::AuralisStatus;

/// A ring's tier of fullness (the seed's `IBufferManager`), for
/// `AuralisRingStats::health`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisHealth {
    /// Under a fifth of the ring: an underrun is near.
    Emergency = 0,
    /// A fifth to three fifths.
    Low = 1,
    /// Three fifths and more, with room for another chunk.
    Healthy = 2,
    /// No room for another chunk: the producer waits.
    Full = 3,
}

impl From<Health> for AuralisHealth {
    fn from(h: Health) -> Self {
        match h {
            Health::Emergency => AuralisHealth::Emergency,
            Health::Low => AuralisHealth::Low,
            Health::Healthy => AuralisHealth::Healthy,
            Health::Full => AuralisHealth::Full,
        }
    }
}

/// A ring's figures, from `auralis_ring_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuralisRingStats {
    /// Samples waiting to be read.
    pub depth: usize,
    /// Samples the ring holds at most.
    pub capacity: usize,
    /// Samples in one chunk, as given to `auralis_ring_init`.
    pub chunk: usize,
    /// The tier of `depth`.
    pub health: AuralisHealth,
    /// Reads (`auralis_ring_fill`) that found less than they asked for.
    pub underruns: u32,
    /// Writes refused because the ring was too full.
    pub overflows: u32,
}

/// A ring in caller memory: this header, then its slots. Opaque to C.
pub struct AuralisRing {
    state: RingState,
    manager: BufferManager,
    /// Samples in the slots that follow.
    len: usize,
}

impl AuralisRing {
    /// The slots after the header.
    fn slots(&self) -> &[UnsafeCell<i16>] {
        // SAFETY: `auralis_ring_init` made `len` slots right after the
        // header, inside the caller's memory (its size was checked), and
        // they live as long as the ring; `UnsafeCell<i16>` has the layout
        // of `i16`, and the header's size is a multiple of its alignment
        // (at least 2), so the slots are aligned.
        unsafe {
            let first = (self as *const Self).add(1).cast::<UnsafeCell<i16>>();
            core::slice::from_raw_parts(first, self.len)
        }
    }

    /// The producer half, for this call.
    ///
    /// # Safety
    /// No other producer call runs on this ring meanwhile.
    unsafe fn producer(&self) -> Producer<'_> {
        // SAFETY: one producer at a time (the caller's promise), with this
        // ring's own state and slots.
        unsafe { Producer::from_parts(&self.state, self.slots()) }
    }

    /// The consumer half, for this call.
    ///
    /// # Safety
    /// No other consumer call runs on this ring meanwhile.
    unsafe fn consumer(&self) -> Consumer<'_> {
        // SAFETY: as for the producer.
        unsafe { Consumer::from_parts(&self.state, self.slots()) }
    }

    fn monitor(&self) -> Monitor<'_> {
        Monitor::new(&self.state, self.len)
    }
}

/// The ring behind a handle (NULL: NULL_POINTER).
///
/// # Safety
/// `ring` is NULL or a live ring from `auralis_ring_init`.
unsafe fn ring<'a>(ring: *const AuralisRing) -> Result<&'a AuralisRing, AuralisStatus> {
    // SAFETY: passed on; only shared references are ever made to a ring.
    unsafe { arg(ring) }
}

/// Bytes of caller memory a ring of `capacity` samples needs (0 when
/// `capacity` is odd, zero, or too large to count).
///
/// - Ownership: returns a value.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_ring_size(capacity: usize) -> usize {
    if capacity < 2 || capacity % 2 != 0 {
        return 0;
    }
    capacity
        .checked_mul(size_of::<i16>())
        .and_then(|b| b.checked_add(size_of::<AuralisRing>()))
        .unwrap_or(0)
}

/// Alignment a ring needs in caller memory.
///
/// - Ownership: returns a value.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_ring_align() -> usize {
    align_of::<AuralisRing>()
}

/// Makes an empty ring of `capacity` samples (interleaved stereo, so an
/// even number) for chunks of `chunk` samples (8,820 for 100 ms at
/// 44.1 kHz: what `auralis_engine_next_chunk` gives), in `len` bytes at
/// `memory` (at least `auralis_ring_size(capacity)`, aligned to
/// `auralis_ring_align()`), and stores its handle in `*out`.
///
/// - Ownership: the memory stays the caller's and must outlive the ring;
///   nothing is allocated, and there is nothing to free.
/// - Threads: any thread, before the producer and consumer start.
/// - Real-time safe: yes (writes the header and zeroes the slots).
/// - Errors: NULL_POINTER, INVALID_ARGUMENT (odd or zero capacity, a
///   chunk of zero or more than the capacity), BUFFER_TOO_SMALL,
///   MISALIGNED.
///
/// # Safety
/// `memory` is NULL or valid for reads and writes of `len` bytes, used by
/// nothing else while the ring lives; `out` is NULL or points to a
/// writable `AuralisRing *`.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_init(
    memory: *mut c_void,
    len: usize,
    capacity: usize,
    chunk: usize,
    out: *mut *mut AuralisRing,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        if memory.is_null() {
            return AuralisStatus::NullPointer;
        }
        let need = auralis_ring_size(capacity);
        if need == 0 || chunk == 0 || chunk > capacity {
            return AuralisStatus::InvalidArgument;
        }
        if len < need {
            return AuralisStatus::BufferTooSmall;
        }
        if (memory as usize) % align_of::<AuralisRing>() != 0 {
            return AuralisStatus::Misaligned;
        }
        let header = memory.cast::<AuralisRing>();
        // SAFETY: `memory` is the caller's, large and aligned enough
        // (checked above): the header, then `capacity` zeroed samples.
        unsafe {
            header.write(AuralisRing {
                state: RingState::new(),
                manager: BufferManager::new(chunk, capacity),
                len: capacity,
            });
            header.add(1).cast::<i16>().write_bytes(0, capacity);
        }
        out.set(header);
        AuralisStatus::Ok
    })
}

/// Producer: writes all `len` samples (whole stereo frames), or none and
/// RING_FULL when they do not fit (counted as an overflow).
///
/// - Ownership: `samples` stays the caller's (copied).
/// - Threads: the producer's thread (one producer call at a time).
/// - Real-time safe: yes: no allocation, no lock, no system call.
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL (odd `len`), RING_FULL.
///
/// # Safety
/// `ring` is NULL or a live ring from `auralis_ring_init`; `samples` is
/// NULL or valid for reads of `len` samples.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_write(
    ring: *mut AuralisRing,
    samples: *const i16,
    len: usize,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or live, per the contract.
        let r = check!(unsafe { self::ring(ring) });
        // SAFETY: NULL or `len` readable samples, per the contract.
        let samples = check!(unsafe { slice(samples, len) });
        if len % 2 != 0 {
            return AuralisStatus::BufferTooSmall;
        }
        // SAFETY: the producer's thread, one call at a time (the contract).
        if unsafe { r.producer() }.write(samples) {
            AuralisStatus::Ok
        } else {
            AuralisStatus::RingFull
        }
    })
}

/// Producer: back-pressure. Returns OK as soon as another chunk fits, or
/// RING_FULL after `timeout_ms` milliseconds without room (sleeping in
/// steps of at most a millisecond meanwhile).
///
/// - Ownership: nothing to own.
/// - Threads: the producer's thread.
/// - Real-time safe: no (it sleeps): for the producer, never the callback.
/// - Errors: NULL_POINTER, RING_FULL.
///
/// # Safety
/// `ring` is NULL or a live ring from `auralis_ring_init`.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_wait_for_space(
    ring: *mut AuralisRing,
    timeout_ms: u32,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or live, per the contract.
        let r = check!(unsafe { self::ring(ring) });
        // SAFETY: the producer's thread (the contract).
        let producer = unsafe { r.producer() };
        let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
        let fits = r.manager.wait_for_space(&producer, || {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(1)));
            true
        });
        if fits {
            AuralisStatus::Ok
        } else {
            AuralisStatus::RingFull
        }
    })
}

/// Consumer: reads up to `len` samples (whole frames) into `out` and
/// stores how many in `*read` (0 when the ring is empty).
///
/// - Ownership: `out` stays the caller's.
/// - Threads: the consumer's thread (one consumer call at a time).
/// - Real-time safe: yes: no allocation, no lock, no system call.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `ring` is NULL or a live ring; `out` is NULL or valid for writes of
/// `len` samples; `read` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_read(
    ring: *mut AuralisRing,
    out: *mut i16,
    len: usize,
    read: *mut usize,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or writable, per the contract.
        let read = check!(unsafe { Out::new(read) });
        // SAFETY: passed on, per the contract.
        let n = check!(unsafe { consume(ring, out, len, |c, out| c.read(out).unwrap_or(0)) });
        read.set(n);
        AuralisStatus::Ok
    })
}

/// Consumer, for an audio callback: fills all `len` samples of `out`,
/// with what the ring holds and then silence (a shortfall counts as an
/// underrun); stores in `*read` (if not NULL) how many came from the
/// ring.
///
/// - Ownership: `out` stays the caller's.
/// - Threads: the consumer's thread (one consumer call at a time).
/// - Real-time safe: yes: no allocation, no lock, no system call.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// As `auralis_ring_read`, with `read` optional.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_fill(
    ring: *mut AuralisRing,
    out: *mut i16,
    len: usize,
    read: *mut usize,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: passed on, per the contract.
        let n = check!(unsafe { consume(ring, out, len, |c, out| c.fill(out)) });
        // SAFETY: NULL (not wanted) or writable, per the contract.
        if let Some(read) = unsafe { crate::boundary::out_optional(read) } {
            read.set(n);
        }
        AuralisStatus::Ok
    })
}

/// The consumer's side of `_read` and `_fill`: `take` moves samples from
/// the ring into the `len` samples at `out`; returns how many it took.
///
/// # Safety
/// `ring` is NULL or a live ring whose consumer no other call is using;
/// `out` is NULL or valid for writes of `len` samples.
unsafe fn consume(
    ring: *mut AuralisRing,
    out: *mut i16,
    len: usize,
    take: impl FnOnce(&mut Consumer<'_>, &mut [i16]) -> usize,
) -> Result<usize, AuralisStatus> {
    // SAFETY: NULL or live, per the contract.
    let r = unsafe { self::ring(ring) }?;
    // SAFETY: NULL or `len` writable samples, per the contract.
    let out = unsafe { slice_mut(out, len) }?;
    // SAFETY: the consumer's thread, one call at a time (the contract).
    Ok(take(&mut unsafe { r.consumer() }, out))
}

/// Consumer: drops everything waiting (after a pause or a seek).
///
/// - Ownership: nothing to own.
/// - Threads: the consumer's thread.
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `ring` is NULL or a live ring from `auralis_ring_init`.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_clear(ring: *mut AuralisRing) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or live, per the contract.
        let r = check!(unsafe { self::ring(ring) });
        // SAFETY: the consumer's thread (the contract).
        unsafe { r.consumer() }.clear();
        AuralisStatus::Ok
    })
}

/// The ring's depth, tier and counters, into `*out`.
///
/// - Ownership: `*out` is the caller's; written only on success.
/// - Threads: any thread, beside the producer and the consumer.
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `ring` is NULL or a live ring; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn auralis_ring_stats(
    ring: *const AuralisRing,
    out: *mut AuralisRingStats,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: as the contract says, for each pointer.
        let r = check!(unsafe { self::ring(ring) });
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        let m = r.monitor();
        let depth = m.depth();
        out.set(AuralisRingStats {
            depth,
            capacity: m.capacity(),
            chunk: r.manager.chunk(),
            health: r.manager.health(depth).into(),
            underruns: m.underruns(),
            overflows: m.overflows(),
        });
        AuralisStatus::Ok
    })
}
