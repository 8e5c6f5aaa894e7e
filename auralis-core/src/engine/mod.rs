//! The engine: the composer and the synthesizer joined into an endless
//! stream of 100 ms chunks, after the seed's `ISynthesisEngine`.
//!
//! - `mod.rs`: the streaming [`Engine`] (phrases queued as they are
//!   composed, parameter changes on the beat, chunk numbering);
//! - `chunk.rs`: [`AudioChunk`], [`ChunkInfo`] and the 16-bit conversion;
//! - `score.rs`: how a phrase becomes MIDI events, and the engine's mix;
//! - `phrases.rs`: the seed's phrase-at-a-time [`SynthesisEngine`], an
//!   engine of its own ([`PhraseEngine`]).

use core::fmt;
use core::marker::PhantomData;

use crate::bank::{DEFAULT_SF2, PROGRAM_KEYS, PROGRAM_WARM_PAD};
use crate::music::{Composer, MusicalContext, Phrase, PhraseBars};
use crate::rate::SampleRate;
use crate::synth::{cc, MidiEvent, StreamRenderer, Synth, SynthError};

mod chunk;
mod phrases;
mod score;
#[cfg(test)]
mod tests;

pub use chunk::{to_pcm, AudioChunk, ChunkInfo, MAX_CHUNK_SAMPLES};
pub use phrases::{PhraseEngine, SynthesisEngine};
use score::{drone_root, phrase_events};
pub use score::{expression_for, pad_program, GAIN, MIX};

/// Channel of the keys (melody).
pub const KEYS_CHANNEL: u8 = 0;
/// Channel of the pad (chords).
pub const PAD_CHANNEL: u8 = 1;
/// Channel of the optional drone ([`Engine::set_drone`]).
pub const DRONE_CHANNEL: u8 = 2;
/// The drone is soft: a floor under the music, not a voice in it.
const DRONE_VELOCITY: u8 = 44;
/// The engine's reverb: room size, damping, wet level
/// ([`Engine::configure_reverb`]).
pub const REVERB: (f32, f32, f32) = (0.82, 0.45, 0.35);
/// The engine's chorus depth.
pub const CHORUS: f32 = 0.25;
/// Most events one phrase turns into (melody on/off pairs and pad events).
const QUEUE: usize = 2 * crate::music::MAX_MELODY_NOTES + crate::music::MAX_PAD_EVENTS + 12;

/// Why an engine could not be made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EngineError {
    /// The synthesizer refused (sample rate, SoundFont).
    Synth(SynthError),
    /// Chunks are 100 ms, so the rate must be a multiple of 10 Hz, at
    /// most 48 kHz.
    ChunkRate(u32),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Synth(e) => write!(f, "{e}"),
            EngineError::ChunkRate(r) => {
                write!(
                    f,
                    "the stream cannot play at {r} Hz: it needs a rate that is a multiple of 10 Hz \
                     (for its 100 ms chunks) and at most 48000 Hz, such as 44100 or 48000"
                )
            }
        }
    }
}

impl core::error::Error for EngineError {}

impl From<SynthError> for EngineError {
    fn from(e: SynthError) -> Self {
        EngineError::Synth(e)
    }
}

/// The engine: endless, seamless ambient music in chunks.
///
/// Methods: [`Engine::new`], [`Engine::with_soundfont`],
/// [`Engine::set_context`], [`Engine::context`], [`Engine::next_chunk`],
/// [`Engine::render`], [`Engine::device`], [`Engine::frame`].
///
/// Phrases chain without a seam: the pad's notes ring across phrase
/// boundaries and the synthesizer runs continuously. A parameter change
/// takes effect at the next beat (within 1.5 s at 40 BPM): the phrase is
/// cut there, its notes released, and the next phrase starts with the new
/// parameters. Changes before that beat replace each other.
///
/// The engine plays through any [`StreamRenderer`]: the built-in
/// [`Synth`] (the default, with 64 voices), or another renderer given to
/// [`Engine::with_renderer`] — the host's rustysynth renderer, or a
/// recording mock in tests.
///
/// # Real-time
/// After construction nothing allocates, locks or panics.
pub struct Engine<'a, R = Synth<'a, 64>> {
    composer: Composer,
    /// The renderer's frame when the stream started: stream frame `f`
    /// plays at renderer frame `origin + f`.
    origin: u64,
    /// Events the engine could not queue or hand to the renderer.
    events_dropped: u64,
    synth: R,
    /// The renderer may borrow its font for `'a`.
    font: PhantomData<&'a [u8]>,
    bars: PhraseBars,
    /// Events of the current phrase, (frame, push order, event), in time
    /// order; those from `next` on are not yet handed to the synthesizer.
    queue: heapless::Vec<(u64, u16, MidiEvent), QUEUE>,
    next: usize,
    phrase: Phrase,
    switch_at: Option<u64>,
    frame: u64,
    seq: u64,
    composing: bool,
    drone: bool,
    /// The drone note sounding (or queued to sound).
    drone_note: Option<u8>,
    chunk_frames: usize,
}

