//! The engine: endless chunks, seamless phrases, parameter changes within
//! five seconds, a listening level near −18 LUFS.

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext, Preset};
use auralis_core::synth::Synth;
use auralis_core::SampleRate;
use auralis_tests::loudness::integrated_lufs;

fn ctx(key: u8, mode: Mode, bpm: f32, intensity: f32) -> MusicalContext {
    MusicalContext::new(key, mode, bpm, intensity).unwrap()
}

/// Runs `f` on a thread with room for an engine on the stack.
fn big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// `secs` of interleaved float audio from a fresh engine.
fn stream(seed: u64, rate: u32, c: MusicalContext, secs: u32) -> Vec<f32> {
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(seed, SampleRate::new(rate).unwrap(), c).unwrap());
    let n = (rate / 10) as usize;
    let (mut l, mut r) = (vec![0f32; n], vec![0f32; n]);
    let mut out = Vec::with_capacity(2 * n * 10 * secs as usize);
    for _ in 0..10 * secs {
        e.render(&mut l, &mut r);
        out.extend(l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]));
    }
    out
}

#[test]
fn every_preset_is_within_2_5_lu_of_minus_18_lufs_and_peaks_below_minus_1_dbfs() {
    big_stack(|| {
        for (i, p) in Preset::ALL.into_iter().enumerate() {
            let c = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5)
                .unwrap()
                .with_preset(p);
            let s = stream(40 + i as u64, 44_100, c, 180);
            let lufs = integrated_lufs(&s, 44_100);
            let peak = s.iter().fold(0f32, |m, v| m.max(v.abs()));
            let peak_db = 20.0 * f64::from(peak).log10();
            println!("{p}: {lufs:.1} LUFS, peak {peak_db:.1} dBFS");
            assert!((lufs + 18.0).abs() <= 2.5, "{p}: {lufs:.1} LUFS");
            assert!(peak_db <= -1.0, "{p}: peak {peak_db:.1} dBFS");
        }
    });
}

#[test]
fn chunks_are_numbered_without_gaps_and_sized_by_rate() {
    big_stack(|| {
        for (rate, frames) in [(44_100u32, 4410u16), (48_000, 4800)] {
            let mut e: Box<Engine<'static>> = Box::new(
                Engine::new(1, SampleRate::new(rate).unwrap(), MusicalContext::default()).unwrap(),
            );
            let mut chunk = Box::new(AudioChunk::new());
            for i in 0..50u64 {
                let info = e.next_chunk(&mut chunk);
                assert_eq!((info.seq, chunk.seq), (i, i));
                assert_eq!(chunk.frames, frames);
                assert_eq!(chunk.channels, 2);
                assert_eq!(chunk.start_frame, i * u64::from(frames));
                assert_eq!(chunk.samples().len(), 2 * usize::from(frames));
                assert!((chunk.timestamp() - i as f64 * 0.1).abs() < 1e-9);
            }
        }
        // A rate the synthesizer plays but 100 ms chunks cannot hold.
        for hz in [44_105, 96_000] {
            let rate = SampleRate::new(hz).unwrap();
            assert!(
                Engine::<'static, Synth<'static, 8>>::new(1, rate, MusicalContext::default())
                    .is_err()
            );
            assert!(auralis_core::engine::stream_rate(hz).is_err());
        }
        assert!(auralis_core::engine::stream_rate(7_990).is_err());
        assert_eq!(
            auralis_core::engine::stream_rate(48_000),
            Ok(SampleRate::HZ_48000)
        );
    });
}

#[test]
fn chunks_of_any_size_give_the_same_samples_as_one_long_render() {
    big_stack(|| {
        let c = ctx(64, Mode::Lydian, 72.0, 0.7);
        let total = 44_100 * 40;
        let run = |sizes: &[usize]| {
            let mut e: Box<Engine<'static>> =
                Box::new(Engine::new(9, SampleRate::HZ_44100, c).unwrap());
            let (mut l, mut r) = (vec![0f32; total], vec![0f32; total]);
            let mut at = 0;
            let mut k = 0;
            while at < total {
                let n = sizes[k % sizes.len()].min(total - at);
                e.render(&mut l[at..at + n], &mut r[at..at + n]);
                at += n;
                k += 1;
            }
            (l, r)
        };
        let whole = run(&[total]);
        assert!(whole.0.iter().any(|v| *v != 0.0));
        for sizes in [&[4410][..], &[1, 63, 64, 65, 1000, 7919][..], &[96_000][..]] {
            assert!(
                run(sizes) == whole,
                "chunk sizes {sizes:?} change the output"
            );
        }
    });
}

