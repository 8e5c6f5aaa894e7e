//! Effects after the voices: a stereo reverb and a chorus on their send
//! buses, and a soft limiter that keeps every output sample inside
//! [-1, 1]. All delay lines are fixed arrays: nothing allocates.

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

/// Longest line of the reverb's delay network, frames (the longest
/// tuning at 48 kHz).
const MAX_LINE: usize = 3300;
/// Line lengths at 44.1 kHz: mutually prime, 30–67 ms.
const LINES: [usize; 8] = [1321, 1553, 1777, 1999, 2239, 2473, 2711, 2953];
/// Longest input diffuser, frames.
const MAX_DIFFUSER: usize = 400;
/// Input diffuser lengths at 44.1 kHz.
const DIFFUSERS: [usize; 2] = [337, 211];

/// A delay line of the network.
#[derive(Clone, Debug)]
struct Line {
    buf: [f32; MAX_LINE],
    len: usize,
    pos: usize,
    /// One-pole low-pass state (damping).
    lp: f32,
}

impl Line {
    const fn new() -> Self {
        Self {
            buf: [0.0; MAX_LINE],
            len: 1,
            pos: 0,
            lp: 0.0,
        }
    }

    /// The sample leaving the line now, damped.
    #[inline(always)]
    fn read(&mut self, damp: f32) -> f32 {
        let y = self.buf.get(self.pos).copied().unwrap_or(0.0);
        self.lp = flush(y * (1.0 - damp) + self.lp * damp);
        self.lp
    }

    /// Writes the sample entering the line now and advances.
    #[inline(always)]
    fn write(&mut self, x: f32) {
        if let Some(slot) = self.buf.get_mut(self.pos) {
            *slot = flush(x);
        }
        self.pos += 1;
        if self.pos >= self.len {
            self.pos = 0;
        }
    }
}

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

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let Some(slot) = self.buf.get_mut(self.pos) else {
            return 0.0;
        };
        let delayed = *slot;
        let v = x - 0.6 * delayed;
        *slot = flush(v);
        self.pos += 1;
        if self.pos >= self.len {
            self.pos = 0;
        }
        delayed + 0.6 * v
    }
}

/// In-place fast Walsh–Hadamard transform of eight values (unnormalised).
#[inline(always)]
fn hadamard8(x: [f32; 8]) -> [f32; 8] {
    let [a0, a1, a2, a3, a4, a5, a6, a7] = x;
    let (b0, b1, b2, b3) = (a0 + a1, a0 - a1, a2 + a3, a2 - a3);
    let (b4, b5, b6, b7) = (a4 + a5, a4 - a5, a6 + a7, a6 - a7);
    let (c0, c1, c2, c3) = (b0 + b2, b1 + b3, b0 - b2, b1 - b3);
    let (c4, c5, c6, c7) = (b4 + b6, b5 + b7, b4 - b6, b5 - b7);
    [
        c0 + c4,
        c1 + c5,
        c2 + c6,
        c3 + c7,
        c0 - c4,
        c1 - c5,
        c2 - c6,
        c3 - c7,
    ]
}

/// Stereo reverb: a feedback delay network of eight damped lines mixed
/// by a Hadamard matrix (lossless, so the feedback gain alone sets the
/// decay), fed through two all-passes; even lines make the left output,
/// odd lines the right.
#[derive(Clone, Debug)]
pub(crate) struct Reverb {
    lines: [Line; 8],
    diffusers: [AllPass; 2],
    feedback: f32,
    damp: f32,
    wet: f32,
}

impl Reverb {
    pub(crate) const fn new() -> Self {
        Self {
            lines: [const { Line::new() }; 8],
            diffusers: [const { AllPass::new() }; 2],
            feedback: 0.84,
            damp: 0.2,
            wet: 0.2,
        }
    }

    /// Sets delay lengths for `sample_rate` and clears the lines.
    pub(crate) fn prepare(&mut self, sample_rate: u32) {
        let scale = |n: usize| (n as u64 * u64::from(sample_rate) / 44_100) as usize;
        for (l, &len) in self.lines.iter_mut().zip(LINES.iter()) {
            *l = Line::new();
            l.len = scale(len).clamp(1, MAX_LINE);
        }
        for (a, &len) in self.diffusers.iter_mut().zip(DIFFUSERS.iter()) {
            *a = AllPass::new();
            a.len = scale(len).clamp(1, MAX_DIFFUSER);
        }
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
    }

    /// Whether the reverb is heard (a wet level above zero).
    pub(crate) fn is_on(&self) -> bool {
        self.wet > 0.0
    }

