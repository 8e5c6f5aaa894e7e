//! Effects after the voices: a stereo reverb and a chorus on their send
//! buses, and a soft limiter that keeps every output sample inside
//! [-1, 1]. All delay lines are fixed arrays: nothing allocates.

use super::simd::Lanes;

/// Zero for values too small to hear, so feedback loops decaying in
/// silence never reach denormal numbers (slow on some CPUs).
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < 1e-15 {
        0.0
    } else {
        x
    }
}

/// Rows of the reverb's delay network: the longest line at 48 kHz, and
/// the longest any line gets (a higher rate shortens its lines in time
/// and raises their feedback so the decay time stays the same). The
/// `compact` feature halves it for small parts.
#[cfg(not(feature = "compact"))]
const CAPACITY: usize = 3300;
#[cfg(all(feature = "compact", not(feature = "no-effects")))]
const CAPACITY: usize = COMPACT_ROWS;
#[cfg(feature = "no-effects")]
const CAPACITY: usize = 1;
/// Rows of the compact reverb ([`ReverbSize::Compact`]).
const COMPACT_ROWS: usize = 1650;

/// How long the reverb's lines may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReverbSize {
    /// Lines as long as the build allows: 3300 frames (or 1650 with the
    /// `compact` feature).
    #[default]
    Full,
    /// Lines of at most 1650 frames (37 ms at 44.1 kHz): the longer ones
    /// are shortened and their feedback raised, so the decay time stays
    /// and the echoes come a little closer together. What a build with
    /// the `compact` feature always plays; on other builds, this gives
    /// the same samples as such a build.
    Compact,
}
/// Line lengths at 44.1 kHz: mutually prime, 30–67 ms.
const LINES: [usize; 8] = [1321, 1553, 1777, 1999, 2239, 2473, 2711, 2953];
/// Longest input diffuser, frames.
#[cfg(not(feature = "no-effects"))]
const MAX_DIFFUSER: usize = 400;
#[cfg(feature = "no-effects")]
const MAX_DIFFUSER: usize = 1;
/// Input diffuser lengths at 44.1 kHz.
const DIFFUSERS: [usize; 2] = [337, 211];
/// The input enters every line with these signs.
const SIGNS: [f32; 8] = [1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0];
/// Values under this are flushed to zero in the feedback loops.
const TINY: f32 = 1e-15;
/// 1/√8: the Hadamard matrix scaled by it is orthogonal.
const HADAMARD_SCALE: f32 = 0.353_553_4;

/// A Schroeder all-pass that thickens the input before the network.
#[derive(Clone, Debug)]
struct AllPass {
    buf: [f32; MAX_DIFFUSER],
    len: usize,
    pos: usize,
}

impl AllPass {
    const fn new() -> Self {
        Self {
            buf: [0.0; MAX_DIFFUSER],
            len: 1,
            pos: 0,
        }
    }

    /// Runs `io` through the all-pass, in place: eight frames at a time
    /// where they do not cross the end of the line (eight neighbouring
    /// slots, each read before it is written, as frame by frame), one
    /// frame at a time where they do.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    fn run<S: Lanes>(&mut self, s: S, io: &mut [f32]) {
        let (len, mut pos) = (self.len, self.pos);
        let (g, tiny) = (s.splat(0.6), TINY);
        let mut k = 0;
        while k < io.len() {
            let eight = (
                io.get_mut(k..k + 8)
                    .and_then(|x| <&mut [f32; 8]>::try_from(x).ok()),
                self.buf
                    .get_mut(pos..(pos + 8).min(len))
                    .and_then(|b| <&mut [f32; 8]>::try_from(b).ok()),
            );
            if let (Some(x), Some(slots)) = eight {
                let delayed = s.load(slots);
                let v = s.sub(s.load(x), s.mul(g, delayed));
                s.store(s.flush(v, tiny), slots);
                s.store(s.add(delayed, s.mul(g, v)), x);
                pos += 8;
                if pos >= len {
                    pos = 0;
                }
                k += 8;
                continue;
            }
            let (Some(x), Some(slot)) = (io.get_mut(k), self.buf.get_mut(pos)) else {
                return;
            };
            let delayed = *slot;
            let v = *x - 0.6 * delayed;
            *slot = flush(v);
            pos += 1;
            if pos >= len {
                pos = 0;
            }
            *x = delayed + 0.6 * v;
            k += 1;
        }
        self.pos = pos;
    }
}

