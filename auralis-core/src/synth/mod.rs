//! The SoundFont 2 synthesizer: a validated zero-copy view of a font
//! ([`SoundFont`]), voices with envelopes, LFOs and a resonant filter, a
//! fixed voice pool with priority stealing, sample-accurate events, and
//! reverb, chorus and a limiter ([`Synth`]).

mod dsp;
mod effects;
mod params;
mod pool;
mod riff;
mod sf2;
mod voice;

pub use pool::{
    FontId, MidiEvent, SoundFontRenderer, Synth, SynthError, SynthStats, CHANNELS, EVENT_CAPACITY,
    MAX_FONTS,
};
pub use sf2::{
    Generator, InstrumentHeader, ModulatorRecord, PresetHeader, SampleHeader, SampleProblem,
    Sf2Error, SoundFont, Zone,
};
pub use voice::Interpolation;