#[test]
fn phrases_join_without_seams_or_silence() {
    big_stack(|| {
        // 60 BPM, 8-bar phrases: a boundary every 32 s.
        let s = stream(3, 44_100, ctx(60, Mode::Aeolian, 60.0, 0.4), 200);
        let left: Vec<f32> = s.iter().step_by(2).copied().collect();
        // Never silent: every 100 ms window has sound (after the first swell).
        for (i, w) in left.chunks(4410).enumerate().skip(10) {
            let rms = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
            assert!(rms > 1e-3, "window {i} is silent");
        }
        // The largest sample step within 50 ms of a boundary is no larger
        // than the largest step elsewhere.
        let step = |a: usize, b: usize| {
            left[a..b]
                .windows(2)
                .map(|w| (w[1] - w[0]).abs())
                .fold(0f32, f32::max)
        };
        let phrase = 32 * 44_100;
        let near = 2205;
        let mut at_boundaries = 0f32;
        let mut elsewhere = 0f32;
        let mut start = 1;
        for b in (phrase..left.len()).step_by(phrase) {
            at_boundaries = at_boundaries.max(step(b - near, b + near));
            elsewhere = elsewhere.max(step(start, b - near));
            start = b + near;
        }
        elsewhere = elsewhere.max(step(start, left.len()));
        assert!(
            at_boundaries <= elsewhere,
            "boundary step {at_boundaries} > elsewhere {elsewhere}"
        );
    });
}

#[test]
fn a_parameter_change_lands_at_the_next_beat_within_five_seconds() {
    big_stack(|| {
        for bpm in [40.0, 60.0, 90.0] {
            let mut e: Box<Engine<'static>> = Box::new(
                Engine::new(2, SampleRate::HZ_48000, ctx(60, Mode::Aeolian, bpm, 0.5)).unwrap(),
            );
            let mut chunk = Box::new(AudioChunk::new());
            for _ in 0..77 {
                e.next_chunk(&mut chunk);
            }
            // Rapid changes: the last one wins.
            e.set_context(ctx(62, Mode::Dorian, bpm, 0.2));
            e.set_context(ctx(67, Mode::Lydian, 85.0, 0.9));
            let asked = e.frame();
            let mut landed = None;
            for _ in 0..60 {
                let info = e.next_chunk(&mut chunk);
                if let Some(p) = info.params {
                    assert!(landed.is_none(), "announced twice");
                    landed = Some((chunk.start_frame, p));
                }
            }
            let (frame, p) = landed.expect("the change never landed");
            assert_eq!((p.key(), p.mode(), p.bpm()), (67, Mode::Lydian, 85.0));
            let secs = (frame - asked) as f64 / 48_000.0;
            assert!(
                secs <= 5.0,
                "bpm {bpm}: landed {secs:.2} s after the request"
            );
            assert_eq!(e.context().mode(), Mode::Lydian);
        }
    });
}

#[test]
fn same_seed_same_chunks() {
    big_stack(|| {
        let run = || stream(77, 48_000, ctx(65, Mode::Mixolydian, 55.0, 0.6), 30);
        let (a, b) = (run(), run());
        assert!(a == b);
        let h = auralis_tests::fnv::fnv1a64(
            auralis_tests::fnv::FNV_START,
            a.iter()
                .flat_map(|v| auralis_core::engine::to_pcm(*v).to_le_bytes()),
        );
        // Changes to the composer, synthesizer or mix change this: update
        // it deliberately, after listening. Re-pinned for the voice
        // renderer in lanes: 61 dB SNR against e67e942's output (the
        // differences are rounding: exact cubic weights, one gain per
        // control block, the reverb's sides from its mixing butterfly, a
        // polynomial exp2 whose pitch differs by under 0.001 cent).
        // Re-pinned for the chorus sweep's fixed-point phase (see
        // auralis-core/tests/synth_real.rs): 68 dB SNR over a stream's
        // first 2 s, falling as the old, 0.073 % slow sweep drifts away.
        assert_eq!(
            h, 0x3d29_d353_6aa9_1cdd,
            "engine golden hash changed: {h:#018x}"
        );
    });
}