    /// Adds the reverb of the mono `send` bus to `left` and `right`.
    pub(crate) fn process(&mut self, send: &[f32], left: &mut [f32], right: &mut [f32]) {
        const INPUT: f32 = 0.15;
        let (damp, wet) = (self.damp, self.wet);
        if wet <= 0.0 {
            return;
        }
        // The Hadamard matrix scaled by 1/√8 is orthogonal.
        let g = self.feedback * 0.353_553_4;
        let [d0, d1] = &mut self.diffusers;
        for ((x, l), r) in send.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            let input = d1.process(d0.process(x * INPUT));
            let mut out = [0f32; 8];
            for (o, line) in out.iter_mut().zip(self.lines.iter_mut()) {
                *o = line.read(damp);
            }
            let [o0, o1, o2, o3, o4, o5, o6, o7] = out;
            *l += (o0 - o2 + o4 - o6) * wet;
            *r += (o1 - o3 + o5 - o7) * wet;
            let mixed = hadamard8(out);
            // The input enters every line, with alternating signs.
            let signs = [1.0f32, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0];
            for ((line, m), sgn) in self.lines.iter_mut().zip(mixed.iter()).zip(signs.iter()) {
                line.write(m * g + input * sgn);
            }
        }
    }
}

/// Longest chorus delay, frames (25 ms at 48 kHz).
const MAX_CHORUS: usize = 1200;

/// A two-tap chorus: each side reads the send bus through a delay swept
/// by a slow triangle, the sides a quarter cycle apart.
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

    fn tap(&self, delay: f32) -> f32 {
        let d = delay.clamp(1.0, (MAX_CHORUS - 2) as f32);
        let whole = d as usize;
        let frac = d - whole as f32;
        let at = |k: usize| {
            let i = if self.pos >= k {
                self.pos - k
            } else {
                self.pos + MAX_CHORUS - k
            };
            self.buf.get(i).copied().unwrap_or(0.0)
        };
        let (a, b) = (at(whole), at(whole + 1));
        a + frac * (b - a)
    }

    /// Whether the chorus is heard (a level above zero).
    pub(crate) fn is_on(&self) -> bool {
        self.level > 0.0
    }

    /// Adds the chorus of the mono `send` bus to `left` and `right`.
    pub(crate) fn process(&mut self, send: &[f32], left: &mut [f32], right: &mut [f32]) {
        if self.level <= 0.0 {
            return;
        }
        let tri = |p: f32| {
            if p < 0.5 {
                4.0 * p - 1.0
            } else {
                3.0 - 4.0 * p
            }
        };
        for ((x, l), r) in send.iter().zip(left.iter_mut()).zip(right.iter_mut()) {
            if let Some(slot) = self.buf.get_mut(self.pos) {
                *slot = *x;
            }
            let pr = self.phase + 0.25;
            let dl = self.base + self.depth * tri(self.phase);
            let dr = self.base + self.depth * tri(if pr >= 1.0 { pr - 1.0 } else { pr });
            *l += self.tap(dl) * self.level;
            *r += self.tap(dr) * self.level;
            self.pos += 1;
            if self.pos == MAX_CHORUS {
                self.pos = 0;
            }
            self.phase += self.rate;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
        }
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

    #[test]
    fn silence_decays_to_exact_zero_not_denormals() {
        let mut rev = Reverb::new();
        rev.prepare(44_100);
        rev.configure(1.0, 0.0, 1.0);
        let mut send = [0.0f32; 44_100];
        send[0] = 1.0;
        let (mut l, mut r) = ([0.0f32; 44_100], [0.0f32; 44_100]);
        // A minute of silence after the impulse, in one-second blocks.
        rev.process(&send, &mut l, &mut r);
        send[0] = 0.0;
        for _ in 0..60 {
            l.fill(0.0);
            r.fill(0.0);
            rev.process(&send, &mut l, &mut r);
        }
        assert!(l.iter().chain(r.iter()).all(|v| *v == 0.0 || v.is_normal()));
        assert!(rev.lines.iter().all(|l| l.lp == 0.0 || l.lp.is_normal()));
        assert!(rev
            .lines
            .iter()
            .flat_map(|l| l.buf.iter())
            .all(|v| *v == 0.0 || v.is_normal()));
    }

    #[test]
    fn reverb_rings_after_an_impulse() {
        let mut rev = Reverb::new();
        rev.prepare(48_000);
        rev.configure(0.8, 0.3, 0.5);
        let mut send = [0.0f32; 4800];
        send[0] = 1.0;
        let (mut l, mut r) = ([0.0f32; 4800], [0.0f32; 4800]);
        rev.process(&send, &mut l, &mut r);
        let late: f32 = l[2400..].iter().map(|v| v * v).sum();
        assert!(late > 0.0);
        assert_ne!(l, r, "the two sides should differ");
    }
}
