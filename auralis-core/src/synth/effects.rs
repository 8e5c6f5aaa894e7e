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

    /// Runs `io` through the all-pass, in place.
    #[inline]
    fn run(&mut self, io: &mut [f32]) {
        let (len, mut pos) = (self.len, self.pos);
        for x in io.iter_mut() {
            let Some(slot) = self.buf.get_mut(pos) else {
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
        }
        self.pos = pos;
    }
}

/// Stereo reverb: a feedback delay network of eight damped lines mixed
/// by a Hadamard matrix (lossless, so the feedback gains alone set the
/// decay), fed through two all-passes. The eight lines share one array,
/// one row per frame with a column per line, so a frame reads all lines
/// with one gather and writes them with one store, and the damping,
/// mixing and feedback run across the lines as SIMD lanes. The sum of
/// the two sides is the mix's third output, their difference its fourth.
#[derive(Clone, Debug)]
pub(crate) struct Reverb {
    rows: [[f32; 8]; CAPACITY],
    /// Rows in use, at most `CAPACITY` ([`ReverbSize`]).
    ring: usize,
    /// The row written this frame.
    write: usize,
    /// Each line's read position, as an index into the flattened rows.
    read: [u32; 8],
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
            rows: [[0.0; 8]; CAPACITY],
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

    /// Sets delay lengths for `sample_rate` and clears the lines.
    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        let scale = |n: usize| (n as u64 * u64::from(sample_rate) / 44_100) as usize;
        self.rows = [[0.0; 8]; CAPACITY];
        self.write = 0;
        self.lp = [0.0; 8];
        for (j, &nominal) in LINES.iter().enumerate() {
            let want = scale(nominal).max(1);
            let len = want.min(self.ring);
            if let (Some(l), Some(s), Some(r)) = (
                self.len.get_mut(j),
                self.stretch.get_mut(j),
                self.read.get_mut(j),
            ) {
                *l = len;
                *s = want as f32 / len as f32;
                // Row `len` frames back from row 0, this line's column.
                *r = ((self.ring - len) * 8 + j) as u32;
            }
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
    #[inline(always)]
    #[allow(unsafe_code)]
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
        let half_wet = 0.5 * self.wet;
        let (damp, undamp) = (s.splat(self.damp), s.splat(1.0 - self.damp));
        let (gain, signs) = (s.load(&self.gain), s.load(&SIGNS));
        let ring = self.ring.min(CAPACITY);
        let (step, end) = (s.usplat(8), s.usplat((ring * 8) as u32));
        let mut read = s.uload(&self.read);
        let mut lp = s.load(&self.lp);
        // The input, diffused, for the whole block first (the all-passes'
        // delays are longer than a block, so nothing inside it feeds back).
        let n = send.len().min(left.len()).min(right.len()).min(64);
        let mut input = [0f32; 64];
        let Some(input) = input.get_mut(..n) else {
            return;
        };
        for (i, x) in input.iter_mut().zip(send) {
            *i = x * INPUT;
        }
        for d in self.diffusers.iter_mut() {
            d.run(input);
        }
        let mut write = self.write;
        for ((x, l), r) in input.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            // SAFETY: every read index is a row under `ring` (at most
            // CAPACITY) times 8 plus a column under 8: `prepare` starts them
            // there, and they step by one row and wrap at the end below.
            let y = unsafe { s.gather_f32(self.rows.as_flattened(), read) };
            lp = s.flush(s.add(s.mul(y, undamp), s.mul(lp, damp)), TINY);
            let mixed = s.hadamard8(lp);
            // Lanes 2 and 3 of the butterfly are the sum and difference of
            // the even-line and odd-line outputs with alternating signs.
            let (sum, diff) = (s.lane(mixed, 2), s.lane(mixed, 3));
            *l += (sum + diff) * half_wet;
            *r += (sum - diff) * half_wet;
            let next = s.flush(s.add(s.mul(mixed, gain), s.mul(s.splat(*x), signs)), TINY);
            if let Some(row) = self.rows.get_mut(write) {
                s.store(next, row);
            }
            write += 1;
            if write >= ring {
                write = 0;
            }
            read = s.uadd(read, step);
            read = s.usub(read, s.and(s.uge(read, end), end));
        }
        self.write = write;
        s.ustore(read, &mut self.read);
        s.store(lp, &mut self.lp);
    }
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
    #[inline(always)]
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
    #[inline(always)]
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
            .rows
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
