//! Small DSP parts of a voice: unit conversions, envelopes, LFOs and the
//! resonant low-pass filter. All maths goes through `libm`, so results are
//! identical on every target and build profile.

/// Frames between control-rate updates (envelopes, LFOs, filter
/// coefficients). Updates fall on a fixed grid of absolute frames, so the
/// output does not depend on how rendering is split into calls.
pub(crate) const CONTROL_FRAMES: u64 = 64;

/// `2^x` from one polynomial: under 2·10⁻⁷ relative error (two units
/// in the last place) for every finite `x`, the same bits on every
/// target, and a third of `libm::exp2f`'s instructions. Under −126 it
/// gives 2⁻¹²⁶·2^(x+126) clamped, over 127 2^127·2^(x−127) clamped.
#[inline]
pub(crate) fn exp2(x: f32) -> f32 {
    // 2^f on [−½, ½] as 1 + f·q(f), q fitted for relative error: exact
    // at every integer (a ratio of one stays exactly one).
    // The first is ln 2 rounded to f32, as the fit gave it.
    const Q: [f32; 5] = [
        core::f32::consts::LN_2,
        0.240_222_42,
        0.055_507_336,
        0.009_671_513,
        0.001_326_472_7,
    ];
    let x = x.clamp(-126.0, 127.0);
    // The nearest integer, halves away from zero (NaN becomes 0).
    let n = if x >= 0.0 {
        (x + 0.5) as i32
    } else {
        -((0.5 - x) as i32)
    };
    let f = x - n as f32;
    let [q0, q1, q2, q3, q4] = Q;
    let p = 1.0 + f * (q0 + f * (q1 + f * (q2 + f * (q3 + f * q4))));
    p * f32::from_bits(((n + 127) as u32) << 23)
}

/// The phase step for a pitch in cents, kept while the pitch holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepMemo {
    cents: f32,
    step: u64,
}

impl StepMemo {
    pub(crate) const fn new() -> Self {
        Self {
            cents: 0.0,
            step: 1 << 32,
        }
    }

    /// The 32.32 step that plays `cents` above the sample's own pitch.
    #[inline]
    pub(crate) fn step(&mut self, cents: f32) -> u64 {
        if cents.to_bits() != self.cents.to_bits() {
            self.cents = cents;
            self.step = ratio_to_step(exp2(cents / 1200.0));
        }
        self.step
    }
}

/// A pitch ratio as a 32.32 fixed-point phase step: rounded to the
/// nearest step (ties to even), 0 for anything not above 0, saturated at
/// the largest.
///
/// Worked on the float's bits: `ratio · 2^32` is its 24-bit significand
/// shifted, so the rounding is integer arithmetic (no trip through `f64`
/// and back, which sat on the control path's critical chain).
pub(crate) fn ratio_to_step(ratio: f32) -> u64 {
    if ratio.is_nan() || ratio <= 0.0 {
        return 0;
    }
    let bits = ratio.to_bits();
    let exp = (bits >> 23) as i32;
    match exp {
        // Subnormal: far under half a step.
        0 => return 0,
        // Infinity.
        255 => return u64::MAX,
        _ => {}
    }
    let significand = u64::from(bits & 0x7f_ffff | 0x80_0000);
    // ratio · 2^32 = significand · 2^(exp − 127 − 23 + 32).
    let shift = exp - 118;
    if shift >= 0 {
        // The significand is at least 2^23: from 2^41 on it is ≥ 2^64.
        return if shift >= 41 {
            u64::MAX
        } else {
            significand << shift
        };
    }
    let right = shift.unsigned_abs();
    if right >= 25 {
        // Under 2^24 / 2^25: below half a step.
        return 0;
    }
    let whole = significand >> right;
    let rest = significand & ((1 << right) - 1);
    let half = 1 << (right - 1);
    if rest > half || (rest == half && whole & 1 == 1) {
        whole + 1
    } else {
        whole
    }
}