#[test]
fn the_engine_plays_exactly_what_the_composer_writes() {
    // `compose` writes the composer's phrases to MIDI; `render` and the
    // server play the engine's: for the same seed and context they must be
    // the same phrases.
    big_stack(|| {
        use auralis_core::music::{Composer, PhraseBars};
        let c = ctx(62, Mode::Dorian, 66.0, 0.5);
        let mut composer = Composer::new(7, SampleRate::HZ_44100, c);
        let mut e: Box<Engine<'static>> =
            Box::new(Engine::new(7, SampleRate::HZ_44100, c).unwrap());
        let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
        let mut compared = 0;
        while compared < 5 {
            e.render(&mut l, &mut r);
            if e.phrase().end > 0 && e.phrase().start == composer.position() {
                let want = composer.next_phrase(PhraseBars::Eight);
                assert_eq!(e.phrase(), &want);
                compared += 1;
            }
        }
    });
}

#[test]
fn the_seed_interface_composes_then_renders_phrases() {
    use auralis_core::engine::{PhraseEngine, SynthesisEngine};
    use auralis_core::music::PhraseBars;
    big_stack(|| {
        let mut e: Box<PhraseEngine<'static>> = Box::new(
            PhraseEngine::new(4, SampleRate::HZ_44100, MusicalContext::default()).unwrap(),
        );
        assert!(SynthesisEngine::device(&*e).starts_with("CPU"));
        let mut out_l = Vec::new();
        for (c, bars) in [
            (ctx(60, Mode::Aeolian, 60.0, 0.5), PhraseBars::Eight),
            (ctx(62, Mode::Dorian, 90.0, 0.8), PhraseBars::Sixteen),
        ] {
            let phrase = e.generate_phrase(c, bars);
            assert_eq!(phrase.context, c);
            let frames = (u64::from(bars.get()) * 4 * 60 * 44_100) as f64 / f64::from(c.bpm());
            assert_eq!((phrase.end - phrase.start) as f64, frames.floor());
            let (mut l, mut r) = (vec![0f32; 44_100 * 70], vec![0f32; 44_100 * 70]);
            let n = e.render_phrase(&phrase, &mut l, &mut r);
            assert_eq!(n as u64, phrase.end - phrase.start);
            assert!(l[..n].iter().chain(&r[..n]).all(|v| v.abs() <= 1.0));
            out_l.extend_from_slice(&l[..n]);
        }
        // A phrase put together by hand with its end before its start
        // renders nothing and does not panic.
        let mut odd = e.generate_phrase(MusicalContext::default(), PhraseBars::Eight);
        odd.end = odd.start.saturating_sub(1);
        let (mut l, mut r) = (vec![0f32; 100], vec![0f32; 100]);
        assert_eq!(e.render_phrase(&odd, &mut l, &mut r), 0);
        // Consecutive phrases join without a silent gap.
        for (i, w) in out_l.chunks(4410).enumerate().skip(20) {
            let rms = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
            assert!(rms > 1e-3, "window {i} is silent");
        }
    });
}

