//! Criterion benchmarks for Auralis (see `benches/`), and the workloads
//! they share with the probes in `examples/` (run under callgrind).

use auralis_core::synth::{Interpolation, SoundFontRenderer, Synth};
use auralis_core::SampleRate;

/// TimGM6mb, Debian's `timgm6mb-soundfont`.
pub const TIMGM6MB: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";

/// The organ the per-voice workload holds: General MIDI program 19,
/// looped samples that never end.
pub const ORGAN: u8 = 19;

/// Frames in one render of the per-voice workload (100 ms at 44.1 kHz).
pub const BLOCK: usize = 4410;

/// Reads a file the benchmarks need, saying which package provides it.
///
/// # Panics
/// When the file cannot be read: a benchmark cannot run without it.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e}: install timgm6mb-soundfont and openttd-openmsx"))
}

/// (channel, key) of the organ notes that make `n` voices when each note
/// plays `per_note` voices: channels 0–7 in turn, keys rising by a tone
/// every eight notes from 36.
pub fn organ_notes(n: usize, per_note: usize) -> Vec<(u8, u8)> {
    (0..n / per_note.max(1))
        .map(|i| ((i % 8) as u8, 36 + (i / 8) as u8 * 2))
        .collect()
}

/// Auralis holding `n` organ voices from `font` (TimGM6mb) at
/// `interpolation`, effects off, with one block already rendered since
/// the notes started. Also returns how many voices one note plays, for
/// giving the peers the same notes ([`organ_notes`]).
///
/// # Panics
/// When the font does not load or lacks the organ.
pub fn held_organ(
    font: &[u8],
    n: usize,
    interpolation: Interpolation,
) -> (Box<Synth<'_, 256>>, usize) {
    let mut s: Box<Synth<'_, 256>> = Box::new(Synth::new(SampleRate::HZ_44100));
    s.load_soundfont(font).expect("font");
    s.set_interpolation(interpolation);
    s.configure_reverb(0.0, 0.0, 0.0);
    for ch in 0..8 {
        s.program_change(ch, ORGAN).expect("program");
    }
    // One trial note counts the voices a note plays.
    s.note_on(0, 30, 100).expect("note");
    let per_note = s.active_voices().max(1);
    s.all_sound_off(0).expect("off");
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    s.render(&mut l, &mut r);
    for (ch, key) in organ_notes(n, per_note) {
        s.note_on(ch, key, 100).expect("note");
    }
    s.render(&mut l, &mut r);
    (s, per_note)
}
