//! The listeners' protocol (`/ws/stream`): messages in both directions (here), and the
//! binary audio frames (`frames.rs`). Pure functions, so every rule is
//! unit-tested.
//!
//! Server → client: `welcome`, `audio` (JSON with base64 PCM, or a binary
//! frame of PCM or Opus), `params`, `now_playing`, `status`, `error`,
//! `pong`. Client → server: `update_params` (alias `control`),
//! `select_preset`, `ping`, `report`, `pause` and `resume`.

use std::str::FromStr;

use auralis_core::engine::AudioChunk;
use auralis_core::music::{Mode, MusicalContext, Preset};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod frames;

pub use frames::*;

/// The protocol name and version sent in `welcome`.
pub const PROTOCOL: &str = "auralis/1";

/// How audio chunks travel: JSON text with base64 PCM (the default, as the
/// original system sent them) or compact binary frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioFormat {
    /// `{"type":"audio",…,"data":BASE64}` text frames.
    Json,
    /// Binary frames: a 32-byte header and the PCM (see [`encode_binary`]).
    Binary,
    /// Binary frames of Opus at 48 kHz: the same header, then five 20 ms
    /// packets (see [`encode_opus`]).
    Opus,
    /// An Ogg Opus byte stream (`/listen`; not a WebSocket format).
    Ogg,
}

impl AudioFormat {
    /// The name used in the query string and in `welcome`.
    pub const fn name(self) -> &'static str {
        match self {
            AudioFormat::Json => "json",
            AudioFormat::Binary => "binary",
            AudioFormat::Opus => "opus",
            AudioFormat::Ogg => "ogg",
        }
    }

    /// `true` for the Opus formats, which always run at 48 kHz.
    pub const fn is_opus(self) -> bool {
        matches!(self, AudioFormat::Opus | AudioFormat::Ogg)
    }
}

/// Seconds since the Unix epoch, as a float.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Every message the server sends as text, as serde writes it: an object
/// whose `"type"` names the variant (`"now_playing"`, …).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerMessage<'a> {
    /// The first message of a stream: who, what and how.
    Welcome {
        client_id: &'a str,
        protocol: &'a str,
        sample_rate: u32,
        channels: u8,
        chunk_ms: u32,
        format: &'a str,
        seed: u64,
        params: Params,
        timestamp: f64,
        /// The station's name, for a station's listener.
        #[serde(skip_serializing_if = "Option::is_none")]
        station: Option<&'a str>,
    },
    /// One chunk of PCM, base64.
    Audio {
        seq: u64,
        timestamp: f64,
        duration_ms: u32,
        sample_rate: u32,
        channels: u8,
        data: String,
    },
    /// New parameters, sounding from chunk `seq` on.
    Params {
        params: Params,
        seq: u64,
        timestamp: f64,
    },
    /// The key, mode and chord sounding from chunk `seq` on.
    NowPlaying {
        seq: u64,
        key: &'a str,
        mode: &'a str,
        chord: Option<&'a str>,
        timestamp: f64,
    },
    /// The stream's state.
    Status {
        state: &'a str,
        message: &'a str,
        buffer_depth: usize,
        timestamp: f64,
    },
    /// A refused message or a failed stream.
    Error {
        code: &'a str,
        message: &'a str,
        recoverable: bool,
        timestamp: f64,
    },
    /// The answer to a `ping`.
    Pong {
        client_timestamp: Option<f64>,
        server_timestamp: f64,
    },
}

impl ServerMessage<'_> {
    /// The message as JSON text.
    pub(crate) fn to_text(&self) -> String {
        // Serialising these plain fields cannot fail; an empty object
        // would be the answer if it did.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// The parameters as the protocol shows them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Params {
    key: u8,
    mode: &'static str,
    bpm: f64,
    intensity: f64,
}

impl From<&MusicalContext> for Params {
    fn from(ctx: &MusicalContext) -> Self {
        Self {
            key: ctx.key(),
            mode: ctx.mode().name(),
            bpm: round3(ctx.bpm()),
            intensity: round3(ctx.intensity()),
        }
    }
}

/// The parameters as the protocol shows them, as a JSON value (for the
/// status API).
pub fn params_json(ctx: &MusicalContext) -> Value {
    serde_json::to_value(Params::from(ctx)).unwrap_or(Value::Null)
}

/// Rounds to three decimals so that 0.3 is sent as 0.3, not 0.30000001.
fn round3(x: f32) -> f64 {
    (f64::from(x) * 1000.0).round() / 1000.0
}

/// The interleaved little-endian bytes of a chunk's PCM.
fn pcm_bytes(chunk: &AudioChunk, out: &mut Vec<u8>) {
    out.reserve(chunk.samples().len() * 2);
    for s in chunk.samples() {
        out.extend_from_slice(&s.to_le_bytes());
    }
}

