//! The resampling pass's arithmetic and run lengths.

use super::resample::{cubic_v, cubic_words, frac_x, Bounds, RunRule};
use crate::synth::simd::Portable;

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
