//! The resampling pass: every lane's sample read at its phase into rows
//! of raw 16-bit units, in runs with no check per frame where no lane
//! meets a boundary, one careful frame where some lane does.

use super::{silence_lane, Group, Lane, BLOCK, F8, FRAC_SCALE, LANES};
use crate::synth::simd::Lanes;
use crate::synth::voice::Voice;

/// Where a lane's sample is: its bounds and loop, as the voice had them
/// at the start of the segment.
#[derive(Clone, Copy, Default)]
pub(super) struct Bounds {
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) loop_start: u32,
    pub(super) loop_end: u32,
    pub(super) looping: bool,
}

impl Bounds {
    fn of(v: &Voice) -> Bounds {
        let a = &v.audio;
        Bounds {
            start: a.start,
            end: a.end,
            loop_start: a.loop_start,
            loop_end: a.loop_end,
            looping: a.looping(v.released),
        }
    }

    /// The position at which the lane wraps (looping) or ends.
    fn limit(&self) -> u32 {
        if self.looping {
            self.loop_end
        } else {
            self.end
        }
    }

    /// Frame `i` of the sample: wrapped into the loop while looping, and
    /// silence outside the sample.
    fn tap(&self, data: &[u8], i: u32) -> f32 {
        let mut i = i;
        if self.looping && i >= self.loop_end {
            let len = self.loop_end - self.loop_start;
            i = self.loop_start + (i - self.loop_end) % len.max(1);
        }
        if i < self.start || i >= self.end {
            return 0.0;
        }
        let at = 2 * i as usize;
        match data.get(at..at + 2) {
            Some(&[lo, hi]) => f32::from(i16::from_le_bytes([lo, hi])),
            _ => 0.0,
        }
    }
}

/// Catmull–Rom through four frames at fraction `x`, in one fixed order
/// of operations (the same as [`cubic_v`]).
#[inline(always)]
fn cubic(p0: f32, p1: f32, p2: f32, p3: f32, x: f32) -> f32 {
    let c1 = 0.5 * (p2 - p0);
    let c2 = (p0 - 2.5 * p1) + (2.0 * p2 - 0.5 * p3);
    let c3 = 0.5 * (p3 - p0) + 1.5 * (p1 - p2);
    ((c3 * x + c2) * x + c1) * x + p1
}

/// A straight line between two frames at fraction `x`.
#[inline(always)]
fn linear(p1: f32, p2: f32, x: f32) -> f32 {
    p1 + x * (p2 - p1)
}

/// The fraction of a phase as a float in [0, 1) (its top 24 bits).
#[inline(always)]
pub(super) fn frac_x(frac: u32) -> f32 {
    (frac >> 8) as f32 * FRAC_SCALE
}

/// How a lane may run without checks: its bounds, its step, and
/// whether its loop wraps inside the branch-free loop.
#[derive(Clone, Copy, Default)]
pub(super) struct RunRule {
    pub(super) bounds: Bounds,
    pub(super) step: u64,
    /// The loop wraps in the branch-free loop: its taps are mapped back
    /// into the loop, and only the sample start can stop a run.
    pub(super) free_wrap: bool,
}

impl RunRule {
    fn of<const CUBIC: bool>(v: &Voice, frames: u64) -> RunRule {
        let bounds = Bounds::of(v);
        let step = v.audio.step;
        let len = bounds.loop_end.saturating_sub(bounds.loop_start);
        // One subtraction must bring a wrapped phase back into the loop,
        // a wrapped tap one frame back must still be inside the sample,
        // and the frame after the loop end must be data.
        let free_wrap = bounds.looping
            && len >= 2
            && step < u64::from(len) << 32
            && u64::from(bounds.loop_end) < frames
            && (!CUBIC || bounds.loop_start > bounds.start);
        RunRule {
            bounds,
            step,
            free_wrap,
        }
    }

