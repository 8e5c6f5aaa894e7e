//! Opus for the listening path: one libopus encoder per stream, so that the
//! stream is continuous across chunks (no priming gap at each chunk), and
//! an Ogg muxer (RFC 7845) for players that want a plain HTTP stream.
//!
//! A 100 ms chunk at 48 kHz is five 20 ms Opus frames. The encoder runs at
//! [`BITRATE`] with constrained VBR, so a listener costs about 14 kB/s.

use std::fmt;

/// Opus streams run at 48 kHz (the engine renders them at this rate).
pub const RATE: u32 = auralis_core::SampleRate::HZ_48000.hz();
/// Samples per channel in one Opus frame: 20 ms.
pub const FRAME: usize = 960;
/// Opus frames in one 100 ms chunk.
pub const FRAMES_PER_CHUNK: usize = 5;
/// Samples per channel in one chunk.
pub const CHUNK_FRAMES: usize = FRAME * FRAMES_PER_CHUNK;
/// Target bit rate, bits per second, stereo.
pub const BITRATE: i32 = 112_000;
/// libopus complexity (0–10). 5 encodes a chunk in about 0.65 ms on the
/// machine of `BENCHMARKS.md`, half the time of 10 (1.1–1.4 ms, more than
/// synthesising the chunk), at the same bit rate.
pub const COMPLEXITY: i32 = 5;
/// Largest Opus packet for one frame (RFC 6716 §3.4: 1275 bytes).
const MAX_PACKET: usize = 1275;

/// Why Opus could not be set up or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusError(String);

impl fmt::Display for OpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opus: {}", self.0)
    }
}

impl std::error::Error for OpusError {}

impl From<opus::Error> for OpusError {
    fn from(e: opus::Error) -> Self {
        OpusError(e.to_string())
    }
}

/// One 100 ms chunk as Opus packets: five 20 ms packets back to back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Packets {
    bytes: Vec<u8>,
    ends: [usize; FRAMES_PER_CHUNK],
    count: usize,
}

impl Packets {
    /// The packets, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let ends = self.ends.get(..self.count).unwrap_or(&[]);
        let starts = std::iter::once(0).chain(ends.iter().copied());
        starts
            .zip(ends.iter().copied())
            .map(|(a, b)| self.bytes.get(a..b).unwrap_or(&[]))
    }

    /// How many packets (five after a successful encode).
    pub fn len(&self) -> usize {
        self.count
    }

    /// `true` before anything is encoded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of all packets together.
    pub fn total_bytes(&self) -> usize {
        self.bytes.len()
    }
}

/// A stream's Opus encoder: 48 kHz stereo, music, [`BITRATE`].
pub struct ChunkEncoder {
    encoder: opus::Encoder,
    pre_skip: u16,
}

impl fmt::Debug for ChunkEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkEncoder")
            .field("pre_skip", &self.pre_skip)
            .finish_non_exhaustive()
    }
}

impl ChunkEncoder {
    /// A new encoder for one stream.
    pub fn new() -> Result<Self, OpusError> {
        let mut encoder =
            opus::Encoder::new(RATE, opus::Channels::Stereo, opus::Application::Audio)?;
        encoder.set_bitrate(opus::Bitrate::Bits(BITRATE))?;
        encoder.set_vbr(true)?;
        encoder.set_vbr_constraint(true)?;
        encoder.set_complexity(COMPLEXITY)?;
        let pre_skip = u16::try_from(encoder.get_lookahead()?).unwrap_or(312);
        Ok(Self { encoder, pre_skip })
    }

    /// Samples (per channel, at 48 kHz) a decoder drops at the start: the
    /// encoder's look-ahead (Ogg Opus "pre-skip").
    pub fn pre_skip(&self) -> u16 {
        self.pre_skip
    }

