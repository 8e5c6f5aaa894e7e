//! Behaviour of the composer over long runs: the musical rules of the
//! issue, checked on the events it produces.

use std::collections::{HashMap, HashSet};

use auralis_core::music::{
    Chord, ChordSpan, Composer, ContextError, MelodyNote, Mode, MusicalContext, NoteAction, Phrase,
    PhraseBars, Preset, Quality,
};
use auralis_core::SampleRate;
use proptest::prelude::*;

const SR: u32 = 44_100;

fn ctx(key: u8, mode: Mode, bpm: f32, intensity: f32) -> MusicalContext {
    MusicalContext::new(key, mode, bpm, intensity).unwrap()
}

/// Composes phrases until `minutes` of music exist.
fn stream(seed: u64, sr: u32, c: MusicalContext, bars: PhraseBars, minutes: f64) -> Vec<Phrase> {
    let mut composer = Composer::new(seed, SampleRate::new(sr).unwrap(), c);
    let limit = (minutes * 60.0 * f64::from(sr)) as u64;
    let mut out = Vec::new();
    while composer.position() < limit {
        out.push(composer.next_phrase(bars));
    }
    assert_eq!(composer.stats().dropped_events, 0);
    out
}

/// The scale of `c`, written out independently of the library.
fn scale_of(c: &MusicalContext) -> HashSet<u8> {
    let steps: &[u8] = match c.mode() {
        Mode::Ionian => &[0, 2, 4, 5, 7, 9, 11],
        Mode::Dorian => &[0, 2, 3, 5, 7, 9, 10],
        Mode::Phrygian => &[0, 1, 3, 5, 7, 8, 10],
        Mode::Lydian => &[0, 2, 4, 6, 7, 9, 11],
        Mode::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
        Mode::Aeolian => &[0, 2, 3, 5, 7, 8, 10],
    };
    steps.iter().map(|s| (c.key_pc() + s) % 12).collect()
}

/// Pitch classes of a chord, from its quality's spelled-out intervals.
fn tones(chord: &Chord) -> HashSet<u8> {
    let iv: &[u8] = match chord.quality() {
        Quality::Major => &[0, 4, 7],
        Quality::Minor => &[0, 3, 7],
        Quality::Sus2 => &[0, 2, 7],
        Quality::Sus4 => &[0, 5, 7],
        Quality::MajorAdd9 => &[0, 4, 7, 2],
        Quality::MinorAdd9 => &[0, 3, 7, 2],
        Quality::Major7 => &[0, 4, 7, 11],
        Quality::Minor7 => &[0, 3, 7, 10],
        Quality::Dominant7 => &[0, 4, 7, 10],
    };
    iv.iter().map(|i| (chord.root() + i) % 12).collect()
}

/// Every chord change of a stream, as (start sample, chord).
fn changes(phrases: &[Phrase]) -> Vec<(u64, Chord)> {
    phrases
        .iter()
        .flat_map(|p| {
            p.chords
                .spans()
                .iter()
                .filter(|s| s.changed)
                .map(|s: &ChordSpan| (s.start, s.chord))
        })
        .collect()
}

fn chord_at(phrase: &Phrase, t: u64) -> Chord {
    phrase
        .chords
        .spans()
        .iter()
        .rev()
        .find(|s| s.start <= t)
        .unwrap()
        .chord
}

#[test]
fn same_seed_same_events_and_a_pinned_golden_hash() {
    let c = ctx(62, Mode::Dorian, 60.0, 0.5);
    let a = stream(7, SR, c, PhraseBars::Eight, 20.0);
    let b = stream(7, SR, c, PhraseBars::Eight, 20.0);
    assert_eq!(a, b);
    let other = stream(8, SR, c, PhraseBars::Eight, 20.0);
    assert_ne!(a, other);

    // FNV-1a over every event of the first 10 minutes. Any change to the
    // composer's choices changes this number: update it deliberately.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in a.iter().filter(|p| p.start < 10 * 60 * u64::from(SR)) {
        for s in p.chords.spans() {
            eat(s.start);
            eat(u64::from(s.chord.root()) << 8 | s.chord.quality() as u64);
        }
        for e in p.chords.pad() {
            let v = match e.action {
                NoteAction::On { velocity } => u64::from(velocity),
                NoteAction::Off => 0,
            };
            eat(e.time ^ u64::from(e.pitch) << 56 ^ v << 48);
        }
        for n in p.melody.notes() {
            eat(n.start);
            eat(n.end);
            eat(u64::from(n.pitch) << 8 | u64::from(n.velocity));
        }
    }
    assert_eq!(h, GOLDEN, "golden hash changed: {h:#018x}");
}