    /// Frames, up to `max`, that the lane can render from phase `p` in
    /// the branch-free loop: every tap inside the sample (after wrapping
    /// into the loop, where that is free) and inside `frames` of data, and
    /// no end or unhandled wrap. Zero means "do the next frame carefully".
    fn safe_frames<const CUBIC: bool>(&self, p: u64, frames: u64, max: usize) -> usize {
        let b = &self.bounds;
        // Taps reach one frame back (cubic) and two (cubic) or one (linear)
        // ahead; the loop reads four bytes at the last tap.
        let ahead: u64 = if CUBIC { 2 } else { 1 };
        if CUBIC && (p >> 32) <= u64::from(b.start) {
            return 0;
        }
        if self.free_wrap {
            return max;
        }
        let limit = u64::from(b.limit());
        let (Some(tap_bound), Some(data_bound), Some(step_bound)) = (
            limit.checked_sub(ahead),
            frames.checked_sub(ahead + 1),
            (limit << 32).checked_sub(self.step),
        ) else {
            return 0;
        };
        let bound = (tap_bound << 32).min(data_bound << 32).min(step_bound);
        if p >= bound {
            return 0;
        }
        if self.step == 0 {
            return max;
        }
        // Frames k with p + k·step < bound: k < (bound − p) / step.
        let frames = (bound - p).div_ceil(self.step);
        frames.min(max as u64) as usize
    }

    /// For a lane that wraps in the branch-free loops: frames, up to
    /// `max`, it can render from phase `p` with no tap at or past its
    /// loop end and a phase that stays before it (so the plain loop,
    /// which does not wrap, can do them). Zero when it is about to wrap.
    pub(super) fn unwrapped_frames<const CUBIC: bool>(&self, p: u64, max: usize) -> usize {
        let ahead: u32 = if CUBIC { 2 } else { 1 };
        // Every frame's index must stay under loop_end − ahead.
        let bound = u64::from(self.bounds.loop_end.saturating_sub(ahead)) << 32;
        if p >= bound {
            return 0;
        }
        if self.step == 0 {
            return max;
        }
        // Frames j = 0 … k−1, and the phase after them, all under the
        // bound: k = ⌊(bound − p − 1) / step⌋.
        ((bound - p - 1) / self.step).min(max as u64) as usize
    }

    /// For a lane that wraps in the branch-free loops: frames, up to
    /// `max`, until its phase has wrapped from `p` back into the loop.
    pub(super) fn frames_to_wrap(&self, p: u64, max: usize) -> usize {
        let end = u64::from(self.bounds.loop_end) << 32;
        if self.step == 0 || p >= end {
            return max.min(1);
        }
        // The first j ≥ 1 with p + j·step ≥ end.
        ((end - p - 1) / self.step + 1).min(max as u64) as usize
    }
}

/// Resamples every lane into `src` (raw 16-bit units).
#[cfg_attr(not(auralis_unoptimised), inline(always))]
pub(super) fn resample<S: Lanes, const CUBIC: bool>(
    s: S,
    g: &mut Group,
    voices: &mut [&mut Voice],
    data: &[u8],
    src: &mut [F8; BLOCK],
    n: usize,
) {
    let frames = (data.len() / 2) as u64;
    let lanes = voices.len().min(LANES);
    let mut rules = [RunRule::default(); LANES];
    for (l, (r, v)) in rules.iter_mut().zip(voices.iter()).enumerate() {
        *r = RunRule::of::<CUBIC>(v, frames);
        let Some(lane) = Lane::at(l) else { break };
        if r.free_wrap {
            lane.set(&mut g.wrap_at, r.bounds.loop_end);
            lane.set(&mut g.wrap_len, r.bounds.loop_end - r.bounds.loop_start);
        }
    }
    // The branch-free loop reads four bytes at every lane's taps, parked
    // lanes included (frame 1, so bytes 0–7): with fewer than four frames
    // of data, every frame goes the careful way.
    let roomy = frames >= 4;
    prefetch_ahead(g, data, lanes, n);
    let mut k = 0;
    while k < n {
        let left = n - k;
        let mut run = if roomy { left } else { 0 };
        // Frames no lane's taps or phase wrap in, and (when that is none)
        // frames until the first lane that is about to wrap has wrapped.
        let (mut plain, mut to_wrap) = (left, left);
        for l in 0..lanes {
            let Some(lane) = Lane::at(l) else { break };
            if !lane.get(&g.running) || run == 0 {
                continue;
            }
            let p = u64::from(lane.get(&g.idx)) << 32 | u64::from(lane.get(&g.frac));
            let r = rules.get(l).copied().unwrap_or_default();
            run = run.min(r.safe_frames::<CUBIC>(p, frames, left));
            if r.free_wrap {
                let free = r.unwrapped_frames::<CUBIC>(p, left);
                if free == 0 {
                    to_wrap = to_wrap.min(r.frames_to_wrap(p, left));
                }
                plain = plain.min(free);
            }
        }
        if run > 0 {
            // Mostly no lane is near its loop end: the plain loop, which
            // does not wrap. Near one, the wrapping loop until it wrapped.
            let (take, wraps) = if plain > 0 {
                (run.min(plain), false)
            } else {
                (run.min(to_wrap), true)
            };
            if let Some(rows) = src.get_mut(k..k + take) {
                if wraps {
                    wrap_run::<S, CUBIC>(s, g, data, rows);
                } else {
                    plain_run::<S, CUBIC>(s, g, data, rows);
                }
            }
            k += take;
        } else {
            if let Some(row) = src.get_mut(k) {
                let mut bounds = [Bounds::default(); LANES];
                for (b, r) in bounds.iter_mut().zip(rules.iter()) {
                    *b = r.bounds;
                }
                careful_frame::<CUBIC>(g, &bounds, lanes, data, row, k);
            }
            k += 1;
        }
    }
}