/// The seed's phrase interface used in the middle of a stream leaves the
/// stream where it was: its frame count, its chunk numbers, its
/// parameters and its composition go on as if nothing had happened
/// (before, a rendered phrase moved the stream's frame count by its
/// length and its composed phrase left the stream a phrase of silence).
#[test]
fn the_seed_interface_does_not_move_a_running_stream() {
    use auralis_core::engine::{PhraseEngine, SynthesisEngine};
    use auralis_core::music::PhraseBars;
    big_stack(|| {
        let c = ctx(60, Mode::Aeolian, 70.0, 0.6);
        let mut e: Box<Engine<'static>> =
            Box::new(Engine::new(9, SampleRate::HZ_44100, c).unwrap());
        let mut plain: Box<Engine<'static>> =
            Box::new(Engine::new(9, SampleRate::HZ_44100, c).unwrap());
        let mut chunk = Box::new(AudioChunk::new());
        for _ in 0..150 {
            e.next_chunk(&mut chunk);
            plain.next_chunk(&mut chunk);
        }
        let (frame, phrase_start) = (e.frame(), e.phrase().start);
        // A phrase in other parameters, composed and rendered in between
        // by the seed's phrase interface (an engine of its own).
        let mut phrases: Box<PhraseEngine<'static>> =
            Box::new(PhraseEngine::new(9, SampleRate::HZ_44100, c).unwrap());
        let phrase = phrases.generate_phrase(ctx(62, Mode::Lydian, 88.0, 0.3), PhraseBars::Eight);
        let (mut l, mut r) = (vec![0f32; 44_100 * 30], vec![0f32; 44_100 * 30]);
        let n = phrases.render_phrase(&phrase, &mut l, &mut r);
        assert!(n > 44_100 * 10);
        assert_eq!(e.frame(), frame, "the stream's frame count moved");
        assert_eq!(e.context(), c, "the stream's parameters changed");
        assert_eq!(e.phrase().start, phrase_start);
        // The stream goes on: the same chunk numbers, phrases and chords
        // as a stream that never saw the phrase interface, and sound in
        // every second of the next 60.
        let mut quiet = 0;
        for i in 0..600u64 {
            let info = e.next_chunk(&mut chunk);
            let rms = (chunk
                .samples()
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                / chunk.samples().len() as f64)
                .sqrt();
            if rms < 30.0 {
                quiet += 1;
            }
            let other = plain.next_chunk(&mut Box::new(AudioChunk::new()));
            assert_eq!(info.seq, other.seq, "chunk {i}");
            assert_eq!(e.frame(), plain.frame());
            assert_eq!(e.phrase().start, plain.phrase().start, "chunk {i}");
            assert_eq!(e.chord(), plain.chord(), "chunk {i}");
        }
        assert!(
            quiet < 10,
            "{quiet} of 600 chunks near silent after the phrase"
        );
    });
}

#[test]
fn composing_off_hands_the_synth_to_the_host_and_on_resumes_the_music() {
    use auralis_core::synth::MidiEvent;
    big_stack(|| {
        let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
        let mut e: Box<Engine<'static>> =
            Box::new(Engine::new(3, SampleRate::HZ_44100, MusicalContext::DEFAULT).unwrap());
        let (mut l, mut r) = (vec![0f32; 44_100], vec![0f32; 44_100]);
        for _ in 0..10 {
            e.render(&mut l, &mut r);
        }
        assert!(rms(&l) > 1e-3, "music");
        e.set_composing(false);
        assert!(!e.is_composing());
        // Every composed note is released: after the tails, silence.
        for _ in 0..15 {
            e.render(&mut l, &mut r);
        }
        assert!(rms(&l) < 1e-4, "silent once the tails end: {}", rms(&l));
        // The host's own notes play, and obey its polyphony limit.
        e.set_polyphony(2);
        for key in [60, 64, 67, 71] {
            e.play(MidiEvent::NoteOn {
                channel: 0,
                key,
                velocity: 100,
            })
            .unwrap();
        }
        assert!(e.active_voices() <= 2, "{}", e.active_voices());
        e.render(&mut l, &mut r);
        assert!(rms(&l) > 1e-3, "the host's notes sound");
        for key in [60, 64, 67, 71] {
            e.play(MidiEvent::NoteOff { channel: 0, key }).unwrap();
        }
        e.set_polyphony(64);
        // Back on, with new parameters: the composer starts at once and
        // says so.
        e.set_context(MusicalContext::DEFAULT.with_preset(Preset::Bright));
        e.set_composing(true);
        let changed = e.render(&mut l, &mut r);
        assert_eq!(changed.map(|c| c.mode()), Some(Mode::Lydian));
        assert!(
            e.phrase().start >= 26 * 44_100,
            "the phrase starts where the music resumed"
        );
        for _ in 0..5 {
            e.render(&mut l, &mut r);
        }
        assert!(rms(&l) > 1e-3, "music again");
    });
}