/// Seconds from SF2 timecents (−12000 and below mean "instant").
pub(crate) fn timecents_to_secs(tc: f32) -> f32 {
    if tc <= -12_000.0 {
        0.0
    } else {
        exp2(tc / 1200.0)
    }
}

/// Hz from SF2 absolute cents (8.176 Hz at 0).
pub(crate) fn abs_cents_to_hz(c: f32) -> f32 {
    8.175_799 * exp2(c / 1200.0)
}

/// Linear gain from centibels of attenuation: 10^(−cB/200), computed as
/// a power of two (cheaper than `powf`, and as exact for our purpose).
pub(crate) fn cb_to_gain(cb: f32) -> f32 {
    if cb >= 1440.0 {
        0.0
    } else {
        exp2(cb * (-core::f32::consts::LOG2_10 / 200.0))
    }
}

/// Stage of an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Delay,
    Attack,
    Hold,
    Decay,
    Sustain,
    Release,
    Done,
}

/// Envelope timing in frames and the sustain level.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EnvParams {
    pub(crate) delay: f32,
    pub(crate) attack: f32,
    pub(crate) hold: f32,
    /// Frames for a full fall (100 dB for the volume envelope, 1.0 for the
    /// modulation envelope).
    pub(crate) decay: f32,
    /// Sustain: centibels of attenuation (volume) or level 0–1 (modulation).
    pub(crate) sustain: f32,
    /// Frames for a full fall, as `decay`.
    pub(crate) release: f32,
}

/// The volume envelope: linear amplitude rise, then falls linear in
/// decibels (SF2 2.04 §8.1.3), ending below −96 dB.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VolumeEnvelope {
    pub(crate) stage: Stage,
    /// Frames spent in the stage.
    t: f32,
    /// Attenuation in centibels (after the attack).
    att: f32,
    /// Amplitude during the attack.
    amp: f32,
}

/// A volume envelope's level (see [`VolumeEnvelope::level`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum EnvLevel {
    Silent,
    Linear(f32),
    Centibels(f32),
}

/// `exp2` of the last argument, kept: control-rate values repeat from
/// block to block far more often than they change.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exp2Memo {
    arg: f32,
    value: f32,
}

impl Exp2Memo {
    pub(crate) const fn new() -> Self {
        Self {
            arg: 0.0,
            value: 1.0,
        }
    }

    /// [`cb_to_gain`], through the memo.
    #[inline]
    pub(crate) fn cb_to_gain(&mut self, cb: f32) -> f32 {
        if cb >= 1440.0 {
            0.0
        } else {
            self.exp2(cb * (-core::f32::consts::LOG2_10 / 200.0))
        }
    }

    /// `2^x`, recomputed only when `x` differs from last time.
    #[inline]
    pub(crate) fn exp2(&mut self, x: f32) -> f32 {
        if x.to_bits() != self.arg.to_bits() {
            self.arg = x;
            self.value = exp2(x);
        }
        self.value
    }
}

/// Centibels at which a voice counts as silent.
const SILENT_CB: f32 = 960.0;

impl EnvParams {
    /// Every time and level zero.
    pub(crate) const ZERO: Self = Self {
        delay: 0.0,
        attack: 0.0,
        hold: 0.0,
        decay: 0.0,
        sustain: 0.0,
        release: 0.0,
    };
}

impl VolumeEnvelope {
    pub(crate) const fn new() -> Self {
        Self {
            stage: Stage::Delay,
            t: 0.0,
            att: SILENT_CB,
            amp: 0.0,
        }
    }

    /// The level now, as the cheapest form to combine with other
    /// attenuations: linear during the attack, centibels after it.
    pub(crate) fn level(&self) -> EnvLevel {
        match self.stage {
            Stage::Delay | Stage::Done => EnvLevel::Silent,
            Stage::Attack => EnvLevel::Linear(self.amp),
            _ => EnvLevel::Centibels(self.att),
        }
    }

