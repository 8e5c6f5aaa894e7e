//! The voice renderer: voices eight at a time, one per SIMD lane.
//!
//! A segment (at most one control block, crossing no event) is rendered
//! for a group of up to [`LANES`] voices of one font in three passes over
//! lane arrays: resampling (runs of frames with no loop point, sample end
//! or sample start in reach go through a branch-free loop; the frame
//! where a lane meets one is done one lane at a time), the resonant
//! filter (its recursion runs across the lanes, the work that cannot be
//! vectorised within one voice), and mixing with the gain ramps into
//! per-lane buses. The buses are summed across lanes once, at the end.
//!
//! Every lane computes exactly the same IEEE operations in the same order
//! whatever the instruction set: the AVX2 build and the portable build
//! give bit-identical results (`tests/tests/simd.rs` holds them to it).

use super::dsp::CONTROL_FRAMES;
use super::simd::Lanes;
use super::voice::{Interpolation, Voice};

/// Voices rendered side by side.
pub(crate) const LANES: usize = 8;
/// One value per lane.
pub(crate) type F8 = [f32; LANES];
const BLOCK: usize = CONTROL_FRAMES as usize;
/// `2^-24`: turns the top 24 bits of a phase fraction into [0, 1).
const FRAC_SCALE: f32 = 1.0 / 16_777_216.0;

/// The per-lane buses of a segment: left, right, reverb send, chorus
/// send, one row of lanes per frame.
pub(crate) struct Buses {
    /// Scratch of the passes: the resampled lanes, and the same filtered.
    scratch: Scratch,
    /// Whether a group has been mixed in since [`Buses::start`]: the
    /// first group writes the buses, the others add to them.
    filled: bool,
    pub(crate) left: [F8; BLOCK],
    pub(crate) right: [F8; BLOCK],
    pub(crate) reverb: [F8; BLOCK],
    pub(crate) chorus: [F8; BLOCK],
}

impl Buses {
    pub(crate) const fn new() -> Self {
        Self {
            scratch: Scratch {
                src: [[0.0; LANES]; BLOCK],
            },
            filled: false,
            left: [[0.0; LANES]; BLOCK],
            right: [[0.0; LANES]; BLOCK],
            reverb: [[0.0; LANES]; BLOCK],
            chorus: [[0.0; LANES]; BLOCK],
        }
    }

    /// Starts a segment: the buses hold nothing yet.
    pub(crate) fn start(&mut self) {
        self.filled = false;
    }

    /// Sums the lanes of each bus into `out` (left, right, reverb,
    /// chorus), always in the same pairwise order
    /// (see [`Lanes::sum_rows`]).
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    pub(crate) fn sum_into<S: Lanes>(&self, s: S, out: [&mut [f32]; 4], n: usize, sends: bool) {
        let [l, r, v, c] = out;
        let buses = [
            (&self.left, l, true),
            (&self.right, r, true),
            (&self.reverb, v, sends),
            (&self.chorus, c, sends),
        ];
        for (bus, dst, wanted) in buses {
            let (Some(rows), Some(dst)) = (bus.get(..n), dst.get_mut(..n)) else {
                continue;
            };
            if !self.filled || !wanted {
                dst.fill(0.0);
                continue;
            }
            let mut rows = rows.chunks_exact(8);
            let mut dsts = dst.chunks_exact_mut(8);
            for (block, d) in rows.by_ref().zip(dsts.by_ref()) {
                if let (Ok(block), Ok(d)) =
                    (<&[F8; 8]>::try_from(block), <&mut [f32; 8]>::try_from(d))
                {
                    *d = s.sum_rows(block);
                }
            }
            for (row, d) in rows.remainder().iter().zip(dsts.into_remainder()) {
                *d = sum_lanes(row);
            }
        }
    }
}

/// Rows the passes write before they read them.
struct Scratch {
    src: [F8; BLOCK],
}

/// The buses without their scratch, for the mixing pass.
struct Mix<'b> {
    left: &'b mut [F8; BLOCK],
    right: &'b mut [F8; BLOCK],
    reverb: &'b mut [F8; BLOCK],
    chorus: &'b mut [F8; BLOCK],
    /// The first group of the segment: write the buses, do not add.
    first: bool,
}

