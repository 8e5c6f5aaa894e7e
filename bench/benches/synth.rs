//! Synthesis cost, Auralis beside rustysynth in the same run.
//!
//! - `voices/*`: N held organ notes (TimGM6mb, program 19, looped
//!   samples), effects off, one 100 ms block per iteration; throughput
//!   is voice-frames, so criterion's rate inverts to ns per voice-frame.
//!   Auralis (cubic, linear), rustysynth (linear, its only mode) and
//!   oxisynth (4-point, FluidSynth's default) play the same notes.
//! - `midi_file/*`: the first 30 s of a real General MIDI file from
//!   Debian's openttd-openmsx, effects on, 64 voices each.
//!
//! Needs `timgm6mb-soundfont` and `openttd-openmsx` installed.

use std::hint::black_box;
use std::sync::Arc;

use auralis_bench::{held_organ, organ_notes, read, BLOCK, ORGAN, TIMGM6MB};
use auralis_core::synth::{Interpolation, SoundFontRenderer, Synth};
use auralis_core::SampleRate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const SR: u32 = 44_100;
const RATE: SampleRate = SampleRate::HZ_44100;
const FONT: &str = TIMGM6MB;
const MIDI: &str = "/usr/share/games/openttd/baseset/openmsx/be_sharp_bw_redfarn.mid";

fn voices(c: &mut Criterion) {
    let font = read(FONT);
    let rs_font =
        Arc::new(rustysynth::SoundFont::new(&mut &font[..]).expect("rustysynth loads TimGM6mb"));
    let mut group = c.benchmark_group("voices");
    for n in [16usize, 64, 256] {
        for interp in [Interpolation::Cubic, Interpolation::Linear] {
            let (mut s, per_note) = held_organ(&font, n, interp);
            let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
            assert_eq!(s.active_voices(), n, "voices sounding");
            group.throughput(Throughput::Elements((n * BLOCK) as u64));
            let name = match interp {
                Interpolation::Cubic => "auralis_cubic",
                Interpolation::Linear => "auralis_linear",
            };
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| s.render(black_box(&mut l), black_box(&mut r)))
            });

            if interp == Interpolation::Linear {
                let mut settings = rustysynth::SynthesizerSettings::new(SR as i32);
                settings.maximum_polyphony = 256;
                settings.enable_reverb_and_chorus = false;
                let mut rs = rustysynth::Synthesizer::new(&rs_font, &settings).expect("synth");
                for ch in 0..8 {
                    rs.process_midi_message(ch, 0xC0, i32::from(ORGAN), 0);
                }
                for (ch, key) in organ_notes(n, per_note) {
                    rs.note_on(i32::from(ch), i32::from(key), 100);
                }
                rs.render(&mut l, &mut r);
                group.bench_function(BenchmarkId::new("rustysynth_linear", n), |b| {
                    b.iter(|| rs.render(black_box(&mut l), black_box(&mut r)))
                });
            } else {
                // oxisynth at its default 4-point interpolation, effects
                // off, the same notes.
                let d = oxisynth::SynthDescriptor {
                    reverb_active: false,
                    chorus_active: false,
                    sample_rate: SR as f32,
                    polyphony: 256,
                    ..Default::default()
                };
                let mut ox = oxisynth::Synth::new(d).expect("oxisynth");
                let sf = oxisynth::SoundFont::load(&mut std::io::Cursor::new(&font[..]))
                    .expect("oxisynth loads TimGM6mb");
                ox.add_font(sf, true);
                for ch in 0..8u8 {
                    let _ = ox.send_event(oxisynth::MidiEvent::ProgramChange {
                        channel: ch,
                        program_id: ORGAN,
                    });
                }
                for (ch, key) in organ_notes(n, per_note) {
                    let _ = ox.send_event(oxisynth::MidiEvent::NoteOn {
                        channel: ch,
                        key,
                        vel: 100,
                    });
                }
                ox.write((&mut l[..], &mut r[..]));
                group.bench_function(BenchmarkId::new("oxisynth_4point", n), |b| {
                    b.iter(|| ox.write((black_box(&mut l[..]), black_box(&mut r[..]))))
                });
            }
        }
    }
    group.finish();
}

fn midi_file(c: &mut Criterion) {
    let font = read(FONT);
    let midi = read(MIDI);
    let secs = 30u64;
    let frames = secs * u64::from(SR);
    let timeline = auralis_host::midi_file::read(&midi, SR).expect("midi");
    let rs_font = Arc::new(rustysynth::SoundFont::new(&mut &font[..]).expect("font"));
    let rs_midi = Arc::new(rustysynth::MidiFile::new(&mut &midi[..]).expect("midi"));
    let mut group = c.benchmark_group("midi_file");
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames));
    for interp in [Interpolation::Cubic, Interpolation::Linear] {
        let name = if interp == Interpolation::Cubic {
            "auralis_cubic"
        } else {
            "auralis_linear"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut s: Box<Synth<'_, 64>> = Box::new(Synth::new(RATE));
                s.load_soundfont(&font).expect("font");
                s.set_interpolation(interp);
                let (mut l, mut r) = (vec![0f32; 4096], vec![0f32; 4096]);
                let mut events = timeline.events.iter().peekable();
                let mut frame = 0u64;
                while frame < frames {
                    while let Some((_, ev)) = events.next_if(|(f, _)| *f <= frame) {
                        let _ = s.apply(*ev);
                    }
                    let next = events.peek().map_or(u64::MAX, |(f, _)| *f);
                    let n = 4096u64.min(next - frame).min(frames - frame).max(1) as usize;
                    s.render(&mut l[..n], &mut r[..n]);
                    frame += n as u64;
                }
                black_box(l[0])
            })
        });
    }
    group.bench_function("rustysynth_linear", |b| {
        b.iter(|| {
            let settings = rustysynth::SynthesizerSettings::new(SR as i32);
            let synth = rustysynth::Synthesizer::new(&rs_font, &settings).expect("synth");
            let mut seq = rustysynth::MidiFileSequencer::new(synth);
            seq.play(&rs_midi, false);
            let (mut l, mut r) = (vec![0f32; 4096], vec![0f32; 4096]);
            let mut frame = 0u64;
            while frame < frames {
                let n = 4096u64.min(frames - frame) as usize;
                seq.render(&mut l[..n], &mut r[..n]);
                frame += n as u64;
            }
            black_box(l[0])
        })
    });
    group.finish();
}

criterion_group!(benches, voices, midi_file);
criterion_main!(benches);