/// Stereo reverb: a feedback delay network of eight damped lines mixed
/// by a Hadamard matrix (lossless, so the feedback gains alone set the
/// decay), fed through two all-passes. The sum of the two sides is the
/// mix's third output, their difference its fourth.
///
/// Eight frames go through at a time. Every line is longer than eight
/// frames, so what a line gives in these frames was written before them:
/// each line's eight values are one load from its own ring, a transpose
/// turns them into one row per frame, and only the damping filter (the
/// one recursion from frame to frame) and the mixing run frame by frame,
/// across the lines as SIMD lanes. A second transpose turns the mixed
/// rows back into eight frames per line, where the feedback and the
/// output are computed eight frames at once, and each line's eight new
/// values are one store.
#[derive(Clone, Debug)]
pub(crate) struct Reverb {
    /// One ring per line; each uses its first `ring` frames.
    lines: [[f32; CAPACITY]; 8],
    /// Frames of each ring in use, at most `CAPACITY` ([`ReverbSize`]).
    ring: usize,
    /// Where this frame is written in every ring.
    write: usize,
    /// Where each line's output for this frame is read: `len` frames
    /// before `write`.
    read: [usize; 8],
    /// Each line's length in frames at the current rate.
    len: [usize; 8],
    /// Each line's one-pole low-pass state (damping).
    lp: [f32; 8],
    diffusers: [AllPass; 2],
    /// Each line's feedback gain (with the matrix scale), from `room`.
    gain: [f32; 8],
    /// How much longer in time each line should be than it is (1 unless
    /// the rate is so high that a line hit [`CAPACITY`]).
    stretch: [f32; 8],
    feedback: f32,
    damp: f32,
    wet: f32,
}

impl Reverb {
    pub(crate) const fn new() -> Self {
        Self {
            lines: [[0.0; CAPACITY]; 8],
            ring: CAPACITY,
            write: 0,
            read: [0; 8],
            len: [1; 8],
            lp: [0.0; 8],
            diffusers: [const { AllPass::new() }; 2],
            gain: [0.84 * HADAMARD_SCALE; 8],
            stretch: [1.0; 8],
            feedback: 0.84,
            damp: 0.2,
            wet: 0.2,
        }
    }

    /// Chooses the line limit; takes effect at the next [`Reverb::prepare`].
    pub(crate) fn set_size(&mut self, size: ReverbSize) {
        self.ring = match size {
            ReverbSize::Full => CAPACITY,
            ReverbSize::Compact => COMPACT_ROWS.min(CAPACITY),
        };
    }