/// The lanes of a row summed pairwise: ((0+1)+(2+3))+((4+5)+(6+7)).
#[inline(always)]
fn sum_lanes(r: &F8) -> f32 {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = *r;
    ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}

/// What one segment of a group needs besides its voices.
#[derive(Clone, Copy)]
pub(crate) struct SegmentSpec<'d> {
    /// The font's sample data (16-bit little-endian frames).
    pub(crate) data: &'d [u8],
    /// Frames to render, 1 to one control block.
    pub(crate) frames: usize,
    pub(crate) interpolation: Interpolation,
    /// Whether the reverb and chorus buses are listened to.
    pub(crate) sends: bool,
}

/// The audio-rate state of up to eight voices, one per lane, as the
/// passes read it. Unused lanes are silent: gain zero, and a position
/// whose taps are in range.
struct Group {
    idx: [u32; LANES],
    frac: [u32; LANES],
    step_i: [u32; LANES],
    step_f: [u32; LANES],
    /// Where a lane's phase wraps inside a branch-free run (`u32::MAX`:
    /// it does not), and by how much.
    wrap_at: [u32; LANES],
    wrap_len: [u32; LANES],
    /// Frames the lane produces in this segment (fewer when its sample
    /// ends); the rest of the segment is silent.
    live: [u32; LANES],
    /// Lanes still playing (not parked, not ended in this segment).
    running: [bool; LANES],
    b0: F8,
    b1: F8,
    a1: F8,
    a2: F8,
    x1: F8,
    x2: F8,
    y1: F8,
    y2: F8,
    /// All ones where the lane's filter is on.
    filter_on: [u32; LANES],
    gl: F8,
    gr: F8,
    dl: F8,
    dr: F8,
    /// `ramp_pos + 1` of each lane, where its gain ramp is.
    t0: F8,
    rev: F8,
    cho: F8,
}

impl Group {
    const SILENT: Group = Group {
        idx: [1; LANES],
        frac: [0; LANES],
        step_i: [0; LANES],
        step_f: [0; LANES],
        wrap_at: [u32::MAX; LANES],
        wrap_len: [0; LANES],
        live: [0; LANES],
        running: [false; LANES],
        b0: [1.0; LANES],
        b1: [0.0; LANES],
        a1: [0.0; LANES],
        a2: [0.0; LANES],
        x1: [0.0; LANES],
        x2: [0.0; LANES],
        y1: [0.0; LANES],
        y2: [0.0; LANES],
        filter_on: [0; LANES],
        gl: [0.0; LANES],
        gr: [0.0; LANES],
        dl: [0.0; LANES],
        dr: [0.0; LANES],
        t0: [1.0; LANES],
        rev: [0.0; LANES],
        cho: [0.0; LANES],
    };
}

/// Renders `voices` (all of one font, at most [`LANES`]) for one segment,
/// adding into `buses`.
///
/// # Real-time
/// No allocation, no locks; O(frames × lanes).
#[cfg_attr(not(auralis_unoptimised), inline(always))]
pub(crate) fn render_group<S: Lanes>(
    s: S,
    voices: &mut [&mut Voice],
    spec: SegmentSpec<'_>,
    buses: &mut Buses,
) {
    let mut g = Group::SILENT;
    pack(&mut g, voices, spec.frames);
    passes(s, &mut g, voices, spec, buses);
    unpack(&g, voices, spec.frames);
}

/// The three passes, inlined into each instruction-set build.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
fn passes<S: Lanes>(
    s: S,
    g: &mut Group,
    voices: &mut [&mut Voice],
    spec: SegmentSpec<'_>,
    buses: &mut Buses,
) {
    let n = spec.frames.min(BLOCK);
    let Buses {
        scratch,
        filled,
        left,
        right,
        reverb,
        chorus,
    } = buses;
    let out = Mix {
        left,
        right,
        reverb,
        chorus,
        first: !*filled,
    };
    *filled = true;
    let Scratch { src } = scratch;
    match spec.interpolation {
        Interpolation::Cubic => resample::<S, true>(s, g, voices, spec.data, src, n),
        Interpolation::Linear => resample::<S, false>(s, g, voices, spec.data, src, n),
    }
    let filtered = g.filter_on.iter().any(|&on| on != 0);
    mix(s, g, src, out, n, spec.sends, filtered);
}

