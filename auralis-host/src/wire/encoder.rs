//! One [`Encoder`] per stream or station: each rendered chunk in, the
//! payloads its listeners asked for out ([`Encoded`]), with the
//! `now_playing` message when the chord changed.
//!
//! A personal stream asks for one form (its listener's); a station for
//! every form, once, shared by all its listeners. The binary frames are
//! written into one buffer used again and again, and every
//! payload is reference-counted, so handing a chunk to many listeners
//! copies no audio.

use std::time::Instant;

use auralis_core::engine::AudioChunk;
use auralis_core::music::{Chord, MusicalContext};
use bytes::{Bytes, BytesMut};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::opus::{ChunkEncoder, OggOpus, OpusError, Packets};
use super::protocol::{self, AudioFormat};

/// The forms an [`Encoder`] writes each chunk in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forms {
    json: bool,
    pcm: bool,
    opus: bool,
    ogg: bool,
}

impl Forms {
    /// Every form: a station's chunks, shared by listeners of any format.
    pub const ALL: Self = Self {
        json: true,
        pcm: true,
        opus: true,
        ogg: true,
    };

    /// Only the form `format` sends.
    pub const fn only(format: AudioFormat) -> Self {
        Self {
            json: matches!(format, AudioFormat::Json),
            pcm: matches!(format, AudioFormat::Binary),
            opus: matches!(format, AudioFormat::Opus),
            ogg: matches!(format, AudioFormat::Ogg),
        }
    }

    /// Whether the Opus encoder is needed (Opus frames or Ogg pages).
    const fn opus_encoded(self) -> bool {
        self.opus || self.ogg
    }
}

/// A chunk's audio as it goes out.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A JSON text message (`format=json`).
    Text(Utf8Bytes),
    /// A binary WebSocket message, or Ogg pages for an HTTP body.
    Binary(Bytes),
}

impl Payload {
    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Text(t) => t.len(),
            Payload::Binary(b) => b.len(),
        }
    }

    /// `true` when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One chunk, encoded in the forms its [`Encoder`] writes.
#[derive(Debug)]
pub struct Encoded {
    /// The chunk's number.
    pub seq: u64,
    /// New parameters sound from this chunk on.
    pub params: Option<MusicalContext>,
    /// A `now_playing` message when the chord (or the parameters) changed
    /// in this chunk.
    pub now_playing: Option<Utf8Bytes>,
    /// When it was rendered.
    pub at: Instant,
    json: Option<Utf8Bytes>,
    pcm: Option<Bytes>,
    opus: Option<Bytes>,
    ogg: Option<Bytes>,
}

impl Encoded {
    /// The audio for a listener of `format`; `None` when this chunk was
    /// not encoded in that form.
    pub fn audio(&self, format: AudioFormat) -> Option<Payload> {
        match format {
            AudioFormat::Json => self.json.clone().map(Payload::Text),
            AudioFormat::Binary => self.pcm.clone().map(Payload::Binary),
            AudioFormat::Opus => self.opus.clone().map(Payload::Binary),
            AudioFormat::Ogg => self.ogg.clone().map(Payload::Binary),
        }
    }
}

/// The Ogg stream's identity: its serial number and its Vorbis comments.
#[derive(Clone, Debug)]
pub struct OggIdentity {
    /// The stream's serial number (it only has to differ between streams).
    pub serial: u32,
    /// `TAG=value` comments.
    pub tags: Vec<String>,
}

/// Turns one stream's chunks into payloads: one per stream (or station),
/// so its Opus stream and Ogg pages run on across chunks.
pub struct Encoder {
    forms: Forms,
    opus: Option<(ChunkEncoder, Packets)>,
    ogg: Option<OggOpus>,
    chord: Option<Chord>,
    frames: Frames,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("forms", &self.forms)
            .field("chord", &self.chord)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder writing `forms`; an Ogg stream (when `forms` has it) is
    /// labelled with `ogg`. Its header pages come before the first chunk's
    /// page, or from [`Encoder::take_ogg_headers`].
    pub fn new(forms: Forms, ogg: &OggIdentity) -> Result<Self, OpusError> {
        let opus = if forms.opus_encoded() {
            Some((ChunkEncoder::new()?, Packets::default()))
        } else {
            None
        };
        let ogg = match (&opus, forms.ogg) {
            (Some((enc, _)), true) => Some(OggOpus::new(ogg.serial, enc.pre_skip(), &ogg.tags)?),
            _ => None,
        };
        Ok(Self {
            forms,
            opus,
            ogg,
            chord: None,
            frames: Frames::default(),
        })
    }

    /// The Ogg stream's header pages, taken out so that they do not open
    /// the first chunk's page (a station sends them to each listener who
    /// joins); empty without Ogg.
    pub fn take_ogg_headers(&mut self) -> Bytes {
        self.ogg
            .as_mut()
            .map_or_else(Bytes::new, |ogg| Bytes::from(ogg.take()))
    }