    /// Sets delay lengths for `sample_rate` and clears the lines. A line
    /// is never shorter than [`MIN_LINE`] frames.
    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        let scale = |n: usize| (n as u64 * u64::from(sample_rate) / 44_100) as usize;
        self.lines = [[0.0; CAPACITY]; 8];
        self.write = 0;
        self.lp = [0.0; 8];
        let ring = self.ring.clamp(1, CAPACITY);
        for (((&nominal, l), s), r) in LINES
            .iter()
            .zip(self.len.iter_mut())
            .zip(self.stretch.iter_mut())
            .zip(self.read.iter_mut())
        {
            let want = scale(nominal).max(MIN_LINE);
            *l = want.min(ring);
            *s = want as f32 / *l as f32;
            // `len` frames before the write position (0), in the ring.
            *r = (ring - *l) % ring;
        }
        for (a, &len) in self.diffusers.iter_mut().zip(DIFFUSERS.iter()) {
            *a = AllPass::new();
            a.len = scale(len).clamp(1, MAX_DIFFUSER);
        }
        self.set_gains();
    }

    /// Room size, damping and wet level, each 0–1 (clamped).
    pub(crate) fn configure(&mut self, room_size: f32, damping: f32, wet: f32) {
        let clean = |v: f32| {
            if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.5
            }
        };
        self.feedback = 0.70 + 0.27 * clean(room_size);
        self.damp = 0.45 * clean(damping);
        self.wet = clean(wet);
        self.set_gains();
    }

    /// Each line's gain: the feedback per pass, raised to the power of
    /// how much longer the line should be, so that a shortened line
    /// loses as much per second as the full one would.
    fn set_gains(&mut self) {
        for (g, &stretch) in self.gain.iter_mut().zip(self.stretch.iter()) {
            let per_pass = if stretch == 1.0 {
                self.feedback
            } else {
                libm::powf(self.feedback, 1.0 / stretch)
            };
            *g = per_pass * HADAMARD_SCALE;
        }
    }

    /// Whether the reverb is heard (a wet level above zero; never with
    /// the `no-effects` feature).
    pub(crate) fn is_on(&self) -> bool {
        self.wet > 0.0 && cfg!(not(feature = "no-effects"))
    }

    /// Adds the reverb of the mono `send` bus to `left` and `right`.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    pub(crate) fn process<S: Lanes>(
        &mut self,
        s: S,
        send: &[f32],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        const INPUT: f32 = 0.15;
        if !self.is_on() {
            return;
        }
        let half_wet = s.splat(0.5 * self.wet);
        let ring = self.ring.clamp(1, CAPACITY);
        let mut lp = s.load(&self.lp);
        // The input, diffused, for the whole block first (the all-passes'
        // delays are longer than a block, so nothing inside it feeds back).
        let n = send.len().min(left.len()).min(right.len()).min(64);
        let mut input = [0f32; 64];
        let Some(input) = input.get_mut(..n) else {
            return;
        };
        // Eight at a time, as the all-passes read them (a wide read of
        // narrow writes would wait for them to reach the cache).
        let (mut ins, mut sends) = (input.chunks_exact_mut(8), send.chunks_exact(8));
        for (i, x) in ins.by_ref().zip(sends.by_ref()) {
            if let (Ok(i), Ok(x)) = (<&mut [f32; 8]>::try_from(i), <&[f32; 8]>::try_from(x)) {
                s.store(s.mul(s.load(x), s.splat(INPUT)), i);
            }
        }
        for (i, x) in ins.into_remainder().iter_mut().zip(sends.remainder()) {
            *i = x * INPUT;
        }
        for d in self.diffusers.iter_mut() {
            d.run(s, input);
        }
        let mut k = 0;
        while k < n {
            // Frames before the write position or a read position reaches
            // the end of the rings: whole groups of eight up to there go
            // straight through, the rest one (short) group at a time.
            let room = self.read.iter().fold(ring - self.write.min(ring), |r, &p| {
                r.min(ring.saturating_sub(p))
            });
            let whole = (n - k).min(room) / 8 * 8;
            let m = if whole > 0 { whole } else { (n - k).min(8) };
            let (Some(x), Some(l), Some(r)) = (
                input.get(k..k + m),
                left.get_mut(k..k + m),
                right.get_mut(k..k + m),
            ) else {
                break;
            };
            if whole > 0 {
                self.run_whole(s, x, l, r, &mut lp, half_wet);
            } else {
                self.run_short(s, x, l, r, &mut lp, half_wet, ring);
            }
            self.write += m;
            if self.write >= ring {
                self.write -= ring;
            }
            for p in self.read.iter_mut() {
                *p += m;
                if *p >= ring {
                    *p -= ring;
                }
            }
            k += m;
        }
        s.store(lp, &mut self.lp);
    }

    /// Whole groups of eight frames (`x.len()` of them, a multiple of
    /// eight) in which no ring position reaches the end of its ring.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    fn run_whole<S: Lanes>(
        &mut self,
        s: S,
        x: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        lp: &mut S::F,
        half_wet: S::F,
    ) {
        let groups = x
            .chunks_exact(8)
            .zip(left.chunks_exact_mut(8).zip(right.chunks_exact_mut(8)));
        for (g, (x, (l, r))) in groups.enumerate() {
            let at = 8 * g;
            let mut delayed = [s.splat(0.0); 8];
            for ((d, line), &p) in delayed.iter_mut().zip(&self.lines).zip(&self.read) {
                if let Some(Ok(v)) = line.get(p + at..p + at + 8).map(<&[f32; 8]>::try_from) {
                    *d = s.load(v);
                }
            }
            let (fed, sum, diff) = self.network(s, delayed, load_part(s, x), lp, 8);
            let w = self.write + at;
            for (line, f) in self.lines.iter_mut().zip(fed) {
                if let Some(Ok(v)) = line.get_mut(w..w + 8).map(<&mut [f32; 8]>::try_from) {
                    s.store(f, v);
                }
            }
            add_into(s, l, s.mul(s.add(sum, diff), half_wet));
            add_into(s, r, s.mul(s.sub(sum, diff), half_wet));
        }
    }

    /// One group of up to eight frames, any of whose ring positions may
    /// wrap inside it.
    #[allow(clippy::too_many_arguments)]
    fn run_short<S: Lanes>(
        &mut self,
        s: S,
        x: &[f32],
        left: &mut [f32],
        right: &mut [f32],
        lp: &mut S::F,
        half_wet: S::F,
        ring: usize,
    ) {
        let m = x.len().min(8);
        let mut delayed = [s.splat(0.0); 8];
        for ((d, line), &p) in delayed.iter_mut().zip(&self.lines).zip(&self.read) {
            *d = read_ring(s, line, ring, p, m);
        }
        let (fed, sum, diff) = self.network(s, delayed, load_part(s, x), lp, m);
        for (line, f) in self.lines.iter_mut().zip(fed) {
            write_ring(s, line, ring, self.write, f, m);
        }
        add_into(s, left, s.mul(s.add(sum, diff), half_wet));
        add_into(s, right, s.mul(s.sub(sum, diff), half_wet));
    }

    /// The network for `m` (at most eight) frames. `delayed` holds what
    /// each line gives in them (a row per line); returns what each line
    /// is fed (a row per line) and the mixed network's lines 2 and 3,
    /// which are the sum and the difference of the even and odd lines
    /// with alternating signs (a row each). Only the damping runs frame
    /// by frame.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    fn network<S: Lanes>(
        &self,
        s: S,
        delayed: [S::F; 8],
        x: S::F,
        lp: &mut S::F,
        m: usize,
    ) -> ([S::F; 8], S::F, S::F) {
        let (damp, undamp) = (s.splat(self.damp), s.splat(1.0 - self.damp));
        let mut mixed = [s.splat(0.0); 8];
        for (y, out) in s.transpose8(delayed).iter().zip(mixed.iter_mut()).take(m) {
            *lp = s.flush(s.add(s.mul(*y, undamp), s.mul(*lp, damp)), TINY);
            *out = s.hadamard8(*lp);
        }
        let mixed = s.transpose8(mixed);
        let mut fed = mixed;
        for ((f, &gain), &sign) in fed.iter_mut().zip(&self.gain).zip(&SIGNS) {
            *f = s.flush(
                s.add(s.mul(*f, s.splat(gain)), s.mul(x, s.splat(sign))),
                TINY,
            );
        }
        let [_, _, sum, diff, ..] = mixed;
        (fed, sum, diff)
    }
}