/// Copies the voices' audio-rate state into lanes.
fn pack(g: &mut Group, voices: &mut [&mut Voice], frames: usize) {
    const SCALE: f32 = 1.0 / 32_768.0;
    for (l, v) in voices.iter().enumerate().take(LANES) {
        let a = &v.audio;
        let Some(lane) = Lane::at(l) else { break };
        lane.set(&mut g.idx, (a.phase >> 32) as u32);
        lane.set(&mut g.frac, a.phase as u32);
        lane.set(&mut g.step_i, (a.step >> 32) as u32);
        lane.set(&mut g.step_f, a.step as u32);
        lane.set(&mut g.live, if v.done { 0 } else { frames as u32 });
        lane.set(&mut g.running, !v.done);
        let f = &a.filter;
        lane.set(&mut g.filter_on, if f.active { u32::MAX } else { 0 });
        if f.active {
            lane.set(&mut g.b0, f.b0);
            lane.set(&mut g.b1, f.b1);
            lane.set(&mut g.a1, f.a1);
            lane.set(&mut g.a2, f.a2);
            lane.set(&mut g.x1, f.x1);
            lane.set(&mut g.x2, f.x2);
            lane.set(&mut g.y1, f.z1);
            lane.set(&mut g.y2, f.z2);
        }
        lane.set(&mut g.gl, a.gain_l * SCALE);
        lane.set(&mut g.gr, a.gain_r * SCALE);
        lane.set(&mut g.dl, a.dgain_l * SCALE);
        lane.set(&mut g.dr, a.dgain_r * SCALE);
        lane.set(&mut g.t0, a.ramp_pos as f32 + 1.0);
        lane.set(&mut g.rev, a.reverb);
        lane.set(&mut g.cho, a.chorus);
        if v.done {
            // A finished voice in the group renders nothing.
            silence_lane(g, lane);
        }
    }
}

/// Writes the lanes' state back into the voices.
fn unpack(g: &Group, voices: &mut [&mut Voice], frames: usize) {
    for (l, v) in voices.iter_mut().enumerate().take(LANES) {
        let Some(lane) = Lane::at(l) else { break };
        if v.done {
            continue;
        }
        let a = &mut v.audio;
        a.phase = u64::from(lane.get(&g.idx)) << 32 | u64::from(lane.get(&g.frac));
        if a.filter.active {
            let f = &mut a.filter;
            f.x1 = lane.get(&g.x1);
            f.x2 = lane.get(&g.x2);
            f.z1 = lane.get(&g.y1);
            f.z2 = lane.get(&g.y2);
        }
        a.ramp_pos += frames as u32;
        v.block_left = v.block_left.saturating_sub(frames as u32);
        if !lane.get(&g.running) {
            v.done = true;
        }
    }
}

/// One lane's index, checked once.
#[derive(Clone, Copy)]
struct Lane(usize);

impl Lane {
    fn at(l: usize) -> Option<Lane> {
        (l < LANES).then_some(Lane(l))
    }

    #[inline(always)]
    fn get<T: Copy + Default>(self, a: &[T; LANES]) -> T {
        a.get(self.0).copied().unwrap_or_default()
    }

    #[inline(always)]
    fn set<T>(self, a: &mut [T; LANES], v: T) {
        if let Some(slot) = a.get_mut(self.0) {
            *slot = v;
        }
    }
}

/// Parks a lane: no output from here on, and a position whose taps are
/// in range (frame 1: bytes 0–7, which `resample` checks exist).
fn silence_lane(g: &mut Group, lane: Lane) {
    lane.set(&mut g.idx, 1);
    lane.set(&mut g.frac, 0);
    lane.set(&mut g.step_i, 0);
    lane.set(&mut g.step_f, 0);
    lane.set(&mut g.wrap_at, u32::MAX);
    lane.set(&mut g.wrap_len, 0);
}