    /// Encodes one chunk (`2 × CHUNK_FRAMES` interleaved samples at 48 kHz)
    /// into `out`, replacing what it held.
    pub fn encode_chunk(&mut self, pcm: &[i16], out: &mut Packets) -> Result<(), OpusError> {
        if pcm.len() != 2 * CHUNK_FRAMES {
            return Err(OpusError(format!(
                "a chunk is {} samples at 48 kHz stereo, not {}",
                2 * CHUNK_FRAMES,
                pcm.len()
            )));
        }
        out.bytes.clear();
        out.count = 0;
        for (i, frame) in pcm.chunks_exact(2 * FRAME).enumerate() {
            let start = out.bytes.len();
            out.bytes.resize(start + MAX_PACKET, 0);
            let written = self
                .encoder
                .encode(frame, out.bytes.get_mut(start..).unwrap_or(&mut []))?;
            out.bytes.truncate(start + written);
            if let Some(end) = out.ends.get_mut(i) {
                *end = out.bytes.len();
                out.count = i + 1;
            }
        }
        Ok(())
    }
}

/// An Ogg Opus stream (RFC 7845) written a chunk at a time: the two header
/// pages first, then one page per 100 ms chunk.
pub struct OggOpus {
    writer: ogg::PacketWriter<'static, Vec<u8>>,
    serial: u32,
    granule: u64,
}

impl fmt::Debug for OggOpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OggOpus")
            .field("serial", &self.serial)
            .field("granule", &self.granule)
            .finish_non_exhaustive()
    }
}

impl OggOpus {
    /// A stream with this `serial` number, whose encoder drops `pre_skip`
    /// samples; `tags` are Vorbis comments (`TITLE=…`). The headers are
    /// ready in [`Self::take`].
    pub fn new(serial: u32, pre_skip: u16, tags: &[String]) -> Result<Self, OpusError> {
        let mut writer = ogg::PacketWriter::new(Vec::with_capacity(4096));
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(2); // channels
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&RATE.to_le_bytes()); // input rate, informational
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // mapping family 0: mono or stereo
        let vendor = concat!("auralis ", env!("CARGO_PKG_VERSION"));
        let mut comments = Vec::with_capacity(64);
        comments.extend_from_slice(b"OpusTags");
        push_string(&mut comments, vendor);
        comments.extend_from_slice(&u32::try_from(tags.len()).unwrap_or(0).to_le_bytes());
        for tag in tags {
            push_string(&mut comments, tag);
        }
        let end = ogg::PacketWriteEndInfo::EndPage;
        writer
            .write_packet(head, serial, end, 0)
            .and_then(|()| writer.write_packet(comments, serial, end, 0))
            .map_err(|e| OpusError(e.to_string()))?;
        Ok(Self {
            writer,
            serial,
            granule: u64::from(pre_skip),
        })
    }

    /// Adds one chunk's packets as one page.
    pub fn push(&mut self, packets: &Packets) -> Result<(), OpusError> {
        let n = packets.len();
        for (i, p) in packets.iter().enumerate() {
            self.granule += FRAME as u64;
            let end = if i + 1 == n {
                ogg::PacketWriteEndInfo::EndPage
            } else {
                ogg::PacketWriteEndInfo::NormalPacket
            };
            self.writer
                .write_packet(p.to_vec(), self.serial, end, self.granule)
                .map_err(|e| OpusError(e.to_string()))?;
        }
        Ok(())
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(self.writer.inner_mut())
    }
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A stream's Opus decoder, for tests and the load tester.
pub struct ChunkDecoder {
    decoder: opus::Decoder,
}

impl fmt::Debug for ChunkDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkDecoder").finish_non_exhaustive()
    }
}

impl ChunkDecoder {
    /// A 48 kHz stereo decoder.
    pub fn new() -> Result<Self, OpusError> {
        Ok(Self {
            decoder: opus::Decoder::new(RATE, opus::Channels::Stereo)?,
        })
    }

