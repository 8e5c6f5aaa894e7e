//! Binary audio frames: the 32-byte header, then PCM or Opus packets;
//! written into any buffer, and decoded (for tests and the load tester).

use auralis_core::engine::AudioChunk;
use bytes::BufMut;

/// First four bytes of every binary audio frame.
pub const BINARY_MAGIC: [u8; 4] = *b"AURA";
/// Version byte of a binary audio frame of PCM.
pub const BINARY_VERSION: u8 = 1;
/// Version byte of a binary audio frame of Opus packets.
pub const OPUS_VERSION: u8 = 2;
/// Bytes before the PCM in a binary audio frame.
pub const BINARY_HEADER: usize = 32;

/// A binary audio frame for `chunk`. Layout, all little-endian:
///
/// | bytes | field |
/// | --- | --- |
/// | 0–3 | magic `AURA` |
/// | 4 | version (1) |
/// | 5 | channels (2) |
/// | 6–7 | frames (u16) |
/// | 8–11 | sample rate (u32) |
/// | 12–19 | seq (u64) |
/// | 20–27 | render timestamp, Unix seconds (f64) |
/// | 28–31 | reserved, zero |
/// | 32– | interleaved i16 PCM, L R L R … |
pub fn encode_binary(chunk: &AudioChunk, timestamp: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(binary_len(chunk));
    write_binary(chunk, timestamp, &mut out);
    out
}

/// Bytes of [`encode_binary`]'s frame for `chunk`.
pub fn binary_len(chunk: &AudioChunk) -> usize {
    BINARY_HEADER + chunk.samples().len() * 2
}

/// [`encode_binary`]'s frame, written at the end of `out` (a reused
/// buffer: nothing allocated when it has room).
pub fn write_binary(chunk: &AudioChunk, timestamp: f64, out: &mut impl BufMut) {
    out.put_slice(&BINARY_MAGIC);
    out.put_u8(BINARY_VERSION);
    out.put_u8(chunk.channels);
    out.put_u16_le(chunk.frames);
    out.put_u32_le(chunk.sample_rate);
    out.put_u64_le(chunk.seq);
    out.put_f64_le(timestamp);
    out.put_slice(&[0; 4]);
    // Little-endian bytes a block at a time: one capacity check per block
    // instead of per sample, and a loop the compiler vectorises.
    let mut block = [0u8; 256];
    for samples in chunk.samples().chunks(block.len() / 2) {
        for (b, s) in block.chunks_exact_mut(2).zip(samples) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        out.put_slice(block.get(..2 * samples.len()).unwrap_or(&[]));
    }
}

/// A binary audio frame of Opus for one chunk: the PCM frame's header with
/// version 2 and byte 28 holding the packet count, then each packet as a
/// little-endian u16 length and its bytes.
///
/// | bytes | field |
/// | --- | --- |
/// | 0–3 | magic `AURA` |
/// | 4 | version (2: Opus) |
/// | 5 | channels (2) |
/// | 6–7 | frames the packets decode to (4800) |
/// | 8–11 | sample rate (48000) |
/// | 12–19 | seq (u64) |
/// | 20–27 | render timestamp, Unix seconds (f64) |
/// | 28 | packets (5) |
/// | 29–31 | reserved, zero |
/// | 32– | per packet: length (u16), then the packet |
pub fn encode_opus(
    seq: u64,
    timestamp: f64,
    frames: u16,
    packets: &crate::wire::opus::Packets,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(opus_len(packets));
    write_opus(seq, timestamp, frames, packets, &mut out);
    out
}

/// Bytes of [`encode_opus`]'s frame for `packets`.
pub fn opus_len(packets: &crate::wire::opus::Packets) -> usize {
    BINARY_HEADER + packets.total_bytes() + 2 * packets.len()
}

/// [`encode_opus`]'s frame, written at the end of `out`.
pub fn write_opus(
    seq: u64,
    timestamp: f64,
    frames: u16,
    packets: &crate::wire::opus::Packets,
    out: &mut impl BufMut,
) {
    out.put_slice(&BINARY_MAGIC);
    out.put_u8(OPUS_VERSION);
    out.put_u8(2);
    out.put_u16_le(frames);
    out.put_u32_le(crate::wire::opus::RATE);
    out.put_u64_le(seq);
    out.put_f64_le(timestamp);
    out.put_u8(u8::try_from(packets.len()).unwrap_or(0));
    out.put_slice(&[0; 3]);
    for p in packets.iter() {
        out.put_u16_le(u16::try_from(p.len()).unwrap_or(0));
        out.put_slice(p);
    }
}

/// A decoded binary Opus frame (tests and the load tester).
#[derive(Clone, Debug, PartialEq)]
pub struct OpusAudio {
    /// Sequence number.
    pub seq: u64,
    /// Render time, Unix seconds.
    pub timestamp: f64,
    /// Frames the packets decode to.
    pub frames: u16,
    /// The Opus packets, in order.
    pub packets: Vec<Vec<u8>>,
}

/// Reads a binary Opus frame; `None` when it is not one.
pub fn decode_opus(bytes: &[u8]) -> Option<OpusAudio> {
    let header = bytes.get(..BINARY_HEADER)?;
    if header.get(..4)? != BINARY_MAGIC || *header.get(4)? != OPUS_VERSION {
        return None;
    }
    let frames = u16::from_le_bytes(header.get(6..8)?.try_into().ok()?);
    let seq = u64::from_le_bytes(header.get(12..20)?.try_into().ok()?);
    let timestamp = f64::from_le_bytes(header.get(20..28)?.try_into().ok()?);
    let count = *header.get(28)?;
    let mut rest = bytes.get(BINARY_HEADER..)?;
    let mut packets = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let len = usize::from(u16::from_le_bytes(rest.get(..2)?.try_into().ok()?));
        packets.push(rest.get(2..2 + len)?.to_vec());
        rest = rest.get(2 + len..)?;
    }
    if !rest.is_empty() {
        return None;
    }
    Some(OpusAudio {
        seq,
        timestamp,
        frames,
        packets,
    })
}

/// A decoded binary audio frame (used by tests and the load tester).
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryAudio {
    /// Sequence number.
    pub seq: u64,
    /// Render time, Unix seconds.
    pub timestamp: f64,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Channels (2).
    pub channels: u8,
    /// Interleaved PCM.
    pub pcm: Vec<i16>,
}

/// Reads a binary audio frame; `None` when it is not one.
pub fn decode_binary(bytes: &[u8]) -> Option<BinaryAudio> {
    let header = bytes.get(..BINARY_HEADER)?;
    if header.get(..4)? != BINARY_MAGIC || *header.get(4)? != BINARY_VERSION {
        return None;
    }
    let channels = *header.get(5)?;
    let frames = u16::from_le_bytes(header.get(6..8)?.try_into().ok()?);
    let sample_rate = u32::from_le_bytes(header.get(8..12)?.try_into().ok()?);
    let seq = u64::from_le_bytes(header.get(12..20)?.try_into().ok()?);
    let timestamp = f64::from_le_bytes(header.get(20..28)?.try_into().ok()?);
    let body = bytes.get(BINARY_HEADER..)?;
    if body.len() != usize::from(frames) * usize::from(channels) * 2 {
        return None;
    }
    let pcm = body
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Some(BinaryAudio {
        seq,
        timestamp,
        sample_rate,
        channels,
        pcm,
    })
}
