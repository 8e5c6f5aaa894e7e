//! The seed's `IRingBuffer`: a lock-free single-producer,
//! single-consumer ring of interleaved 16-bit stereo samples, in a
//! `static`, on the stack, or in memory a C caller provides.
//!
//! Its own ring rather than `heapless::spsc::Queue<i16, N>`: that queue
//! moves one item per atomic hand-over, so a 100 ms chunk (8,820 samples)
//! would cost 8,820 acquire/release pairs each way; this ring moves any
//! number of samples with two copies and one release store, and the
//! consumer reads whatever an audio callback asks for (441, 512 or
//! 1,024 frames), not whole items. Only loads and stores are atomic (no
//! read-modify-write), so it works on cores without compare-and-swap
//! (Cortex-M0+).
//!
//! The only `unsafe` of the core outside the SIMD modules is here: the
//! slots are `UnsafeCell`s written by the producer and read by the
//! consumer, each in the part of the ring the other cannot touch until
//! the index that hands it over is published (release) and seen
//! (acquire). Tested with two real threads under Miri (`.ci/run`).
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// The indices and counters of a ring, apart from its slots.
#[derive(Debug)]
pub struct RingState {
    /// Samples written so far (wrapping); stored only by the producer.
    tail: AtomicUsize,
    /// Samples read so far (wrapping); stored only by the consumer.
    head: AtomicUsize,
    /// Writes refused because the ring was too full; producer-only.
    overflows: AtomicU32,
    /// Reads that found less than they asked for; consumer-only.
    underruns: AtomicU32,
}

impl RingState {
    /// An empty ring's state.
    pub const fn new() -> Self {
        Self {
            tail: AtomicUsize::new(0),
            head: AtomicUsize::new(0),
            overflows: AtomicU32::new(0),
            underruns: AtomicU32::new(0),
        }
    }
}

impl Default for RingState {
    fn default() -> Self {
        Self::new()
    }
}

/// Adds one to a counter that only one thread writes (a load and a store:
/// no read-modify-write, which some cores lack).
fn bump(counter: &AtomicU32) {
    let n = counter.load(Ordering::Relaxed);
    counter.store(n.wrapping_add(1), Ordering::Relaxed);
}

/// A ring of `N` samples (`N / 2` stereo frames), usable from a `static`:
/// `static RING: Ring<17_640> = Ring::new();` holds two 100 ms chunks at
/// 44.1 kHz.
///
/// Methods: [`Ring::new`], [`Ring::split`] (the two halves, safely),
/// [`Ring::producer`] and [`Ring::consumer`] (for a `static` shared with
/// an interrupt, under the caller's promise of one of each),
/// [`Ring::monitor`].
pub struct Ring<const N: usize> {
    state: RingState,
    slots: [UnsafeCell<i16>; N],
}

// SAFETY: the slots are only reached through a Producer and a Consumer,
// at most one of each (their constructors require it), and each touches
// only the slots the published indices give it; everything else is
// atomics.
unsafe impl<const N: usize> Sync for Ring<N> {}

impl<const N: usize> Ring<N> {
    /// An empty ring. `N` must be even and at least 2 (checked when the
    /// program is compiled).
    pub const fn new() -> Self {
        const { assert!(N >= 2 && N % 2 == 0, "a ring holds whole stereo frames") };
        Self {
            state: RingState::new(),
            slots: [const { UnsafeCell::new(0) }; N],
        }
    }

    /// The producer's and the consumer's halves; each may move to its own
    /// thread (or interrupt).
    pub fn split(&mut self) -> (Producer<'_>, Consumer<'_>) {
        // SAFETY: `&mut self` is held for as long as the halves live, so
        // these are the only two.
        unsafe { (self.producer(), self.consumer()) }
    }

    /// The producer half of a ring that is not split (a `static`).
    ///
    /// # Safety
    /// At most one `Producer` of this ring may exist at a time.
    pub unsafe fn producer(&self) -> Producer<'_> {
        // SAFETY: passed on to the caller.
        unsafe { Producer::from_parts(&self.state, &self.slots) }
    }

    /// The consumer half of a ring that is not split (a `static`).
    ///
    /// # Safety
    /// At most one `Consumer` of this ring may exist at a time.
    pub unsafe fn consumer(&self) -> Consumer<'_> {
        // SAFETY: passed on to the caller.
        unsafe { Consumer::from_parts(&self.state, &self.slots) }
    }

    /// A read-only view of its depth and counters, for any thread.
    pub fn monitor(&self) -> Monitor<'_> {
        Monitor {
            state: &self.state,
            capacity: N,
        }
    }
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::fmt::Debug for Ring<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &N)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A read-only view of a ring: depth and counters, from any thread.
#[derive(Clone, Copy, Debug)]
pub struct Monitor<'a> {
    state: &'a RingState,
    capacity: usize,
}