/// Lines are never shorter than this (eight frames go through the
/// network at a time: a line must give all eight before it is fed).
const MIN_LINE: usize = 8;

/// `m` (at most eight) values of `line` from `at` on, wrapping at `ring`,
/// in the first `m` lanes; the other lanes are zero.
#[inline(always)]
fn read_ring<S: Lanes>(s: S, line: &[f32; CAPACITY], ring: usize, at: usize, m: usize) -> S::F {
    if m == 8 && at + 8 <= ring {
        if let Some(Ok(eight)) = line.get(at..at + 8).map(<&[f32; 8]>::try_from) {
            return s.load(eight);
        }
    }
    let mut v = [0f32; 8];
    let mut i = at;
    for slot in v.iter_mut().take(m) {
        *slot = line.get(i).copied().unwrap_or(0.0);
        i += 1;
        if i >= ring {
            i = 0;
        }
    }
    s.load(&v)
}

/// Writes the first `m` lanes of `v` into `line` from `at` on, wrapping at
/// `ring`.
#[inline(always)]
fn write_ring<S: Lanes>(
    s: S,
    line: &mut [f32; CAPACITY],
    ring: usize,
    at: usize,
    v: S::F,
    m: usize,
) {
    if m == 8 && at + 8 <= ring {
        if let Some(Ok(eight)) = line.get_mut(at..at + 8).map(<&mut [f32; 8]>::try_from) {
            s.store(v, eight);
            return;
        }
    }
    let mut lanes = [0f32; 8];
    s.store(v, &mut lanes);
    let mut i = at;
    for x in lanes.iter().take(m) {
        if let Some(slot) = line.get_mut(i) {
            *slot = *x;
        }
        i += 1;
        if i >= ring {
            i = 0;
        }
    }
}