/// `hz` as a rate the streaming engine can play at: a [`SampleRate`]
/// that is also a multiple of 10 Hz and at most 48 kHz (chunks are 100 ms
/// and fit [`AudioChunk`]). Hosts check a rate from outside with this,
/// once.
///
/// # Errors
/// [`EngineError::ChunkRate`] otherwise.
pub fn stream_rate(hz: u32) -> Result<SampleRate, EngineError> {
    let rate = SampleRate::new(hz).map_err(|_| EngineError::ChunkRate(hz))?;
    check_chunk_rate(rate)?;
    Ok(rate)
}

/// Chunks are 100 ms and fit [`AudioChunk`]: the rate must be a multiple
/// of 10 Hz, at most 48 kHz.
fn check_chunk_rate(sample_rate: SampleRate) -> Result<(), EngineError> {
    let hz = sample_rate.hz();
    if hz % 10 != 0 || hz as usize / 10 > MAX_CHUNK_SAMPLES / 2 {
        return Err(EngineError::ChunkRate(hz));
    }
    Ok(())
}

impl<R> Engine<'_, R> {
    /// An engine around `renderer` that has not started: idle composers,
    /// nothing queued (see [`Engine::start`]).
    const fn around(renderer: R) -> Self {
        Self {
            composer: Composer::idle(),
            origin: 0,
            events_dropped: 0,
            synth: renderer,
            font: PhantomData,
            bars: PhraseBars::Eight,
            queue: heapless::Vec::new(),
            next: 0,
            phrase: Phrase::empty(),
            switch_at: None,
            frame: 0,
            seq: 0,
            composing: true,
            drone: false,
            drone_note: None,
            chunk_frames: 4410,
        }
    }
}

impl<const VOICES: usize> Engine<'static, Synth<'static, VOICES>> {
    /// An engine at `sample_rate` (44100 or 48000) playing the built-in
    /// bank, composing from `seed` in `context`.
    pub fn new(
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
    ) -> Result<Self, EngineError> {
        Self::with_soundfont(seed, sample_rate, context, DEFAULT_SF2)
    }
}