impl<'a> Monitor<'a> {
    /// A view of the ring whose state is `state` and whose slots hold
    /// `capacity` samples (for a ring in caller memory).
    pub fn new(state: &'a RingState, capacity: usize) -> Self {
        Self { state, capacity }
    }

    /// Samples written and not yet read.
    pub fn depth(&self) -> usize {
        // Head first: the tail read after it is never behind it.
        let head = self.state.head.load(Ordering::Acquire);
        let tail = self.state.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(self.capacity)
    }

    /// Samples the ring holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Writes refused because the ring was too full.
    pub fn overflows(&self) -> u32 {
        self.state.overflows.load(Ordering::Relaxed)
    }

    /// Reads that found less than they asked for (the rest played as
    /// silence).
    pub fn underruns(&self) -> u32 {
        self.state.underruns.load(Ordering::Relaxed)
    }
}

/// A ring of `capacity` samples (rounded up to whole frames, at least
/// one) on the heap, for a program that sizes it at run time and keeps
/// it until it exits (`auralis-host play`, whose ring size comes from
/// `--buffer-ms` and the device's rate). The memory is never freed, so
/// both halves are `'static` and each can move into a thread or an audio
/// callback; make one per program, not one per stream.
#[cfg(feature = "std")]
pub fn leak(capacity: usize) -> (Producer<'static>, Consumer<'static>) {
    let len = capacity.max(2).next_multiple_of(2);
    let state: &'static RingState = std::boxed::Box::leak(std::boxed::Box::new(RingState::new()));
    let slots: &'static [UnsafeCell<i16>] = std::boxed::Box::leak(
        (0..len)
            .map(|_| UnsafeCell::new(0))
            .collect::<std::vec::Vec<_>>()
            .into_boxed_slice(),
    );
    // SAFETY: `state` and `slots` were made here and are reachable only
    // through these two halves, one of each; `len` is even and at least 2
    // and the slice never changes.
    unsafe {
        (
            Producer::from_parts(state, slots),
            Consumer::from_parts(state, slots),
        )
    }
}

/// The writing half: the render side.
///
/// # Real-time
/// Every method is wait-free: no allocation, no lock, at most two copies.
#[derive(Debug)]
pub struct Producer<'a> {
    state: &'a RingState,
    slots: &'a [UnsafeCell<i16>],
}

// SAFETY: a Producer only writes slots the consumer does not read until
// the tail it stores (release) hands them over; it may move to another
// thread.
unsafe impl Send for Producer<'_> {}

impl<'a> Producer<'a> {
    /// The producer of the ring made of `state` and `slots` (memory a C
    /// caller provides).
    ///
    /// # Safety
    /// At most one `Producer` of this ring may exist at a time, `slots`
    /// must always be used with this `state`, and its length must be even,
    /// at least 2, and never change.
    pub unsafe fn from_parts(state: &'a RingState, slots: &'a [UnsafeCell<i16>]) -> Self {
        Self { state, slots }
    }

    /// Samples that can be written now.
    pub fn space(&self) -> usize {
        // The tail is this side's own; the head is acquired, so the slots
        // the consumer has finished with are really free.
        let tail = self.state.tail.load(Ordering::Relaxed);
        let head = self.state.head.load(Ordering::Acquire);
        self.slots.len() - tail.wrapping_sub(head).min(self.slots.len())
    }

    /// Writes all of `samples` (interleaved stereo), or nothing and
    /// `false` when there is not room for all of it (counted as an
    /// overflow) or its length is odd.
    pub fn write(&mut self, samples: &[i16]) -> bool {
        if samples.len() % 2 != 0 || samples.len() > self.space() {
            bump(&self.state.overflows);
            return false;
        }
        let tail = self.state.tail.load(Ordering::Relaxed);
        let start = tail % self.slots.len();
        let (first, second) = samples.split_at(samples.len().min(self.slots.len() - start));
        // SAFETY: `start..start + first.len()` and `0..second.len()` lie in
        // the slots and in the free part of the ring (checked against the
        // acquired head above), which the consumer does not read until the
        // tail below is published.
        unsafe {
            copy_in(self.slots, start, first);
            copy_in(self.slots, 0, second);
        }
        self.state
            .tail
            .store(tail.wrapping_add(samples.len()), Ordering::Release);
        true
    }

