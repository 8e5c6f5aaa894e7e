//! The built-in SoundFont, generated from nothing but arithmetic.
//!
//! Shared by `build.rs` (which writes the bank into the build) and kept
//! free of any dependency but `libm`, so every host produces the same
//! bytes. Samples are additive syntheses of harmonic partials. Each
//! sample's rate is chosen so that one period is a whole number of frames:
//! the loops are then seamless by construction.

use std::f64::consts::PI;

use crate::gm::{add_general_midi, leak};
use crate::sf2_writer::write_sf2;

/// One generator: operator and amount.
pub(crate) type Gen = (u16, i16);

pub(crate) const KEY_RANGE: u16 = 43;
pub(crate) const VEL_RANGE: u16 = 44;
pub(crate) const INSTRUMENT: u16 = 41;
pub(crate) const SAMPLE_ID: u16 = 53;
pub(crate) const SAMPLE_MODES: u16 = 54;
pub(crate) const ROOT_KEY: u16 = 58;

pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) data: Vec<i16>,
    pub(crate) loop_start: u32,
    pub(crate) loop_end: u32,
    pub(crate) rate: u32,
    pub(crate) root: u8,
}

impl Sample {
    /// A one-shot sample (drums, effects): no loop, played at its own
    /// pitch on `root`.
    pub(crate) fn one_shot(name: &str, rate: u32, root: u8, raw: &[f64]) -> Sample {
        let peak = raw.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-9);
        let mut data: Vec<i16> = raw
            .iter()
            .map(|v| libm::round(v / peak * 29_000.0) as i16)
            .collect();
        // Ends on silence, so a voice that runs off the end cannot click.
        data.extend(std::iter::repeat_n(0, 16));
        let end = data.len() as u32;
        Sample {
            name: name.into(),
            data,
            loop_start: end,
            loop_end: end,
            rate,
            root,
        }
    }
}

pub(crate) struct Zone {
    pub(crate) keys: (u8, u8),
    pub(crate) gens: Vec<Gen>,
    pub(crate) sample: usize,
}

pub(crate) struct Instrument {
    pub(crate) name: String,
    pub(crate) global: Vec<Gen>,
    pub(crate) zones: Vec<Zone>,
}

pub(crate) struct Preset {
    pub(crate) name: String,
    pub(crate) program: u16,
    pub(crate) instrument: usize,
}

/// A General MIDI preset on one of the shared instruments: its bank,
/// program, name and the generators its preset zone adds (SF2 preset
/// generators are offsets: timecents, cents, centibels).
pub(crate) struct GmPreset {
    pub(crate) bank: u16,
    pub(crate) program: u16,
    pub(crate) name: &'static str,
    pub(crate) instrument: usize,
    pub(crate) gens: Vec<Gen>,
}

/// Timecents for `secs` seconds.
pub(crate) fn tc(secs: f64) -> i16 {
    (1200.0 * libm::log2(secs)).round() as i16
}

/// Frequency of MIDI key `k`.
pub(crate) fn freq(k: u8) -> f64 {
    440.0 * libm::exp2((f64::from(k) - 69.0) / 12.0)
}

/// (rate, period): a sample rate near 44.1 kHz at which key `k` has a
/// period of exactly `period` frames.
pub(crate) fn rate_for(k: u8) -> (u32, usize) {
    let f = freq(k);
    let period = libm::round(44_100.0 / f) as usize;
    let rate = libm::round(f * period as f64) as u32;
    (rate, period)
}