impl<'a, const VOICES: usize> Engine<'a, Synth<'a, VOICES>> {
    /// An engine playing the SoundFont in `font` (its programs 0 and 89,
    /// or the nearest the font has).
    pub fn with_soundfont(
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
        font: &'a [u8],
    ) -> Result<Self, EngineError> {
        let mut e = Self::idle();
        e.init(seed, sample_rate, context, font)?;
        Ok(e)
    }

    /// An engine that has not been given its font, rate or seed yet, as a
    /// constant: copy it into place (a static, a box, caller memory) and
    /// call [`Engine::init`] there, and the engine is built without ever
    /// being on the stack. It renders silence until initialised.
    pub const fn idle() -> Self {
        Self::around(Synth::idle())
    }

    /// An engine playing a font parsed once (by
    /// [`crate::synth::SoundFont::parse`]) for any number of engines: no
    /// engine checks it again.
    pub fn with_font(
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
        font: crate::synth::SoundFont<'a>,
    ) -> Result<Self, EngineError> {
        let mut e = Self::idle();
        e.init_with_font(seed, sample_rate, context, font)?;
        Ok(e)
    }

    /// Makes this engine, in place, exactly what
    /// [`Engine::with_soundfont`] returns for the same arguments (the
    /// stream starts again from its first frame). Everything that can
    /// fail is checked first: on an error the engine is unchanged.
    ///
    /// # Real-time
    /// No allocation; checks the whole font once (not for the audio
    /// thread).
    pub fn init(
        &mut self,
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
        font: &'a [u8],
    ) -> Result<(), EngineError> {
        check_chunk_rate(sample_rate)?;
        // Parsed (and checked) once, here; the synthesizer takes it as is.
        let parsed = crate::synth::SoundFont::parse(font)
            .map_err(|e| EngineError::Synth(SynthError::from(e)))?;
        self.init_with_font(seed, sample_rate, context, parsed)
    }

    /// [`Engine::init`] with a font already parsed: nothing is checked
    /// twice, so making a stream costs no pass over the font.
    ///
    /// # Real-time
    /// No allocation; clears the engine's voices and effect lines.
    pub fn init_with_font(
        &mut self,
        seed: u64,
        sample_rate: SampleRate,
        context: MusicalContext,
        font: crate::synth::SoundFont<'a>,
    ) -> Result<(), EngineError> {
        check_chunk_rate(sample_rate)?;
        let composer = Composer::new(seed, sample_rate, context);
        self.synth.reinit(sample_rate);
        self.synth.add_font(font)?;
        self.start(composer)
    }

    /// Linear or cubic (the default) sample interpolation.
    pub fn set_interpolation(&mut self, interpolation: crate::synth::Interpolation) {
        self.synth.set_interpolation(interpolation);
    }

    /// How long the reverb's lines may be (see
    /// [`crate::synth::ReverbSize`]); empties the reverb.
    pub fn set_reverb_size(&mut self, size: crate::synth::ReverbSize) {
        self.synth.set_reverb_size(size);
    }

    /// Voices that may sound at once, 1 to the pool's size (clamped).
    pub fn set_polyphony(&mut self, voices: usize) {
        self.synth.set_polyphony(voices);
    }

    /// The instruction set the voices render with (every level gives the
    /// same samples, bit for bit).
    pub fn set_simd(&mut self, simd: crate::synth::Simd) {
        self.synth.set_simd(simd);
    }

    /// The polyphony limit in force.
    pub fn polyphony(&self) -> usize {
        self.synth.polyphony()
    }

    /// Voices sounding now.
    pub fn active_voices(&self) -> usize {
        self.synth.active_voices()
    }
}

