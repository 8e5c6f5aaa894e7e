//! The General MIDI part of the built-in bank: a timbre for every program,
//! by family, and the standard drum kit on bank 128.

use std::f64::consts::PI;

use crate::bank::*;

pub(crate) fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A deterministic noise source (xorshift), the same on every host.
pub(crate) struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// Roots of the General MIDI instruments' multisamples: every 18
/// semitones, each covering nine down and eight up.
pub(crate) const GM_ROOTS: [u8; 4] = [33, 51, 69, 87];

pub(crate) fn gm_range(root: u8) -> (u8, u8) {
    let lo = if root == GM_ROOTS[0] { 0 } else { root - 9 };
    let hi = if root == GM_ROOTS[GM_ROOTS.len() - 1] {
        127
    } else {
        root + 8
    };
    (lo, hi)
}

/// One instrument from `make` on the GM roots (looped samples).
pub(crate) fn gm_instrument(
    samples: &mut Vec<Sample>,
    name: &str,
    make: &dyn Fn(u8) -> Sample,
    global: Vec<Gen>,
) -> Instrument {
    let mut zones = Vec::new();
    for root in GM_ROOTS {
        samples.push(make(root));
        zones.push(Zone {
            keys: gm_range(root),
            gens: vec![(SAMPLE_MODES, 1)],
            sample: samples.len() - 1,
        });
    }
    Instrument {
        name: name.into(),
        global,
        zones,
    }
}

/// Volume envelope generators: attack, decay (per 100 dB), sustain (cB
/// down), release, all in seconds.
pub(crate) fn env(attack: f64, decay: f64, sustain_cb: i16, release: f64) -> Vec<Gen> {
    vec![
        (34, tc(attack)),
        (36, tc(decay)),
        (37, sustain_cb),
        (38, tc(release)),
    ]
}

