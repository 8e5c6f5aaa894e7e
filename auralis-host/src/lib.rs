//! The std side of Auralis, as a library: the streaming [`server`], reading Standard MIDI Files into
//! sample-timed events, and (with the `rustysynth` feature) a second
//! [`SoundFontRenderer`] over the `rustysynth` crate that proves the trait
//! swappable and serves as the reference in differential tests.
//!
//! [`SoundFontRenderer`]: auralis_core::synth::SoundFontRenderer

pub mod alloc_count;
pub mod files;
pub mod metrics;
pub mod midi_file;
#[cfg(feature = "rustysynth")]
pub mod rusty;
pub mod server;
pub mod source;
pub mod station;
pub mod time;
pub mod transport;
pub mod wire;