    /// Current amplitude, 0–1.
    pub(crate) fn gain(&self) -> f32 {
        match self.stage {
            Stage::Delay | Stage::Done => 0.0,
            Stage::Attack => self.amp,
            _ => cb_to_gain(self.att),
        }
    }

    /// Enters the release stage from wherever the envelope is.
    pub(crate) fn release(&mut self) {
        if matches!(self.stage, Stage::Release | Stage::Done) {
            return;
        }
        if self.stage == Stage::Attack {
            self.att = if self.amp > 0.0 {
                -200.0 * libm::log10f(self.amp)
            } else {
                SILENT_CB
            };
        }
        if self.stage == Stage::Delay {
            self.att = SILENT_CB;
        }
        self.stage = Stage::Release;
        self.t = 0.0;
    }

    /// Advances by `n` frames.
    pub(crate) fn advance(&mut self, p: &EnvParams, n: f32) {
        let mut n = n;
        // A few stage changes may happen within one step; at most six.
        for _ in 0..6 {
            if n <= 0.0 {
                return;
            }
            match self.stage {
                Stage::Delay => {
                    let left = p.delay - self.t;
                    if n < left {
                        self.t += n;
                        return;
                    }
                    n -= left.max(0.0);
                    self.stage = Stage::Attack;
                    self.t = 0.0;
                    self.amp = 0.0;
                }
                Stage::Attack => {
                    let left = p.attack - self.t;
                    if n < left {
                        self.t += n;
                        self.amp = self.t / p.attack;
                        return;
                    }
                    n -= left.max(0.0);
                    self.stage = Stage::Hold;
                    self.t = 0.0;
                    self.amp = 1.0;
                    self.att = 0.0;
                }
                Stage::Hold => {
                    let left = p.hold - self.t;
                    if n < left {
                        self.t += n;
                        return;
                    }
                    n -= left.max(0.0);
                    self.stage = Stage::Decay;
                    self.t = 0.0;
                }
                Stage::Decay => {
                    let rate = if p.decay > 0.0 {
                        1000.0 / p.decay
                    } else {
                        f32::INFINITY
                    };
                    let target = p.sustain.clamp(0.0, 1440.0);
                    let need = (target - self.att).max(0.0) / rate;
                    if n < need {
                        self.att += n * rate;
                        return;
                    }
                    n -= need;
                    self.att = target;
                    self.stage = if target >= SILENT_CB {
                        Stage::Done
                    } else {
                        Stage::Sustain
                    };
                }
                Stage::Sustain => return,
                Stage::Release => {
                    let rate = if p.release > 0.0 {
                        1000.0 / p.release
                    } else {
                        f32::INFINITY
                    };
                    self.att += n * rate;
                    if self.att >= SILENT_CB || !self.att.is_finite() {
                        self.stage = Stage::Done;
                    }
                    return;
                }
                Stage::Done => return,
            }
        }
    }
}

/// The modulation envelope: 0–1, linear segments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ModEnvelope {
    stage: Stage,
    t: f32,
    value: f32,
}

impl ModEnvelope {
    pub(crate) const fn new() -> Self {
        Self {
            stage: Stage::Delay,
            t: 0.0,
            value: 0.0,
        }
    }

    pub(crate) fn value(&self) -> f32 {
        self.value
    }

    pub(crate) fn release(&mut self) {
        if !matches!(self.stage, Stage::Release | Stage::Done) {
            self.stage = Stage::Release;
            self.t = 0.0;
        }
    }

