//! The built-in SoundFont, generated from nothing but arithmetic.
//!
//! Shared by `build.rs` (which writes the bank into the build) and kept
//! free of any dependency but `libm`, so every host produces the same
//! bytes. Samples are additive syntheses of harmonic partials. Each
//! sample's rate is chosen so that one period is a whole number of frames:
//! the loops are then seamless by construction.

use std::f64::consts::PI;

/// One generator: operator and amount.
type Gen = (u16, i16);

const KEY_RANGE: u16 = 43;
const VEL_RANGE: u16 = 44;
const INSTRUMENT: u16 = 41;
const SAMPLE_ID: u16 = 53;
const SAMPLE_MODES: u16 = 54;
const ROOT_KEY: u16 = 58;

struct Sample {
    name: String,
    data: Vec<i16>,
    loop_start: u32,
    loop_end: u32,
    rate: u32,
    root: u8,
}

struct Zone {
    keys: (u8, u8),
    gens: Vec<Gen>,
    sample: usize,
}

struct Instrument {
    name: String,
    global: Vec<Gen>,
    zones: Vec<Zone>,
}

struct Preset {
    name: String,
    program: u16,
    instrument: usize,
}

/// Timecents for `secs` seconds.
fn tc(secs: f64) -> i16 {
    (1200.0 * libm::log2(secs)).round() as i16
}

/// Frequency of MIDI key `k`.
fn freq(k: u8) -> f64 {
    440.0 * libm::exp2((f64::from(k) - 69.0) / 12.0)
}

/// (rate, period): a sample rate near 44.1 kHz at which key `k` has a
/// period of exactly `period` frames.
fn rate_for(k: u8) -> (u32, usize) {
    let f = freq(k);
    let period = libm::round(44_100.0 / f) as usize;
    let rate = libm::round(f * period as f64) as u32;
    (rate, period)
}

