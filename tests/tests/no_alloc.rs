//! The hot paths allocate nothing: proven with a counting global allocator.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
use auralis_tests::skip::read_or_skip;

use auralis_core::music::{Composer, Mode, MusicalContext, Phrase, PhraseBars, Preset};
use auralis_core::SampleRate;
use auralis_host::alloc_count::{allocations_during, CountingAlloc};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

#[test]
fn the_counter_sees_allocations() {
    // Without this the zero below could be a broken counter.
    let (v, n) = allocations_during(|| vec![1u8; 64]);
    assert_eq!(v.len(), 64);
    assert!(n >= 1);
}

#[test]
fn composing_hours_of_music_allocates_nothing() {
    let ctx = MusicalContext::new(62, Mode::Dorian, 90.0, 1.0).unwrap();
    let mut composer = Composer::new(42, SampleRate::HZ_48000, ctx);
    let mut phrase = Phrase::empty();
    let presets = Preset::ALL;
    let ((notes, phrases), allocations) = allocations_during(|| {
        let mut notes = 0usize;
        let mut phrases = 0usize;
        // Three hours of music with a context change every ten phrases and
        // both phrase lengths, through both entry points.
        while composer.position() < 3 * 3600 * 48_000 {
            if phrases % 10 == 9 {
                let p = presets[phrases / 10 % presets.len()];
                composer.set_context(composer.context().with_preset(p));
            }
            if phrases % 2 == 0 {
                composer.compose_into(PhraseBars::Sixteen, &mut phrase);
                notes += phrase.melody.notes().len();
            } else {
                let p = composer.next_phrase(PhraseBars::Eight);
                notes += p.melody.notes().len();
            }
            phrases += 1;
        }
        (notes, phrases)
    });
    assert_eq!(allocations, 0, "composing allocated {allocations} times");
    assert!(
        phrases > 150 && notes > 5000,
        "{phrases} phrases, {notes} notes"
    );
    assert_eq!(composer.stats().dropped_events, 0);
}

#[test]
fn synthesis_with_voice_stealing_allocates_nothing() {
    use auralis_core::synth::{MidiEvent, SoundFontRenderer, Synth};
    let path = "/usr/share/sounds/sf2/TimGM6mb.sf2";
    let Some(bytes) = read_or_skip(path) else {
        return;
    };
    // Set-up may allocate (the test's own buffers); the hot path may not.
    let mut synth: Box<Synth<'_, 24>> = Box::new(Synth::new(SampleRate::HZ_44100));
    synth.load_soundfont(&bytes).unwrap();
    synth.set_chorus(0.2);
    let (mut l, mut r) = (vec![0.0f32; 4410], vec![0.0f32; 4410]);
    let ((), allocations) = allocations_during(|| {
        // Three minutes: every 100 ms chunk schedules a chord of new notes
        // (more than the pool holds, so voices are stolen), bends, moves
        // controllers and releases old notes.
        for chunk in 0..1800u64 {
            let at = synth.frame();
            let ch = (chunk % 4) as u8;
            if chunk % 50 == 0 {
                synth
                    .program_change(ch, [0u8, 48, 88, 89][ch as usize])
                    .unwrap();
            }
            for k in 0..6u8 {
                let key = 36 + ((chunk as u8).wrapping_mul(7).wrapping_add(k * 5)) % 60;
                let on = MidiEvent::NoteOn {
                    channel: ch,
                    key,
                    velocity: 40 + k * 12,
                };
                synth.schedule(at + u64::from(k) * 700, on).unwrap();
                let off = MidiEvent::NoteOff { channel: ch, key };
                synth.schedule(at + 30_000, off).unwrap();
            }
            synth.control_change(ch, 1, (chunk % 128) as u8).unwrap();
            synth
                .pitch_bend(ch, 8192 + (chunk % 64) as u16 * 16)
                .unwrap();
            synth.render(&mut l, &mut r);
        }
    });
    assert_eq!(allocations, 0, "synthesis allocated {allocations} times");
    assert!(synth.stats().voices_stolen > 1000, "{:?}", synth.stats());
    assert!(l.iter().any(|&v| v != 0.0));
}

#[test]
fn an_hour_of_streamed_chunks_allocates_nothing() {
    use auralis_core::engine::{AudioChunk, Engine};
    // The engine and chunk are made before counting; a big stack holds
    // them on the way into their boxes in unoptimised builds.
    let allocations = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let ctx = MusicalContext::new(62, Mode::Dorian, 70.0, 0.6).unwrap();
            let mut engine: Box<Engine<'static>> =
                Box::new(Engine::new(5, SampleRate::HZ_44100, ctx).unwrap());
            let mut chunk = Box::new(AudioChunk::new());
            let ((), n) = allocations_during(|| {
                for i in 0..36_000u32 {
                    // A parameter change every five minutes, through all presets.
                    if i % 3000 == 2999 {
                        let p = Preset::ALL[(i / 3000) as usize % 4];
                        engine.set_context(engine.context().with_preset(p));
                    }
                    engine.next_chunk(&mut chunk);
                }
            });
            assert_eq!(chunk.seq, 35_999);
            n
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(allocations, 0, "streaming allocated {allocations} times");
}