    pub(crate) fn advance(&mut self, p: &EnvParams, n: f32) {
        let mut n = n;
        for _ in 0..6 {
            if n <= 0.0 {
                return;
            }
            match self.stage {
                Stage::Delay | Stage::Hold => {
                    let len = if self.stage == Stage::Delay {
                        p.delay
                    } else {
                        p.hold
                    };
                    let left = len - self.t;
                    if n < left {
                        self.t += n;
                        return;
                    }
                    n -= left.max(0.0);
                    self.stage = if self.stage == Stage::Delay {
                        Stage::Attack
                    } else {
                        Stage::Decay
                    };
                    self.t = 0.0;
                }
                Stage::Attack => {
                    let left = p.attack - self.t;
                    if n < left {
                        self.t += n;
                        self.value = self.t / p.attack;
                        return;
                    }
                    n -= left.max(0.0);
                    self.value = 1.0;
                    self.stage = Stage::Hold;
                    self.t = 0.0;
                }
                Stage::Decay => {
                    let target = p.sustain.clamp(0.0, 1.0);
                    let rate = if p.decay > 0.0 {
                        1.0 / p.decay
                    } else {
                        f32::INFINITY
                    };
                    let need = (self.value - target).max(0.0) / rate;
                    if n < need {
                        self.value -= n * rate;
                        return;
                    }
                    n -= need;
                    self.value = target;
                    self.stage = Stage::Sustain;
                }
                Stage::Sustain | Stage::Done => return,
                Stage::Release => {
                    let rate = if p.release > 0.0 {
                        1.0 / p.release
                    } else {
                        f32::INFINITY
                    };
                    self.value = (self.value - n * rate).max(0.0);
                    if self.value <= 0.0 {
                        self.stage = Stage::Done;
                    }
                    return;
                }
            }
        }
    }
}

/// A triangle LFO from −1 to 1, starting at 0 after its delay.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lfo {
    delay: f32,
    /// Phase in cycles, 0–1.
    phase: f32,
    /// Cycles per frame.
    rate: f32,
}

impl Lfo {
    pub(crate) const fn new() -> Self {
        Self {
            delay: 0.0,
            phase: 0.0,
            rate: 0.0,
        }
    }

    pub(crate) fn start(&mut self, delay_frames: f32, hz: f32, sample_rate: f32) {
        self.delay = delay_frames;
        self.phase = 0.0;
        self.rate = hz / sample_rate;
    }

    pub(crate) fn value(&self) -> f32 {
        if self.delay > 0.0 {
            return 0.0;
        }
        let p = self.phase;
        if p < 0.25 {
            4.0 * p
        } else if p < 0.75 {
            2.0 - 4.0 * p
        } else {
            4.0 * p - 4.0
        }
    }

    pub(crate) fn advance(&mut self, n: f32) {
        let mut n = n;
        if self.delay > 0.0 {
            let used = n.min(self.delay);
            self.delay -= used;
            n -= used;
        }
        self.phase += n * self.rate;
        if self.phase >= 1.0 {
            // The whole cycles (truncation is floor for a positive phase);
            // below two that is one, and the subtraction is exact.
            self.phase = if self.phase < 2.0 {
                self.phase - 1.0
            } else {
                self.phase - (self.phase as u32) as f32
            };
        }
    }
}

/// A resonant 2-pole low-pass filter (biquad, direct form I; a low-pass
/// has b2 = b0).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LowPass {
    pub(crate) b0: f32,
    pub(crate) b1: f32,
    pub(crate) a1: f32,
    pub(crate) a2: f32,
    pub(crate) x1: f32,
    pub(crate) x2: f32,
    /// Last output.
    pub(crate) z1: f32,
    /// Output before that.
    pub(crate) z2: f32,
    /// Smoothed cutoff in absolute cents; negative before the first update.
    cents: f32,
    /// Cutoff and resonance the coefficients were computed for.
    made_for: (f32, f32),
    /// The resonance in centibels and its linear Q, kept because the
    /// resonance rarely changes while the cutoff glides.
    q: (f32, f32),
    pub(crate) active: bool,
}

impl LowPass {
    pub(crate) const fn new() -> Self {
        Self {
            b0: 1.0,
            b1: 0.0,
            a1: 0.0,
            a2: 0.0,
            x1: 0.0,
            x2: 0.0,
            z1: 0.0,
            z2: 0.0,
            cents: -1.0,
            made_for: (-1.0, -1.0),
            q: (-1.0, core::f32::consts::FRAC_1_SQRT_2),
            active: false,
        }
    }

