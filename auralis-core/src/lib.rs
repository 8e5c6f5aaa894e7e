#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod bank;
pub mod buffer;
pub mod engine;
#[cfg(feature = "std")]
pub mod font_file;
pub mod metrics;
pub mod music;
pub mod rate;
pub mod rng;
pub mod synth;

pub use music::{Composer, Mode, MusicalContext, Phrase, PhraseBars, Preset};
pub use rate::{SampleRate, SampleRateError};
