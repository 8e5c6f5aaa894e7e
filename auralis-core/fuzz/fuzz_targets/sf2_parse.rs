//! Any bytes: the parser returns an error or a view, never panics; and a
//! font it accepts can be played without panicking or leaving [-1, 1].

#![no_main]

use auralis_core::SampleRate;
use auralis_core::synth::{SoundFont, SoundFontRenderer, Synth};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if SoundFont::parse(data).is_err() {
        return;
    }
    let mut synth: Box<Synth<'_, 8>> = Box::new(Synth::new(SampleRate::HZ_44100));
    if synth.load_soundfont(data).is_err() {
        return;
    }
    let (mut l, mut r) = ([0f32; 128], [0f32; 128]);
    for program in [0u8, 1, 127] {
        let _ = synth.program_change(0, program);
        for key in [0u8, 60, 127] {
            let _ = synth.note_on(0, key, 127);
        }
        synth.render(&mut l, &mut r);
        assert!(l.iter().chain(r.iter()).all(|v| v.is_finite() && v.abs() <= 1.0));
    }
});