/// Where a lane's sample is: its bounds and loop, as the voice had them
/// at the start of the segment.
#[derive(Clone, Copy, Default)]
struct Bounds {
    start: u32,
    end: u32,
    loop_start: u32,
    loop_end: u32,
    looping: bool,
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
fn frac_x(frac: u32) -> f32 {
    (frac >> 8) as f32 * FRAC_SCALE
}

/// How a lane may run without checks: its bounds, its step, and
/// whether its loop wraps inside the branch-free loop.
#[derive(Clone, Copy, Default)]
struct RunRule {
    bounds: Bounds,
    step: u64,
    /// The loop wraps in the branch-free loop: its taps are mapped back
    /// into the loop, and only the sample start can stop a run.
    free_wrap: bool,
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
    fn unwrapped_frames<const CUBIC: bool>(&self, p: u64, max: usize) -> usize {
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
    fn frames_to_wrap(&self, p: u64, max: usize) -> usize {
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
fn resample<S: Lanes, const CUBIC: bool>(
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
fn cubic_words<S: Lanes>(s: S, w01: S::U, w23: S::U, x: S::F) -> S::F {
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
fn cubic_v<S: Lanes>(s: S, p0: S::F, p1: S::F, p2: S::F, p3: S::F, x: S::F) -> S::F {
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

/// Adds every lane into the buses with its gain ramp: a lane's gain at
/// frame k of the segment is `g + (t0 + k)·d`, however the block is
/// split. A lane whose sample ended adds nothing after its last frame.
/// Where some lane's filter is on (`filtered`), each row goes through the
/// lanes' resonant low-passes on the way in.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
fn mix<S: Lanes>(
    s: S,
    g: &mut Group,
    src: &[F8; BLOCK],
    buses: Mix<'_>,
    n: usize,
    sends: bool,
    filtered: bool,
) {
    let n = n.min(BLOCK);
    // Mostly every lane either plays the whole segment or nothing of it
    // (parked): then which lanes are silenced is the same on every row.
    let steady = g.live.iter().all(|&l| l == 0 || l as usize >= n);
    match (sends, steady, filtered) {
        (true, true, true) => mix_rows::<S, true, true, true>(s, g, src, buses, n),
        (true, true, false) => mix_rows::<S, true, true, false>(s, g, src, buses, n),
        (true, false, true) => mix_rows::<S, true, false, true>(s, g, src, buses, n),
        (true, false, false) => mix_rows::<S, true, false, false>(s, g, src, buses, n),
        (false, true, true) => mix_rows::<S, false, true, true>(s, g, src, buses, n),
        (false, true, false) => mix_rows::<S, false, true, false>(s, g, src, buses, n),
        (false, false, true) => mix_rows::<S, false, false, true>(s, g, src, buses, n),
        (false, false, false) => mix_rows::<S, false, false, false>(s, g, src, buses, n),
    }
}

/// [`mix`] for the reverb and chorus sends heard or not (`SENDS`), for
/// lanes that play all of the segment or none of it (`STEADY`: the
/// silenced lanes are found once, not on every row), and with the
/// filters or without (`FILTER`).
///
/// The filter's recursion is a chain of a multiply and a subtraction
/// from each row to the next; run inside the mixing loop, its latency
/// hides behind the mixing instead of being a pass of its own.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
fn mix_rows<S: Lanes, const SENDS: bool, const STEADY: bool, const FILTER: bool>(
    s: S,
    g: &mut Group,
    src: &[F8; BLOCK],
    buses: Mix<'_>,
    n: usize,
) {
    let (gl, gr, dl, dr) = (s.load(&g.gl), s.load(&g.gr), s.load(&g.dl), s.load(&g.dr));
    let (rev, cho, t0) = (s.load(&g.rev), s.load(&g.cho), s.load(&g.t0));
    let live = s.uload(&g.live);
    // Silenced on every row: k ≥ live for k = 0, that is live = 0.
    let parked = s.uge(s.usplat(0), live);
    let zero = s.splat(0.0);
    let mut lp = LowPasses::load(s, g);
    let first = buses.first;
    let (Some(src), Some(left), Some(right), Some(reverb), Some(chorus)) = (
        src.get(..n),
        buses.left.get_mut(..n),
        buses.right.get_mut(..n),
        buses.reverb.get_mut(..n),
        buses.chorus.get_mut(..n),
    ) else {
        return;
    };
    let ramp = Ramp {
        gl,
        gr,
        dl,
        dr,
        t0,
        zero,
    };
    // The frame index, as a float and as an integer, counted along.
    let (mut kf, mut ku) = (0f32, 0u32);
    // The first group writes what the others add to (adding to zero would
    // give the same numbers but for the sign of a zero).
    let rows = src.iter().zip(left).zip(right).zip(reverb).zip(chorus);
    for ((((x, l), r), v), c) in rows {
        let x = if FILTER {
            lp.run(s, s.load(x))
        } else {
            s.load(x)
        };
        // Silent while k ≥ live.
        let ended = if STEADY {
            parked
        } else {
            s.uge(s.usplat(ku), live)
        };
        let (xl, xr) = ramp.frame(s, x, kf, ended);
        kf += 1.0;
        ku += 1;
        if first {
            s.store(xl, l);
            s.store(xr, r);
        } else {
            s.store(s.add(s.load(l), xl), l);
            s.store(s.add(s.load(r), xr), r);
        }
        if SENDS {
            let both = s.add(xl, xr);
            let (xv, xc) = (s.mul(both, rev), s.mul(both, cho));
            if first {
                s.store(xv, v);
                s.store(xc, c);
            } else {
                s.store(s.add(s.load(v), xv), v);
                s.store(s.add(s.load(c), xc), c);
            }
        }
    }
    if FILTER {
        lp.store(s, g);
    }
}

/// The lanes' resonant low-passes in direct form I (as
/// `LowPass::process`); lanes with the filter off pass unchanged.
struct LowPasses<S: Lanes> {
    b0: S::F,
    b1: S::F,
    a1: S::F,
    a2: S::F,
    x1: S::F,
    x2: S::F,
    y1: S::F,
    y2: S::F,
    on: S::U,
}

impl<S: Lanes> LowPasses<S> {
    #[inline(always)]
    fn load(s: S, g: &Group) -> Self {
        LowPasses {
            b0: s.load(&g.b0),
            b1: s.load(&g.b1),
            a1: s.load(&g.a1),
            a2: s.load(&g.a2),
            x1: s.load(&g.x1),
            x2: s.load(&g.x2),
            y1: s.load(&g.y1),
            y2: s.load(&g.y2),
            on: s.uload(&g.filter_on),
        }
    }

    /// One row through the filters.
    #[inline(always)]
    fn run(&mut self, s: S, x: S::F) -> S::F {
        let ahead = s.sub(
            s.add(s.mul(self.b0, s.add(x, self.x2)), s.mul(self.b1, self.x1)),
            s.mul(self.a2, self.y2),
        );
        let y = s.sub(ahead, s.mul(self.a1, self.y1));
        self.x2 = self.x1;
        self.x1 = x;
        self.y2 = self.y1;
        self.y1 = y;
        s.select(self.on, y, x)
    }

    #[inline(always)]
    fn store(&self, s: S, g: &mut Group) {
        s.store(self.x1, &mut g.x1);
        s.store(self.x2, &mut g.x2);
        s.store(self.y1, &mut g.y1);
        s.store(self.y2, &mut g.y2);
    }
}

/// The lanes' gain ramps during [`mix`].
struct Ramp<S: Lanes> {
    gl: S::F,
    gr: S::F,
    dl: S::F,
    dr: S::F,
    t0: S::F,
    zero: S::F,
}

impl<S: Lanes> Ramp<S> {
    /// Frame `k` of `x` through the left and right gains, zero in the
    /// `ended` lanes.
    #[inline(always)]
    fn frame(&self, s: S, x: S::F, kf: f32, ended: S::U) -> (S::F, S::F) {
        let t = s.add(self.t0, s.splat(kf));
        let x = s.select(ended, self.zero, x);
        let xl = s.mul(x, s.add(self.gl, s.mul(t, self.dl)));
        let xr = s.mul(x, s.add(self.gr, s.mul(t, self.dr)));
        (xl, xr)
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

#[cfg(test)]
mod tests {
    use super::super::simd::Portable;
    use super::*;

    /// Two 16-bit frames as the word a gather reads (`a` the earlier).
    fn word(a: i16, b: i16) -> u32 {
        u32::from(a as u16) | u32::from(b as u16) << 16
    }

    #[test]
    fn the_integer_cubic_gives_the_float_cubics_bits() {
        let s = Portable;
        // Extremes, zeros, signs and a pseudo-random spread of taps and
        // fractions (a fixed LCG: the same cases every run).
        let mut taps = vec![
            [0, 0, 0, 0],
            [i16::MAX, i16::MIN, i16::MAX, i16::MIN],
            [i16::MIN, i16::MAX, i16::MIN, i16::MAX],
            [i16::MIN; 4],
            [i16::MAX; 4],
            [1, -1, 1, -1],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as u32
        };
        for _ in 0..4000 {
            taps.push([0; 4].map(|_| next() as u16 as i16));
        }
        let mut checked = 0;
        for chunk in taps.chunks(8) {
            let mut w01 = [0u32; 8];
            let mut w23 = [0u32; 8];
            let (mut p0, mut p1, mut p2, mut p3) = ([0f32; 8], [0f32; 8], [0f32; 8], [0f32; 8]);
            for (l, t) in chunk.iter().enumerate() {
                w01[l] = word(t[0], t[1]);
                w23[l] = word(t[2], t[3]);
                (p0[l], p1[l], p2[l], p3[l]) = (t[0].into(), t[1].into(), t[2].into(), t[3].into());
            }
            for _ in 0..8 {
                let mut x = [0f32; 8];
                for xl in &mut x {
                    *xl = frac_x(next() << 1 | next() & 1);
                }
                x[0] = 0.0;
                x[1] = frac_x(u32::MAX);
                let want = cubic_v(s, p0, p1, p2, p3, x);
                let got = cubic_words(s, w01, w23, x);
                for l in 0..8 {
                    assert_eq!(
                        got[l].to_bits(),
                        want[l].to_bits(),
                        "taps {:?} at x = {}",
                        chunk.get(l),
                        x[l]
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 30_000);
    }

    /// A looping lane's rule: loop 1000–1100 of a 2000-frame sample.
    fn looping(step: u64) -> RunRule {
        RunRule {
            bounds: Bounds {
                start: 10,
                end: 2000,
                loop_start: 1000,
                loop_end: 1100,
                looping: true,
            },
            step,
            free_wrap: true,
        }
    }

    #[test]
    fn the_plain_loop_stops_before_any_tap_or_phase_reaches_the_loop_end() {
        for step in [1 << 32, 3 << 31, (1 << 32) / 3, 7 << 32, 1] {
            let rule = looping(step);
            for (idx, frac) in [
                (1000u64, 0u64),
                (1050, 0x8000_0000),
                (1096, 5),
                (1097, 0),
                (1098, 1),
            ] {
                let p = idx << 32 | frac;
                for cubic in [true, false] {
                    let k = if cubic {
                        rule.unwrapped_frames::<true>(p, 64)
                    } else {
                        rule.unwrapped_frames::<false>(p, 64)
                    };
                    let ahead = if cubic { 2 } else { 1 };
                    // Every rendered frame's last tap, and the phase after
                    // the run, stay before the loop end.
                    for j in (0..=k as u64).filter(|_| k > 0) {
                        assert!(
                            (p + j * step) >> 32 < 1100 - ahead,
                            "step {step:#x} from {p:#x}, {k} frames"
                        );
                    }
                    // And the run is as long as it can be (or the block).
                    if k < 64 {
                        assert!((p + (k as u64 + 1) * step) >> 32 >= 1100 - ahead);
                    }
                }
            }
        }
    }

    #[test]
    fn the_wrapping_loop_runs_until_the_phase_has_wrapped() {
        for step in [1 << 32, 3 << 31, (1 << 32) / 3, 7 << 32] {
            let rule = looping(step);
            let p = 1098u64 << 32 | 0x4000_0000;
            let k = rule.frames_to_wrap(p, 1000) as u64;
            assert!(k >= 1);
            assert!(p + k * step >= 1100 << 32, "wrapped after {k} frames");
            assert!(p + (k - 1) * step < 1100 << 32, "not before");
        }
        assert_eq!(looping(0).frames_to_wrap(1099 << 32, 64), 1);
        assert_eq!(looping(1 << 32).frames_to_wrap(1000 << 32, 5), 5);
    }
}