const GOLDEN: u64 = 0x01fb_5bf5_7369_d6ba;

#[test]
fn melody_tone_mix_in_every_mode() {
    for (i, mode) in Mode::ALL.into_iter().enumerate() {
        let c = ctx(60 + 2 * i as u8, mode, 60.0, 0.6);
        let phrases = stream(100 + i as u64, SR, c, PhraseBars::Eight, 60.0);
        let scale = scale_of(&c);
        let (mut chord, mut other, mut chromatic) = (0usize, 0usize, 0usize);
        for p in &phrases {
            let notes = p.melody.notes();
            for (k, n) in notes.iter().enumerate() {
                let pc = n.pitch % 12;
                if tones(&chord_at(p, n.start)).contains(&pc) {
                    chord += 1;
                } else if scale.contains(&pc) {
                    other += 1;
                } else {
                    chromatic += 1;
                    // A chromatic note resolves by step to a scale tone,
                    // straight away.
                    let next = notes.get(k + 1).expect("chromatic note ends a phrase");
                    assert_eq!(
                        next.start, n.end,
                        "{mode}: chromatic note not followed at once"
                    );
                    assert!(
                        next.pitch.abs_diff(n.pitch) <= 2,
                        "{mode}: resolution leaps"
                    );
                    assert!(
                        scale.contains(&(next.pitch % 12)),
                        "{mode}: resolves off the scale"
                    );
                }
            }
        }
        let total = (chord + other + chromatic) as f64;
        assert!(total >= 2000.0, "{mode}: only {total} notes");
        let (fc, fo, fx) = (
            chord as f64 / total,
            other as f64 / total,
            chromatic as f64 / total,
        );
        println!("{mode}: {total} notes, chord {fc:.3}, scale {fo:.3}, chromatic {fx:.3}");
        assert!((0.65..=0.75).contains(&fc), "{mode}: chord tones {fc:.3}");
        assert!((0.20..=0.30).contains(&fo), "{mode}: scale tones {fo:.3}");
        assert!(fx <= 0.08 && fx > 0.0, "{mode}: chromatic {fx:.3}");
    }
}

#[test]
fn no_major_dominant_resolves_to_the_tonic() {
    for mode in Mode::ALL {
        let c = ctx(64, mode, 90.0, 0.5);
        let ch = changes(&stream(5, SR, c, PhraseBars::Sixteen, 600.0));
        assert!(ch.len() > 300, "{mode}: {} changes", ch.len());
        for w in ch.windows(2) {
            let (a, b) = (w[0].1, w[1].1);
            assert_ne!(a.degree(), b.degree(), "{mode}: a chord repeated");
            let dominant = a.degree() == 4 && a.quality().is_major();
            assert!(!(dominant && b.degree() == 0), "{mode}: V to I");
        }
    }
}

#[test]
fn tonic_is_at_most_forty_percent_and_phrases_do_not_restart_on_it() {
    for mode in Mode::ALL {
        let c = ctx(65, mode, 60.0, 0.5);
        let phrases = stream(11, SR, c, PhraseBars::Eight, 600.0);
        let ch = changes(&phrases);
        let tonic = ch.iter().filter(|(_, c)| c.degree() == 0).count();
        let share = tonic as f64 / ch.len() as f64;
        assert!(share <= 0.40, "{mode}: tonic share {share:.2}");
        let tonic_starts = phrases
            .iter()
            .filter(|p| p.chords.spans()[0].chord.degree() == 0)
            .count();
        assert!(
            tonic_starts < phrases.len() / 2,
            "{mode}: phrases start on the tonic"
        );
    }
}

#[test]
fn every_quality_is_used() {
    let mut seen = HashSet::new();
    for mode in Mode::ALL {
        for (_, chord) in changes(&stream(
            3,
            SR,
            ctx(60, mode, 90.0, 0.5),
            PhraseBars::Eight,
            300.0,
        )) {
            seen.insert(chord.quality());
        }
    }
    for q in [
        Quality::Major,
        Quality::Minor,
        Quality::Sus2,
        Quality::Sus4,
        Quality::MajorAdd9,
        Quality::MinorAdd9,
        Quality::Major7,
        Quality::Minor7,
    ] {
        assert!(seen.contains(&q), "{q:?} never used");
    }
}