/// Up to eight values as lanes; missing lanes are zero.
#[inline(always)]
fn load_part<S: Lanes>(s: S, x: &[f32]) -> S::F {
    if let Ok(eight) = <&[f32; 8]>::try_from(x) {
        return s.load(eight);
    }
    let mut v = [0f32; 8];
    for (d, x) in v.iter_mut().zip(x) {
        *d = *x;
    }
    s.load(&v)
}

/// Longest chorus delay, frames (25 ms at 48 kHz).
#[cfg(not(feature = "no-effects"))]
const MAX_CHORUS: usize = 1200;
#[cfg(feature = "no-effects")]
const MAX_CHORUS: usize = 4;

/// A two-tap chorus: each side reads the send bus through a delay swept
/// by a slow triangle, the sides a quarter cycle apart. The sweep's phase
/// advances frame by frame; the taps of eight frames are read at once.
#[derive(Clone, Debug)]
pub(crate) struct Chorus {
    buf: [f32; MAX_CHORUS],
    pos: usize,
    phase: f32,
    rate: f32,
    base: f32,
    depth: f32,
    pub(crate) level: f32,
}

impl Chorus {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0.0; MAX_CHORUS],
            pos: 0,
            phase: 0.0,
            rate: 0.0,
            base: 1.0,
            depth: 0.0,
            level: 0.0,
        }
    }

    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        let sr = sample_rate as f32;
        self.buf = [0.0; MAX_CHORUS];
        self.pos = 0;
        self.phase = 0.0;
        self.rate = 0.3 / sr;
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
        // Each frame's sweep phase, advanced frame by frame.
        let mut phases = [[0f32; 8]; 8];
        let mut phase = self.phase;
        for p in phases.as_flattened_mut().iter_mut().take(n) {
            *p = phase;
            phase += self.rate;
            if phase >= 1.0 {
                phase -= 1.0;
            }
        }
        self.phase = phase;
        let start = self.pos;
        self.pos = (self.pos + n) % MAX_CHORUS;
        let (one, quarter) = (s.splat(1.0), s.splat(0.25));
        let (lo, hi) = (s.splat(1.0), s.splat((MAX_CHORUS - 2) as f32));
        let (base, depth, level) = (s.splat(self.base), s.splat(self.depth), s.splat(self.level));
        let wrap = s.usplat(MAX_CHORUS as u32);
        // Ring positions of eight frames, stepped by eight.
        let mut pos = s.uadd(s.usplat(start as u32), s.uload(&[0, 1, 2, 3, 4, 5, 6, 7]));
        pos = s.usub(pos, s.and(s.uge(pos, wrap), wrap));
        let eight = s.usplat(8);
        let mut ls = left.get_mut(..n).unwrap_or(&mut []).chunks_mut(8);
        let mut rs = right.get_mut(..n).unwrap_or(&mut []).chunks_mut(8);
        for p in phases.iter().take(n.div_ceil(8)) {
            let (Some(l), Some(r)) = (ls.next(), rs.next()) else {
                break;
            };
            let phase = s.load(p);
            let right_phase = s.add(phase, quarter);
            let right_phase =
                s.select(s.lt(right_phase, one), right_phase, s.sub(right_phase, one));
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
                sweep.tap(s, &self.buf, phase),
                sweep.tap(s, &self.buf, right_phase),
            );
            add_into(s, l, tl);
            add_into(s, r, tr);
            pos = s.uadd(pos, eight);
            pos = s.usub(pos, s.and(s.uge(pos, wrap), wrap));
        }
    }
}

