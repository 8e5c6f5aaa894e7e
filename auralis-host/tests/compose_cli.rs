//! `auralis-host compose`, run as a user runs it: the real binary, real
//! files, and the MIDI read back with a MIDI parser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use midly::{Format, MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auralis-host"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auralis-compose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn compose(out: &Path, args: &[&str]) -> Output {
    let o = bin()
        .arg("compose")
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// (absolute tick, event) pairs of one track.
fn absolute<'a>(track: &'a [midly::TrackEvent<'a>]) -> Vec<(u64, TrackEventKind<'a>)> {
    let mut t = 0u64;
    track
        .iter()
        .map(|e| {
            t += u64::from(e.delta.as_int());
            (t, e.kind)
        })
        .collect()
}

fn track_named<'a>(smf: &'a Smf<'a>, name: &str) -> Vec<(u64, TrackEventKind<'a>)> {
    smf.tracks
        .iter()
        .map(|t| absolute(t))
        .find(|t| t.iter().any(|(_, k)| matches!(k, TrackEventKind::Meta(MetaMessage::TrackName(n)) if *n == name.as_bytes())))
        .unwrap_or_else(|| panic!("no track named {name}"))
}

#[test]
fn writes_the_promised_midi_file() {
    let out = scratch("dorian.mid");
    compose(
        &out,
        &[
            "--seed",
            "7",
            "--minutes",
            "10",
            "--key",
            "62",
            "--mode",
            "dorian",
            "--bpm",
            "60",
            "--intensity",
            "0.5",
        ],
    );
    let bytes = std::fs::read(&out).unwrap();
    let smf = Smf::parse(&bytes).unwrap();
    assert_eq!(smf.header.format, Format::Parallel);
    assert_eq!(smf.header.timing, Timing::Metrical(480.into()));
    assert_eq!(smf.tracks.len(), 3);

    let conductor = absolute(&smf.tracks[0]);
    assert!(conductor.contains(&(
        0,
        TrackEventKind::Meta(MetaMessage::Tempo(1_000_000.into()))
    )));

    let chords = track_named(&smf, "chords");
    let melody = track_named(&smf, "melody");
    assert!(chords.contains(&(0, TrackEventKind::Meta(MetaMessage::Text(b"key D dorian")))));
    let program = |t: &[(u64, TrackEventKind<'_>)]| {
        t.iter()
            .find_map(|(_, k)| match k {
                TrackEventKind::Midi {
                    message: MidiMessage::ProgramChange { program },
                    ..
                } => Some(program.as_int()),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(program(&chords), 89);
    assert_eq!(program(&melody), 0);

    // Markers name every chord change in Harte notation, on bar lines,
    // 30–90 s apart (60 BPM: 480 ticks a second).
    let markers: Vec<(u64, String)> = chords
        .iter()
        .filter_map(|(t, k)| match k {
            TrackEventKind::Meta(MetaMessage::Marker(m)) => {
                Some((*t, String::from_utf8(m.to_vec()).unwrap()))
            }
            _ => None,
        })
        .collect();
    assert!(markers.len() >= 7, "{markers:?}");
    assert_eq!(markers[0].0, 0);
    let d_dorian = ["C", "D", "E", "F", "G", "A", "B"];
    let qualities = [
        "maj", "min", "sus2", "sus4", "maj(9)", "min(9)", "maj7", "min7", "7",
    ];
    for (t, m) in &markers {
        let (root, quality) = m
            .split_once(':')
            .unwrap_or_else(|| panic!("not Harte: {m}"));
        assert!(d_dorian.contains(&root), "{m}");
        assert!(qualities.contains(&quality), "{m}");
        assert_eq!(t % 1920, 0, "{m} not on a bar line");
    }
    for w in markers.windows(2) {
        let secs = (w[1].0 - w[0].0) as f64 / 480.0;
        assert!((30.0..=90.0).contains(&secs), "{w:?}");
    }

    // Every note that starts also stops, and the music lasts ten minutes.
    for track in [&chords, &melody] {
        let mut on = std::collections::HashMap::<u8, i32>::new();
        for (_, k) in track.iter() {
            if let TrackEventKind::Midi { message, .. } = k {
                match message {
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        *on.entry(key.as_int()).or_default() += 1
                    }
                    MidiMessage::NoteOff { key, .. } => *on.entry(key.as_int()).or_default() -= 1,
                    _ => {}
                }
            }
        }
        assert!(on.values().all(|&n| n == 0), "hanging notes: {on:?}");
    }
    let end = melody.last().unwrap().0;
    assert!(
        (600 * 480..=(600 + 32) * 480).contains(&end),
        "ends at tick {end}"
    );
    let notes = melody
        .iter()
        .filter(|(_, k)| {
            matches!(
                k,
                TrackEventKind::Midi {
                    message: MidiMessage::NoteOn { .. },
                    ..
                }
            )
        })
        .count();
    assert!(notes > 200, "{notes} melody notes in ten minutes");
}

#[test]
fn same_arguments_same_bytes_other_seed_other_music() {
    let (a, b, c) = (scratch("a.mid"), scratch("b.mid"), scratch("c.mid"));
    compose(&a, &["--seed", "7", "--minutes", "3", "--preset", "focus"]);
    compose(&b, &["--seed", "7", "--minutes", "3", "--preset", "focus"]);
    compose(&c, &["--seed", "8", "--minutes", "3", "--preset", "focus"]);
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The preset keeps the default key and sets dorian at 60 BPM.
    let smf = Smf::parse(&a).unwrap();
    assert!(track_named(&smf, "chords")
        .contains(&(0, TrackEventKind::Meta(MetaMessage::Text(b"key C dorian")))));
}

#[test]
fn every_preset_composes() {
    for (preset, text, tempo) in [
        ("focus", "key E dorian", 1_000_000),
        ("meditation", "key E aeolian", 1_200_000),
        ("sleep", "key E phrygian", 1_500_000),
        ("bright", "key E lydian", 857_143),
    ] {
        let out = scratch(&format!("{preset}.mid"));
        compose(
            &out,
            &[
                "--seed",
                "3",
                "--minutes",
                "2",
                "--key",
                "E",
                "--preset",
                preset,
                "--phrase-bars",
                "16",
            ],
        );
        let bytes = std::fs::read(&out).unwrap();
        let smf = Smf::parse(&bytes).unwrap();
        assert!(track_named(&smf, "chords")
            .contains(&(0, TrackEventKind::Meta(MetaMessage::Text(text.as_bytes())))));
        assert!(absolute(&smf.tracks[0])
            .contains(&(0, TrackEventKind::Meta(MetaMessage::Tempo(tempo.into())))));
    }
}

#[test]
fn a_missing_seed_is_chosen_and_printed() {
    let out = scratch("fresh.mid");
    let o = compose(&out, &["--minutes", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    let seed = err
        .split("--seed ")
        .nth(1)
        .expect("seed not printed")
        .trim()
        .to_string();
    let again = scratch("again.mid");
    compose(&again, &["--minutes", "1", "--seed", &seed]);
    assert_eq!(std::fs::read(out).unwrap(), std::fs::read(again).unwrap());
}

#[test]
fn bad_arguments_get_a_clear_message_and_no_panic() {
    let out = scratch("bad.mid");
    for (args, expect) in [
        (&["--bpm", "120"][..], "40 to 90"),
        (&["--bpm", "fast"][..], "not a tempo"),
        (&["--key", "72"][..], "60 (C) to 71 (B)"),
        (&["--key", "H"][..], "note name"),
        (&["--mode", "locrian"][..], "dorian"),
        (&["--intensity", "2"][..], "0.0 to 1.0"),
        (&["--minutes", "0"][..], "out of range"),
        (&["--phrase-bars", "12"][..], "8 or 16"),
        (&["--preset", "party"][..], "focus"),
        (
            &["--preset", "sleep", "--bpm", "60"][..],
            "cannot be used with",
        ),
        (&["--seed", "lots"][..], "--seed"),
    ] {
        let o = bin()
            .arg("compose")
            .arg("--out")
            .arg(&out)
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    assert!(!out.exists(), "a refused run wrote a file");
    let o = bin()
        .args([
            "compose",
            "--seed",
            "1",
            "--minutes",
            "1",
            "--out",
            "/nonexistent-dir/x.mid",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("cannot write /nonexistent-dir/x.mid"), "{err}");
}

#[test]
fn bank_writes_the_built_in_soundfont() {
    let out = scratch("bank.sf2");
    let o = bin().args(["bank", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes, auralis_core::bank::DEFAULT_SF2);
    assert!(auralis_core::synth::SoundFont::parse(&bytes).is_ok());
    let o = bin()
        .args(["bank", "--out", "/nonexistent-dir/x.sf2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write /nonexistent-dir/x.sf2"));
}
