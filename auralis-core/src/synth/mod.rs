//! The SoundFont 2 synthesizer: a validated zero-copy view of a font
//! ([`SoundFont`]), and (growing) the voices, pool and effects that play it.

mod riff;
mod sf2;

pub use sf2::{
    Generator, InstrumentHeader, ModulatorRecord, PresetHeader, SampleHeader, SampleProblem, Sf2Error, SoundFont, Zone,
};