#[test]
fn init_in_place_restarts_exactly_and_a_bad_font_changes_nothing() {
    big_stack(|| {
        let fresh = stream(5, 44_100, MusicalContext::DEFAULT, 3);
        // An engine that has played a while, re-initialised in place, is
        // the fresh engine again, sample for sample.
        let mut e: Box<Engine<'static>> = Box::new(Engine::idle());
        e.init(
            9,
            SampleRate::HZ_48000,
            ctx(64, Mode::Lydian, 80.0, 0.9),
            auralis_core::bank::DEFAULT_SF2,
        )
        .unwrap();
        let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
        for _ in 0..50 {
            e.render(&mut l, &mut r);
        }
        e.init(
            5,
            SampleRate::HZ_44100,
            MusicalContext::DEFAULT,
            auralis_core::bank::DEFAULT_SF2,
        )
        .unwrap();
        let mut again = Vec::new();
        for _ in 0..30 {
            e.render(&mut l, &mut r);
            again.extend(l.iter().zip(&r).flat_map(|(a, b)| [*a, *b]));
        }
        assert!(again == fresh);
        // A corrupt font or a bad rate is refused before anything changes:
        // the stream goes on as its twin's does.
        let mut twin: Box<Engine<'static>> =
            Box::new(Engine::new(5, SampleRate::HZ_44100, MusicalContext::DEFAULT).unwrap());
        let (mut tl, mut tr) = (vec![0f32; 4410], vec![0f32; 4410]);
        for _ in 0..30 {
            twin.render(&mut tl, &mut tr);
        }
        assert!(e
            .init(
                5,
                SampleRate::HZ_44100,
                MusicalContext::DEFAULT,
                b"RIFF\x04\0\0\0sfbk"
            )
            .is_err());
        assert!(e
            .init(
                5,
                SampleRate::new(44_101).unwrap(),
                MusicalContext::DEFAULT,
                auralis_core::bank::DEFAULT_SF2
            )
            .is_err());
        e.render(&mut l, &mut r);
        twin.render(&mut tl, &mut tr);
        assert!(l == tl && r == tr);
    });
}

#[test]
fn keys_carry_about_half_the_energy_and_the_pad_about_forty_percent() {
    use auralis_core::synth::MidiEvent;
    big_stack(|| {
        // Each part's energy over two minutes, the other muted (CC 7).
        let energy = |c: MusicalContext, mute: u8| {
            let mut e: Box<Engine<'static>> =
                Box::new(Engine::new(11, SampleRate::HZ_44100, c).unwrap());
            e.play(MidiEvent::ControlChange {
                channel: mute,
                controller: auralis_core::synth::cc::VOLUME,
                value: 0,
            })
            .unwrap();
            let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
            let mut sum = 0f64;
            for _ in 0..1200 {
                e.render(&mut l, &mut r);
                sum += l
                    .iter()
                    .chain(&r)
                    .map(|x| f64::from(*x).powi(2))
                    .sum::<f64>();
            }
            sum
        };
        let mut keys_total = 0.0;
        for p in Preset::ALL {
            let c = MusicalContext::DEFAULT.with_preset(p);
            let (keys, pad) = (energy(c, 1), energy(c, 0));
            let share = keys / (keys + pad);
            println!(
                "{p}: keys {:.0} %, pad {:.0} %",
                100.0 * share,
                100.0 * (1.0 - share)
            );
            // Sparse presets lean on the pad, busy ones on the keys.
            assert!((0.3..=0.7).contains(&share), "{p}: keys {share:.2}");
            keys_total += share / 4.0;
        }
        // Over the four presets: keys about half, the pad the rest (the
        // issue's 50 % and 40 %, read as shares of the two parts).
        assert!((0.45..=0.6).contains(&keys_total), "keys {keys_total:.2}");
    });
}

#[test]
fn the_drone_holds_the_root_two_octaves_down_and_follows_the_key() {
    big_stack(|| {
        let mut e: Box<Engine<'static>> = Box::new(
            Engine::new(21, SampleRate::HZ_44100, ctx(62, Mode::Dorian, 60.0, 0.5)).unwrap(),
        );
        // Before anything is rendered, the engine reports what it was made
        // with (it used to say the default, aeolian in C).
        assert_eq!((e.context().key(), e.context().mode()), (62, Mode::Dorian));
        let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
        assert_eq!(e.drone_note(), None, "off by default");
        e.set_drone(true);
        e.render(&mut l, &mut r);
        assert_eq!(e.drone_note(), Some(38), "D two octaves below D4");
        let voices_with = e.active_voices();
        for _ in 0..30 {
            e.render(&mut l, &mut r);
        }
        // A new key moves it when the new phrase begins.
        e.set_context(ctx(67, Mode::Dorian, 60.0, 0.5));
        let mut moved = false;
        for _ in 0..50 {
            if e.render(&mut l, &mut r).is_some() {
                moved = true;
            }
        }
        assert!(moved);
        assert_eq!(e.drone_note(), Some(43), "G2");
        // Off releases it; a twin without the drone never had it.
        e.set_drone(false);
        assert_eq!(e.drone_note(), None);
        let mut twin: Box<Engine<'static>> = Box::new(
            Engine::new(21, SampleRate::HZ_44100, ctx(62, Mode::Dorian, 60.0, 0.5)).unwrap(),
        );
        twin.render(&mut l, &mut r);
        assert!(
            voices_with > twin.active_voices(),
            "the drone is a voice of its own"
        );
        assert_eq!(twin.drone_note(), None);
    });
}

