//! The SoundFont 2 synthesizer: a validated zero-copy view of a font
//! ([`SoundFont`]), voices with envelopes, LFOs and a resonant filter, a
//! fixed voice pool with priority stealing, sample-accurate events, and
//! reverb, chorus and a limiter ([`Synth`]).
//!
//! One job per file: `sf2` and `riff` read fonts, `params` turns zones
//! into generator values, `channel` keeps MIDI channel state, `event`
//! queues events, `voice` is one sounding note at control rate, `pool`
//! allocates and steals voices, `lanes` renders voices eight at a time
//! on the instruction set `simd` picks, `dsp` and `effects` hold the
//! signal processing, `mixer` runs the chain from voices to samples, and
//! `synthesizer` joins them.

pub mod cc;
mod channel;
mod dsp;
mod effects;
mod event;
mod lanes;
mod mixer;
mod params;
mod pool;
mod renderer;
mod riff;
mod sf2;
mod simd;
mod synthesizer;
mod voice;

pub use effects::ReverbSize;
pub use event::{FontId, MidiEvent, SynthError, EVENT_CAPACITY};
pub use renderer::{SoundFontRenderer, StreamRenderer};
pub use sf2::{
    Generator, InstrumentHeader, ModulatorRecord, PresetHeader, SampleHeader, SampleProblem,
    Sf2Error, SoundFont, Zone,
};
pub use simd::Simd;
pub use synthesizer::{Substitutions, Synth, SynthStats};
pub use voice::Interpolation;
/// Frames in a control block: envelopes, LFOs and filters are updated once
/// per block, and blocks start at whole multiples of it on the
/// synthesizer's timeline.
pub(crate) const BLOCK_FRAMES: usize = dsp::CONTROL_FRAMES as usize;

/// SoundFonts one synthesizer can hold at once.
pub const MAX_FONTS: usize = 4;
/// MIDI channels.
pub const CHANNELS: usize = 16;