    /// Encodes `chunk` (numbered `chunk.seq`), rendered with `params` new
    /// from it on, while `chord` sounds in `context`. The timestamps in
    /// the frames are now.
    pub fn encode(
        &mut self,
        chunk: &AudioChunk,
        params: Option<MusicalContext>,
        chord: Option<Chord>,
        context: &MusicalContext,
    ) -> Result<Encoded, OpusError> {
        let stamp = protocol::unix_now();
        let seq = chunk.seq;
        let json = self
            .forms
            .json
            .then(|| Utf8Bytes::from(protocol::encode_json(chunk, stamp)));
        let pcm = self.forms.pcm.then(|| {
            let len = protocol::binary_len(chunk);
            self.frames
                .frame(len, |out| protocol::write_binary(chunk, stamp, out))
        });
        let (mut opus, mut ogg) = (None, None);
        if let Some((encoder, packets)) = &mut self.opus {
            encoder.encode_chunk(chunk.samples(), packets)?;
            if self.forms.opus {
                let len = protocol::opus_len(packets);
                let frames = chunk.frames;
                opus = Some(self.frames.frame(len, |out| {
                    protocol::write_opus(seq, stamp, frames, packets, out)
                }));
            }
            if let Some(o) = &mut self.ogg {
                o.push(packets)?;
                ogg = Some(Bytes::from(o.take()));
            }
        }
        let now_playing = (chord != self.chord || params.is_some()).then(|| {
            self.chord = chord;
            let name = chord.map(|c| c.harte(context.spelling()).to_string());
            Utf8Bytes::from(protocol::now_playing(context, name.as_deref(), seq))
        });
        Ok(Encoded {
            seq,
            params,
            now_playing,
            at: Instant::now(),
            json,
            pcm,
            opus,
            ogg,
        })
    }
}

/// The binary frames of one stream, written into one buffer that is used
/// again and again: a frame is handed out as shared bytes, and its space
/// comes back once it has been sent (dropped), so a stream in steady
/// state allocates nothing for its frames.
#[derive(Default)]
struct Frames(BytesMut);

impl Frames {
    /// Room for this many frames before the buffer must come back.
    const AHEAD: usize = 3;

    /// A frame of at most `len` bytes, written by `write`.
    fn frame(&mut self, len: usize, write: impl FnOnce(&mut BytesMut)) -> Bytes {
        if self.0.capacity() < len {
            // Takes the whole buffer back when every frame handed out
            // from it has been dropped; allocates only when one has not.
            self.0.reserve(Self::AHEAD * len);
        }
        write(&mut self.0);
        self.0.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    #[test]
    fn frames_take_their_buffer_back_once_sent() {
        let mut f = Frames::default();
        let fill = |v: u8| move |o: &mut BytesMut| o.put_slice(&[v; 100]);
        let a = f.frame(100, fill(1));
        let first = a.as_ptr();
        let (b, c) = (f.frame(100, fill(2)), f.frame(100, fill(3)));
        // Three frames from one allocation, each intact.
        assert_eq!(b.as_ptr(), first.wrapping_add(100));
        assert_eq!(c.as_ptr(), first.wrapping_add(200));
        assert!(a.iter().all(|&x| x == 1) && c.iter().all(|&x| x == 3));
        drop((a, b, c));
        // All sent: the next frame is written where the first was.
        let d = f.frame(100, fill(4));
        assert_eq!(d.as_ptr(), first, "the buffer came back");
        let (e, g) = (f.frame(100, fill(5)), f.frame(100, fill(6)));
        drop((e, g));
        // One frame still held: the next goes to new memory, and the held
        // one is untouched.
        let h = f.frame(100, fill(7));
        assert_ne!(h.as_ptr(), first);
        assert!(d.iter().all(|&x| x == 4) && h.iter().all(|&x| x == 7));
    }

    fn chunk(seq: u64) -> AudioChunk {
        let mut c = AudioChunk::new();
        c.seq = seq;
        c.frames = 4800;
        c.sample_rate = 48_000;
        for (i, s) in c.pcm.iter_mut().enumerate().take(9600) {
            *s = ((i as f32 * 0.05).sin() * 8000.0) as i16;
        }
        c
    }

    fn identity() -> OggIdentity {
        OggIdentity {
            serial: 7,
            tags: vec!["TITLE=t".into()],
        }
    }

    #[test]
    fn one_form_for_a_listener_every_form_for_a_station() {
        let ctx = MusicalContext::DEFAULT;
        let mut one = Encoder::new(Forms::only(AudioFormat::Binary), &identity()).unwrap();
        let e = one.encode(&chunk(3), None, None, &ctx).unwrap();
        let pcm = e.audio(AudioFormat::Binary).unwrap();
        assert!(e.audio(AudioFormat::Json).is_none() && e.audio(AudioFormat::Opus).is_none());
        let Payload::Binary(b) = pcm else {
            panic!("PCM is binary")
        };
        assert_eq!(protocol::decode_binary(&b).unwrap().seq, 3);

        let mut all = Encoder::new(Forms::ALL, &identity()).unwrap();
        let headers = all.take_ogg_headers();
        assert_eq!(&headers[..4], b"OggS");
        let e = all.encode(&chunk(4), None, None, &ctx).unwrap();
        for f in [
            AudioFormat::Json,
            AudioFormat::Binary,
            AudioFormat::Opus,
            AudioFormat::Ogg,
        ] {
            assert!(!e.audio(f).unwrap().is_empty(), "{f:?}");
        }
        let Some(Payload::Binary(o)) = e.audio(AudioFormat::Opus) else {
            panic!("Opus is binary")
        };
        assert_eq!(protocol::decode_opus(&o).unwrap().packets.len(), 5);
    }

    #[test]
    fn now_playing_comes_when_the_chord_or_the_parameters_change() {
        let ctx = MusicalContext::DEFAULT;
        let mut enc = Encoder::new(Forms::only(AudioFormat::Json), &identity()).unwrap();
        let chord = Some(Chord::on_degree(
            &ctx,
            0,
            auralis_core::music::Quality::Minor,
        ));
        assert!(enc
            .encode(&chunk(0), None, chord, &ctx)
            .unwrap()
            .now_playing
            .is_some());
        assert!(enc
            .encode(&chunk(1), None, chord, &ctx)
            .unwrap()
            .now_playing
            .is_none());
        let again = enc.encode(&chunk(2), Some(ctx), chord, &ctx).unwrap();
        let text = again.now_playing.unwrap();
        assert!(text.contains("\"seq\":2"), "{text}");
    }
}