impl<'a, R: StreamRenderer<'a>> Engine<'a, R> {
    /// An engine playing through `renderer`, which has its font loaded
    /// (programs 0 and 89 are asked for on the keys and pad channels) and
    /// has not started: the stream starts at the renderer's current
    /// frame, at its sample rate.
    pub fn with_renderer(
        renderer: R,
        seed: u64,
        context: MusicalContext,
    ) -> Result<Self, EngineError> {
        let sample_rate = renderer.sample_rate();
        check_chunk_rate(sample_rate)?;
        let composer = Composer::new(seed, sample_rate, context);
        let mut e = Self::around(renderer);
        e.start(composer)?;
        Ok(e)
    }

    /// The renderer: voices, events, counters (read-only).
    pub fn synth(&self) -> &R {
        &self.synth
    }

    /// Sets up the renderer's programs and mix and starts the stream from
    /// its first frame with this composer.
    fn start(&mut self, composer: Composer) -> Result<(), EngineError> {
        set_up(&mut self.synth)?;
        self.chunk_frames = composer.sample_rate().hz() as usize / 10;
        self.composer = composer;
        self.origin = self.synth.frame();
        self.bars = PhraseBars::Eight;
        self.queue.clear();
        self.next = 0;
        self.phrase = Phrase::empty();
        self.switch_at = None;
        self.frame = 0;
        self.seq = 0;
        self.events_dropped = 0;
        self.composing = true;
        self.drone = false;
        self.drone_note = None;
        Ok(())
    }

    /// Master gain before the limiter, 0–8 (the engine's default, 5.4,
    /// plays intensity 0.5 at about −18 LUFS with the built-in bank).
    pub fn set_gain(&mut self, gain: f32) {
        self.synth.set_gain(gain);
    }

    /// Reverb and chorus on (the default) or off.
    pub fn set_effects(&mut self, on: bool) {
        let ((room, damping, wet), chorus) = if on {
            (REVERB, CHORUS)
        } else {
            ((0.0, 0.0, 0.0), 0.0)
        };
        self.synth.configure_reverb(room, damping, wet);
        self.synth.set_chorus(chorus);
    }

    /// Turns the composer off (the host plays its own notes through
    /// [`Engine::play`]) or back on. Off releases every note of the
    /// keys and pad channels at once; on starts a new phrase at the next
    /// frame rendered, with the parameters last asked for.
    pub fn set_composing(&mut self, on: bool) {
        if on == self.composing {
            return;
        }
        self.composing = on;
        self.queue.clear();
        self.next = 0;
        self.switch_at = None;
        if on {
            self.composer.resume_at(self.frame);
            if self.composer.pending().is_some() {
                self.switch_at = Some(self.frame);
            }
        } else {
            for channel in [KEYS_CHANNEL, PAD_CHANNEL] {
                let r = self.synth.all_notes_off(channel);
                lost(&mut self.events_dropped, r);
            }
            if let Some(note) = self.drone_note.take() {
                let r = self.synth.note_off(DRONE_CHANNEL, note);
                lost(&mut self.events_dropped, r);
            }
        }
    }

    /// A soft low drone on the key's root, two octaves down (off by
    /// default): it starts at once (or with the first phrase), moves when
    /// a phrase in a new key begins, and holds across everything else.
    /// Off releases it.
    pub fn set_drone(&mut self, on: bool) {
        if on == self.drone {
            return;
        }
        self.drone = on;
        if on {
            if self.composing && self.phrase.end > 0 {
                let root = drone_root(&self.phrase.context);
                let r = self.synth.note_on(DRONE_CHANNEL, root, DRONE_VELOCITY);
                lost(&mut self.events_dropped, r);
                self.drone_note = Some(root);
            }
        } else if let Some(note) = self.drone_note.take() {
            let r = self.synth.note_off(DRONE_CHANNEL, note);
            lost(&mut self.events_dropped, r);
        }
    }

    /// Events the engine could not queue or hand to its renderer since it
    /// was made: 0 unless one render call spans more events than the
    /// renderer's queue holds (the engine's own queues are sized so that
    /// they cannot overflow, which debug builds assert).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// The drone note sounding, if any.
    pub const fn drone_note(&self) -> Option<u8> {
        self.drone_note
    }

    /// Whether the composer is playing (the default).
    pub const fn is_composing(&self) -> bool {
        self.composing
    }

    /// Plays a MIDI event on the synthesizer now: a note, a controller or
    /// a program change of the host's own. Notes on channels 0 (keys) and
    /// 1 (pad) mix with the composer's unless composing is off
    /// ([`Engine::set_composing`]). The engine keeps its font, timeline
    /// and settings: hosts get these few operations rather than the
    /// synthesizer itself, so nothing can reload a font or reset the
    /// synthesizer underneath a stream.
    ///
    /// # Errors
    /// The event's channel, key, velocity, controller or program out of
    /// range ([`SynthError`]); nothing is played then.
    ///
    /// # Real-time
    /// No allocation, no locks.
    pub fn play(&mut self, event: MidiEvent) -> Result<(), SynthError> {
        self.synth.play(event)
    }

    /// The reverb's room size, damping and wet level, each 0–1.
    pub fn configure_reverb(&mut self, room_size: f32, damping: f32, wet: f32) {
        self.synth.configure_reverb(room_size, damping, wet);
    }

    /// The phrase being played (empty before the first render).
    pub fn phrase(&self) -> &Phrase {
        &self.phrase
    }

    /// "CPU" and the instruction-set level the voice loop uses, as
    /// "CPU (AVX2)" (see [`crate::synth::Simd::device`]).
    pub fn device(&self) -> &'static str {
        self.synth.device()
    }

    /// The chord sounding at the last frame rendered (`None` before the
    /// first phrase, or while the composer is off).
    pub fn chord(&self) -> Option<crate::music::Chord> {
        let at = self.frame.saturating_sub(1);
        if self.phrase.end == 0 || at < self.phrase.start || at >= self.phrase.end {
            return None;
        }
        self.phrase
            .chords
            .spans()
            .iter()
            .take_while(|s| s.start <= at)
            .last()
            .map(|s| s.chord)
    }

    /// Frames rendered so far.
    pub const fn frame(&self) -> u64 {
        self.frame
    }

    /// The parameters sounding now, or waiting to (the last requested).
    pub fn context(&self) -> MusicalContext {
        let sounding = if self.phrase.end == 0 {
            // Nothing composed yet: the context the engine was made with.
            self.composer.context()
        } else {
            self.phrase.context
        };
        self.composer.pending().unwrap_or(sounding)
    }

    /// Asks for new parameters; they take effect at the next beat.
    pub fn set_context(&mut self, context: MusicalContext) {
        self.composer.set_context(context);
    }

    /// The output sample rate.
    pub fn sample_rate(&self) -> SampleRate {
        self.composer.sample_rate()
    }

    /// Frames in one chunk: 100 ms at the engine's rate.
    pub const fn chunk_frames(&self) -> usize {
        self.chunk_frames
    }

    /// Renders the next 100 ms into `out`.
    ///
    /// # Real-time
    /// No allocation, no locks.
    pub fn next_chunk(&mut self, out: &mut AudioChunk) -> ChunkInfo {
        let n = self.chunk_frames;
        let start = self.frame;
        let sample_rate = self.synth.sample_rate();
        let info = match out.pcm.get_mut(..2 * n) {
            Some(pcm) => self.render_pcm(pcm),
            None => ChunkInfo {
                seq: self.seq,
                params: None,
            },
        };
        out.seq = info.seq;
        out.start_frame = start;
        out.frames = n as u16;
        out.channels = 2;
        out.sample_rate = sample_rate.hz();
        info
    }

    /// Renders the next 100 ms straight into caller memory: interleaved
    /// left, right 16-bit samples in the first `2 × chunk_frames()` of
    /// `pcm`. A shorter `pcm` renders nothing and returns `None`.
    ///
    /// # Real-time
    /// No allocation, no locks; the engine keeps no chunk of its own (it
    /// renders a control block at a time through a 512-byte scratch).
    pub fn next_chunk_into(&mut self, pcm: &mut [i16]) -> Option<ChunkInfo> {
        let n = self.chunk_frames;
        pcm.get_mut(..2 * n).map(|pcm| self.render_pcm(pcm))
    }

    /// One chunk into `pcm` (exactly its length in frames, stereo).
    fn render_pcm(&mut self, pcm: &mut [i16]) -> ChunkInfo {
        const STEP: usize = crate::synth::BLOCK_FRAMES;
        let mut info = ChunkInfo {
            seq: self.seq,
            params: None,
        };
        let (mut l, mut r) = ([0f32; STEP], [0f32; STEP]);
        let mut rest = pcm;
        while rest.len() >= 2 {
            // Pieces end on the synthesizer's control grid, so that each
            // is one segment of all eight lanes (a chunk of 4,410 frames
            // is not a whole number of blocks: pieces of 64 from its
            // start would each straddle a grid point and split in two).
            let to_grid = STEP - (self.synth.frame() % STEP as u64) as usize;
            let frames = to_grid.min(rest.len() / 2);
            let (out, tail) = core::mem::take(&mut rest).split_at_mut(2 * frames);
            rest = tail;
            let (Some(l), Some(r)) = (l.get_mut(..frames), r.get_mut(..frames)) else {
                break;
            };
            if let Some(ctx) = self.render(l, r) {
                info.params = Some(ctx);
            }
            for ((pair, a), b) in out.chunks_exact_mut(2).zip(l.iter()).zip(r.iter()) {
                if let [pl, pr] = pair {
                    *pl = to_pcm(*a);
                    *pr = to_pcm(*b);
                }
            }
        }
        self.seq += 1;
        info
    }

    /// Renders `left.len()` frames of the stream (any count). Returns the
    /// new parameters when they took effect within these frames.
    pub fn render(&mut self, left: &mut [f32], right: &mut [f32]) -> Option<MusicalContext> {
        let n = left.len().min(right.len()) as u64;
        let end = self.frame + n;
        let mut changed = None;
        if !self.composing {
            self.synth.render(left, right);
            self.frame = end;
            return None;
        }
        if self.composer.pending().is_some() && self.switch_at.is_none() && self.phrase.end > 0 {
            self.cut_at_next_beat();
        }
        // Hand the synthesizer every event before `end`, composing the
        // next phrase whenever the current one runs out.
        for _ in 0..64 {
            while let Some(&(t, _, ev)) = self.queue.get(self.next) {
                if t >= end {
                    break;
                }
                // A renderer's queue holds what one render call plays; a
                // call of many seconds can overflow it (the built-in
                // synthesizer counts that too), so this is counted, not
                // asserted.
                if self.synth.schedule(self.origin + t, ev).is_err() {
                    self.events_dropped = self.events_dropped.saturating_add(1);
                }
                self.next += 1;
            }
            if self.next < self.queue.len() || self.composer.position() >= end {
                break;
            }
            let new_params = self.switch_at.take().is_some() || self.phrase.end == 0;
            let asked = self.composer.pending().is_some();
            self.compose_next();
            if new_params && asked {
                changed = Some(self.phrase.context);
            }
        }
        self.synth.render(left, right);
        self.frame = end;
        changed
    }

    /// Composes the next phrase and queues its events in time order.
    fn compose_next(&mut self) {
        self.composer.compose_into(self.bars, &mut self.phrase);
        self.queue.clear();
        self.next = 0;
        let mut order = 0u16;
        let queue = &mut self.queue;
        let dropped = &mut self.events_dropped;
        phrase_events(&self.phrase, |t, ev| {
            lost(dropped, queue.push((t, order, ev)));
            order = order.wrapping_add(1);
        });
        if self.drone {
            let root = drone_root(&self.phrase.context);
            if self.drone_note != Some(root) {
                let at = self.phrase.start;
                if let Some(old) = self.drone_note {
                    let off = MidiEvent::NoteOff {
                        channel: DRONE_CHANNEL,
                        key: old,
                    };
                    lost(dropped, queue.push((at, order, off)));
                }
                let on = MidiEvent::NoteOn {
                    channel: DRONE_CHANNEL,
                    key: root,
                    velocity: DRONE_VELOCITY,
                };
                lost(dropped, queue.push((at, order.wrapping_add(1), on)));
                self.drone_note = Some(root);
            }
        }
        // By time; at one time offs before ons; otherwise in push order.
        self.queue.sort_unstable_by_key(|&(t, order, ev)| {
            (t, !matches!(ev, MidiEvent::NoteOff { .. }), order)
        });
    }

    /// Cuts the current phrase at the first beat at or after the current
    /// frame: later events are dropped, every note is released there, and
    /// the composer restarts there with the pending parameters.
    fn cut_at_next_beat(&mut self) {
        let at = self.composer.next_beat_at(self.frame);
        let keep = self
            .queue
            .iter()
            .position(|&(t, _, _)| t >= at)
            .unwrap_or(self.queue.len())
            .max(self.next);
        self.queue.truncate(keep);
        for channel in [KEYS_CHANNEL, PAD_CHANNEL] {
            let off = MidiEvent::ControlChange {
                channel,
                controller: cc::ALL_NOTES_OFF,
                value: 0,
            };
            let r = self.queue.push((at, u16::MAX, off));
            lost(&mut self.events_dropped, r);
        }
        self.composer.restart_at(at);
        self.switch_at = Some(at);
    }
}

