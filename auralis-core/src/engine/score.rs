//! How a phrase becomes MIDI events on the engine's channels, and the
//! engine's programs, mix and gain.

use super::{KEYS_CHANNEL, PAD_CHANNEL};
use crate::bank::{PROGRAM_AIR_PAD, PROGRAM_GLASS_PAD, PROGRAM_WARM_PAD};
use crate::music::{Mode, MusicalContext, NoteAction, Phrase};
use crate::synth::{cc, MidiEvent};

/// The drone's note: the key's root two octaves below the keys' octave.
pub(super) fn drone_root(context: &MusicalContext) -> u8 {
    context.key().saturating_sub(24)
}

/// Every event a phrase plays, in no particular order: the expression
/// for its intensity at its start, the pad, and the melody's ons and offs.
pub(super) fn phrase_events(phrase: &Phrase, mut push: impl FnMut(u64, MidiEvent)) {
    // Loudness follows intensity, but only half as much as the notes
    // alone would make it: expression at the phrase start (ramped by the
    // voices over one control block, so it cannot click).
    let expression = expression_for(phrase.context.intensity());
    for channel in [KEYS_CHANNEL, PAD_CHANNEL] {
        push(
            phrase.start,
            MidiEvent::ControlChange {
                channel,
                controller: cc::EXPRESSION,
                value: expression,
            },
        );
    }
    // The pad's colour follows the mode (for the notes the phrase starts;
    // sounding ones keep theirs).
    let program = pad_program(phrase.context.mode());
    push(
        phrase.start,
        MidiEvent::ProgramChange {
            channel: PAD_CHANNEL,
            program,
        },
    );
    for e in phrase.chords.pad() {
        let ev = match e.action {
            NoteAction::On { velocity } => MidiEvent::NoteOn {
                channel: PAD_CHANNEL,
                key: e.pitch,
                velocity,
            },
            NoteAction::Off => MidiEvent::NoteOff {
                channel: PAD_CHANNEL,
                key: e.pitch,
            },
        };
        push(e.time, ev);
    }
    for n in phrase.melody.notes() {
        push(
            n.start,
            MidiEvent::NoteOn {
                channel: KEYS_CHANNEL,
                key: n.pitch,
                velocity: n.velocity,
            },
        );
        push(
            n.end,
            MidiEvent::NoteOff {
                channel: KEYS_CHANNEL,
                key: n.pitch,
            },
        );
    }
}

/// The pad for a mode: the air pad for the bright major modes, the glass
/// pad for mixolydian, the warm pad for the minor ones.
pub const fn pad_program(mode: Mode) -> u8 {
    match mode {
        Mode::Lydian | Mode::Ionian => PROGRAM_AIR_PAD,
        Mode::Mixolydian => PROGRAM_GLASS_PAD,
        Mode::Aeolian | Mode::Dorian | Mode::Phrygian => PROGRAM_WARM_PAD,
    }
}

/// Master gain before the limiter, set so that intensity 0.5 plays at
/// about −18 LUFS with the built-in bank (see the loudness test).
pub const GAIN: f32 = 5.4;

/// The engine's mix as (channel, controller, value): keys a little above
/// the pad, both well into the reverb. A MIDI file that should sound like
/// the stream (`auralis-host compose`) sets the same.
pub const MIX: [(u8, u8, u8); 4] = [
    (KEYS_CHANNEL, cc::VOLUME, 112),
    (PAD_CHANNEL, cc::VOLUME, 92),
    (KEYS_CHANNEL, cc::REVERB_SEND, 70),
    (PAD_CHANNEL, cc::REVERB_SEND, 90),
];

/// Expression (CC11) for an intensity: 100 (−4.2 dB) at 0.5, up to
/// +3.5 dB at 0 and down 3.5 dB at 1, which halves how much louder dense,
/// hard-played music gets. The default expression modulator gives
/// 40·log10(v/127) dB. Each phrase starts with it on both channels.
pub fn expression_for(intensity: f32) -> u8 {
    let db = -4.15 + 7.0 * (0.5 - intensity);
    let v = 127.0 * libm::powf(10.0, db / 40.0);
    (v + 0.5).clamp(1.0, 127.0) as u8
}