#[test]
fn every_chord_holds_thirty_to_ninety_seconds() {
    for (bpm, bars, sr) in [
        (40.0, PhraseBars::Eight, 44_100),
        (40.0, PhraseBars::Sixteen, 48_000),
        (63.5, PhraseBars::Eight, 44_100),
        (90.0, PhraseBars::Sixteen, 44_100),
        (90.0, PhraseBars::Eight, 48_000),
    ] {
        let phrases = stream(21, sr, ctx(67, Mode::Lydian, bpm, 0.5), bars, 240.0);
        let ch = changes(&phrases);
        for w in ch.windows(2) {
            let secs = (w[1].0 - w[0].0) as f64 / f64::from(sr);
            assert!(
                (30.0..=90.0).contains(&secs),
                "bpm {bpm}: chord held {secs:.1} s"
            );
        }
    }
}

#[test]
fn harmonic_rhythm_follows_tempo() {
    let mean_hold_beats = |bpm: f32| {
        let ch = changes(&stream(
            4,
            SR,
            ctx(60, Mode::Aeolian, bpm, 0.5),
            PhraseBars::Eight,
            240.0,
        ));
        let secs = (ch.last().unwrap().0 - ch[0].0) as f64 / f64::from(SR) / (ch.len() - 1) as f64;
        secs
    };
    // Faster music changes chords sooner in seconds, within the window.
    let slow = mean_hold_beats(45.0);
    let fast = mean_hold_beats(85.0);
    assert!(fast < slow, "slow {slow:.1} s, fast {fast:.1} s");
}

#[test]
fn pad_plays_full_chords_with_smooth_voice_leading() {
    for (i, mode) in Mode::ALL.into_iter().enumerate() {
        let c = ctx(62 + i as u8, mode, 50.0 + 8.0 * i as f32, 0.5);
        check_pad(&stream(9 + i as u64, SR, c, PhraseBars::Eight, 600.0));
    }
}

fn check_pad(phrases: &[Phrase]) {
    let mut sounding: Vec<u8> = Vec::new();
    let mut last_chord: Option<Chord> = None;
    for p in phrases {
        let mut pad = p.chords.pad().iter().peekable();
        while let Some(first) = pad.next() {
            let t = first.time;
            let before = sounding.clone();
            let mut apply = |e: &auralis_core::music::NoteEvent| match e.action {
                NoteAction::On { velocity } => {
                    assert!(!sounding.contains(&e.pitch), "pad note started twice");
                    assert!(velocity > 0);
                    sounding.push(e.pitch)
                }
                NoteAction::Off => {
                    let i = sounding
                        .iter()
                        .position(|&q| q == e.pitch)
                        .expect("off without on");
                    sounding.remove(i);
                }
            };
            apply(first);
            while let Some(e) = pad.next_if(|e| e.time == t) {
                apply(e);
            }
            assert!(
                (3..=4).contains(&sounding.len()),
                "pad has {} notes",
                sounding.len()
            );
            let chord = chord_at(p, t);
            if last_chord.is_some_and(|l| l != chord) {
                // A chord change: every chord tone sounds, common tones stay.
                let pcs: HashSet<u8> = sounding.iter().map(|p| p % 12).collect();
                let want = tones(&chord);
                assert!(
                    want.iter().all(|pc| pcs.contains(pc)),
                    "chord tones {want:?}, sounding {pcs:?}"
                );
                // Each common pitch class keeps sounding at a pitch it held.
                for &p in &before {
                    if want.contains(&(p % 12)) {
                        assert!(
                            sounding
                                .iter()
                                .any(|&q| q % 12 == p % 12 && before.contains(&q)),
                            "common tone {p} dropped: {before:?} -> {sounding:?}"
                        );
                    }
                }
                // The voices that move, move by small steps.
                for q in sounding.iter().filter(|q| !before.contains(q)) {
                    let step = before.iter().map(|p| p.abs_diff(*q)).min().unwrap();
                    assert!(
                        step <= 5,
                        "a voice leapt {step} semitones: {before:?} -> {sounding:?}"
                    );
                }
            }
            last_chord = Some(chord);
        }
    }
}

