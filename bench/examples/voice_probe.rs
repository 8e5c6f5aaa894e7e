//! The per-voice benchmark's workload without criterion, for instruction
//! counts: `N` voices (16 unless told) of TimGM6mb's organ (program 19),
//! effects off, `BLOCKS` renders of 4,410 frames (100 unless told).
//! `valgrind --tool=callgrind target/release/examples/voice_probe`.

use auralis_core::synth::{SoundFontRenderer, Synth};
use auralis_core::SampleRate;

fn main() {
    let var = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, blocks) = (var("N", 16), var("BLOCKS", 100));
    let font = std::fs::read("/usr/share/sounds/sf2/TimGM6mb.sf2").expect("TimGM6mb");
    let mut s: Box<Synth<'_, 256>> = Box::new(Synth::new(SampleRate::HZ_44100));
    s.load_soundfont(&font).expect("font");
    s.configure_reverb(0.0, 0.0, 0.0);
    for ch in 0..8 {
        s.program_change(ch, 19).expect("program");
    }
    s.note_on(0, 30, 100).expect("note");
    let per_note = s.active_voices().max(1);
    s.all_sound_off(0).expect("off");
    let (mut l, mut r) = (vec![0f32; 4410], vec![0f32; 4410]);
    s.render(&mut l, &mut r);
    for i in 0..n / per_note {
        s.note_on((i % 8) as u8, 36 + (i / 8) as u8 * 2, 100)
            .expect("note");
    }
    let mut sum = 0f64;
    for _ in 0..blocks {
        s.render(&mut l, &mut r);
        sum += l.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    println!("voices {}, sum {sum}", s.active_voices());
}
