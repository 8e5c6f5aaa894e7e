//! The chorus: two taps swept by a slow triangle.

use super::add_into;
use crate::synth::simd::Lanes;

/// Longest chorus delay, frames (25 ms at 48 kHz).
#[cfg(not(feature = "no-effects"))]
const MAX_CHORUS: usize = 1200;
#[cfg(feature = "no-effects")]
const MAX_CHORUS: usize = 4;

/// A two-tap chorus: each side reads the send bus through a delay swept
/// by a slow triangle, the sides a quarter cycle apart. The sweep's phase
/// is a 32-bit fixed-point fraction of a cycle, so the phase of every
/// frame is exact integer arithmetic (eight frames at once, and no drift:
/// a float accumulator of 0.3 Hz at 44.1 kHz rounds each step by up to
/// 1 % of itself); the taps of eight frames are read at once.
#[derive(Clone, Debug)]
pub(crate) struct Chorus {
    buf: [f32; MAX_CHORUS],
    pos: usize,
    /// Where the sweep is, in 2^-32 of a cycle, and its step per frame.
    phase: u32,
    rate: u32,
    base: f32,
    depth: f32,
    pub(crate) level: f32,
}

impl Chorus {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0.0; MAX_CHORUS],
            pos: 0,
            phase: 0,
            rate: 0,
            base: 1.0,
            depth: 0.0,
            level: 0.0,
        }
    }

    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        let sr = sample_rate as f32;
        self.buf = [0.0; MAX_CHORUS];
        self.pos = 0;
        self.phase = 0;
        // 0.3 Hz as a fraction of a cycle per frame, rounded (at most
        // 2^32 · 0.3 / 8000 ≈ 161,000, no overflow).
        self.rate = (0.3 * 4_294_967_296.0 / f64::from(sample_rate) + 0.5) as u32;
        self.base = (0.012 * sr).min((MAX_CHORUS - 4) as f32 * 0.6);
        self.depth = (0.004 * sr).min(self.base * 0.5);
    }

    /// Whether the chorus is heard (a level above zero; never with the
    /// `no-effects` feature).
    pub(crate) fn is_on(&self) -> bool {
        self.level > 0.0 && cfg!(not(feature = "no-effects"))
    }

    /// Adds the chorus of the mono `send` bus to `left` and `right`.
    ///
    /// The shortest delay is far longer than a control block, so every
    /// input of the block is written before any tap is read.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    #[allow(unsafe_code)]
    pub(crate) fn process<S: Lanes>(
        &mut self,
        s: S,
        send: &[f32],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        if !self.is_on() {
            return;
        }
        let n = send.len().min(left.len()).min(right.len()).min(64);
        // The inputs into the ring, in at most two pieces.
        let Some(input) = send.get(..n) else { return };
        let first = input.len().min(MAX_CHORUS - self.pos);
        let (a, b) = input.split_at(first);
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + a.len()) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = self.buf.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
        // Each frame's sweep phase: the block's first plus k steps,
        // wrapping round the cycle.
        let r = self.rate;
        let mut phase = s.uadd(
            s.usplat(self.phase),
            s.uload(&[0, 1, 2, 3, 4, 5, 6, 7].map(|k: u32| k.wrapping_mul(r))),
        );
        let eight_steps = s.usplat(r.wrapping_mul(8));
        let quarter = s.usplat(1 << 30);
        let to_cycles = s.splat(1.0 / 16_777_216.0);
        self.phase = self.phase.wrapping_add(r.wrapping_mul(n as u32));
        let start = self.pos;
        self.pos = (self.pos + n) % MAX_CHORUS;
        let one = s.splat(1.0);
        let (lo, hi) = (s.splat(1.0), s.splat((MAX_CHORUS - 2) as f32));
        let (base, depth, level) = (s.splat(self.base), s.splat(self.depth), s.splat(self.level));
        let wrap = s.usplat(MAX_CHORUS as u32);
        // Ring positions of eight frames, stepped by eight.
        let mut pos = s.uadd(s.usplat(start as u32), s.uload(&[0, 1, 2, 3, 4, 5, 6, 7]));
        pos = s.usub(pos, s.and(s.uge(pos, wrap), wrap));
        let eight = s.usplat(8);
        let mut ls = left.get_mut(..n).unwrap_or(&mut []).chunks_mut(8);
        let mut rs = right.get_mut(..n).unwrap_or(&mut []).chunks_mut(8);
        // Phases in [0, 1) from their top 24 bits.
        let cycles = |p: S::U| s.mul(s.to_f32(s.shr8(p)), to_cycles);
        for _ in 0..n.div_ceil(8) {
            let (Some(l), Some(r)) = (ls.next(), rs.next()) else {
                break;
            };
            let right_phase = cycles(s.uadd(phase, quarter));
            let left_phase = cycles(phase);
            phase = s.uadd(phase, eight_steps);
            let sweep = Sweep {
                pos,
                base,
                depth,
                level,
                lo,
                hi,
                wrap,
                one,
            };
            let (tl, tr) = (
                sweep.tap(s, &self.buf, left_phase),
                sweep.tap(s, &self.buf, right_phase),
            );
            add_into(s, l, tl);
            add_into(s, r, tr);
            pos = s.uadd(pos, eight);
            pos = s.usub(pos, s.and(s.uge(pos, wrap), wrap));
        }
    }
}

