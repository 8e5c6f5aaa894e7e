//! What can go wrong asking the synthesizer for something.

use core::fmt;

use super::event::{MidiEvent, EVENT_CAPACITY};
use super::renderer::FontId;
use super::sf2::Sf2Error;
use super::MAX_FONTS;

/// What went wrong asking the synthesizer for something.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SynthError {
    /// The SoundFont failed validation.
    Font(Sf2Error),
    /// All font slots are in use.
    TooManyFonts,
    /// No font has this id.
    UnknownFont(FontId),
    /// The font has no preset with this bank and program.
    NoSuchPreset {
        /// Bank.
        bank: u16,
        /// Program.
        program: u8,
    },
    /// Channels are 0–15.
    Channel(u8),
    /// A data byte is out of range.
    Value(MidiEvent),
    /// The sample rate is outside 8–192 kHz.
    SampleRate(u32),
    /// The event queue is full; the event was not scheduled.
    QueueFull,
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::Font(e) => write!(f, "{e}"),
            SynthError::TooManyFonts => write!(
                f,
                "no room for another SoundFont: at most {MAX_FONTS} can be loaded"
            ),
            SynthError::UnknownFont(id) => write!(f, "no SoundFont is loaded with id {}", id.0),
            SynthError::NoSuchPreset { bank, program } => {
                write!(
                    f,
                    "the SoundFont has no preset for bank {bank}, program {program}"
                )
            }
            SynthError::Channel(c) => write!(f, "channel {c} is out of range: use 0 to 15"),
            SynthError::Value(e) => write!(f, "a value in {e:?} is out of range"),
            SynthError::SampleRate(r) => {
                write!(f, "sample rate {r} Hz is not supported: use 8000 to 192000")
            }
            SynthError::QueueFull => write!(f, "the event queue is full ({EVENT_CAPACITY} events)"),
        }
    }
}

impl core::error::Error for SynthError {}

impl From<Sf2Error> for SynthError {
    fn from(e: Sf2Error) -> Self {
        SynthError::Font(e)
    }
}