/// An `audio` text message for `chunk`, rendered at `timestamp` (Unix
/// seconds).
pub fn encode_json(chunk: &AudioChunk, timestamp: f64) -> String {
    let mut pcm = Vec::new();
    pcm_bytes(chunk, &mut pcm);
    let data = base64::engine::general_purpose::STANDARD.encode(&pcm);
    let duration_ms = u32::from(chunk.frames) * 1000 / chunk.sample_rate.max(1);
    ServerMessage::Audio {
        seq: chunk.seq,
        timestamp,
        duration_ms,
        sample_rate: chunk.sample_rate,
        channels: chunk.channels,
        data,
    }
    .to_text()
}

/// Decodes the PCM of a JSON `audio` message (tests and load tester).
pub fn decode_json_pcm(message: &Value) -> Option<Vec<i16>> {
    let data = message.get("data")?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
    )
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// New parameters (already validated and merged with the current ones).
    Params(MusicalContext),
    /// A preset (the key stays).
    Preset(Preset),
    /// A ping to answer, with the client's timestamp if it sent one.
    Ping(Option<f64>),
    /// The listener paused: render and send nothing until `Resume`.
    Pause,
    /// The listener pressed Play again: start afresh, a short lead ahead.
    Resume,
    /// The client started playing chunk `seq`.
    Report {
        /// The chunk now playing.
        seq: u64,
        /// The client's buffered audio, if it said.
        buffer_ms: Option<f64>,
        /// The client's underrun count, if it said.
        underruns: Option<u64>,
    },
}

/// Why a client message was refused: the `error` reply's code and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// `INVALID_MESSAGE` or `INVALID_PARAMS`.
    pub code: &'static str,
    /// What was wrong and what is accepted.
    pub message: String,
}

impl Refusal {
    fn message(message: impl Into<String>) -> Self {
        Self {
            code: "INVALID_MESSAGE",
            message: message.into(),
        }
    }

    fn params(message: impl Into<String>) -> Self {
        Self {
            code: "INVALID_PARAMS",
            message: message.into(),
        }
    }
}

/// Every message a client may send, as serde reads it: an object whose
/// `"type"` names the variant. Fields are read as loosely as the protocol
/// promises (a non-number timestamp is ignored, not refused); their
/// meaning is checked in [`parse_request`], which gives each refusal its
/// code and its words.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    #[serde(alias = "control")]
    UpdateParams {
        #[serde(default)]
        params: Value,
    },
    SelectPreset {
        #[serde(default)]
        preset: Value,
    },
    Ping {
        #[serde(default)]
        timestamp: Value,
    },
    Pause,
    Resume,
    Report {
        #[serde(default)]
        seq: Value,
        #[serde(default)]
        buffer_ms: Value,
        #[serde(default)]
        underruns: Value,
    },
}

/// The message types a client may send (what an unknown one is told).
const CLIENT_TYPES: &str = "update_params, select_preset, ping, report, pause or resume";

/// Parses one text message from a client against the parameters in force
/// (`current`). Nothing changes unless every field is valid.
pub fn parse_request(text: &str, current: &MusicalContext) -> Result<Request, Refusal> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Refusal::message(format!("not JSON: {e}")))?;
    let kind = match value.as_object().map(|o| o.get("type")) {
        None => {
            return Err(Refusal::message(
                "a message is a JSON object with a \"type\"",
            ))
        }
        Some(kind) => kind
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::message("missing string field \"type\""))?
            .to_string(),
    };
    let message: ClientMessage = serde_json::from_value(value).map_err(|_| {
        Refusal::message(format!("unknown message type {kind:?}: use {CLIENT_TYPES}"))
    })?;
    match message {
        ClientMessage::UpdateParams { params } => {
            let params = params
                .as_object()
                .ok_or_else(|| Refusal::params("update_params needs a \"params\" object"))?;
            parse_params(params, current).map(Request::Params)
        }
        ClientMessage::SelectPreset { preset } => {
            let name = preset
                .as_str()
                .ok_or_else(|| Refusal::params("select_preset needs a \"preset\" string"))?;
            Preset::from_str(name).map(Request::Preset).map_err(|_| {
                Refusal::params(format!(
                    "unknown preset {name:?}: use focus, meditation, sleep or bright"
                ))
            })
        }
        ClientMessage::Ping { timestamp } => Ok(Request::Ping(timestamp.as_f64())),
        ClientMessage::Pause => Ok(Request::Pause),
        ClientMessage::Resume => Ok(Request::Resume),
        ClientMessage::Report {
            seq,
            buffer_ms,
            underruns,
        } => {
            let seq = seq
                .as_u64()
                .ok_or_else(|| Refusal::message("report needs an integer \"seq\""))?;
            Ok(Request::Report {
                seq,
                buffer_ms: buffer_ms.as_f64(),
                underruns: underruns.as_u64(),
            })
        }
    }
}