/// Frames in which every lane's taps are inside its sample and before
/// its loop end, and no phase wraps: no check per frame, no wrapping.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
#[allow(unsafe_code)]
fn plain_run<S: Lanes, const CUBIC: bool>(s: S, g: &mut Group, data: &[u8], rows: &mut [F8]) {
    let one = s.usplat(1);
    // The first tap's frame: i − 1 (cubic) or i (linear).
    let mut first = if CUBIC {
        s.usub(s.uload(&g.idx), one)
    } else {
        s.uload(&g.idx)
    };
    let mut frac = s.uload(&g.frac);
    let step_f = s.uload(&g.step_f);
    // idx + step + 1 + (all ones unless the fraction carried).
    let step_i1 = s.uadd(s.uload(&g.step_i), one);
    let scale = s.splat(FRAC_SCALE);
    for row in rows.iter_mut() {
        let x = s.mul(s.to_f32(s.shr8(frac)), scale);
        // The gathers' safety: `resample` runs this only for frames that
        // `RunRule::safe_frames` allowed for every running lane (each tap,
        // i − 1 … i + 2 cubic or i … i + 1 linear, a frame f with
        // 2f + 4 ≤ data.len()) and `RunRule::unwrapped_frames` for every
        // lane that wraps (no tap at or past its loop end, so none needs
        // wrapping). Parked and unused lanes sit at frame 1, and `roomy`
        // says data has four frames.
        let y = if CUBIC {
            // SAFETY: taps in range, as said above; the eight bytes from
            // i − 1 end with the last byte of the four-byte read at i + 1.
            let (w01, w23) = unsafe { s.gather_pair(data, first) };
            cubic_words(s, w01, w23, x)
        } else {
            // SAFETY: taps in range, as said above.
            let w12 = unsafe { s.gather(data, first) };
            // p1 + x·(p2 − p1), the difference exact in integers.
            let (p1, d) = (s.madd16(w12, 1, 0), s.madd16(w12, -1, 1));
            s.add(s.to_f32(p1), s.mul(x, s.to_f32(d)))
        };
        s.store(y, row);
        let next = s.uadd(frac, step_f);
        let no_carry = s.uge(next, step_f);
        first = s.uadd(s.uadd(first, step_i1), no_carry);
        frac = next;
    }
    let idx = if CUBIC { s.uadd(first, one) } else { first };
    s.ustore(idx, &mut g.idx);
    s.ustore(frac, &mut g.frac);
}