/// Adds the lanes of `v` to `out` (eight frames, or the fewer left).
#[inline(always)]
fn add_into<S: Lanes>(s: S, out: &mut [f32], v: S::F) {
    if let Ok(out) = <&mut [f32; 8]>::try_from(&mut *out) {
        s.store(s.add(s.load(out), v), out);
    } else {
        let mut lanes = [0f32; 8];
        s.store(v, &mut lanes);
        for (o, x) in out.iter_mut().zip(lanes) {
            *o += x;
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
        // Frames `whole` and `whole + 1` back from each frame's own.
        let a_at = self.back(s, whole);
        let b_at = self.back(s, s.uadd(whole, s.usplat(1)));
        // SAFETY: `d` is clamped to 1 ..= MAX_CHORUS − 2 frames, so both
        // positions, wrapped into the ring, are under MAX_CHORUS.
        let (a, b) = unsafe { (s.gather_f32(buf, a_at), s.gather_f32(buf, b_at)) };
        s.mul(s.add(a, s.mul(frac, s.sub(b, a))), self.level)
    }

    /// The ring position `k` frames before each frame's own.
    #[inline(always)]
    fn back(&self, s: S, k: S::U) -> S::U {
        let at = s.usub(self.pos, k);
        s.uadd(at, s.and(s.uge(at, self.wrap), self.wrap))
    }
}

/// A soft limiter: a peak follower with instant attack and slow release
/// pulls the level under the threshold, and a smooth knee above it bends
/// whatever remains so that no sample can leave [-1, 1]. NaN becomes 0.
#[derive(Clone, Debug)]
pub(crate) struct Limiter {
    envelope: f32,
    release: f32,
}

/// Level above which the limiter starts to act.
const THRESHOLD: f32 = 0.89;
/// A block whose samples and starting envelope are all at most this
/// passes the limiter untouched, without running the envelope frame by
/// frame (see [`Limiter::run`]).
const QUIET: f32 = 0.875;

impl Limiter {
    pub(crate) const fn new() -> Self {
        Self {
            envelope: 0.0,
            release: 0.9999,
        }
    }

    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        // About 200 ms for the gain to recover by 63 %.
        self.release = libm::expf(-1.0 / (0.2 * sample_rate as f32));
        self.envelope = 0.0;
    }

    /// Writes `gain · from[0][k]` and `gain · from[1][k]` through the
    /// limiter into `left[k]` and `right[k]`, for the shortest of the four.
    ///
    /// The envelope changes the output only while it is above the
    /// threshold, and it can only rise above it by taking a peak above it
    /// (which sets it to that peak, whatever it was). So a block in which
    /// the envelope starts at most [`QUIET`] and every sample is at most
    /// `QUIET` comes out exactly as it went in, whatever the envelope
    /// does inside it: such a block is only scaled, eight frames at a
    /// time, and the envelope is left as it was (still under `QUIET`).
    /// Any other block goes through [`Limiter::process`] frame by frame.
    /// The samples are the same bits either way.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    pub(crate) fn run<S: Lanes>(
        &mut self,
        s: S,
        gain: f32,
        from: [&[f32]; 2],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let [bl, br] = from;
        let n = bl.len().min(br.len()).min(left.len()).min(right.len());
        let (Some(bl), Some(br), Some(left), Some(right)) = (
            bl.get(..n),
            br.get(..n),
            left.get_mut(..n),
            right.get_mut(..n),
        ) else {
            return;
        };
        let mut loud = self.envelope > QUIET;
        let g = s.splat(gain);
        let (mut ls, mut rs) = (left.chunks_exact_mut(8), right.chunks_exact_mut(8));
        let (mut xs, mut ys) = (bl.chunks_exact(8), br.chunks_exact(8));
        for (((l, r), x), y) in ls
            .by_ref()
            .zip(rs.by_ref())
            .zip(xs.by_ref())
            .zip(ys.by_ref())
        {
            if let (Ok(l), Ok(r), Ok(x), Ok(y)) = (
                <&mut [f32; 8]>::try_from(l),
                <&mut [f32; 8]>::try_from(r),
                <&[f32; 8]>::try_from(x),
                <&[f32; 8]>::try_from(y),
            ) {
                let (a, b) = (s.mul(s.load(x), g), s.mul(s.load(y), g));
                loud |= s.any(s.outside(a, QUIET)) | s.any(s.outside(b, QUIET));
                s.store(a, l);
                s.store(b, r);
            }
        }
        let rest = ls.into_remainder().iter_mut().zip(rs.into_remainder());
        for ((l, r), (x, y)) in rest.zip(xs.remainder().iter().zip(ys.remainder())) {
            (*l, *r) = (x * gain, y * gain);
            loud |= !(l.abs() <= QUIET && r.abs() <= QUIET);
        }
        if loud {
            for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                self.process(l, r);
            }
        }
    }

    /// Limits a stereo pair in place.
    #[inline]
    pub(crate) fn process(&mut self, l: &mut f32, r: &mut f32) {
        let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
        let (a, b) = (clean(*l), clean(*r));
        let peak = a.abs().max(b.abs());
        self.envelope = if peak > self.envelope {
            peak
        } else {
            flush(peak + self.release * (self.envelope - peak))
        };
        let gain = if self.envelope > THRESHOLD {
            THRESHOLD / self.envelope
        } else {
            1.0
        };
        *l = knee(a * gain);
        *r = knee(b * gain);
    }
}

