//! Every instruction-set level of the voice renderer computes the same
//! samples, bit for bit, and how rendering is split into calls does not
//! change them, even when voices end in the middle of a control block.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
use auralis_tests::skip::read_or_skip;

use auralis_core::engine::Engine;
use auralis_core::synth::{Interpolation, MidiEvent, Simd, SoundFontRenderer, Synth};
use auralis_core::SampleRate;
use auralis_core::{Mode, MusicalContext};

const TIM: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";
const FLUID: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

fn font(path: &str) -> Option<Vec<u8>> {
    read_or_skip(path)
}

/// The widest level this machine has; under CI, AVX2 must be there, or
/// the vector path would go untested.
fn widest() -> Simd {
    let s = Simd::detect();
    if !s.is_avx2() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI machines must have AVX2: the vector renderer is untested here"
        );
        eprintln!("NOTE: no AVX2 on this CPU; comparing the baseline with itself");
    }
    s
}

/// A busy scene: many programs (looped, unlooped and drums), pitch bends,
/// pan and sustain changes, more notes than voices (stealing), rendered
/// in blocks of `block` frames.
fn scene(bytes: &[u8], simd: Simd, interp: Interpolation, block: usize) -> Vec<f32> {
    let mut s: Box<Synth<'_, 32>> = Box::new(Synth::new(SampleRate::HZ_44100));
    s.load_soundfont(bytes).unwrap();
    s.set_simd(simd);
    s.set_interpolation(interp);
    s.set_chorus(0.4);
    for (ch, program) in [(0u8, 0u8), (1, 19), (2, 48), (3, 73), (4, 89), (5, 11)] {
        s.program_change(ch, program).unwrap();
    }
    let mut t = 0u64;
    for i in 0..160u64 {
        let ch = (i % 7) as u8;
        let ch = if ch == 6 { 9 } else { ch };
        let key = 36 + ((i * 7) % 48) as u8;
        let on = MidiEvent::NoteOn {
            channel: ch,
            key,
            velocity: 40 + (i % 80) as u8,
        };
        s.schedule(t, on).unwrap();
        s.schedule(
            t + 900 + (i % 5) * 777,
            MidiEvent::NoteOff { channel: ch, key },
        )
        .unwrap();
        if i % 11 == 0 {
            s.schedule(
                t + 33,
                MidiEvent::PitchBend {
                    channel: ch,
                    value: 4096 + (i as u16 * 97) % 8192,
                },
            )
            .unwrap();
        }
        if i % 13 == 0 {
            let cc = MidiEvent::ControlChange {
                channel: ch,
                controller: 10,
                value: (i * 5 % 128) as u8,
            };
            s.schedule(t + 5, cc).unwrap();
        }
        t += 311 + (i % 4) * 97;
    }
    let total = t as usize + 44_100;
    let (mut l, mut r) = (vec![0f32; total], vec![0f32; total]);
    for (cl, cr) in l.chunks_mut(block).zip(r.chunks_mut(block)) {
        s.render(cl, cr);
    }
    assert!(s.stats().voices_stolen > 0, "the scene should steal voices");
    l.into_iter().zip(r).flat_map(|(a, b)| [a, b]).collect()
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn every_level_renders_the_same_bits() {
    let wide = widest();
    for path in [TIM, FLUID] {
        let Some(bytes) = font(path) else { continue };
        for interp in [Interpolation::Cubic, Interpolation::Linear] {
            let base = scene(&bytes, Simd::BASELINE, interp, 4410);
            assert!(base.iter().any(|v| *v != 0.0), "{path}: silent");
            let vec = scene(&bytes, wide, interp, 4410);
            assert!(
                same_bits(&base, &vec),
                "{path} {interp:?}: {} and {} differ",
                Simd::BASELINE.name(),
                wide.name()
            );
        }
    }
}

#[test]
fn block_size_does_not_change_a_bit_when_voices_end_mid_block() {
    let Some(bytes) = font(TIM) else { return };
    let reference = scene(&bytes, widest(), Interpolation::Cubic, 44_100);
    for block in [1, 63, 64, 65, 4410] {
        let out = scene(&bytes, widest(), Interpolation::Cubic, block);
        assert!(same_bits(&reference, &out), "block size {block}");
    }
    let base = scene(&bytes, Simd::BASELINE, Interpolation::Cubic, 63);
    assert!(same_bits(&reference, &base), "baseline, block 63");
}

#[test]
fn the_engine_streams_the_same_bits_on_every_level() {
    let wide = widest();
    let ctx = MusicalContext::new(62, Mode::Dorian, 66.0, 0.8).unwrap();
    let run = |simd: Simd| {
        let mut e: Box<Engine<'static>> =
            Box::new(Engine::new(3, SampleRate::HZ_44100, ctx).unwrap());
        e.set_simd(simd);
        let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
        let mut out = Vec::new();
        for _ in 0..300 {
            e.render(&mut l, &mut r);
            out.extend_from_slice(&l);
            out.extend_from_slice(&r);
        }
        (out, e.device())
    };
    let (a, da) = run(Simd::BASELINE);
    let (b, db) = run(wide);
    assert!(da.starts_with("CPU (") && db.starts_with("CPU ("));
    assert!(same_bits(&a, &b), "{da} and {db} differ");
}
