//! The built-in bank is a real SoundFont: other synthesizers load it and
//! play it, and Auralis plays it in tune.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
use auralis_tests::skip::skip;

use std::process::Command;

use auralis_core::bank::{
    DEFAULT_SF2, PROGRAM_AIR_PAD, PROGRAM_GLASS_PAD, PROGRAM_KEYS, PROGRAM_WARM_PAD,
};
use auralis_core::synth::{SoundFontRenderer, Synth};
use auralis_core::SampleRate;

const PROGRAMS: [u8; 4] = [
    PROGRAM_KEYS,
    PROGRAM_AIR_PAD,
    PROGRAM_WARM_PAD,
    PROGRAM_GLASS_PAD,
];

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn rustysynth_loads_and_plays_every_preset() {
    let font = std::sync::Arc::new(
        rustysynth::SoundFont::new(&mut &DEFAULT_SF2[..]).expect("rustysynth loads the bank"),
    );
    let settings = rustysynth::SynthesizerSettings::new(44_100);
    for program in PROGRAMS {
        let mut synth = rustysynth::Synthesizer::new(&font, &settings).unwrap();
        synth.process_midi_message(0, 0xC0, i32::from(program), 0);
        synth.note_on(0, 60, 100);
        let (mut l, mut r) = (vec![0.0; 88_200], vec![0.0; 88_200]);
        synth.render(&mut l, &mut r);
        assert!(
            rms(&l[44_100..]) > 1e-3,
            "rustysynth is silent on program {program}"
        );
    }
}

#[test]
fn auralis_plays_every_preset_with_a_swell_for_pads() {
    for program in PROGRAMS {
        let mut s: Box<Synth<'_>> = Box::new(Synth::new(SampleRate::HZ_44100));
        s.load_soundfont(DEFAULT_SF2).unwrap();
        s.configure_reverb(0.5, 0.5, 0.0);
        s.program_change(0, program).unwrap();
        s.note_on(0, 57, 100).unwrap();
        let (mut l, mut r) = (vec![0.0; 132_300], vec![0.0; 132_300]);
        s.render(&mut l, &mut r);
        let early = rms(&l[..4410]);
        let later = rms(&l[88_200..]);
        assert!(later > 1e-3, "program {program} is silent");
        if program == PROGRAM_KEYS {
            assert!(
                early > 0.5 * later,
                "keys should speak at once: {early} vs {later}"
            );
        } else {
            assert!(early < 0.3 * later, "pads should swell: {early} vs {later}");
        }
    }
}

#[test]
fn fluidsynth_loads_and_plays_it() {
    let dir = std::env::temp_dir().join(format!("auralis-bank-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sf2 = dir.join("default.sf2");
    std::fs::write(&sf2, DEFAULT_SF2).unwrap();
    // A one-note MIDI file per preset, written by hand: format 0, 480 tpq.
    for program in PROGRAMS {
        let mid = dir.join(format!("p{program}.mid"));
        let track: Vec<u8> = [
            &[0x00, 0xC0, program][..],
            &[0x00, 0x90, 60, 100],
            &[0x83, 0x60, 0x80, 60, 64], // 480 ticks later (0.5 s at 120 BPM)
            &[0x00, 0xFF, 0x2F, 0x00],
        ]
        .concat();
        let mut file = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk".to_vec();
        file.extend_from_slice(&(track.len() as u32).to_be_bytes());
        file.extend_from_slice(&track);
        std::fs::write(&mid, file).unwrap();
        let wav = dir.join(format!("p{program}.wav"));
        let out = match Command::new("fluidsynth")
            .args(["-ni", "-q", "-T", "wav", "-r", "44100", "-F"])
            .arg(&wav)
            .arg(&sf2)
            .arg(&mid)
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                skip(format_args!("fluidsynth: {e}"));
                return;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("error"),
            "fluidsynth: {stderr}"
        );
        let samples: Vec<f32> = hound::WavReader::open(&wav)
            .unwrap()
            .into_samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32_768.0)
            .collect();
        assert!(
            rms(&samples) > 1e-4,
            "fluidsynth rendered silence for program {program}"
        );
    }
}