/// A sample of root `k`: `attack` seconds of an evolving tone followed by
/// a loop of whole periods of its steady state. `partial(n, t)` gives the
/// amplitude of harmonic `n` at time `t` (seconds); it must be constant
/// from `attack` on.
pub(crate) fn make_sample(
    name: &str,
    k: u8,
    attack: f64,
    partial: &dyn Fn(usize, f64) -> f64,
) -> Sample {
    let (rate, period) = rate_for(k);
    let f = f64::from(rate) / period as f64;
    // Harmonics up to 9 kHz leave room for transposing up within a zone.
    let harmonics = ((9_000.0 / f) as usize).max(1);
    let lead = ((attack * f64::from(rate)) as usize / period + 1) * period;
    let periods = (2048 / period).max(1);
    let loop_len = periods * period;
    let total = lead + loop_len + 8;
    let mut raw = vec![0f64; total];
    for (i, out) in raw.iter_mut().enumerate() {
        let t = i as f64 / f64::from(rate);
        let t_amp = t.min(lead as f64 / f64::from(rate));
        let phase = 2.0 * PI * (i % period) as f64 / period as f64;
        let mut v = 0.0;
        for n in 1..=harmonics {
            let a = partial(n, t_amp);
            if a != 0.0 {
                // A fixed phase per partial keeps the crest factor low.
                v += a * libm::sin(n as f64 * phase + 0.7 * (n * n) as f64);
            }
        }
        *out = v;
    }
    let peak = raw.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-9);
    let data = raw
        .iter()
        .map(|v| libm::round(v / peak * 29_000.0) as i16)
        .collect();
    Sample {
        name: format!("{name} {k}"),
        data,
        loop_start: lead as u32,
        loop_end: (lead + loop_len) as u32,
        rate,
        root: k,
    }
}

/// Smooth approach from `from` to `to` over `secs`, then constant.
pub(crate) fn settle(from: f64, to: f64, secs: f64, t: f64) -> f64 {
    if t >= secs {
        return to;
    }
    let x = 1.0 - t / secs;
    to + (from - to) * x * x * x
}

pub(crate) fn keys_sample(k: u8) -> Sample {
    // A soft electric-piano colour: a bell-like second and third partial
    // that fade within half a second over a round fundamental.
    make_sample("keys", k, 0.5, &|n, t| {
        let n = n as f64;
        let steady = if n == 1.0 { 1.0 } else { 0.18 / (n * n) };
        let strike = match n as usize {
            1 => 1.0,
            2 => 0.55,
            3 => 0.35,
            4 => 0.2,
            _ => 0.25 / libm::pow(n, 1.5),
        };
        settle(strike, steady, 0.5, t)
    })
}

pub(crate) fn pad_sample(k: u8, brightness: f64) -> Sample {
    // A band-limited, softened sawtooth: warm and even.
    make_sample("pad", k, 0.0, &move |n, _| {
        let n = n as f64;
        1.0 / libm::pow(n, 2.0 - brightness) * if n > 12.0 { 12.0 / n } else { 1.0 }
    })
}

pub(crate) fn glass_sample(k: u8) -> Sample {
    // Sine with a quiet octave and twelfth: glassy.
    make_sample("glass", k, 0.0, &|n, _| match n {
        1 => 1.0,
        2 => 0.3,
        3 => 0.12,
        4 => 0.05,
        _ => 0.0,
    })
}

/// Roots of the multisamples, one per octave; each covers six semitones
/// down and five up.
pub(crate) const ROOTS: [u8; 6] = [36, 48, 60, 72, 84, 96];

pub(crate) fn key_range(root: u8) -> (u8, u8) {
    let lo = if root == ROOTS[0] { 0 } else { root - 6 };
    let hi = if root == ROOTS[ROOTS.len() - 1] {
        127
    } else {
        root + 5
    };
    (lo, hi)
}

