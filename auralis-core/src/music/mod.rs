//! Composition: musical context, chords, the chord chain, pad voicings,
//! melodies and the composer that joins them into endless phrases.

mod chord;
mod composer;
mod context;
mod harmony;
mod melody;
mod voicing;

pub use chord::{Chord, Harte, Quality};
pub use composer::{
    ChordProgression, ChordSpan, Composer, ComposerError, ComposerStats, MelodyNote, MelodyPhrase,
    NoteAction, NoteEvent, Phrase, PhraseBars, MAX_CHORD_SPANS, MAX_MELODY_NOTES, MAX_PAD_EVENTS,
};
pub use context::{
    ContextError, Mode, MusicalContext, PitchClassSet, Preset, Spelling, BPM_MAX, BPM_MIN, KEY_MAX,
    KEY_MIN,
};
pub use harmony::transition_weight;
pub use melody::{MELODY_HIGH, MELODY_LOW};
pub use voicing::{Voicing, PAD_HIGH, PAD_LOW, PAD_VOICES};

/// Pulses per beat (quarter note) on the composer's grid, as in MIDI files
/// at 480 ticks per quarter note.
pub const PULSES_PER_BEAT: u32 = 480;
