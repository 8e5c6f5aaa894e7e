//! The soft limiter at the end of the mix.

use super::flush;
use crate::synth::simd::Lanes;

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
    use crate::synth::simd::Portable;

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
}
