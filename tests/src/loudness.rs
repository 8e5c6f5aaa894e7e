//! Integrated loudness after ITU-R BS.1770 (K-weighting, 400 ms blocks
//! with 75 % overlap, the −70 LUFS absolute and −10 LU relative gates),
//! for checking the engine's listening level. Test code: f64 throughout.

struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    z: [f64; 2],
}

impl Biquad {
    fn run(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

/// The two K-weighting stages at `rate`, designed from their analog
/// prototypes (high shelf, then high-pass).
fn k_weighting(rate: f64) -> [Biquad; 2] {
    let (f0, gain_db, q) = (
        1_681.974_450_955_533,
        3.999_843_853_973_347,
        0.707_175_236_955_419_6,
    );
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let vh = 10f64.powf(gain_db / 20.0);
    let vb = vh.powf(0.499_666_774_154_541_6);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Biquad {
        b: [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        z: [0.0; 2],
    };
    let (f0, q) = (38.135_470_876_024_44, 0.500_327_037_323_877_3);
    let k = (std::f64::consts::PI * f0 / rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let high = Biquad {
        b: [1.0, -2.0, 1.0],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        z: [0.0; 2],
    };
    [shelf, high]
}

/// Integrated loudness in LUFS of interleaved stereo `samples` at `rate`.
pub fn integrated_lufs(samples: &[f32], rate: u32) -> f64 {
    let r = f64::from(rate);
    let mut filters = [k_weighting(r), k_weighting(r)];
    let weighted: Vec<[f64; 2]> = samples
        .chunks_exact(2)
        .map(|p| {
            let mut out = [0.0; 2];
            for (c, (f, x)) in filters.iter_mut().zip(p).enumerate() {
                let shelved = f[0].run(f64::from(*x));
                let y = f[1].run(shelved);
                out[c] = y * y;
            }
            out
        })
        .collect();
    let block = (0.4 * r) as usize;
    let step = (0.1 * r) as usize;
    let mut powers = Vec::new();
    let mut at = 0;
    while at + block <= weighted.len() {
        let sum: f64 = weighted[at..at + block].iter().map(|p| p[0] + p[1]).sum();
        powers.push(sum / block as f64);
        at += step;
    }
    let lufs = |p: f64| -0.691 + 10.0 * p.log10();
    let gated: Vec<f64> = powers
        .iter()
        .copied()
        .filter(|&p| lufs(p) > -70.0)
        .collect();
    if gated.is_empty() {
        return f64::NEG_INFINITY;
    }
    let mean = gated.iter().sum::<f64>() / gated.len() as f64;
    let relative = lufs(mean) - 10.0;
    let kept: Vec<f64> = gated.into_iter().filter(|&p| lufs(p) > relative).collect();
    lufs(kept.iter().sum::<f64>() / kept.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_1khz_sine_in_both_channels_reads_about_plus_3_lufs() {
        // BS.1770: a 0 dBFS 1 kHz sine in one channel reads −3.01 LUFS;
        // in both channels, +0.0 … and the shelf adds about 0.7 dB at 1 kHz.
        let rate = 48_000;
        let s: Vec<f32> = (0..rate * 5)
            .flat_map(|i| {
                let v =
                    (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / f64::from(rate)).sin() as f32;
                [v, v]
            })
            .collect();
        let l = integrated_lufs(&s, rate);
        assert!((l - 0.0).abs() < 0.8, "{l}");
        let quiet: Vec<f32> = s.iter().map(|v| v * 0.1).collect();
        assert!((integrated_lufs(&quiet, rate) - (l - 20.0)).abs() < 0.01);
    }
}