    /// Decodes one packet, appending interleaved samples to `out`.
    pub fn decode(&mut self, packet: &[u8], out: &mut Vec<i16>) -> Result<(), OpusError> {
        let start = out.len();
        out.resize(start + 2 * 5760, 0);
        let n = self
            .decoder
            .decode(packet, out.get_mut(start..).unwrap_or(&mut []), false)?;
        out.truncate(start + 2 * n);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sines(frames: usize, offset: usize) -> Vec<i16> {
        (0..frames)
            .flat_map(|i| {
                let t = (i + offset) as f64 / f64::from(RATE);
                let l = 0.3 * (std::f64::consts::TAU * 440.0 * t).sin()
                    + 0.2 * (std::f64::consts::TAU * 1234.5 * t).sin();
                let r = 0.3 * (std::f64::consts::TAU * 660.0 * t).sin();
                [(l * 32767.0) as i16, (r * 32767.0) as i16]
            })
            .collect()
    }

    #[test]
    fn a_chunk_is_five_packets_at_about_the_bit_rate() {
        let mut enc = ChunkEncoder::new().unwrap();
        let mut packets = Packets::default();
        let mut total = 0;
        for c in 0..20 {
            enc.encode_chunk(&sines(CHUNK_FRAMES, c * CHUNK_FRAMES), &mut packets)
                .unwrap();
            assert_eq!(packets.len(), 5);
            total += packets.total_bytes();
        }
        let kbit = total as f64 * 8.0 / 2.0 / 1000.0;
        assert!((80.0..=130.0).contains(&kbit), "{kbit} kbit/s");
        assert!(enc.encode_chunk(&[0; 10], &mut packets).is_err());
    }

    #[test]
    fn decoding_gives_back_the_signal_across_chunk_boundaries() {
        let mut enc = ChunkEncoder::new().unwrap();
        let mut dec = ChunkDecoder::new().unwrap();
        let input = sines(CHUNK_FRAMES * 10, 0);
        let mut packets = Packets::default();
        let mut out = Vec::new();
        for chunk in input.chunks_exact(2 * CHUNK_FRAMES) {
            enc.encode_chunk(chunk, &mut packets).unwrap();
            for p in packets.iter() {
                dec.decode(p, &mut out).unwrap();
            }
        }
        assert_eq!(out.len(), input.len());
        let skip = usize::from(enc.pre_skip());
        let (mut signal, mut noise) = (0f64, 0f64);
        // Skip the first chunk (the codec settling), compare the rest.
        for i in 2 * CHUNK_FRAMES..input.len() - 2 * skip {
            let a = f64::from(input[i]);
            let b = f64::from(out[i + 2 * skip]);
            signal += a * a;
            noise += (a - b) * (a - b);
        }
        let snr = 10.0 * (signal / noise).log10();
        assert!(snr > 20.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn ogg_pages_carry_headers_then_one_page_per_chunk() {
        let mut enc = ChunkEncoder::new().unwrap();
        let mut ogg = OggOpus::new(7, enc.pre_skip(), &["TITLE=test".into()]).unwrap();
        let headers = ogg.take();
        assert_eq!(&headers[..4], b"OggS");
        assert!(headers.windows(8).any(|w| w == b"OpusHead"));
        assert!(headers.windows(8).any(|w| w == b"OpusTags"));
        let mut packets = Packets::default();
        enc.encode_chunk(&sines(CHUNK_FRAMES, 0), &mut packets)
            .unwrap();
        ogg.push(&packets).unwrap();
        let page = ogg.take();
        assert_eq!(&page[..4], b"OggS");
        // One page: the granule position is pre-skip plus 4800 samples.
        let granule = u64::from_le_bytes(page[6..14].try_into().unwrap());
        assert_eq!(granule, u64::from(enc.pre_skip()) + 4800);
        assert_eq!(page.windows(4).filter(|w| *w == b"OggS").count(), 1);
    }
}