/// [`cubic_v`] from the four taps as two words of two 16-bit frames each
/// (`w01` = p0, p1 and `w23` = p2, p3), with the same result to the bit.
///
/// Twice each Catmull–Rom coefficient is an integer (`2c1 = p2 − p0`,
/// `2c2 = 2p0 − 5p1 + 4p2 − p3`, `2c3 = 3p1 − p0 − 3p2 + p3`), which
/// `madd16` computes exactly; and `cubic_v` computes the coefficients
/// exactly too (16-bit taps times halves stay well inside 24 bits). With
/// `C = 2c`, Horner's `((c3·x + c2)·x + c1)·x + p1` is
/// `((C3·x + C2)·x + C1)·(x/2) + p1`: every rounding there sees the same
/// value scaled by a power of two, which rounds the same way.
#[inline(always)]
pub(super) fn cubic_words<S: Lanes>(s: S, w01: S::U, w23: S::U, x: S::F) -> S::F {
    let c1 = s.uadd(s.madd16(w01, -1, 0), s.madd16(w23, 1, 0));
    let c2 = s.uadd(s.madd16(w01, 2, -5), s.madd16(w23, 4, -1));
    let c3 = s.uadd(s.madd16(w01, -1, 3), s.madd16(w23, -3, 1));
    let p1 = s.madd16(w01, 0, 1);
    let u = s.add(s.mul(s.to_f32(c3), x), s.to_f32(c2));
    let v = s.add(s.mul(u, x), s.to_f32(c1));
    s.add(s.mul(v, s.mul(s.splat(0.5), x)), s.to_f32(p1))
}

/// Frames in which every lane's taps are inside its sample, some lane
/// near its loop end: no check per frame, loops wrapped by arithmetic.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
#[allow(unsafe_code)]
fn wrap_run<S: Lanes, const CUBIC: bool>(s: S, g: &mut Group, data: &[u8], rows: &mut [F8]) {
    let (mut idx, mut frac) = (s.uload(&g.idx), s.uload(&g.frac));
    let (step_f, wrap_at, wrap_len) = (
        s.uload(&g.step_f),
        s.uload(&g.wrap_at),
        s.uload(&g.wrap_len),
    );
    let one = s.usplat(1);
    let two = s.usplat(2);
    // idx + step + 1 + (all ones unless the fraction carried).
    let step_i1 = s.uadd(s.uload(&g.step_i), one);
    let scale = s.splat(FRAC_SCALE);
    for row in rows.iter_mut() {
        let x = s.mul(s.to_f32(s.shr8(frac)), scale);
        let j2 = wrap(s, s.uadd(idx, one), wrap_at, wrap_len);
        // The gathers' safety: `resample` runs this only for frames that
        // `RunRule::safe_frames` allowed for every running lane: each tap
        // (i − 1 … i + 2 cubic, i … i + 1 linear, after wrapping into the
        // loop) is a frame f with 2f + 4 ≤ data.len(). Parked and unused
        // lanes sit at frame 1, and `roomy` says data has four frames.
        let y = if CUBIC {
            let i2 = s.uadd(idx, two);
            let near_end = s.uge(i2, wrap_at);
            if !s.any(near_end) {
                // No lane wraps before i+2: the four taps are one read of
                // eight bytes, i−1 to i+2, whose last byte is that of the
                // four-byte read at i+1 below (so in range too).
                // SAFETY: taps in range, as said above.
                let (w01, w23) = unsafe { s.gather_pair(data, s.usub(idx, one)) };
                cubic_v(s, s.lo16(w01), s.hi16(w01), s.lo16(w23), s.hi16(w23), x)
            } else {
                // Some lane's i+2 (and maybe i+1) wraps into its loop:
                // i+1 and i+2 as one read where they do not, i+2 alone
                // where it does.
                // SAFETY: taps in range, as said above.
                let (w01, w2, w3) = unsafe {
                    (
                        s.gather(data, s.usub(idx, one)),
                        s.gather(data, j2),
                        s.gather(data, wrap(s, i2, wrap_at, wrap_len)),
                    )
                };
                let p3 = s.select(near_end, s.lo16(w3), s.hi16(w2));
                cubic_v(s, s.lo16(w01), s.hi16(w01), s.lo16(w2), p3, x)
            }
        } else {
            // SAFETY: taps in range, as said above.
            let (w1, w2) = unsafe { (s.gather(data, idx), s.gather(data, j2)) };
            let (p1, p2) = (s.lo16(w1), s.lo16(w2));
            s.add(p1, s.mul(x, s.sub(p2, p1)))
        };
        s.store(y, row);
        let next = s.uadd(frac, step_f);
        let no_carry = s.uge(next, step_f);
        idx = wrap(s, s.uadd(s.uadd(idx, step_i1), no_carry), wrap_at, wrap_len);
        frac = next;
    }
    s.ustore(idx, &mut g.idx);
    s.ustore(frac, &mut g.frac);
}