#[test]
fn the_chord_sounding_follows_the_phrase_and_fits_the_mode() {
    big_stack(|| {
        let c = ctx(62, Mode::Dorian, 60.0, 0.5);
        let mut e: Box<Engine<'static>> =
            Box::new(Engine::new(11, SampleRate::HZ_44100, c).unwrap());
        assert_eq!(e.chord(), None, "nothing sounds before the first chunk");
        let mut chunk = Box::new(AudioChunk::new());
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1200 {
            e.next_chunk(&mut chunk);
            let chord = e.chord().expect("a chord sounds while the stream plays");
            // The chord is the span of the phrase that covers the last frame.
            let at = e.frame() - 1;
            let span = e
                .phrase()
                .chords
                .spans()
                .iter()
                .rfind(|s| s.start <= at)
                .unwrap();
            assert_eq!(chord, span.chord);
            // Diatonic in D dorian: its root is in the scale.
            assert!(c.scale().contains(chord.root()), "{chord:?}");
            seen.insert(chord.harte(c.spelling()).to_string());
        }
        assert!(seen.len() >= 2, "two minutes move through chords: {seen:?}");
    });
}

/// Rendering needs little stack: chunks render on a thread with 64 KiB
/// of it (the engine itself is built elsewhere and handed over in a box;
/// `Engine::idle` + `Engine::init` build it in place). This holds in any
/// build profile, the unoptimised one included (`bash .ci/run` runs this
/// test once more with the core at opt-level 0): the big lane kernels
/// are only inlined into each other in optimised builds.
#[test]
fn chunks_render_on_a_64_kib_stack() {
    let mut e: Box<Engine<'static>> = big_stack(|| {
        let mut e = Box::new(Engine::idle());
        e.init(
            5,
            SampleRate::HZ_44100,
            ctx(62, Mode::Dorian, 60.0, 0.5),
            auralis_core::bank::DEFAULT_SF2,
        )
        .unwrap();
        e
    });
    let rendered = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || {
            let mut pcm = vec![0i16; 2 * e.chunk_frames()];
            let mut chunk = Box::new(AudioChunk::new());
            let mut peak = 0i16;
            for _ in 0..100 {
                e.next_chunk_into(&mut pcm).unwrap();
                e.next_chunk(&mut chunk);
                peak = pcm
                    .iter()
                    .chain(chunk.samples())
                    .fold(peak, |m, v| m.max(v.abs()));
            }
            peak
        })
        .unwrap()
        .join()
        .expect("rendering overflowed a 64 KiB stack");
    assert!(rendered > 1000, "the chunks hold music: peak {rendered}");
}

/// The phrase interface composes the music a stream of the same seed and
/// parameters plays: the first phrases are the same, note for note.
#[test]
fn the_phrase_engine_composes_what_the_stream_plays() {
    use auralis_core::engine::{PhraseEngine, SynthesisEngine};
    use auralis_core::music::PhraseBars;
    big_stack(|| {
        let c = ctx(64, Mode::Dorian, 66.0, 0.5);
        let mut stream: Box<Engine<'static>> =
            Box::new(Engine::new(21, SampleRate::HZ_44100, c).unwrap());
        let mut phrases: Box<PhraseEngine<'static>> =
            Box::new(PhraseEngine::new(21, SampleRate::HZ_44100, c).unwrap());
        let mut chunk = Box::new(AudioChunk::new());
        for n in 0..3 {
            let expected = phrases.generate_phrase(c, PhraseBars::Eight);
            stream.next_chunk(&mut chunk);
            while stream.phrase().start < expected.start {
                stream.next_chunk(&mut chunk);
            }
            assert_eq!(stream.phrase(), &expected, "phrase {n}");
        }
    });
}