    /// Sets the target cutoff (absolute cents) and resonance (centibels);
    /// the cutoff glides halfway to its target each control block.
    pub(crate) fn set(&mut self, cents: f32, q_cb: f32, sample_rate: f32) {
        let target = cents.clamp(1500.0, 13_500.0);
        // Within a cent the glide snaps to its target, so it settles.
        self.cents = if self.cents < 0.0 || (target - self.cents).abs() < 1.0 {
            target
        } else {
            self.cents + 0.5 * (target - self.cents)
        };
        // Wide open and without resonance the filter is inaudible: skip it.
        if self.cents >= 13_490.0 && q_cb <= 0.0 && !self.active {
            return;
        }
        self.active = true;
        // A settled cutoff keeps its coefficients: no trigonometry per block.
        if (self.cents, q_cb) == self.made_for {
            return;
        }
        self.made_for = (self.cents, q_cb);
        let hz = abs_cents_to_hz(self.cents).min(0.45 * sample_rate);
        // Resonance: the peak stands q_cb above the DC gain; 0 cB is a
        // Butterworth response (Q = 1/√2).
        if self.q.0 != q_cb {
            self.q = (
                q_cb,
                libm::powf(10.0, (q_cb.clamp(0.0, 960.0) / 10.0 - 3.01) / 20.0),
            );
        }
        let q = self.q.1;
        let w = 2.0 * core::f32::consts::PI * hz / sample_rate;
        let (sin, cos) = libm::sincosf(w);
        let alpha = sin / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b1 = (1.0 - cos) / a0;
        self.b0 = 0.5 * b1;
        self.b1 = b1;
        self.a1 = -2.0 * cos / a0;
        self.a2 = (1.0 - alpha) / a0;
    }