#[test]
fn melody_ranges_and_breathing() {
    for intensity in [0.0, 0.5, 1.0] {
        let phrases = stream(
            13,
            SR,
            ctx(71, Mode::Mixolydian, 75.0, intensity),
            PhraseBars::Sixteen,
            60.0,
        );
        let mut notes = 0;
        let mut velocities = HashSet::new();
        for p in &phrases {
            for n in p.melody.notes() {
                assert!((48..=96).contains(&n.pitch));
                assert!((20..=100).contains(&n.velocity));
                velocities.insert(n.velocity);
                notes += 1;
            }
            // Lines breathe: the melody is silent somewhere in every 4 bars.
            let bar = (p.end - p.start) / u64::from(p.bars.get());
            let mut t = p.start;
            while t < p.end {
                let silent = p
                    .melody
                    .notes()
                    .iter()
                    .filter(|n| n.start < t + 4 * bar && n.end > t)
                    .count();
                let covered: u64 = p
                    .melody
                    .notes()
                    .iter()
                    .filter(|n| n.start >= t && n.start < t + 4 * bar)
                    .map(|n| n.end - n.start)
                    .sum();
                assert!(silent > 0 && covered < 4 * bar, "no breath");
                t += 4 * bar;
            }
        }
        assert!(notes > 100);
        assert!(velocities.len() > 10, "velocity does not vary");
    }
    // Intensity thickens the line.
    let count = |i: f32| -> usize {
        stream(
            2,
            SR,
            ctx(60, Mode::Aeolian, 60.0, i),
            PhraseBars::Eight,
            30.0,
        )
        .iter()
        .map(|p| p.melody.notes().len())
        .sum()
    };
    assert!(count(1.0) > count(0.0) * 5 / 4);
}

#[test]
fn no_eight_bar_melody_repeats_within_an_hour() {
    for intensity in [0.0, 0.3, 0.7, 1.0] {
        for (bpm, bars) in [(90.0, PhraseBars::Eight), (40.0, PhraseBars::Sixteen)] {
            let phrases = stream(17, SR, ctx(60, Mode::Aeolian, bpm, intensity), bars, 60.0);
            let mut seen: HashMap<Vec<u8>, u64> = HashMap::new();
            for p in &phrases {
                let eight = (p.end - p.start) / (u64::from(p.bars.get()) / 8);
                let mut t = p.start;
                while t < p.end {
                    let pitches: Vec<u8> = p
                        .melody
                        .notes()
                        .iter()
                        .filter(|n| n.start >= t && n.start < t + eight)
                        .map(|n| n.pitch)
                        .collect();
                    if let Some(at) = seen.insert(pitches, t) {
                        panic!("intensity {intensity}, bpm {bpm}: melody at {t} repeats {at}");
                    }
                    t += eight;
                }
            }
        }
    }
}

#[test]
fn context_changes_apply_at_the_next_phrase_and_last_wins() {
    let mut composer = Composer::new(1, SampleRate::HZ_44100, ctx(60, Mode::Aeolian, 60.0, 0.5));
    let first = composer.next_phrase(PhraseBars::Eight);
    composer.set_context(ctx(62, Mode::Ionian, 80.0, 0.9));
    composer.set_context(ctx(64, Mode::Lydian, 90.0, 0.2));
    assert_eq!(composer.context().mode(), Mode::Aeolian);
    let second = composer.next_phrase(PhraseBars::Eight);
    assert_eq!(second.start, first.end);
    assert_eq!(second.context.mode(), Mode::Lydian);
    assert_eq!(second.context.key(), 64);
    // 8 bars at 90 BPM.
    assert_eq!(second.end - second.start, 32 * 60 * u64::from(SR) / 90);
    // The new key's chord starts right at the boundary, in the new mode.
    let span = second.chords.spans()[0];
    assert!(span.changed);
    let scale = scale_of(&second.context);
    assert!(tones(&span.chord).iter().all(|pc| scale.contains(pc)));
    for n in second.melody.notes() {
        let pc = n.pitch % 12;
        assert!(scale.contains(&pc) || n.end - n.start < u64::from(SR));
    }
    // A preset keeps the key.
    composer.set_context(second.context.with_preset(Preset::Sleep));
    let third = composer.next_phrase(PhraseBars::Sixteen);
    assert_eq!(
        (
            third.context.key(),
            third.context.mode(),
            third.context.bpm()
        ),
        (64, Mode::Phrygian, 40.0)
    );
}

#[test]
fn sample_rates_scale_event_times() {
    let c = ctx(60, Mode::Dorian, 60.0, 0.5);
    let a = stream(5, 44_100, c, PhraseBars::Eight, 2.0);
    let b = stream(5, 48_000, c, PhraseBars::Eight, 2.0);
    for (pa, pb) in a.iter().zip(&b) {
        assert_eq!(pa.melody.notes().len(), pb.melody.notes().len());
        for (na, nb) in pa.melody.notes().iter().zip(pb.melody.notes()) {
            assert_eq!(na.pitch, nb.pitch);
            assert_eq!(na.start * 48_000 / 44_100, nb.start);
        }
    }
}