/// Builds the bank and returns the bytes of its SF2 file: the ambient
/// presets, and with `general_midi` every other GM program and the drum
/// kit too (the ambient ones are the same bytes either way).
pub(crate) fn build(general_midi: bool) -> Vec<u8> {
    let mut samples: Vec<Sample> = Vec::new();
    let mut instruments: Vec<Instrument> = Vec::new();

    let add_family = |samples: &mut Vec<Sample>, make: &dyn Fn(u8) -> Sample, per_zone: &[Gen]| {
        let mut zones = Vec::new();
        for root in ROOTS {
            samples.push(make(root));
            zones.push(Zone {
                keys: key_range(root),
                gens: per_zone.to_vec(),
                sample: samples.len() - 1,
            });
        }
        zones
    };

    // Soft keys: quick attack, a long fall, a gentle release; brightness
    // falls with the modulation envelope.
    let keys_zones = add_family(&mut samples, &keys_sample, &[(SAMPLE_MODES, 1)]);
    instruments.push(Instrument {
        name: "Soft Keys".into(),
        global: vec![
            (34, tc(0.006)), // attack
            (36, tc(9.0)),   // decay (per 100 dB)
            (37, 1000),      // sustain: silence, a piano-like fall
            (40, 25),        // higher keys fall faster
            (38, tc(1.1)),   // release
            (8, 10_200),     // filter cutoff, about 2.9 kHz
            (11, 1_400),     // mod envelope opens the filter on the strike
            (28, tc(1.4)),   // mod envelope decay
            (29, 1000),      // mod envelope sustain: 0
            (16, 250),       // reverb send
            (48, 30),        // a little attenuation for headroom
        ],
        zones: keys_zones,
    });

    // Pads: slow swell, long release; one layer, its movement from the
    // filter's slow sweep, a little vibrato and a generous chorus send.
    // (Two layers detuned ±7 cents cost four of a stream's ten voices,
    // a quarter of its render time; the chorus now gives the width.)
    let pad = |name: &str,
               samples: &mut Vec<Sample>,
               make: &dyn Fn(u8) -> Sample,
               cutoff: i16,
               attack: f64| {
        let mut zones = Vec::new();
        for root in ROOTS {
            samples.push(make(root));
            let s = samples.len() - 1;
            zones.push(Zone {
                keys: key_range(root),
                gens: vec![(SAMPLE_MODES, 1)],
                sample: s,
            });
        }
        Instrument {
            name: name.into(),
            global: vec![
                (34, tc(attack)),
                (36, tc(20.0)),
                (37, 60),      // sustain 6 dB down
                (38, tc(3.5)), // release
                (8, cutoff),
                (9, 40),       // a touch of resonance
                (22, -6_400),  // mod LFO at about 0.2 Hz
                (10, 250),     // ... slowly sweeping the cutoff
                (24, -850),    // vibrato LFO at about 5 Hz
                (23, tc(1.0)), // vibrato after a second
                (6, 3),        // 3 cents of vibrato
                (16, 400),     // generous reverb
                (15, 500),     // and chorus for width and movement
                (48, 60),      // keys about half the energy, pad about 40 %
            ],
            zones,
        }
    };
    let air = pad(
        "Air Pad",
        &mut samples,
        &|k| pad_sample(k, 0.9),
        10_800,
        1.2,
    );
    instruments.push(air);
    let warm = pad(
        "Warm Pad",
        &mut samples,
        &|k| pad_sample(k, 0.6),
        9_300,
        1.8,
    );
    instruments.push(warm);
    let glass = pad("Glass Pad", &mut samples, &glass_sample, 11_500, 1.5);
    instruments.push(glass);

    let presets = vec![
        Preset {
            name: "Auralis Soft Keys".into(),
            program: 0,
            instrument: 0,
        },
        Preset {
            name: "Auralis Air Pad".into(),
            program: 88,
            instrument: 1,
        },
        Preset {
            name: "Auralis Warm Pad".into(),
            program: 89,
            instrument: 2,
        },
        Preset {
            name: "Auralis Glass Pad".into(),
            program: 90,
            instrument: 3,
        },
    ];
    // The rest of General MIDI: every program and a standard drum kit,
    // on instruments of their own (the four above stay as they were).
    let gm = if general_midi {
        add_general_midi(&mut samples, &mut instruments)
    } else {
        Vec::new()
    };
    let mut all: Vec<GmPreset> = presets
        .into_iter()
        .map(|p| GmPreset {
            bank: 0,
            program: p.program,
            name: leak(p.name),
            instrument: p.instrument,
            gens: Vec::new(),
        })
        .collect();
    all.extend(gm);
    write_sf2(&samples, &instruments, &all)
}
