//! Cross-crate tests for Auralis; the tests themselves live in `tests/`.
//!
//! This library holds what several of them share: loudness measurement,
//! the FNV-1a hash of the bit-for-bit tests, a tiny SoundFont builder for the corpus of broken fonts, and the skip
//! helper. (The zero-allocation proofs count with the host's one counting
//! allocator, `auralis_host::alloc_count`.)

pub mod fnv;
pub mod loudness;
pub mod sf2_builder;
pub mod skip;