/// The General MIDI instruments and presets beyond the four ambient ones.
pub(crate) fn add_general_midi(
    samples: &mut Vec<Sample>,
    instruments: &mut Vec<Instrument>,
) -> Vec<GmPreset> {
    fn add(
        instruments: &mut Vec<Instrument>,
        samples: &mut Vec<Sample>,
        name: &str,
        make: &dyn Fn(u8) -> Sample,
        g: Vec<Gen>,
    ) -> usize {
        instruments.push(gm_instrument(samples, name, make, g));
        instruments.len() - 1
    }
    let with = |mut a: Vec<Gen>, b: &[Gen]| {
        a.extend_from_slice(b);
        a
    };
    // Mallets and bells: a strike of high partials over a clear tone,
    // decaying without sustain.
    let mallet = add(
        instruments,
        samples,
        "GM Mallet",
        &|k| {
            make_sample("mallet", k, 0.35, &|n, t| {
                let strike = match n {
                    1 => 1.0,
                    4 => 0.6,
                    10 => 0.35,
                    _ => 0.0,
                };
                let steady = if n == 1 { 1.0 } else { 0.0 };
                settle(strike, steady, 0.35, t)
            })
        },
        with(env(0.002, 4.0, 1000, 0.8), &[(16, 200)]),
    );
    // Organ: drawbars 16', 8', 5 1/3', 4', 2 2/3', 2', steady.
    let organ = add(
        instruments,
        samples,
        "GM Organ",
        &|k| {
            make_sample("organ", k, 0.0, &|n, _| match n {
                1 => 1.0,
                2 => 0.8,
                3 => 0.6,
                4 => 0.5,
                6 => 0.35,
                8 => 0.3,
                _ => 0.0,
            })
        },
        with(env(0.01, 1.0, 0, 0.15), &[(16, 150)]),
    );
    // Plucked strings: bright at the pluck, mellowing, decaying.
    let pluck = add(
        instruments,
        samples,
        "GM Pluck",
        &|k| {
            make_sample("pluck", k, 0.3, &|n, t| {
                let n = n as f64;
                settle(0.9 / n, 0.25 / (n * n), 0.3, t)
            })
        },
        with(env(0.001, 6.0, 1000, 0.4), &[(16, 150)]),
    );
    // Bass: a round low pluck.
    let bass = add(
        instruments,
        samples,
        "GM Bass",
        &|k| {
            make_sample("bass", k, 0.2, &|n, t| {
                let n = n as f64;
                settle(0.8 / n, 0.6 / (n * n * n), 0.2, t)
            })
        },
        with(env(0.002, 5.0, 400, 0.2), &[(16, 60)]),
    );
    // Bowed strings: a sawtooth, swelling, with vibrato.
    let strings = add(
        instruments,
        samples,
        "GM Strings",
        &|k| make_sample("strings", k, 0.0, &|n, _| 1.0 / n as f64),
        with(
            env(0.12, 20.0, 30, 0.5),
            &[(8, 9_800), (24, -850), (23, tc(0.3)), (6, 8), (16, 250)],
        ),
    );
    // Voices: a sawtooth shaped by the formants of "ah" (700, 1200 Hz).
    let choir = add(
        instruments,
        samples,
        "GM Choir",
        &|k| {
            let f0 = freq(k);
            make_sample("choir", k, 0.0, &move |n, _| {
                let f = f0 * n as f64;
                let formant = |c: f64, w: f64| libm::exp(-((f - c) / w) * ((f - c) / w));
                (formant(700.0, 250.0) + 0.6 * formant(1_200.0, 300.0) + 0.1) / libm::sqrt(n as f64)
            })
        },
        with(env(0.15, 20.0, 30, 0.6), &[(24, -850), (6, 6), (16, 350)]),
    );
    // Brass: a bright sawtooth whose filter opens on the attack.
    let brass = add(
        instruments,
        samples,
        "GM Brass",
        &|k| make_sample("brass", k, 0.0, &|n, _| 1.0 / libm::pow(n as f64, 0.8)),
        with(
            env(0.03, 20.0, 20, 0.25),
            &[
                (8, 8_000),
                (11, 2_400),
                (26, tc(0.06)),
                (28, tc(0.4)),
                (29, 500),
                (16, 150),
            ],
        ),
    );
    // Reeds: odd harmonics, as a clarinet.
    let reed = add(
        instruments,
        samples,
        "GM Reed",
        &|k| {
            make_sample("reed", k, 0.0, &|n, _| {
                if n % 2 == 1 {
                    1.0 / n as f64
                } else {
                    0.08 / n as f64
                }
            })
        },
        with(env(0.03, 20.0, 10, 0.2), &[(8, 10_000), (16, 150)]),
    );
    // Pipes: nearly a sine, a breath of the octave and twelfth.
    let flute = add(
        instruments,
        samples,
        "GM Flute",
        &|k| {
            make_sample("flute", k, 0.0, &|n, _| match n {
                1 => 1.0,
                2 => 0.12,
                3 => 0.05,
                _ => 0.0,
            })
        },
        with(
            env(0.05, 20.0, 10, 0.25),
            &[(24, -850), (23, tc(0.25)), (6, 10), (16, 200)],
        ),
    );
    // Synth leads: a square and a sawtooth, full brightness.
    let square = add(
        instruments,
        samples,
        "GM Square",
        &|k| {
            make_sample("square", k, 0.0, &|n, _| {
                if n % 2 == 1 {
                    1.0 / n as f64
                } else {
                    0.0
                }
            })
        },
        with(env(0.005, 20.0, 0, 0.15), &[(16, 100)]),
    );
    let saw = add(
        instruments,
        samples,
        "GM Saw",
        &|k| make_sample("saw", k, 0.0, &|n, _| 1.0 / n as f64),
        with(env(0.005, 20.0, 0, 0.15), &[(16, 100)]),
    );
    // Noise, periodic over 8192 frames so that it loops seamlessly: the
    // breath, sea, wind, applause and helicopter of the effects family.
    samples.push(noise_sample());
    let noise_sample_index = samples.len() - 1;
    instruments.push(Instrument {
        name: "GM Noise".into(),
        global: with(env(0.05, 20.0, 0, 0.6), &[(8, 9_000), (16, 200)]),
        zones: vec![Zone {
            keys: (0, 127),
            // Root 60 everywhere, transposed by key: higher keys, brighter.
            gens: vec![(SAMPLE_MODES, 1), (56, 50)],
            sample: noise_sample_index,
        }],
    });
    let noise = instruments.len() - 1;
    let drums = add_drum_kit(samples, instruments);
    let tom = drums.1;
    let (kit, _) = drums;

    // Programs: (number, name, instrument, generators its preset adds).
    // Preset generators add to the instrument's: envelope times in
    // timecents (+1200 doubles), cutoff in cents, attenuation in cB.
    let atk = |c: i16| (34u16, c);
    let dec = |c: i16| (36u16, c);
    let cut = |c: i16| (8u16, c);
    let att = |cb: i16| (48u16, cb);
    let oct = |o: i16| (51u16, 12 * o);
    let table: Vec<(u16, &'static str, usize, Vec<Gen>)> = vec![
        (1, "Bright Piano", 0, vec![cut(1_200)]),
        (2, "Electric Grand", 0, vec![cut(600)]),
        (3, "Honky-tonk", 0, vec![(52, 12)]),
        (4, "E.Piano 1", 0, vec![cut(-600)]),
        (5, "E.Piano 2", mallet, vec![dec(-1200)]),
        (6, "Harpsichord", pluck, vec![cut(1_500), dec(-1200)]),
        (7, "Clavinet", pluck, vec![dec(-2400)]),
        (8, "Celesta", mallet, vec![oct(1)]),
        (9, "Glockenspiel", mallet, vec![oct(2), dec(-600)]),
        (10, "Music Box", mallet, vec![oct(1), dec(-1200)]),
        (11, "Vibraphone", mallet, vec![(24, -700), (6, 20)]),
        (12, "Marimba", mallet, vec![dec(-2400)]),
        (13, "Xylophone", mallet, vec![oct(1), dec(-3600)]),
        (14, "Tubular Bells", mallet, vec![dec(600)]),
        (15, "Dulcimer", pluck, vec![]),
        (16, "Drawbar Organ", organ, vec![]),
        (17, "Perc. Organ", organ, vec![dec(-1200), (37, 300)]),
        (18, "Rock Organ", organ, vec![cut(0)]),
        (19, "Church Organ", organ, vec![oct(-1), (16, 300)]),
        (20, "Reed Organ", reed, vec![]),
        (21, "Accordion", reed, vec![(24, -500), (6, 10)]),
        (22, "Harmonica", reed, vec![oct(1)]),
        (23, "Tango Accordion", reed, vec![]),
        (24, "Nylon Guitar", pluck, vec![cut(-1_000)]),
        (25, "Steel Guitar", pluck, vec![]),
        (26, "Jazz Guitar", pluck, vec![cut(-1_800)]),
        (27, "Clean Guitar", pluck, vec![]),
        (28, "Muted Guitar", pluck, vec![dec(-3600)]),
        (29, "Overdrive Guitar", saw, vec![cut(-1_200)]),
        (30, "Distortion Guitar", square, vec![]),
        (31, "Guitar Harmonics", mallet, vec![oct(1)]),
        (32, "Acoustic Bass", bass, vec![]),
        (33, "Fingered Bass", bass, vec![]),
        (34, "Picked Bass", bass, vec![dec(-600)]),
        (35, "Fretless Bass", bass, vec![dec(1_200)]),
        (36, "Slap Bass 1", pluck, vec![oct(-1), dec(-1200)]),
        (37, "Slap Bass 2", pluck, vec![oct(-1), dec(-1800)]),
        (38, "Synth Bass 1", saw, vec![oct(-1), cut(-2_000)]),
        (39, "Synth Bass 2", square, vec![oct(-1), cut(-2_000)]),
        (40, "Violin", strings, vec![]),
        (41, "Viola", strings, vec![cut(-600)]),
        (42, "Cello", strings, vec![cut(-1_200)]),
        (43, "Contrabass", strings, vec![cut(-1_800)]),
        (44, "Tremolo Strings", strings, vec![(22, 1_200), (13, 60)]),
        (45, "Pizzicato", pluck, vec![dec(-2400)]),
        (46, "Harp", pluck, vec![cut(-600)]),
        (47, "Timpani", tom, vec![]),
        (48, "Strings", strings, vec![atk(2_400)]),
        (49, "Slow Strings", strings, vec![atk(4_000)]),
        (50, "Synth Strings 1", saw, vec![atk(8_800), cut(-1_500)]),
        (51, "Synth Strings 2", saw, vec![atk(8_800), cut(-2_500)]),
        (52, "Choir Aahs", choir, vec![]),
        (53, "Voice Oohs", choir, vec![cut(-1_500)]),
        (54, "Synth Voice", choir, vec![atk(1_200)]),
        (55, "Orchestra Hit", brass, vec![dec(-2400), (37, 1000)]),
        (56, "Trumpet", brass, vec![]),
        (57, "Trombone", brass, vec![cut(-800)]),
        (58, "Tuba", brass, vec![cut(-1_800)]),
        (59, "Muted Trumpet", brass, vec![cut(-1_500), att(30)]),
        (60, "French Horn", brass, vec![cut(-1_200), atk(1_200)]),
        (61, "Brass Section", brass, vec![]),
        (62, "Synth Brass 1", saw, vec![cut(-600)]),
        (63, "Synth Brass 2", saw, vec![cut(-1_200)]),
        (64, "Soprano Sax", reed, vec![cut(1_000)]),
        (65, "Alto Sax", reed, vec![cut(600)]),
        (66, "Tenor Sax", reed, vec![]),
        (67, "Baritone Sax", reed, vec![cut(-600)]),
        (68, "Oboe", reed, vec![cut(1_500)]),
        (69, "English Horn", reed, vec![cut(500)]),
        (70, "Bassoon", reed, vec![cut(-800)]),
        (71, "Clarinet", reed, vec![]),
        (72, "Piccolo", flute, vec![oct(1)]),
        (73, "Flute", flute, vec![]),
        (74, "Recorder", flute, vec![]),
        (75, "Pan Flute", flute, vec![atk(1_200)]),
        (76, "Blown Bottle", flute, vec![atk(1_900)]),
        (77, "Shakuhachi", flute, vec![]),
        (78, "Whistle", flute, vec![oct(1)]),
        (79, "Ocarina", flute, vec![]),
        (80, "Square Lead", square, vec![]),
        (81, "Saw Lead", saw, vec![]),
        (82, "Calliope Lead", flute, vec![]),
        (83, "Chiff Lead", flute, vec![]),
        (84, "Charang Lead", saw, vec![cut(-600)]),
        (85, "Voice Lead", choir, vec![]),
        (86, "Fifths Lead", saw, vec![]),
        (87, "Bass + Lead", saw, vec![oct(-1)]),
        (91, "Choir Pad", choir, vec![atk(3_300)]),
        (92, "Bowed Pad", 2, vec![]),
        (93, "Metallic Pad", 3, vec![cut(800)]),
        (94, "Halo Pad", 1, vec![]),
        (95, "Sweep Pad", 2, vec![(10, 800)]),
        (96, "Rain", mallet, vec![oct(1), att(100)]),
        (97, "Soundtrack", 1, vec![]),
        (98, "Crystal", mallet, vec![oct(2)]),
        (99, "Atmosphere", 3, vec![]),
        (100, "Brightness", 1, vec![cut(1_000)]),
        (101, "Goblins", 2, vec![(24, -1_500), (6, 40)]),
        (102, "Echoes", 3, vec![(16, 600)]),
        (103, "Sci-fi", square, vec![(24, -1_000), (6, 50)]),
        (104, "Sitar", pluck, vec![cut(1_000)]),
        (105, "Banjo", pluck, vec![dec(-1800)]),
        (106, "Shamisen", pluck, vec![dec(-2400)]),
        (107, "Koto", pluck, vec![]),
        (108, "Kalimba", mallet, vec![]),
        (109, "Bagpipe", reed, vec![cut(1_000)]),
        (110, "Fiddle", strings, vec![cut(600)]),
        (111, "Shanai", reed, vec![cut(1_500)]),
        (112, "Tinkle Bell", mallet, vec![oct(2)]),
        (113, "Agogo", mallet, vec![oct(1), dec(-2400)]),
        (114, "Steel Drums", mallet, vec![dec(-600)]),
        (115, "Woodblock", mallet, vec![dec(-4800)]),
        (116, "Taiko Drum", tom, vec![oct(-1)]),
        (117, "Melodic Tom", tom, vec![]),
        (118, "Synth Drum", tom, vec![cut(-1_500)]),
        (119, "Reverse Cymbal", noise, vec![atk(5_900), dec(-1200)]),
        (
            120,
            "Guitar Fret Noise",
            noise,
            vec![dec(-4800), (37, 1000)],
        ),
        (121, "Breath Noise", noise, vec![cut(-2_000), att(100)]),
        (
            122,
            "Seashore",
            noise,
            vec![atk(6_400), (22, -2_400), (13, 120)],
        ),
        (
            123,
            "Bird Tweet",
            flute,
            vec![oct(2), (22, 2_000), (5, 200)],
        ),
        (
            124,
            "Telephone Ring",
            square,
            vec![oct(1), (22, 1_800), (13, 300)],
        ),
        (
            125,
            "Helicopter",
            noise,
            vec![cut(-3_000), (22, 1_000), (13, 200)],
        ),
        (
            126,
            "Applause",
            noise,
            vec![atk(2_400), (22, 800), (13, 80)],
        ),
        (127, "Gunshot", noise, vec![dec(-4800), (37, 1000)]),
    ];
    let mut presets: Vec<GmPreset> = table
        .into_iter()
        .map(|(program, name, instrument, gens)| GmPreset {
            bank: 0,
            program,
            name,
            instrument,
            gens,
        })
        .collect();
    presets.push(GmPreset {
        bank: 128,
        program: 0,
        name: "Standard Kit",
        instrument: kit,
        gens: Vec::new(),
    });
    presets
}