    /// A read-only view of the ring's depth and counters.
    pub fn monitor(&self) -> Monitor<'a> {
        Monitor {
            state: self.state,
            capacity: self.slots.len(),
        }
    }
}

/// The reading half: the audio callback, the interrupt, the DAC.
///
/// # Real-time
/// Every method is wait-free: no allocation, no lock, at most two copies.
#[derive(Debug)]
pub struct Consumer<'a> {
    state: &'a RingState,
    slots: &'a [UnsafeCell<i16>],
}

// SAFETY: a Consumer only reads slots the producer has published and does
// not touch again until the head it stores (release) hands them back.
unsafe impl Send for Consumer<'_> {}

impl<'a> Consumer<'a> {
    /// The consumer of the ring made of `state` and `slots`.
    ///
    /// # Safety
    /// As [`Producer::from_parts`], for consumers.
    pub unsafe fn from_parts(state: &'a RingState, slots: &'a [UnsafeCell<i16>]) -> Self {
        Self { state, slots }
    }

    /// Samples that can be read now.
    pub fn depth(&self) -> usize {
        let head = self.state.head.load(Ordering::Relaxed);
        let tail = self.state.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(self.slots.len())
    }

    /// `true` when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.depth() == 0
    }

    /// `true` when the producer can write nothing more.
    pub fn is_full(&self) -> bool {
        self.depth() == self.slots.len()
    }

    /// Reads up to `out.len()` samples (rounded down to whole frames) into
    /// `out`; `None` when the ring is empty, else how many were read.
    pub fn read(&mut self, out: &mut [i16]) -> Option<usize> {
        let n = self.depth().min(out.len() & !1);
        if n == 0 {
            return (out.len() < 2).then_some(0);
        }
        let head = self.state.head.load(Ordering::Relaxed);
        let start = head % self.slots.len();
        let (first, second) = out
            .get_mut(..n)
            .unwrap_or_default()
            .split_at_mut(n.min(self.slots.len() - start));
        // SAFETY: the `n` samples from `start` (wrapping) were published by
        // the producer (the acquired tail in `depth`), and it does not
        // write them again until the head below hands them back.
        unsafe {
            copy_out(self.slots, start, first);
            copy_out(self.slots, 0, second);
        }
        self.state
            .head
            .store(head.wrapping_add(n), Ordering::Release);
        Some(n)
    }

    /// Fills all of `out` as an audio callback must: with what the ring
    /// holds, then silence. A shortfall counts as one underrun; returns
    /// the samples that came from the ring.
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let n = self.read(out).unwrap_or(0);
        if let Some(rest) = out.get_mut(n..) {
            if !rest.is_empty() {
                rest.fill(0);
                bump(&self.state.underruns);
            }
        }
        n
    }

    /// Drops everything waiting (from the consumer's side, so each index
    /// keeps one writer).
    pub fn clear(&mut self) {
        let tail = self.state.tail.load(Ordering::Acquire);
        self.state.head.store(tail, Ordering::Release);
    }

    /// A read-only view of the ring's depth and counters.
    pub fn monitor(&self) -> Monitor<'a> {
        Monitor {
            state: self.state,
            capacity: self.slots.len(),
        }
    }
}

/// Copies `from` into `slots[at..]`.
///
/// # Safety
/// `at + from.len() <= slots.len()`, and no other thread reads or writes
/// those slots meanwhile.
unsafe fn copy_in(slots: &[UnsafeCell<i16>], at: usize, from: &[i16]) {
    if from.is_empty() {
        return;
    }
    debug_assert!(at + from.len() <= slots.len());
    // SAFETY: in bounds (the caller's promise); `UnsafeCell<i16>` has the
    // layout of `i16`, so the cells from `at` are `from.len()` contiguous
    // `i16`s that this thread alone may write now.
    unsafe {
        let dst = UnsafeCell::raw_get(slots.as_ptr().add(at));
        core::ptr::copy_nonoverlapping(from.as_ptr(), dst, from.len());
    }
}

/// Copies `slots[at..at + to.len()]` into `to`.
///
/// # Safety
/// `at + to.len() <= slots.len()`, and no other thread writes those slots
/// meanwhile.
unsafe fn copy_out(slots: &[UnsafeCell<i16>], at: usize, to: &mut [i16]) {
    if to.is_empty() {
        return;
    }
    debug_assert!(at + to.len() <= slots.len());
    // SAFETY: in bounds (the caller's promise), and nobody writes them.
    unsafe {
        let src = UnsafeCell::raw_get(slots.as_ptr().add(at)).cast_const();
        core::ptr::copy_nonoverlapping(src, to.as_mut_ptr(), to.len());
    }
}