/// Gives a renderer the engine's programs and mix: keys a little above
/// the pad, both well into the reverb, the engine's reverb, chorus and
/// gain, and the drone's channel (the warm pad, low and well back).
fn set_up<'a, R: StreamRenderer<'a>>(synth: &mut R) -> Result<(), EngineError> {
    synth.program_change(KEYS_CHANNEL, PROGRAM_KEYS)?;
    synth.program_change(PAD_CHANNEL, PROGRAM_WARM_PAD)?;
    for (channel, controller, value) in MIX {
        synth.control_change(channel, controller, value)?;
    }
    let (room, damping, wet) = REVERB;
    synth.configure_reverb(room, damping, wet);
    synth.set_chorus(CHORUS);
    synth.set_gain(GAIN);
    synth.program_change(DRONE_CHANNEL, PROGRAM_WARM_PAD)?;
    synth.control_change(DRONE_CHANNEL, cc::VOLUME, 84)?;
    synth.control_change(DRONE_CHANNEL, cc::REVERB_SEND, 100)?;
    Ok(())
}

/// Counts an event the engine could not queue or apply. Its queues are
/// sized for the largest phrase and its events are valid by construction,
/// so this cannot happen: debug builds assert it, release builds count it.
fn lost<T, E>(dropped: &mut u64, r: Result<T, E>) {
    debug_assert!(r.is_ok(), "the engine dropped an event it made");
    if r.is_err() {
        *dropped = dropped.saturating_add(1);
    }
}