pub(crate) fn parse_params(
    params: &serde_json::Map<String, Value>,
    current: &MusicalContext,
) -> Result<MusicalContext, Refusal> {
    let mut ctx = *current;
    let mut any = false;
    if let Some(v) = params.get("key") {
        any = true;
        // A whole number, written 62 or 62.0 (JavaScript and Python
        // clients send either).
        let whole = v.as_u64().or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=255.0).contains(f))
                .map(|f| f as u64)
        });
        let key = whole
            .and_then(|k| u8::try_from(k).ok())
            .ok_or_else(|| Refusal::params(format!("key {v} is not a MIDI pitch 60–71")))?;
        ctx = ctx
            .with_key(key)
            .map_err(|_| Refusal::params(format!("key {key} is outside 60–71 (C4–B4)")))?;
    }
    if let Some(v) = params.get("mode") {
        any = true;
        let mode = v
            .as_str()
            .and_then(|m| Mode::from_str(m).ok())
            .ok_or_else(|| {
                Refusal::params(format!(
                "mode {v} is unknown: use aeolian, dorian, lydian, phrygian, ionian or mixolydian"
            ))
            })?;
        ctx = ctx.with_mode(mode);
    }
    if let Some(v) = params.get("bpm") {
        any = true;
        let bpm = v
            .as_f64()
            .ok_or_else(|| Refusal::params(format!("bpm {} is not a number", shown(v))))?;
        ctx = ctx
            .with_bpm(bpm as f32)
            .map_err(|_| Refusal::params(format!("bpm {bpm} is outside 40–90")))?;
    }
    if let Some(v) = params.get("intensity") {
        any = true;
        let x = v
            .as_f64()
            .ok_or_else(|| Refusal::params(format!("intensity {} is not a number", shown(v))))?;
        ctx = ctx
            .with_intensity(x as f32)
            .map_err(|_| Refusal::params(format!("intensity {x} is outside 0–1")))?;
    }
    if !any {
        return Err(Refusal::params(
            "params names none of key, mode, bpm, intensity",
        ));
    }
    Ok(ctx)
}

/// A value as a refusal shows it: JSON has no infinity or NaN, so a
/// number too large for a float (`1e309`) arrives as `null`.
fn shown(v: &Value) -> String {
    if v.is_null() {
        "(empty, or not a finite number)".to_string()
    } else {
        v.to_string()
    }
}

/// The `welcome` message; `station` names the station a listener joined.
pub fn welcome(
    client_id: &str,
    seed: u64,
    sample_rate: u32,
    format: AudioFormat,
    ctx: &MusicalContext,
    station: Option<&str>,
) -> String {
    ServerMessage::Welcome {
        client_id,
        protocol: PROTOCOL,
        sample_rate,
        channels: 2,
        chunk_ms: 100,
        format: format.name(),
        seed,
        params: ctx.into(),
        timestamp: unix_now(),
        station,
    }
    .to_text()
}

/// The `params` message: `ctx` sounds from chunk `seq` on.
pub fn params_message(ctx: &MusicalContext, seq: u64) -> String {
    ServerMessage::Params {
        params: ctx.into(),
        seq,
        timestamp: unix_now(),
    }
    .to_text()
}

/// The `now_playing` message: from chunk `seq` on, `chord` (Harte
/// notation, `D:min7`) sounds in `ctx`'s key and mode.
pub fn now_playing(ctx: &MusicalContext, chord: Option<&str>, seq: u64) -> String {
    ServerMessage::NowPlaying {
        seq,
        key: ctx.spelling().name(ctx.key_pc()),
        mode: ctx.mode().name(),
        chord,
        timestamp: unix_now(),
    }
    .to_text()
}

/// A `status` message.
pub fn status(state: &str, message: &str, buffer_depth: usize) -> String {
    ServerMessage::Status {
        state,
        message,
        buffer_depth,
        timestamp: unix_now(),
    }
    .to_text()
}

/// An `error` message.
pub fn error(code: &str, message: &str, recoverable: bool) -> String {
    ServerMessage::Error {
        code,
        message,
        recoverable,
        timestamp: unix_now(),
    }
    .to_text()
}

/// A `pong` message.
pub fn pong(client_timestamp: Option<f64>) -> String {
    ServerMessage::Pong {
        client_timestamp,
        server_timestamp: unix_now(),
    }
    .to_text()
}

#[cfg(test)]
mod tests;