#[test]
fn bad_input_is_refused_with_clear_errors() {
    assert!(matches!(
        MusicalContext::new(12, Mode::Aeolian, 60.0, 0.5),
        Err(ContextError::Key(12))
    ));
    // Composers take a checked rate: the check is SampleRate's.
    assert!(SampleRate::new(1000).is_err());
    let e = SampleRate::new(1_000_000).unwrap_err();
    assert!(e.to_string().contains("1000000"), "{e}");
    let e = PhraseBars::try_from(12).unwrap_err();
    assert!(e.to_string().contains("8 or 16"), "{e}");
    let e = MusicalContext::new(60, Mode::Aeolian, 120.0, 0.5).unwrap_err();
    assert!(e.to_string().contains("40 to 90"), "{e}");
}

fn arb_context() -> impl Strategy<Value = MusicalContext> {
    (60u8..=71, 0usize..6, 40.0f32..=90.0, 0.0f32..=1.0)
        .prop_map(|(k, m, b, i)| MusicalContext::new(k, Mode::ALL[m], b, i).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn onsets_are_ordered_and_inside_their_phrase(
        seed in any::<u64>(),
        contexts in proptest::collection::vec(arb_context(), 1..6),
        sixteen in any::<bool>(),
        sr in prop_oneof![Just(44_100u32), Just(48_000u32)],
    ) {
        let bars = if sixteen { PhraseBars::Sixteen } else { PhraseBars::Eight };
        let mut composer = Composer::new(seed, SampleRate::new(sr).unwrap(), contexts[0]);
        let mut prev_end = 0;
        for c in contexts.iter().cycle().take(12) {
            composer.set_context(*c);
            let p = composer.next_phrase(bars);
            prop_assert_eq!(p.start, prev_end);
            prop_assert!(p.end > p.start);
            prev_end = p.end;
            let notes: &[MelodyNote] = p.melody.notes();
            prop_assert!(notes.windows(2).all(|w| w[0].start <= w[1].start && w[0].end <= w[1].start));
            prop_assert!(notes.iter().all(|n| n.start >= p.start && n.start < n.end && n.end <= p.end));
            let pad = p.chords.pad();
            prop_assert!(pad.windows(2).all(|w| w[0].time <= w[1].time));
            prop_assert!(pad.iter().all(|e| e.time >= p.start && e.time < p.end));
            let spans = p.chords.spans();
            prop_assert_eq!(spans[0].start, p.start);
            prop_assert!(spans.windows(2).all(|w| w[0].start < w[1].start));
            prop_assert!(spans.iter().all(|s| s.start < p.end));
        }
        prop_assert_eq!(composer.stats().dropped_events, 0);
    }
}

#[test]
fn restarting_before_a_chord_change_inside_the_phrase_is_safe() {
    // The engine cuts a phrase at the next beat when parameters change;
    // the cut may fall before a chord change the composer already made
    // later in that phrase. The chord's hold must restart at the cut.
    let mut checked = 0;
    for seed in 0..200 {
        let c = ctx(60, Mode::Dorian, 40.0, 0.5);
        let mut composer = Composer::new(seed, SampleRate::HZ_44100, c);
        for _ in 0..6 {
            let p = composer.next_phrase(PhraseBars::Sixteen);
            let Some(late) = p
                .chords
                .spans()
                .iter()
                .find(|s| s.changed && s.start > p.start)
            else {
                continue;
            };
            let cut = p.start + (late.start - p.start) / 2;
            composer.restart_at(cut);
            // Same key and mode: the chord carries on, and its hold is
            // measured from the cut.
            composer.set_context(c.with_bpm(55.0).unwrap());
            let next = composer.next_phrase(PhraseBars::Eight);
            assert_eq!(next.start, cut);
            let spans = next.chords.spans();
            assert_eq!(spans[0].start, cut);
            // The cut came before the phrase's chord changes, which were
            // never heard: the last chord starts at the cut, as a change.
            let last = p.chords.spans().iter().rev().find(|s| s.changed).unwrap();
            assert!(spans[0].changed && spans[0].chord == last.chord);
            // The pad was silenced by the cut: it is struck again at once.
            assert!(next.chords.pad().iter().any(|e| e.time == cut));
            // Every later change still respects the 30 s minimum hold.
            for w in spans.windows(2) {
                assert!(w[1].start - w[0].start >= 30 * u64::from(SR));
            }
            checked += 1;
            break;
        }
    }
    assert!(checked > 20, "only {checked} cuts exercised");
}
