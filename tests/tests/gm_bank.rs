//! The built-in bank is General MIDI complete: every program and every
//! drum of the standard kit sounds, and every channel of real General
//! MIDI files (Debian's openttd-openmsx) is audible with it. Fonts that
//! lack a program fall back to program 0, and say which.

use std::path::{Path, PathBuf};

use auralis_core::bank::DEFAULT_SF2;
use auralis_core::synth::{MidiEvent, SoundFontRenderer, Synth};
use auralis_core::SampleRate;
use auralis_tests::sf2_builder;

const SR: u32 = 44_100;
const RATE: SampleRate = SampleRate::HZ_44100;

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Half a second of `key` on `program` (or on the drum channel).
fn note(program: Option<u8>, key: u8) -> f32 {
    let mut s: Box<Synth<'_, 32>> = Box::new(Synth::new(RATE));
    s.load_soundfont(DEFAULT_SF2).unwrap();
    s.configure_reverb(0.0, 0.0, 0.0);
    let channel = match program {
        Some(p) => {
            s.program_change(0, p).unwrap();
            0
        }
        None => 9,
    };
    s.note_on(channel, key, 110).unwrap();
    let (mut l, mut r) = (vec![0f32; SR as usize / 2], vec![0f32; SR as usize / 2]);
    s.render(&mut l, &mut r);
    assert!(l.iter().chain(&r).all(|v| v.is_finite() && v.abs() <= 1.0));
    rms(&l).max(rms(&r))
}

#[test]
fn every_program_and_every_drum_sounds() {
    for program in 0..128u8 {
        for key in [36u8, 60, 84] {
            let level = note(Some(program), key);
            assert!(level > 1e-3, "program {program} key {key}: rms {level}");
        }
    }
    for key in 35..=81u8 {
        let level = note(None, key);
        assert!(level > 1e-3, "drum key {key}: rms {level}");
    }
}

fn openmsx_dir() -> Option<PathBuf> {
    let dir = Path::new("/usr/share/games/openttd/baseset/openmsx");
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} missing (CI must install openttd-openmsx: see .ci/run)",
        dir.display()
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {} is not installed (openttd-openmsx)",
        dir.display()
    );
    None
}

/// Up to 20 s of `channel`'s part of a timeline, from its first note,
/// with the built-in bank: the channel's own events only.
fn channel_level(events: &[(u64, MidiEvent)], channel: u8) -> Option<f32> {
    let first = events.iter().find_map(|(f, e)| match e {
        MidiEvent::NoteOn {
            channel: c,
            velocity,
            ..
        } if *c == channel && *velocity > 0 => Some(*f),
        _ => None,
    })?;
    let mut s: Box<Synth<'_, 64>> = Box::new(Synth::new(RATE));
    s.load_soundfont(DEFAULT_SF2).unwrap();
    let end = first + 20 * u64::from(SR);
    let mine: Vec<(u64, MidiEvent)> = events
        .iter()
        .filter(|(f, e)| {
            let c = match *e {
                MidiEvent::NoteOn { channel, .. }
                | MidiEvent::NoteOff { channel, .. }
                | MidiEvent::ControlChange { channel, .. }
                | MidiEvent::ProgramChange { channel, .. }
                | MidiEvent::PitchBend { channel, .. }
                | MidiEvent::ChannelPressure { channel, .. } => channel,
            };
            c == channel && *f < end
        })
        .copied()
        .collect();
    let (mut l, mut r) = (vec![0f32; 4096], vec![0f32; 4096]);
    let mut frame = 0u64;
    let mut it = mine.iter().peekable();
    let mut energy = 0f64;
    let mut counted = 0u64;
    while frame < end {
        while let Some((_, e)) = it.next_if(|(f, _)| *f <= frame) {
            let _ = s.apply(*e);
        }
        let next = it.peek().map_or(u64::MAX, |(f, _)| *f);
        let n = 4096u64.min(next - frame).min(end - frame).max(1) as usize;
        s.render(&mut l[..n], &mut r[..n]);
        if frame >= first {
            energy += l[..n]
                .iter()
                .chain(&r[..n])
                .map(|v| f64::from(*v) * f64::from(*v))
                .sum::<f64>();
            counted += 2 * n as u64;
        }
        frame += n as u64;
    }
    Some((energy / counted.max(1) as f64).sqrt() as f32)
}

#[test]
fn every_openmsx_file_is_audible_on_every_channel_that_plays() {
    let Some(dir) = openmsx_dir() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mid"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{} MIDI files", files.len());
    let mut checked = 0;
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(tl) = auralis_host::midi_file::read(&bytes, SR) else {
            continue;
        };
        for channel in 0..16u8 {
            if let Some(level) = channel_level(&tl.events, channel) {
                assert!(
                    level > 1e-4,
                    "{} channel {}: silent (rms {level})",
                    path.display(),
                    channel + 1
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} channels checked");
}

#[test]
fn a_font_without_a_program_plays_program_0_and_says_so() {
    // A one-preset font: program 0 only, no drum kit.
    let font = sf2_builder::tiny().bytes;
    let mut s: Box<Synth<'_, 8>> = Box::new(Synth::new(RATE));
    s.load_soundfont(&font).unwrap();
    s.program_change(0, 40).unwrap();
    s.program_change(1, 40).unwrap();
    s.program_change(2, 73).unwrap();
    s.note_on(0, 60, 100).unwrap();
    let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
    s.render(&mut l, &mut r);
    assert!(rms(&l) > 1e-3, "program 40 should fall back to program 0");
    let missing: Vec<u8> = s.substitutions().missing_programs().collect();
    assert_eq!(missing, [40, 73], "one entry per program, however often");
    s.note_on(9, 36, 100).unwrap();
    s.render(&mut l, &mut r);
    assert!(s.substitutions().drums, "no kit: recorded");
}