/// Identity below the threshold; above it, a tanh curve that approaches
/// but never passes 1.
#[inline]
fn knee(x: f32) -> f32 {
    let m = x.abs();
    if m <= THRESHOLD {
        return x;
    }
    let room = 1.0 - THRESHOLD;
    let y = (THRESHOLD + room * libm::tanhf((m - THRESHOLD) / room)).min(1.0);
    if x < 0.0 {
        -y
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_bounds_everything_and_leaves_quiet_signals_alone() {
        let mut lim = Limiter::new();
        lim.prepare(44_100);
        for x in [
            0.0f32,
            0.5,
            -0.8,
            1.0,
            -3.0,
            100.0,
            f32::INFINITY,
            f32::NAN,
            -1e30,
        ] {
            let (mut l, mut r) = (x, -x);
            lim.process(&mut l, &mut r);
            assert!(l.abs() <= 1.0 && r.abs() <= 1.0, "{x} -> {l} {r}");
        }
        let mut lim = Limiter::new();
        lim.prepare(44_100);
        let (mut l, mut r) = (0.3, -0.25);
        lim.process(&mut l, &mut r);
        assert_eq!((l, r), (0.3, -0.25));
    }

    use crate::synth::simd::Portable;

    /// The limiter's block path gives the same bits as limiting every
    /// frame, through quiet blocks (the fast path), loud ones, a NaN, an
    /// infinity and blocks of lengths that are not multiples of eight.
    #[test]
    fn limiting_a_block_is_limiting_each_frame() {
        let (mut fast, mut slow) = (Limiter::new(), Limiter::new());
        fast.prepare(44_100);
        slow.prepare(44_100);
        let mut seed = 0x2545_f491_u32;
        let mut noise = |level: f32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            level * (seed as f32 / u32::MAX as f32 * 2.0 - 1.0)
        };
        let mut fast_blocks = 0;
        let blocks = [
            (64, 0.3),
            (37, 1.6),
            (64, 0.2),
            (64, 1.8),
            (8, 0.6),
            (3, 0.9),
            (64, 3.0),
            (64, 0.2),
            (61, 0.9),
            (64, 0.1),
        ];
        for (b, &(len, level)) in blocks.iter().enumerate() {
            let len = &len;
            let gain = 0.5;
            let mut l: Vec<f32> = (0..*len).map(|_| noise(level)).collect();
            let r: Vec<f32> = (0..*len).map(|_| noise(level)).collect();
            if b == 6 {
                l[5] = f32::NAN;
                l[6] = f32::INFINITY;
            }
            let (mut out_l, mut out_r) = (vec![9.0f32; *len], vec![9.0f32; *len]);
            let before = fast.envelope;
            fast.run(Portable, gain, [&l, &r], &mut out_l, &mut out_r);
            if fast.envelope == before && before <= QUIET {
                fast_blocks += 1;
            }
            for ((a, b), (ol, or)) in l.iter().zip(&r).zip(out_l.iter().zip(&out_r)) {
                let (mut x, mut y) = (a * gain, b * gain);
                slow.process(&mut x, &mut y);
                assert_eq!((x.to_bits(), y.to_bits()), (ol.to_bits(), or.to_bits()));
            }
        }
        assert!(
            fast_blocks >= 3,
            "the quiet blocks should take the fast path"
        );
    }

    /// Runs the reverb over `send` in control blocks, as the mixer does.
    fn run(rev: &mut Reverb, send: &[f32], l: &mut [f32], r: &mut [f32]) {
        for ((x, l), r) in send.chunks(64).zip(l.chunks_mut(64)).zip(r.chunks_mut(64)) {
            rev.process(Portable, x, l, r);
        }
    }

    #[test]
    fn silence_decays_to_exact_zero_not_denormals() {
        let mut rev = Reverb::new();
        rev.prepare(44_100);
        rev.configure(1.0, 0.0, 1.0);
        let mut send = vec![0.0f32; 44_100];
        send[0] = 1.0;
        let (mut l, mut r) = (vec![0.0f32; 44_100], vec![0.0f32; 44_100]);
        // A minute of silence after the impulse, in one-second blocks.
        run(&mut rev, &send, &mut l, &mut r);
        send[0] = 0.0;
        for _ in 0..60 {
            l.fill(0.0);
            r.fill(0.0);
            run(&mut rev, &send, &mut l, &mut r);
        }
        assert!(l.iter().chain(r.iter()).all(|v| *v == 0.0 || v.is_normal()));
        assert!(rev.lp.iter().all(|v| *v == 0.0 || v.is_normal()));
        assert!(rev
            .lines
            .iter()
            .flatten()
            .all(|v| *v == 0.0 || v.is_normal()));
    }

    #[test]
    fn reverb_rings_after_an_impulse() {
        let mut rev = Reverb::new();
        rev.prepare(48_000);
        rev.configure(0.8, 0.3, 0.5);
        let mut send = vec![0.0f32; 4800];
        send[0] = 1.0;
        let (mut l, mut r) = (vec![0.0f32; 4800], vec![0.0f32; 4800]);
        run(&mut rev, &send, &mut l, &mut r);
        let late: f32 = l[2400..].iter().map(|v| v * v).sum();
        assert!(late > 0.0);
        assert_ne!(l, r, "the two sides should differ");
    }

    /// Seconds for the impulse response's energy to fall by 60 dB: the
    /// Schroeder backward integral's fall from −5 to −25 dB, times three.
    fn decay_time(sample_rate: u32) -> f32 {
        let mut rev = Reverb::new();
        rev.prepare(sample_rate);
        rev.configure(0.82, 0.45, 0.35);
        let n = 4 * sample_rate as usize;
        let mut send = vec![0.0f32; n];
        send[0] = 1.0;
        let (mut l, mut r) = (vec![0.0f32; n], vec![0.0f32; n]);
        run(&mut rev, &send, &mut l, &mut r);
        let energy: Vec<f64> = l
            .iter()
            .zip(&r)
            .map(|(a, b)| f64::from(a * a + b * b))
            .collect();
        let total: f64 = energy.iter().sum();
        let mut left = total;
        let (mut t5, mut t25) = (None, None);
        for (i, e) in energy.iter().enumerate() {
            let db = 10.0 * (left / total).log10();
            if t5.is_none() && db <= -5.0 {
                t5 = Some(i);
            }
            if t25.is_none() && db <= -25.0 {
                t25 = Some(i);
                break;
            }
            left -= e;
        }
        let (a, b) = (t5.expect("-5 dB"), t25.expect("-25 dB"));
        3.0 * (b - a) as f32 / sample_rate as f32
    }

    #[test]
    fn decay_time_is_the_same_at_every_rate() {
        let reference = decay_time(44_100);
        assert!(reference > 0.3, "decay {reference} s");
        for rate in [48_000, 96_000, 192_000] {
            let t = decay_time(rate);
            assert!(
                (t / reference - 1.0).abs() < 0.10,
                "{rate} Hz: {t} s against {reference} s at 44.1 kHz"
            );
        }
    }
}
