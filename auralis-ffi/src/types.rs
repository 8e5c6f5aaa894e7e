//! The types C sees: statuses, enums and the plain structs passed by value
//! or through out-parameters.

/// What every fallible function returns. Numbers are never reused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisStatus {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullPointer = 1,
    /// A value was out of range (sample rate, key, tempo, channel, …).
    InvalidArgument = 2,
    /// A caller buffer was too small (or a sample count odd).
    BufferTooSmall = 3,
    /// The SoundFont is corrupt or unusable.
    SoundfontInvalid = 4,
    /// A file could not be read.
    Io = 5,
    /// Not available on this engine (for example a heap operation on an
    /// engine in caller memory).
    Unsupported = 6,
    /// Caller memory is not aligned as `auralis_engine_align()` says.
    Misaligned = 7,
    /// An internal error (a bug in Auralis) was caught at the boundary.
    Internal = 8,
    /// A ring had no room for what was written (or none came in time).
    RingFull = 9,
}

/// Modes, for `AuralisParams::mode`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisMode {
    /// Natural minor (the default).
    Aeolian = 0,
    /// Minor with a raised sixth.
    Dorian = 1,
    /// Major with a raised fourth.
    Lydian = 2,
    /// Minor with a lowered second.
    Phrygian = 3,
    /// Major.
    Ionian = 4,
    /// Major with a lowered seventh.
    Mixolydian = 5,
}

/// Presets, for `auralis_engine_set_preset`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuralisPreset {
    /// Dorian, intensity 0.5, 60 BPM.
    Focus = 0,
    /// Aeolian, intensity 0.3, 50 BPM.
    Meditation = 1,
    /// Phrygian, intensity 0.2, 40 BPM.
    Sleep = 2,
    /// Lydian, intensity 0.6, 70 BPM.
    Bright = 3,
}

/// How to make an engine. Start from `auralis_config_default()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuralisConfig {
    /// Output rate in Hz: a multiple of 10 from 8000 to 48000 (44100 or
    /// 48000 for 100 ms chunks of 4410 or 4800 frames).
    pub sample_rate: u32,
    /// Most voices at once, 1 to `AURALIS_MAX_VOICES`.
    pub polyphony: u32,
    /// The composition's seed: the same seed gives the same samples.
    pub seed: u64,
}

/// The configuration `auralis_config_default` gives.
pub(crate) const DEFAULT_CONFIG: AuralisConfig = AuralisConfig {
    sample_rate: 44_100,
    polyphony: crate::AURALIS_MAX_VOICES,
    seed: 0,
};

/// The musical parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisParams {
    /// Root as a MIDI pitch, 60 (C) to 71 (B).
    pub key: u32,
    /// One of `AuralisMode`.
    pub mode: u32,
    /// Tempo, 40 to 90 BPM.
    pub bpm: f32,
    /// Note density, 0 to 1.
    pub intensity: f32,
}

/// What `auralis_engine_next_chunk` rendered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisChunkInfo {
    /// Sequence number: 0, 1, 2, … with no gaps.
    pub seq: u64,
    /// Frame of the stream at which the chunk starts.
    pub start_frame: u64,
    /// Frames in the chunk (sample rate / 10).
    pub frames: u32,
    /// Always 2.
    pub channels: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// 1 when new parameters sound from this chunk on, else 0.
    pub params_changed: u32,
    /// The parameters of the phrase playing at the chunk's end: the new
    /// ones when `params_changed` is 1.
    pub params: AuralisParams,
}

/// A snapshot of an engine's figures.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuralisMetrics {
    /// Frames rendered since the engine was made (or its font loaded).
    pub frames: u64,
    /// Chunks taken with `auralis_engine_next_chunk`.
    pub chunks: u64,
    /// Render calls timed (every render and chunk call).
    pub renders: u64,
    /// Voices sounding now.
    pub active_voices: u32,
    /// The polyphony limit.
    pub polyphony: u32,
    /// Mean time per 100 ms of audio rendered, ms.
    pub render_ms_per_100ms_avg: f64,
    /// Median of the same, ms.
    pub render_ms_per_100ms_p50: f64,
    /// 95th percentile, ms.
    pub render_ms_per_100ms_p95: f64,
    /// 99th percentile, ms.
    pub render_ms_per_100ms_p99: f64,
}
