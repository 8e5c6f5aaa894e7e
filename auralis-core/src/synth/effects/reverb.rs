//! The reverb: a feedback delay network of eight damped lines, eight
//! frames at a time.

use super::{add_into, flush, TINY};
use crate::synth::simd::Lanes;

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
/// The highest rate the network runs at: above it, it runs at an integer
/// fraction of the rate ([`Reverb::prepare`]).
const MAX_NETWORK_RATE: u32 = 48_000;
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
    /// Above 48 kHz the network runs at the rate divided by this (so
    /// that its lines keep their length in time within `CAPACITY`); 1 at
    /// 48 kHz and below.
    factor: usize,
    /// Input frames summed towards the next network frame, and how many.
    acc: f32,
    phase: usize,
    /// The network's last output, held for `factor` output frames.
    held: (f32, f32),
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
            factor: 1,
            acc: 0.0,
            phase: 0,
            held: (0.0, 0.0),
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
        // Above 48 kHz the longest line would not fit: the network runs
        // at half (or a quarter …) of the rate instead of shortening its
        // lines, which made it ring longer and louder than at 44.1 kHz.
        self.factor = sample_rate.div_ceil(MAX_NETWORK_RATE).max(1) as usize;
        self.acc = 0.0;
        self.phase = 0;
        self.held = (0.0, 0.0);
        let network_rate = u64::from(sample_rate) / self.factor as u64;
        let scale = |n: usize| (n as u64 * network_rate / 44_100) as usize;
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
        if self.factor == 1 {
            self.run_block(s, send, left, right);
        } else {
            self.process_divided(s, send, left, right);
        }
    }

    /// Above 48 kHz: the network runs on the mean of every `factor` input
    /// frames, and each of its output frames is held for `factor` output
    /// frames (what is lost lies above 24 kHz).
    fn process_divided<S: Lanes>(
        &mut self,
        s: S,
        send: &[f32],
        left: &mut [f32],
        right: &mut [f32],
    ) {
        if !self.is_on() {
            return;
        }
        let k = self.factor;
        let n = send.len().min(left.len()).min(right.len());
        let (mut x, mut wl, mut wr) = ([0f32; 64], [0f32; 64], [0f32; 64]);
        let mut start = 0;
        while start < n {
            let end = (start + 64).min(n);
            // The network frames this stretch completes.
            let (phase, mut m) = (self.phase, 0);
            for &v in send.get(start..end).unwrap_or(&[]) {
                self.acc += v;
                self.phase += 1;
                if self.phase == k {
                    if let Some(slot) = x.get_mut(m) {
                        *slot = self.acc / k as f32;
                    }
                    m += 1;
                    self.acc = 0.0;
                    self.phase = 0;
                }
            }
            let m = m.min(64);
            if let (Some(x), Some(wl), Some(wr)) = (x.get(..m), wl.get_mut(..m), wr.get_mut(..m)) {
                wl.fill(0.0);
                wr.fill(0.0);
                self.run_block(s, x, wl, wr);
            }
            // Each output frame hears the network's last frame; a new one
            // takes over after the input frame that completed it.
            let (mut p, mut j) = (phase, 0);
            let outs = left.get_mut(start..end).into_iter().flatten();
            for (l, r) in outs.zip(right.get_mut(start..end).into_iter().flatten()) {
                *l += self.held.0;
                *r += self.held.1;
                p += 1;
                if p == k {
                    self.held = (
                        wl.get(j).copied().unwrap_or(0.0),
                        wr.get(j).copied().unwrap_or(0.0),
                    );
                    j += 1;
                    p = 0;
                }
            }
            start = end;
        }
    }

    /// The delay network over at most 64 frames, at its own rate.
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
    fn run_block<S: Lanes>(&mut self, s: S, send: &[f32], left: &mut [f32], right: &mut [f32]) {
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
    /// wrap inside it. Inlined like the rest of the chain, so that its
    /// lane operations are compiled for the instruction set in use (out
    /// of line, each AVX2 operation would be a call).
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(auralis_unoptimised), inline(always))]
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
            *lp = s.add(s.mul(*y, undamp), s.mul(*lp, damp));
            *out = s.hadamard8(*lp);
        }
        // Flushed once per eight frames, off the frame-to-frame chain:
        // eight frames of damping cannot take 1e-15 down to a denormal.
        *lp = s.flush(*lp, TINY);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::simd::Portable;

    /// Runs the reverb over `send` in control blocks, as the mixer does.
    fn run(rev: &mut Reverb, send: &[f32], l: &mut [f32], r: &mut [f32]) {
        for ((x, l), r) in send.chunks(64).zip(l.chunks_mut(64)).zip(r.chunks_mut(64)) {
            rev.process(Portable, x, l, r);
        }
    }

    /// A reverb at `rate` with (room, damping, wet), and its response to
    /// a unit impulse over `frames` frames (left, right).
    fn impulse(
        rate: u32,
        (room, damp, wet): (f32, f32, f32),
        frames: usize,
    ) -> (Reverb, Vec<f32>, Vec<f32>) {
        let mut rev = Reverb::new();
        rev.prepare(rate);
        rev.configure(room, damp, wet);
        let mut send = vec![0.0f32; frames];
        send[0] = 1.0;
        let (mut l, mut r) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        run(&mut rev, &send, &mut l, &mut r);
        (rev, l, r)
    }

    #[test]
    fn silence_decays_to_exact_zero_not_denormals() {
        let (mut rev, mut l, mut r) = impulse(44_100, (1.0, 0.0, 1.0), 44_100);
        // A minute of silence after the impulse, in one-second blocks.
        let send = vec![0.0f32; 44_100];
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
        let (_, l, r) = impulse(48_000, (0.8, 0.3, 0.5), 4800);
        let late: f32 = l[2400..].iter().map(|v| v * v).sum();
        assert!(late > 0.0);
        assert_ne!(l, r, "the two sides should differ");
    }

    /// What a listener hears of one note with the reverb fully up
    /// (program 0, CC 91 = 127, half a second, then released) at `rate`:
    /// when the output has fallen 40 dB below its peak (in 10 ms
    /// windows), and its energy in dB.
    fn heard(rate: u32) -> (f64, f64) {
        use crate::synth::{MidiEvent, SoundFontRenderer, Synth};
        let mut synth: std::boxed::Box<Synth<'static, 16>> =
            std::boxed::Box::new(Synth::new(crate::SampleRate::new(rate).unwrap()));
        synth.load_soundfont(crate::bank::DEFAULT_SF2).unwrap();
        for ev in [
            MidiEvent::ProgramChange {
                channel: 0,
                program: 0,
            },
            MidiEvent::ControlChange {
                channel: 0,
                controller: 91,
                value: 127,
            },
            MidiEvent::NoteOn {
                channel: 0,
                key: 60,
                velocity: 100,
            },
        ] {
            synth.apply(ev).unwrap();
        }
        let n = rate as usize * 3;
        let (mut l, mut r) = (vec![0f32; n], vec![0f32; n]);
        let half = rate as usize / 2;
        synth.render(&mut l[..half], &mut r[..half]);
        synth
            .apply(MidiEvent::NoteOff {
                channel: 0,
                key: 60,
            })
            .unwrap();
        synth.render(&mut l[half..], &mut r[half..]);
        let w = rate as usize / 100;
        let env: Vec<f64> = l
            .chunks(w)
            .zip(r.chunks(w))
            .map(|(a, b)| {
                let e: f64 = a.iter().chain(b).map(|x| f64::from(*x).powi(2)).sum();
                (e / (2 * w) as f64).sqrt()
            })
            .collect();
        let peak = env.iter().copied().fold(0.0, f64::max);
        let at_peak = env.iter().position(|&e| e == peak).unwrap();
        let below = env[at_peak..]
            .iter()
            .position(|&e| e < peak * 0.01)
            .unwrap();
        let energy: f64 = l.iter().chain(&r).map(|x| f64::from(*x).powi(2)).sum();
        (
            (at_peak + below) as f64 / 100.0,
            10.0 * (energy / f64::from(rate)).log10(),
        )
    }

    #[test]
    fn a_note_rings_as_long_and_as_loud_at_every_rate() {
        let (decay, level) = heard(44_100);
        std::println!("44100 Hz: -40 dB after {decay:.2} s, energy {level:.2} dB");
        assert!(decay > 0.6, "the reverb rings on after the note: {decay} s");
        for rate in [48_000, 96_000, 192_000] {
            let (d, l) = heard(rate);
            std::println!("{rate} Hz: -40 dB after {d:.2} s, energy {l:.2} dB");
            assert!(
                (d / decay - 1.0).abs() <= 0.10,
                "{rate} Hz: -40 dB after {d} s, against {decay} s at 44.1 kHz"
            );
            // Within 10 % in energy: 0.41 dB.
            assert!(
                (l - level).abs() <= 0.41,
                "{rate} Hz: {l:.2} dB, against {level:.2} dB at 44.1 kHz"
            );
        }
    }
}