/// A sample of root `k`: `attack` seconds of an evolving tone followed by
/// a loop of whole periods of its steady state. `partial(n, t)` gives the
/// amplitude of harmonic `n` at time `t` (seconds); it must be constant
/// from `attack` on.
fn make_sample(name: &str, k: u8, attack: f64, partial: &dyn Fn(usize, f64) -> f64) -> Sample {
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
fn settle(from: f64, to: f64, secs: f64, t: f64) -> f64 {
    if t >= secs {
        return to;
    }
    let x = 1.0 - t / secs;
    to + (from - to) * x * x * x
}

fn keys_sample(k: u8) -> Sample {
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

fn pad_sample(k: u8, brightness: f64) -> Sample {
    // A band-limited, softened sawtooth: warm and even.
    make_sample("pad", k, 0.0, &move |n, _| {
        let n = n as f64;
        1.0 / libm::pow(n, 2.0 - brightness) * if n > 12.0 { 12.0 / n } else { 1.0 }
    })
}

fn glass_sample(k: u8) -> Sample {
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
const ROOTS: [u8; 6] = [36, 48, 60, 72, 84, 96];

fn key_range(root: u8) -> (u8, u8) {
    let lo = if root == ROOTS[0] { 0 } else { root - 6 };
    let hi = if root == ROOTS[ROOTS.len() - 1] {
        127
    } else {
        root + 5
    };
    (lo, hi)
}

/// Builds the bank and returns the bytes of its SF2 file.
pub(crate) fn build() -> Vec<u8> {
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
    write_sf2(&samples, &instruments, &presets)
}

fn name20(s: &str) -> [u8; 20] {
    let mut n = [0u8; 20];
    for (d, b) in n.iter_mut().zip(s.bytes().take(19)) {
        *d = b;
    }
    n
}

fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 9);
    out.extend_from_slice(id);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A text chunk: NUL-terminated and padded to an even size, as SF2 asks.
fn text(id: &[u8; 4], s: &str) -> Vec<u8> {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    if data.len() % 2 == 1 {
        data.push(0);
    }
    chunk(id, &data)
}

fn list(kind: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut body = kind.to_vec();
    for c in chunks {
        body.extend_from_slice(c);
    }
    chunk(b"LIST", &body)
}

fn gens_bytes(out: &mut Vec<u8>, gens: &[Gen]) {
    for &(op, amount) in gens {
        out.extend_from_slice(&op.to_le_bytes());
        out.extend_from_slice(&amount.to_le_bytes());
    }
}

fn write_sf2(samples: &[Sample], instruments: &[Instrument], presets: &[Preset]) -> Vec<u8> {
    // Sample data: each sample followed by 46 zero frames, as SF2 asks.
    let mut smpl = Vec::new();
    let mut shdr = Vec::new();
    let mut at = 0u32;
    for s in samples {
        for v in &s.data {
            smpl.extend_from_slice(&v.to_le_bytes());
        }
        smpl.extend(std::iter::repeat_n(0u8, 46 * 2));
        shdr.extend_from_slice(&name20(&s.name));
        let len = s.data.len() as u32;
        for v in [at, at + len, at + s.loop_start, at + s.loop_end, s.rate] {
            shdr.extend_from_slice(&v.to_le_bytes());
        }
        shdr.push(s.root);
        shdr.push(0); // pitch correction
        shdr.extend_from_slice(&0u16.to_le_bytes()); // link
        shdr.extend_from_slice(&1u16.to_le_bytes()); // mono
        at += len + 46;
    }
    shdr.extend_from_slice(&name20("EOS"));
    shdr.extend_from_slice(&[0u8; 26]);

    let (mut inst, mut ibag, mut igen) = (Vec::new(), Vec::new(), Vec::new());
    let (mut bag_n, mut gen_n) = (0u16, 0u16);
    for i in instruments {
        inst.extend_from_slice(&name20(&i.name));
        inst.extend_from_slice(&bag_n.to_le_bytes());
        // Global zone first, then one zone per sample layer.
        ibag.extend_from_slice(&gen_n.to_le_bytes());
        ibag.extend_from_slice(&0u16.to_le_bytes());
        gens_bytes(&mut igen, &i.global);
        gen_n += i.global.len() as u16;
        bag_n += 1;
        for z in &i.zones {
            ibag.extend_from_slice(&gen_n.to_le_bytes());
            ibag.extend_from_slice(&0u16.to_le_bytes());
            let mut g = vec![(KEY_RANGE, i16::from_le_bytes([z.keys.0, z.keys.1]))];
            g.extend_from_slice(&z.gens);
            g.push((ROOT_KEY, i16::from(samples[z.sample].root)));
            g.push((SAMPLE_ID, z.sample as i16));
            gens_bytes(&mut igen, &g);
            gen_n += g.len() as u16;
            bag_n += 1;
        }
    }
    inst.extend_from_slice(&name20("EOI"));
    inst.extend_from_slice(&bag_n.to_le_bytes());
    ibag.extend_from_slice(&gen_n.to_le_bytes());
    ibag.extend_from_slice(&0u16.to_le_bytes());
    igen.extend_from_slice(&[0u8; 4]);

    let (mut phdr, mut pbag, mut pgen) = (Vec::new(), Vec::new(), Vec::new());
    let (mut pbag_n, mut pgen_n) = (0u16, 0u16);
    for p in presets {
        phdr.extend_from_slice(&name20(&p.name));
        phdr.extend_from_slice(&p.program.to_le_bytes());
        phdr.extend_from_slice(&0u16.to_le_bytes()); // bank
        phdr.extend_from_slice(&pbag_n.to_le_bytes());
        phdr.extend_from_slice(&[0u8; 12]);
        pbag.extend_from_slice(&pgen_n.to_le_bytes());
        pbag.extend_from_slice(&0u16.to_le_bytes());
        let g = [
            (VEL_RANGE, i16::from_le_bytes([0, 127])),
            (INSTRUMENT, p.instrument as i16),
        ];
        gens_bytes(&mut pgen, &g);
        pgen_n += g.len() as u16;
        pbag_n += 1;
    }
    phdr.extend_from_slice(&name20("EOP"));
    phdr.extend_from_slice(&[0u8; 4]);
    phdr.extend_from_slice(&pbag_n.to_le_bytes());
    phdr.extend_from_slice(&[0u8; 12]);
    pbag.extend_from_slice(&pgen_n.to_le_bytes());
    pbag.extend_from_slice(&0u16.to_le_bytes());
    pgen.extend_from_slice(&[0u8; 4]);
    let no_mods = [0u8; 10];

    let info = list(
        b"INFO",
        &[
            chunk(b"ifil", &[2, 0, 4, 0]),
            text(b"isng", "EMU8000"),
            text(b"INAM", "Auralis Default Bank"),
            text(b"ICOP", "Generated by Auralis; free to use"),
            text(b"ISFT", "auralis-core build script"),
        ],
    );
    let sdta = list(b"sdta", &[chunk(b"smpl", &smpl)]);
    let pdta = list(
        b"pdta",
        &[
            chunk(b"phdr", &phdr),
            chunk(b"pbag", &pbag),
            chunk(b"pmod", &no_mods),
            chunk(b"pgen", &pgen),
            chunk(b"inst", &inst),
            chunk(b"ibag", &ibag),
            chunk(b"imod", &no_mods),
            chunk(b"igen", &igen),
            chunk(b"shdr", &shdr),
        ],
    );
    let mut body = b"sfbk".to_vec();
    body.extend(info);
    body.extend(sdta);
    body.extend(pdta);
    chunk(b"RIFF", &body)
}
