//! What the engine hands out: 100 ms chunks of 16-bit PCM and what
//! happened in them.

use crate::music::MusicalContext;

/// Longest chunk: 100 ms at 48 kHz, stereo.
pub const MAX_CHUNK_SAMPLES: usize = 2 * 4800;

/// 100 ms of interleaved stereo 16-bit PCM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioChunk {
    /// Sequence number: 0, 1, 2, … with no gaps.
    pub seq: u64,
    /// Frame of the stream at which the chunk starts.
    pub start_frame: u64,
    /// Frames in the chunk (4410 at 44.1 kHz, 4800 at 48 kHz).
    pub frames: u16,
    /// Always 2.
    pub channels: u8,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Interleaved L, R samples; the first `2 × frames` are valid.
    pub pcm: [i16; MAX_CHUNK_SAMPLES],
}

impl AudioChunk {
    /// An empty chunk to render into.
    pub const fn new() -> Self {
        Self {
            seq: 0,
            start_frame: 0,
            frames: 0,
            channels: 2,
            sample_rate: 0,
            pcm: [0; MAX_CHUNK_SAMPLES],
        }
    }

    /// The valid samples.
    pub fn samples(&self) -> &[i16] {
        self.pcm.get(..2 * usize::from(self.frames)).unwrap_or(&[])
    }

    /// Start time in seconds from the start of the stream.
    pub fn timestamp(&self) -> f64 {
        self.start_frame as f64 / f64::from(self.sample_rate.max(1))
    }
}

impl Default for AudioChunk {
    fn default() -> Self {
        Self::new()
    }
}

/// What happened in a chunk besides its audio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChunkInfo {
    /// The chunk's sequence number.
    pub seq: u64,
    /// `Some` in the first chunk rendered with new parameters.
    pub params: Option<MusicalContext>,
}

/// Converts a float sample to 16-bit PCM: scaled by 32767, rounded to
/// nearest, clamped. Deterministic everywhere.
#[inline]
#[allow(unsafe_code)]
pub fn to_pcm(x: f32) -> i16 {
    let v = x * 32_767.0;
    // Half away from zero, then toward zero: rounds to nearest (and ±0
    // to 0). Branch-free, so that a block of them vectorises.
    let r = v + 0.5f32.copysign(v);
    let r = if r.is_nan() { 0.0 } else { r };
    let r = r.clamp(-32_768.0, 32_767.0);
    // SAFETY: `r` is not NaN and is clamped to the range of i16, so it is
    // finite and its truncation fits in i32. (`as` would be the same
    // number, but its saturation keeps the loop from vectorising.)
    let i = unsafe { r.to_int_unchecked::<i32>() };
    i as i16
}