/// White noise made periodic: random-phase, equal-amplitude harmonics of
/// a 5.4 Hz fundamental (8192 frames at 44.1 kHz) up to 12 kHz, so the
/// loop is seamless by construction.
pub(crate) fn noise_sample() -> Sample {
    let period = 8192usize;
    let rate = 44_100u32;
    let mut rng = Noise(0x9E37_79B9_7F4A_7C15);
    let harmonics = (12_000.0 / (f64::from(rate) / period as f64)) as usize;
    let mut raw = vec![0f64; period];
    for n in 1..=harmonics {
        let phase = (rng.next() + 1.0) * PI;
        let amp = 1.0 / libm::sqrt(1.0 + n as f64 / 400.0);
        for (i, v) in raw.iter_mut().enumerate() {
            *v += amp * libm::sin(2.0 * PI * (n * i % period) as f64 / period as f64 + phase);
        }
    }
    let peak = raw.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-9);
    let mut data: Vec<i16> = raw
        .iter()
        .map(|v| libm::round(v / peak * 29_000.0) as i16)
        .collect();
    // The period's last frames before it and its first after it, so the
    // frames around both loop points continue each other.
    let tail: Vec<i16> = data[period - 8..].to_vec();
    let head: Vec<i16> = data[..8].to_vec();
    let mut framed = tail;
    framed.append(&mut data);
    framed.extend(head);
    Sample {
        name: "noise".into(),
        data: framed,
        loop_start: 8,
        loop_end: 8 + period as u32,
        rate,
        root: 60,
    }
}