/// Eight frames of the chorus sweep: where they are in the ring and how
/// the delay is made from the sweep's phase.
struct Sweep<S: Lanes> {
    pos: S::U,
    base: S::F,
    depth: S::F,
    level: S::F,
    lo: S::F,
    hi: S::F,
    wrap: S::U,
    one: S::F,
}

impl<S: Lanes> Sweep<S> {
    /// The tap of each frame at sweep phase `ph`, times the level.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    #[allow(unsafe_code)]
    fn tap(&self, s: S, buf: &[f32; MAX_CHORUS], ph: S::F) -> S::F {
        // The triangle: 4p − 1 rising, 3 − 4p falling.
        let four_p = s.mul(s.splat(4.0), ph);
        let tri = s.select(
            s.lt(ph, s.splat(0.5)),
            s.sub(four_p, self.one),
            s.sub(s.splat(3.0), four_p),
        );
        let d = s.min(
            s.max(s.add(self.base, s.mul(self.depth, tri)), self.lo),
            self.hi,
        );
        let whole = s.trunc(d);
        let frac = s.sub(d, s.to_f32(whole));
        // Frames `whole` and `whole + 1` back from each frame's own: the
        // same eight-frame runs of the ring, mostly (the sweep moves the
        // delay by a frame every couple of hundred frames), read as such.
        let (a, b) = match self.runs(s, buf, whole) {
            Some((a, b)) => (s.load(a), s.load(b)),
            None => {
                let a_at = self.back(s, whole);
                let b_at = self.back(s, s.uadd(whole, s.usplat(1)));
                // SAFETY: `d` is clamped to 1 ..= MAX_CHORUS − 2 frames, so
                // both positions, wrapped into the ring, are under
                // MAX_CHORUS.
                unsafe { (s.gather_f32(buf, a_at), s.gather_f32(buf, b_at)) }
            }
        };
        s.mul(s.add(a, s.mul(frac, s.sub(b, a))), self.level)
    }

    /// Where every frame's delay is the same whole number of frames and
    /// neither the frames nor their taps wrap around the ring: the taps
    /// `whole` and `whole + 1` back as two runs of eight.
    #[inline(always)]
    fn runs<'b>(
        &self,
        s: S,
        buf: &'b [f32; MAX_CHORUS],
        whole: S::U,
    ) -> Option<(&'b [f32; 8], &'b [f32; 8])> {
        let w = s.lane0(whole);
        if !s.all_eq(whole, w) {
            return None;
        }
        let own = s.lane0(self.pos) as usize;
        if own + 8 > MAX_CHORUS {
            return None;
        }
        // `whole + 1` back, wrapped into the ring once (w < MAX_CHORUS).
        let back = w as usize + 1;
        let b_at = if own >= back {
            own - back
        } else {
            (own + MAX_CHORUS).checked_sub(back)?
        };
        let a = buf.get(b_at + 1..b_at + 9)?.try_into().ok()?;
        let b = buf.get(b_at..b_at + 8)?.try_into().ok()?;
        Some((a, b))
    }

    /// The ring position `k` frames before each frame's own.
    #[inline(always)]
    fn back(&self, s: S, k: S::U) -> S::U {
        let at = s.usub(self.pos, k);
        s.uadd(at, s.and(s.uge(at, self.wrap), self.wrap))
    }
}