    /// One sample, in direct form I (the renderer runs the same
    /// arithmetic across lanes, in `lanes::mix`): x1, x2 are the last inputs and
    /// y1, y2 the last outputs (kept in z1..z4). Only `a1 · y1` lies on
    /// the sample-to-sample dependency chain; the rest is computed off it.
    #[cfg(test)]
    pub(crate) fn process(&mut self, x: f32) -> f32 {
        let ahead = self.b0 * (x + self.x2) + self.b1 * self.x1 - self.a2 * self.z2;
        let y = ahead - self.a1 * self.z1;
        self.x2 = self.x1;
        self.x1 = x;
        self.z2 = self.z1;
        self.z1 = y;
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ratio_to_step` must give: the ratio times 2^32 in `f64`
    /// (exact), rounded to the nearest integer, ties to even.
    fn step_in_f64(ratio: f32) -> u64 {
        if ratio.is_nan() || ratio <= 0.0 {
            return 0;
        }
        let v = f64::from(ratio) * 4_294_967_296.0;
        if v >= 18_446_744_073_709_551_616.0 {
            return u64::MAX;
        }
        let whole = v as u64;
        let frac = v - whole as f64;
        if frac > 0.5 || (frac == 0.5 && whole & 1 == 1) {
            whole + 1
        } else {
            whole
        }
    }

    #[test]
    fn the_phase_step_rounds_like_the_exact_product() {
        let mut cases = vec![
            0.0,
            -0.0,
            -1.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN_POSITIVE,
            1e-45,
            1.0,
            0.5,
            2.0,
            // Ties: half a step, one and a half, two and a half.
            0.5 / 4_294_967_296.0,
            1.5 / 4_294_967_296.0,
            2.5 / 4_294_967_296.0,
            4_294_967_296.0,
            8_589_934_592.0,
        ];
        // Every exponent, with significands from a fixed LCG and both ends.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for exp in 0..=255u32 {
            for k in 0..64 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let m = match k {
                    0 => 0,
                    1 => 0x7f_ffff,
                    // Low bits only: exact halves at small exponents.
                    2..=9 => 1 << (k - 2),
                    _ => (seed >> 41) as u32 & 0x7f_ffff,
                };
                cases.push(f32::from_bits(exp << 23 | m));
            }
        }
        for r in cases {
            assert_eq!(
                ratio_to_step(r),
                step_in_f64(r),
                "ratio {r:e} ({:#x})",
                r.to_bits()
            );
        }
    }

    #[test]
    fn exp2_is_close_to_libm_everywhere() {
        let mut worst = 0f64;
        let mut x = -126.0f32;
        while x < 127.0 {
            let (a, b) = (f64::from(exp2(x)), f64::from(libm::exp2f(x)));
            worst = worst.max((a / b - 1.0).abs());
            x += 0.001_37;
        }
        assert!(worst < 4e-7, "{worst}");
        assert_eq!(exp2(0.0), 1.0);
        assert_eq!(exp2(f32::INFINITY), exp2(127.0));
        assert!(exp2(f32::NEG_INFINITY) > 0.0);
    }

    #[test]
    fn steps_round_to_nearest() {
        assert_eq!(ratio_to_step(1.0), 1 << 32);
        assert_eq!(ratio_to_step(0.5), 1 << 31);
        assert_eq!(ratio_to_step(-1.0), 0);
        assert_eq!(ratio_to_step(f32::NAN), 0);
        assert_eq!(ratio_to_step(f32::INFINITY), u64::MAX);
        // 1.75 · 2^-33 is 0.875 of a step: rounds up; 0.25 rounds down.
        assert_eq!(ratio_to_step(1.75 / 8_589_934_592.0), 1);
        assert_eq!(ratio_to_step(0.25 / 4_294_967_296.0), 0);
    }

    #[test]
    fn conversions() {
        assert!((timecents_to_secs(0.0) - 1.0).abs() < 1e-6);
        assert!((timecents_to_secs(1200.0) - 2.0).abs() < 1e-5);
        assert_eq!(timecents_to_secs(-12_000.0), 0.0);
        assert!((abs_cents_to_hz(6900.0) - 440.0).abs() < 0.01);
        assert!((cb_to_gain(60.0) - 0.501).abs() < 0.01);
    }

    #[test]
    fn volume_envelope_shape() {
        let p = EnvParams {
            delay: 0.0,
            attack: 100.0,
            hold: 0.0,
            decay: 1000.0,
            sustain: 200.0,
            release: 1000.0,
        };
        let mut e = VolumeEnvelope::new();
        e.advance(&p, 50.0);
        assert!((e.gain() - 0.5).abs() < 1e-6);
        e.advance(&p, 50.0);
        assert!((e.gain() - 1.0).abs() < 1e-6);
        e.advance(&p, 100.0); // 100 frames of decay: 100 cB down
        assert!((e.gain() - cb_to_gain(100.0)).abs() < 1e-4);
        e.advance(&p, 1000.0);
        assert_eq!(e.stage, Stage::Sustain);
        assert!((e.gain() - cb_to_gain(200.0)).abs() < 1e-4);
        e.release();
        e.advance(&p, 760.0);
        assert_eq!(e.stage, Stage::Done);
    }

    #[test]
    fn filter_passes_dc_and_cuts_highs() {
        let mut f = LowPass::new();
        f.set(6900.0, 0.0, 44_100.0); // 440 Hz
        let mut y = 0.0;
        for _ in 0..5000 {
            y = f.process(1.0);
        }
        assert!((y - 1.0).abs() < 1e-3);
        let mut peak = 0.0f32;
        for i in 0..5000 {
            let x = if i % 2 == 0 { 1.0 } else { -1.0 };
            let v = f.process(x);
            if i > 1000 {
                peak = peak.max(v.abs());
            }
        }
        assert!(peak < 0.01, "{peak}");
    }
}