/// Seconds of `f(t)` at `rate`.
pub(crate) fn render(rate: u32, secs: f64, f: &mut dyn FnMut(f64) -> f64) -> Vec<f64> {
    let n = (secs * f64::from(rate)) as usize;
    (0..n).map(|i| f(i as f64 / f64::from(rate))).collect()
}

/// The standard drum kit (bank 128, program 0): the General MIDI key map
/// from 35 to 81, one-shot samples made of sine sweeps and shaped noise.
/// Returns the kit's instrument and a tom instrument for the melodic
/// percussion programs.
pub(crate) fn add_drum_kit(
    samples: &mut Vec<Sample>,
    instruments: &mut Vec<Instrument>,
) -> (usize, usize) {
    const RATE: u32 = 22_050;
    let mut rng = Noise(0x0123_4567_89AB_CDEF);
    let sweep = |f0: f64, f1: f64, fall: f64, decay: f64, secs: f64| -> Vec<f64> {
        let mut phase = 0.0;
        render(RATE, secs, &mut |t| {
            let f = f1 + (f0 - f1) * libm::exp(-t / fall);
            phase += 2.0 * PI * f / f64::from(RATE);
            libm::sin(phase) * libm::exp(-t / decay)
        })
    };
    let kick = sweep(140.0, 48.0, 0.03, 0.18, 0.5);
    let tom = sweep(220.0, 150.0, 0.05, 0.22, 0.7);
    let noise = |secs: f64, decay: f64, bright: f64, rng: &mut Noise| -> Vec<f64> {
        // `bright` blends first differences (high frequencies) into the
        // noise: 0 is full-band, 1 only the highs.
        let mut last = 0.0;
        render(RATE, secs, &mut |t| {
            let x = rng.next();
            let hp = x - last;
            last = x;
            ((1.0 - bright) * x + bright * hp) * libm::exp(-t / decay)
        })
    };
    let mix = |a: &[f64], b: &[f64], wa: f64, wb: f64| -> Vec<f64> {
        (0..a.len().max(b.len()))
            .map(|i| wa * a.get(i).copied().unwrap_or(0.0) + wb * b.get(i).copied().unwrap_or(0.0))
            .collect()
    };
    let snare_tone = sweep(200.0, 180.0, 0.02, 0.1, 0.35);
    let snare = mix(&snare_tone, &noise(0.35, 0.09, 0.5, &mut rng), 0.6, 0.8);
    let stick = mix(
        &sweep(500.0, 420.0, 0.01, 0.02, 0.12),
        &noise(0.12, 0.015, 0.7, &mut rng),
        1.0,
        0.6,
    );
    let clap: Vec<f64> = {
        let n = noise(0.4, 0.12, 0.4, &mut rng);
        n.iter()
            .enumerate()
            .map(|(i, v)| {
                let t = i as f64 / f64::from(RATE);
                // Three quick slaps, then the body.
                let gate = if t < 0.03 {
                    libm::fabs(libm::sin(t * PI / 0.01))
                } else {
                    1.0
                };
                v * gate
            })
            .collect()
    };
    let hat_closed = noise(0.15, 0.03, 0.95, &mut rng);
    let hat_pedal = noise(0.2, 0.05, 0.9, &mut rng);
    let hat_open = noise(0.8, 0.3, 0.95, &mut rng);
    let metal = |secs: f64, decay: f64, rng: &mut Noise| -> Vec<f64> {
        // Inharmonic squares over bright noise: a cymbal's shimmer.
        let freqs = [321.0, 457.0, 602.0, 789.0, 1_043.0, 1_376.0];
        let mut i = 0usize;
        let n = noise(secs, decay, 0.8, rng);
        n.iter()
            .map(|v| {
                let t = i as f64 / f64::from(RATE);
                i += 1;
                let sq: f64 = freqs
                    .iter()
                    .map(|f| {
                        if libm::sin(2.0 * PI * f * t) >= 0.0 {
                            1.0
                        } else {
                            -1.0
                        }
                    })
                    .sum::<f64>()
                    / 6.0;
                0.7 * v + 0.3 * sq * libm::exp(-t / decay)
            })
            .collect()
    };
    let crash = metal(2.0, 0.7, &mut rng);
    let ride = metal(1.6, 0.5, &mut rng);
    let tamb = noise(0.3, 0.07, 0.98, &mut rng);
    let cowbell: Vec<f64> = render(RATE, 0.4, &mut |t| {
        let sq = |f: f64| {
            if libm::sin(2.0 * PI * f * t) >= 0.0 {
                1.0
            } else {
                -1.0
            }
        };
        (sq(562.0) + 0.7 * sq(845.0)) * libm::exp(-t / 0.08)
    });
    let triangle: Vec<f64> = render(RATE, 1.2, &mut |t| {
        (libm::sin(2.0 * PI * 4_200.0 * t) + 0.4 * libm::sin(2.0 * PI * 6_900.0 * t))
            * libm::exp(-t / 0.35)
    });
    let whistle: Vec<f64> = render(RATE, 0.35, &mut |t| {
        libm::sin(2.0 * PI * 2_600.0 * t) * libm::sin(PI * t / 0.35)
    });
    let guiro: Vec<f64> = {
        let n = noise(0.3, 1.0, 0.6, &mut rng);
        n.iter()
            .enumerate()
            .map(|(i, v)| {
                let t = i as f64 / f64::from(RATE);
                v * if (t * 40.0) as u32 % 2 == 0 { 1.0 } else { 0.2 } * (1.0 - t / 0.3)
            })
            .collect()
    };
    let wood: Vec<f64> = render(RATE, 0.15, &mut |t| {
        libm::sin(2.0 * PI * 1_100.0 * t) * libm::exp(-t / 0.02)
    });

    let mut push = |name: &str, raw: &[f64], root: u8| {
        samples.push(Sample::one_shot(name, RATE, root, raw));
        samples.len() - 1
    };
    let s_kick = push("kick", &kick, 36);
    let s_stick = push("stick", &stick, 37);
    let s_snare = push("snare", &snare, 38);
    let s_clap = push("clap", &clap, 39);
    let s_tom = push("tom", &tom, 45);
    let s_hat = push("hat closed", &hat_closed, 42);
    let s_pedal = push("hat pedal", &hat_pedal, 44);
    let s_open = push("hat open", &hat_open, 46);
    let s_crash = push("crash", &crash, 49);
    let s_ride = push("ride", &ride, 51);
    let s_tamb = push("tambourine", &tamb, 54);
    let s_cow = push("cowbell", &cowbell, 56);
    let s_tri = push("triangle", &triangle, 81);
    let s_whistle = push("whistle", &whistle, 72);
    let s_guiro = push("guiro", &guiro, 73);
    let s_wood = push("woodblock", &wood, 76);

    // (key, sample): the GM percussion map, each key on the sample of its
    // kind, transposed from the sample's own key where that is the sound
    // (toms, bongos, congas, timbales, blocks).
    let map: Vec<(u8, usize)> = vec![
        (35, s_kick),
        (36, s_kick),
        (37, s_stick),
        (38, s_snare),
        (39, s_clap),
        (40, s_snare),
        (41, s_tom),
        (42, s_hat),
        (43, s_tom),
        (44, s_pedal),
        (45, s_tom),
        (46, s_open),
        (47, s_tom),
        (48, s_tom),
        (49, s_crash),
        (50, s_tom),
        (51, s_ride),
        (52, s_crash),
        (53, s_ride),
        (54, s_tamb),
        (55, s_crash),
        (56, s_cow),
        (57, s_crash),
        (58, s_guiro),
        (59, s_ride),
        (60, s_tom),
        (61, s_tom),
        (62, s_tom),
        (63, s_tom),
        (64, s_tom),
        (65, s_tom),
        (66, s_tom),
        (67, s_cow),
        (68, s_cow),
        (69, s_tamb),
        (70, s_tamb),
        (71, s_whistle),
        (72, s_whistle),
        (73, s_guiro),
        (74, s_guiro),
        (75, s_wood),
        (76, s_wood),
        (77, s_wood),
        (78, s_tom),
        (79, s_tom),
        (80, s_tri),
        (81, s_tri),
    ];
    let pitched = [s_tom, s_wood, s_cow, s_whistle];
    let mut zones = Vec::new();
    for (key, sample) in map {
        let root = samples[sample].root;
        let mut gens = vec![(SAMPLE_MODES, 0)];
        if !pitched.contains(&sample) {
            // Untuned: every key on its sample plays the sample as made.
            gens.push((56, 0));
            gens.push((58, i16::from(key)));
        } else {
            gens.push((58, i16::from(root)));
        }
        // Closed and pedal hats choke the open one.
        if [42, 44, 46].contains(&key) {
            gens.push((57, 1));
        }
        zones.push(Zone {
            keys: (key, key),
            gens,
            sample,
        });
    }
    instruments.push(Instrument {
        name: "GM Standard Kit".into(),
        global: vec![(38, tc(0.3)), (16, 150)],
        zones,
    });
    let kit = instruments.len() - 1;
    instruments.push(Instrument {
        name: "GM Tom".into(),
        global: vec![(38, tc(0.3)), (16, 150)],
        zones: vec![Zone {
            keys: (0, 127),
            gens: vec![(SAMPLE_MODES, 0)],
            sample: s_tom,
        }],
    });
    (kit, instruments.len() - 1)
}
