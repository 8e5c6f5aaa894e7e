//! The voice renderer: voices eight at a time, one per SIMD lane.
//!
//! A segment (at most one control block, crossing no event) is rendered
//! for a group of up to [`LANES`] voices of one font in two passes over
//! lane arrays: resampling (`resample.rs`: runs of frames
//! with no loop point, sample end or sample start in reach go through a
//! branch-free loop; the frame where a lane meets one is done one lane
//! at a time), then mixing (`mix.rs`: the resonant filter,
//! whose recursion runs across the lanes — the work that cannot be
//! vectorised within one voice — and the gain ramps into per-lane
//! buses). The buses are summed across lanes once, at the end. This
//! module holds the group's layout and moves voices into and out of it.
//!
//! Every lane computes exactly the same IEEE operations in the same order
//! whatever the instruction set: the AVX2 build and the portable build
//! give bit-identical results (`tests/tests/simd.rs` holds them to it).

mod mix;
mod resample;
#[cfg(test)]
mod tests;

use super::dsp::CONTROL_FRAMES;
use super::simd::Lanes;
use super::voice::{Interpolation, Voice};
use mix::mix;
use resample::resample;

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
    /// Scratch of the passes: the resampled lanes.
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

/// The passes, inlined into each instruction-set build.
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