/// [`cubic`] on all lanes at once, in the same order of operations.
#[inline(always)]
pub(super) fn cubic_v<S: Lanes>(s: S, p0: S::F, p1: S::F, p2: S::F, p3: S::F, x: S::F) -> S::F {
    let half = s.splat(0.5);
    let c1 = s.mul(half, s.sub(p2, p0));
    let c2 = s.add(
        s.sub(p0, s.mul(s.splat(2.5), p1)),
        s.sub(s.mul(s.splat(2.0), p2), s.mul(half, p3)),
    );
    let c3 = s.add(
        s.mul(half, s.sub(p3, p0)),
        s.mul(s.splat(1.5), s.sub(p1, p2)),
    );
    s.add(s.mul(s.add(s.mul(s.add(s.mul(c3, x), c2), x), c1), x), p1)
}

/// One frame where some lane is at a boundary: each lane reads its taps
/// through [`Bounds::tap`] and wraps or ends after the frame.
fn careful_frame<const CUBIC: bool>(
    g: &mut Group,
    bounds: &[Bounds; LANES],
    lanes: usize,
    data: &[u8],
    row: &mut F8,
    k: usize,
) {
    for l in 0..lanes {
        let Some(lane) = Lane::at(l) else { break };
        if !lane.get(&g.running) {
            lane.set(row, 0.0);
            continue;
        }
        let b = bounds.get(l).copied().unwrap_or_default();
        let p = u64::from(lane.get(&g.idx)) << 32 | u64::from(lane.get(&g.frac));
        let s = u64::from(lane.get(&g.step_i)) << 32 | u64::from(lane.get(&g.step_f));
        let i = (p >> 32) as u32;
        let x = frac_x(p as u32);
        let y = if CUBIC {
            cubic(
                b.tap(data, i.wrapping_sub(1)),
                b.tap(data, i),
                b.tap(data, i.wrapping_add(1)),
                b.tap(data, i.wrapping_add(2)),
                x,
            )
        } else {
            linear(b.tap(data, i), b.tap(data, i.wrapping_add(1)), x)
        };
        lane.set(row, y);
        let mut next = p.wrapping_add(s);
        if b.looping {
            if next >= u64::from(b.loop_end) << 32 {
                next -= u64::from(b.loop_end - b.loop_start) << 32;
            }
        } else if next >= u64::from(b.end) << 32 {
            // The sample has ended: this was the lane's last frame.
            lane.set(&mut g.live, k as u32 + 1);
            lane.set(&mut g.running, false);
            silence_lane(g, lane);
            continue;
        }
        lane.set(&mut g.idx, (next >> 32) as u32);
        lane.set(&mut g.frac, next as u32);
    }
}

/// `j` moved back into its lane's loop where it has passed the loop end.
#[inline(always)]
fn wrap<S: Lanes>(s: S, j: S::U, wrap_at: S::U, wrap_len: S::U) -> S::U {
    s.usub(j, s.and(s.uge(j, wrap_at), wrap_len))
}

/// Asks the cache for the sample data each running lane will read in the
/// next block, so that the gathers of that block find it there.
#[inline(always)]
fn prefetch_ahead(g: &Group, data: &[u8], lanes: usize, n: usize) {
    // Only x86-64 has a prefetch the core uses; elsewhere this is a no-op.
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (g, data, lanes, n);
    #[cfg(target_arch = "x86_64")]
    for l in 0..lanes {
        let Some(lane) = Lane::at(l) else { break };
        if !lane.get(&g.running) {
            continue;
        }
        let step = u64::from(lane.get(&g.step_i)) << 32 | u64::from(lane.get(&g.step_f));
        let span = (step.saturating_mul(n as u64) >> 32) as usize;
        let at = 2 * lane.get(&g.idx) as usize;
        // The lines after this block's, one block's worth.
        let mut b = at + 2 * span;
        let stop = (b + 2 * span + 8).min(data.len());
        while b < stop {
            if let Some(p) = data.get(b) {
                use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                #[allow(unsafe_code)]
                // SAFETY: a prefetch reads nothing the program sees; the
                // address is inside `data`.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>((p as *const u8).cast())
                };
            }
            b += 64;
        }
    }
}
