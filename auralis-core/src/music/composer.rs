//! The composer: turns a [`MusicalContext`] into an endless chain of
//! phrases (chords, pad voicings and melody) with event times in samples.

use core::fmt;

use heapless::Vec;

use super::chord::{Chord, Quality};
use super::context::{MusicalContext, PitchClassSet};
use super::harmony::{next_chord, opening_chord};
use super::melody::{fingerprint, MelodyState, RawNote, Segment};
use super::voicing::Voicing;
use super::PULSES_PER_BEAT;
use crate::rate::SampleRate;
use crate::rng::Rng;

/// Most chord spans one phrase can hold. A chord lasts at least 30 s and a
/// 16-bar phrase at 40 BPM lasts 96 s, so at most 5 spans occur.
pub const MAX_CHORD_SPANS: usize = 8;
/// Most pad note events one phrase can hold (a re-voicing at most every
/// 2 bars, each at most 4 note-offs and 4 note-ons, plus chord changes).
pub const MAX_PAD_EVENTS: usize = 128;
/// Most melody notes one phrase can hold (at most two per beat).
pub const MAX_MELODY_NOTES: usize = 128;
/// 8-bar melody fingerprints remembered for the variety check: enough for
/// more than 60 minutes at 90 BPM (169 segments).
const RECENT_MELODIES: usize = 256;
/// Attempts at an 8-bar melody that has not been heard within the hour.
const VARIETY_ATTEMPTS: u32 = 4;
/// Shortest and longest a chord may hold, in seconds.
const HOLD_MIN_SECS: u64 = 30;
const HOLD_MAX_SECS: u64 = 90;

/// Phrase length: the original system's 8 or 16 bars of 4/4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PhraseBars {
    /// Eight bars.
    Eight = 8,
    /// Sixteen bars.
    Sixteen = 16,
}

impl PhraseBars {
    /// The number of bars.
    pub const fn get(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u32> for PhraseBars {
    type Error = ComposerError;

    fn try_from(bars: u32) -> Result<Self, Self::Error> {
        match bars {
            8 => Ok(PhraseBars::Eight),
            16 => Ok(PhraseBars::Sixteen),
            other => Err(ComposerError::PhraseBars(other)),
        }
    }
}

/// What a composer cannot be asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComposerError {
    /// A phrase must be 8 or 16 bars.
    PhraseBars(u32),
}

impl fmt::Display for ComposerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComposerError::PhraseBars(b) => {
                write!(f, "a phrase of {b} bars is not supported: use 8 or 16")
            }
        }
    }
}

impl core::error::Error for ComposerError {}

/// A note-on or note-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteAction {
    /// Start the note at this velocity (1–127).
    On {
        /// MIDI velocity.
        velocity: u8,
    },
    /// Release the note.
    Off,
}

/// A pad note event at an absolute sample time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoteEvent {
    /// Samples from the start of the stream.
    pub time: u64,
    /// MIDI pitch.
    pub pitch: u8,
    /// On or off.
    pub action: NoteAction,
}

/// A chord sounding in a phrase from `start` (in samples from the start of
/// the stream) to the next span or the phrase end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChordSpan {
    /// Where the span begins in this phrase.
    pub start: u64,
    /// The chord.
    pub chord: Chord,
    /// `true` where the chord changes here, `false` where it continues
    /// from the previous phrase.
    pub changed: bool,
}

/// A melody note with absolute sample times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MelodyNote {
    /// Note-on, in samples from the start of the stream.
    pub start: u64,
    /// Note-off, in samples from the start of the stream (after `start`).
    pub end: u64,
    /// MIDI pitch, 48–96.
    pub pitch: u8,
    /// MIDI velocity, 20–100.
    pub velocity: u8,
}

/// The harmony of one phrase: which chords sound and the pad's notes.
///
/// Pad notes ring across phrases: a phrase holds the note-ons and
/// note-offs that fall inside it, so a note started in one phrase may end
/// in a later one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChordProgression {
    spans: Vec<ChordSpan, MAX_CHORD_SPANS>,
    pad: Vec<NoteEvent, MAX_PAD_EVENTS>,
}

impl ChordProgression {
    /// The chords, in time order; the first starts at the phrase start.
    pub fn spans(&self) -> &[ChordSpan] {
        &self.spans
    }

    /// The pad's note events, in time order (offs before ons at one time).
    pub fn pad(&self) -> &[NoteEvent] {
        &self.pad
    }
}

/// The melody of one phrase. Every note starts and ends inside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MelodyPhrase {
    notes: Vec<MelodyNote, MAX_MELODY_NOTES>,
}

impl MelodyPhrase {
    /// The notes, ordered by start time.
    pub fn notes(&self) -> &[MelodyNote] {
        &self.notes
    }
}

/// One composed phrase: its place in the stream, the context it was
/// composed in, its chords and its melody.
#[derive(Clone, Debug, PartialEq)]
pub struct Phrase {
    /// First sample of the phrase, from the start of the stream.
    pub start: u64,
    /// One past the last sample of the phrase.
    pub end: u64,
    /// Length in bars.
    pub bars: PhraseBars,
    /// The context in force for the whole phrase.
    pub context: MusicalContext,
    /// Chords and pad.
    pub chords: ChordProgression,
    /// Melody.
    pub melody: MelodyPhrase,
}

impl Phrase {
    /// An empty phrase, ready to be filled by [`Composer::compose_into`].
    pub const fn empty() -> Self {
        Self {
            start: 0,
            end: 0,
            bars: PhraseBars::Eight,
            context: MusicalContext::DEFAULT,
            chords: ChordProgression {
                spans: Vec::new(),
                pad: Vec::new(),
            },
            melody: MelodyPhrase { notes: Vec::new() },
        }
    }
}

/// What the composer has done, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComposerStats {
    /// Phrases composed.
    pub phrases: u64,
    /// Chord changes made.
    pub chord_changes: u64,
    /// Events that did not fit a phrase's fixed capacity and were left out.
    pub dropped_events: u64,
    /// 8-bar melodies composed again because they had been heard within
    /// the hour.
    pub repeats_avoided: u64,
    /// 8-bar melodies kept although heard within the hour (after every
    /// attempt at a new one repeated too).
    pub repeats_kept: u64,
}

/// Sample clock for one tempo: pulses (480 per beat) to samples.
#[derive(Clone, Copy, Debug)]
struct Clock {
    sample_rate: u64,
    bpm_milli: u64,
}

impl Clock {
    fn new(sample_rate: u32, ctx: &MusicalContext) -> Self {
        // Milli-BPM keeps the arithmetic integral and exact for any tempo
        // given to three decimals; 40–90 BPM is 40_000–90_000.
        let bpm_milli = (ctx.bpm() * 1000.0 + 0.5) as u64;
        Self {
            sample_rate: u64::from(sample_rate),
            bpm_milli: bpm_milli.max(1),
        }
    }

    /// Samples from a phrase start to `pulses` into it (rounded down).
    fn samples(&self, pulses: u32) -> u64 {
        u64::from(pulses) * self.sample_rate * 60_000
            / (self.bpm_milli * u64::from(PULSES_PER_BEAT))
    }

    /// Pulses in `secs` seconds at this tempo.
    fn pulses_in(&self, secs: u64) -> u32 {
        (secs * self.bpm_milli * u64::from(PULSES_PER_BEAT) / 60_000) as u32
    }
}

/// The chord that sounds and how long it has held.
#[derive(Clone, Copy, Debug)]
struct Harmony {
    chord: Chord,
    /// Sample at which the chord began.
    since: u64,
    /// Pulses the chord has sounded, at whatever tempi.
    pulses: u32,
    /// Pulses the chord wants to hold (chosen at its start, 36–84 s).
    hold: u32,
    /// Pulses into the chord of the next pad re-voicing.
    revoice_at: u32,
    /// Whether the pad is coloured (sus or add9) and should resolve.
    coloured: bool,
}

/// The composer: a seeded, endless source of phrases.
///
/// Methods: [`Composer::new`], [`Composer::set_context`],
/// [`Composer::context`], [`Composer::compose_into`],
/// [`Composer::next_phrase`], [`Composer::position`],
/// [`Composer::sounding_pad`], [`Composer::stats`].
///
/// The same seed, sample rate and sequence of context changes (each at the
/// same phrase) give the same phrases, bit for bit, on every target.
///
/// # Real-time
/// Composing never allocates, locks or panics; a phrase costs a few
/// microseconds (see `BENCHMARKS.md`). About 10 KiB in size, most of it the
/// variety memory.
#[derive(Clone, Debug)]
pub struct Composer {
    rng: Rng,
    sample_rate: SampleRate,
    context: MusicalContext,
    pending: Option<MusicalContext>,
    position: u64,
    /// Where the last phrase started.
    last_start: u64,
    /// The next phrase opens on a chord whose change was cut off and
    /// never heard: report it as a change.
    restarted_chord: bool,
    harmony: Option<Harmony>,
    /// The sounding pad voicing; `None` before the first chord.
    voicing: Option<Voicing>,
    melody: MelodyState,
    recent: [u64; RECENT_MELODIES],
    recent_len: usize,
    recent_next: usize,
    stats: ComposerStats,
}

impl Composer {
    /// A composer for `context` at `sample_rate`, seeded with `seed`.
    pub const fn new(seed: u64, sample_rate: SampleRate, context: MusicalContext) -> Self {
        Self::unchecked(seed, sample_rate, context)
    }

    /// A composer for the default context at 44.1 kHz with seed 0, as a
    /// constant (for building an engine in place).
    pub const fn idle() -> Self {
        Self::unchecked(0, SampleRate::HZ_44100, MusicalContext::DEFAULT)
    }

    const fn unchecked(seed: u64, sample_rate: SampleRate, context: MusicalContext) -> Self {
        Self {
            rng: Rng::new(seed),
            sample_rate,
            context,
            pending: None,
            position: 0,
            last_start: 0,
            restarted_chord: false,
            harmony: None,
            voicing: None,
            melody: MelodyState {
                last_pitch: context.key() + 7,
            },
            recent: [0; RECENT_MELODIES],
            recent_len: 0,
            recent_next: 0,
            stats: ComposerStats {
                phrases: 0,
                chord_changes: 0,
                dropped_events: 0,
                repeats_avoided: 0,
                repeats_kept: 0,
            },
        }
    }

    /// Asks for a new context from the next phrase on. Calls before that
    /// phrase replace each other: the last one wins.
    pub fn set_context(&mut self, context: MusicalContext) {
        self.pending = Some(context);
    }

    /// The context asked for with [`Composer::set_context`] that no
    /// phrase has taken up yet.
    pub fn pending(&self) -> Option<MusicalContext> {
        self.pending
    }

    /// The context of the phrase composed last (or of the first phrase).
    pub fn context(&self) -> MusicalContext {
        self.context
    }

    /// Where the next phrase starts, in samples from the start of the stream.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The sample rate event times are counted in.
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rate
    }

    /// The pad pitches sounding after the last phrase (to be released when
    /// a stream ends); `None` before the first phrase.
    pub fn sounding_pad(&self) -> Option<Voicing> {
        self.voicing
    }

    /// Makes the next phrase start at `frame` with a silent pad, cutting
    /// the last phrase short there. The caller must have released every
    /// note sounding at `frame`; the next phrase strikes the pad afresh
    /// (in a new chord when the key or mode changes, else in the same one).
    /// `frame` is clamped to lie within the last phrase.
    ///
    /// This is how a parameter change takes effect within seconds rather
    /// than at the end of a long phrase.
    pub fn restart_at(&mut self, frame: u64) {
        self.position = frame.clamp(self.last_start, self.position);
        self.voicing = None;
        // A chord change after the cut was never heard: that chord starts
        // at the cut instead, and its hold is counted from there.
        if let Some(h) = &mut self.harmony {
            if h.since > self.position {
                h.since = self.position;
                h.pulses = 0;
                h.revoice_at = 2 * 4 * PULSES_PER_BEAT;
                h.coloured = false;
                self.restarted_chord = true;
            }
        }
    }

    /// Makes the next phrase start at `frame`, after a pause of any
    /// length: later than everything composed, the composer jumps there;
    /// within the last phrase, it cuts it there as [`Composer::restart_at`]
    /// does. The pad is struck afresh. For hosts that paused the music;
    /// the caller must have released every note.
    pub fn resume_at(&mut self, frame: u64) {
        if frame > self.position {
            self.position = frame;
            self.last_start = frame;
            self.voicing = None;
        } else {
            self.restart_at(frame);
        }
    }

    /// The first beat at or after `frame` in the phrase composed last,
    /// counted from its start at its tempo, and no later than its end
    /// (where a host cuts a phrase to change parameters on a beat).
    pub fn next_beat_at(&self, frame: u64) -> u64 {
        let beat = Clock::new(self.sample_rate.hz(), &self.context)
            .samples(PULSES_PER_BEAT)
            .max(1);
        let since = frame.saturating_sub(self.last_start);
        (self.last_start + since.div_ceil(beat) * beat).min(self.position)
    }

    /// What the composer has done so far.
    pub fn stats(&self) -> ComposerStats {
        self.stats
    }

    /// Composes the next phrase and returns it.
    pub fn next_phrase(&mut self, bars: PhraseBars) -> Phrase {
        let mut phrase = Phrase::empty();
        self.compose_into(bars, &mut phrase);
        phrase
    }

    /// Composes the next phrase into `out`, reusing its storage.
    ///
    /// # Real-time
    /// No allocation, no locks, no panics; bounded work (a few thousand
    /// weighted choices at most).
    pub fn compose_into(&mut self, bars: PhraseBars, out: &mut Phrase) {
        let mut new_key = false;
        if let Some(ctx) = self.pending.take() {
            new_key = ctx.key() != self.context.key() || ctx.mode() != self.context.mode();
            self.context = ctx;
        }
        let ctx = self.context;
        let clock = Clock::new(self.sample_rate.hz(), &ctx);
        let n_bars = bars.get();
        let bar_pulses = 4 * PULSES_PER_BEAT;
        out.start = self.position;
        self.last_start = self.position;
        out.end = self.position + clock.samples(u32::from(n_bars) * bar_pulses);
        out.bars = bars;
        out.context = ctx;
        out.chords.spans.clear();
        out.chords.pad.clear();
        out.melody.notes.clear();

        let mut chords: Vec<(u8, Chord), MAX_CHORD_SPANS> = Vec::new();
        let mut dropped = 0u64;
        for bar in 0..n_bars {
            let offset = u32::from(bar) * bar_pulses;
            let time = out.start + clock.samples(offset);
            let bar_len = clock.samples(offset + bar_pulses) - clock.samples(offset);
            let change = match &self.harmony {
                None => true,
                Some(h) => (bar == 0 && new_key) || self.hold_is_over(h, time, bar_len),
            };
            if change {
                let chord = match &self.harmony {
                    None => opening_chord(&ctx),
                    Some(h) => next_chord(&ctx, &h.chord, &mut self.rng),
                };
                dropped += self.change_chord(chord, time, &clock, &mut out.chords.pad);
                self.stats.chord_changes += 1;
            } else if let Some(h) = self.harmony {
                if self.voicing.is_none() {
                    // The pad was silenced (a restart): strike the chord again.
                    let pcs = h.chord.pitch_classes();
                    dropped += self.move_pad(
                        Voicing::close(h.chord.root(), pcs),
                        time,
                        &mut out.chords.pad,
                    );
                } else if h.pulses >= h.revoice_at {
                    dropped += self.revoice(time, &mut out.chords.pad);
                }
            }
            if let Some(h) = &mut self.harmony {
                if change || bar == 0 {
                    let span = ChordSpan {
                        start: time,
                        chord: h.chord,
                        changed: change || core::mem::take(&mut self.restarted_chord),
                    };
                    dropped += u64::from(out.chords.spans.push(span).is_err());
                    dropped += u64::from(chords.push((bar, h.chord)).is_err());
                }
                h.pulses = h.pulses.saturating_add(bar_pulses);
            }
        }

        let mut raw: Vec<RawNote, MAX_MELODY_NOTES> = Vec::new();
        for first_bar in (0..n_bars).step_by(8) {
            let segment = Segment {
                ctx: &ctx,
                chords: &chords,
                first_bar,
                phrase_bars: n_bars,
            };
            dropped += u64::from(self.varied_segment(&segment, &mut raw));
        }
        for n in &raw {
            let note = MelodyNote {
                start: out.start + clock.samples(n.on),
                end: out.start + clock.samples(n.off),
                pitch: n.pitch,
                velocity: n.velocity,
            };
            dropped += u64::from(out.melody.notes.push(note).is_err());
        }

        self.stats.dropped_events += dropped;
        self.stats.phrases += 1;
        self.position = out.end;
    }

    /// Whether the chord has held long enough at the bar starting at `time`
    /// (of `bar_len` samples): past 30 s and its chosen length, or about to
    /// pass 90 s.
    fn hold_is_over(&self, h: &Harmony, time: u64, bar_len: u64) -> bool {
        let sr = u64::from(self.sample_rate.hz());
        let held = time.saturating_sub(h.since);
        (held >= HOLD_MIN_SECS * sr && h.pulses >= h.hold) || held + bar_len > HOLD_MAX_SECS * sr
    }

    /// Moves the pad to `chord` at `time` and starts its hold. Returns the
    /// number of events that did not fit.
    fn change_chord<const N: usize>(
        &mut self,
        chord: Chord,
        time: u64,
        clock: &Clock,
        pad: &mut Vec<NoteEvent, N>,
    ) -> u64 {
        let target = chord.pitch_classes();
        let next = match self.voicing {
            None => Voicing::close(chord.root(), target),
            Some(v) => v.lead_to(target),
        };
        let hold_secs = u64::from(self.rng.range(36, 84));
        self.harmony = Some(Harmony {
            chord,
            since: time,
            pulses: 0,
            hold: clock.pulses_in(hold_secs),
            revoice_at: self.revoice_interval(),
            coloured: false,
        });
        self.move_pad(next, time, pad)
    }

    /// Bars until the next re-voicing, in pulses: 2 to 4 bars.
    fn revoice_interval(&mut self) -> u32 {
        self.rng.range(2, 4) * 4 * PULSES_PER_BEAT
    }

    /// Re-voices the pad inside the current chord: resolves a colour, or
    /// turns the voicing over, or adds a sus/add9 colour, or holds.
    fn revoice<const N: usize>(&mut self, time: u64, pad: &mut Vec<NoteEvent, N>) -> u64 {
        let (Some(mut h), Some(voicing)) = (self.harmony, self.voicing) else {
            return 0;
        };
        let chord_pcs = h.chord.pitch_classes();
        let next = if h.coloured {
            h.coloured = false;
            voicing.lead_to(chord_pcs)
        } else {
            match self.rng.below(10) {
                0..=3 => voicing.inverted(),
                4..=6 => match colour(&self.context, &h.chord) {
                    Some(pcs) => {
                        h.coloured = true;
                        voicing.lead_to(pcs)
                    }
                    None => voicing.inverted(),
                },
                _ => voicing,
            }
        };
        h.revoice_at = h.pulses + self.revoice_interval();
        self.harmony = Some(h);
        self.move_pad(next, time, pad)
    }

    /// Emits the offs and ons that take the pad from its voicing to `next`.
    fn move_pad<const N: usize>(
        &mut self,
        next: Voicing,
        time: u64,
        pad: &mut Vec<NoteEvent, N>,
    ) -> u64 {
        let velocity = (40.0 + 30.0 * self.context.intensity()) as u8;
        let prev = self.voicing.map_or([0; 4], |v| v.0);
        let mut dropped = 0;
        for (i, &p) in prev.iter().enumerate() {
            let dup = prev.iter().take(i).any(|&q| q == p);
            if p != 0 && !dup && !next.contains(p) {
                let ev = NoteEvent {
                    time,
                    pitch: p,
                    action: NoteAction::Off,
                };
                dropped += u64::from(pad.push(ev).is_err());
            }
        }
        for (i, &p) in next.0.iter().enumerate() {
            let dup = next.0.iter().take(i).any(|&q| q == p);
            if !dup && !prev.contains(&p) {
                let ev = NoteEvent {
                    time,
                    pitch: p,
                    action: NoteAction::On { velocity },
                };
                dropped += u64::from(pad.push(ev).is_err());
            }
        }
        self.voicing = Some(next);
        dropped
    }

    /// Composes 8 bars of melody into `raw`, again (up to a few times)
    /// while they repeat one heard within the hour. Returns notes dropped.
    fn varied_segment<const N: usize>(
        &mut self,
        segment: &Segment<'_>,
        raw: &mut Vec<RawNote, N>,
    ) -> u32 {
        let mark = raw.len();
        let saved = self.melody;
        let mut dropped = 0;
        for attempt in 0..VARIETY_ATTEMPTS {
            raw.truncate(mark);
            self.melody = saved;
            dropped = segment.compose(&mut self.rng, &mut self.melody, raw);
            let print = fingerprint(raw.iter().skip(mark));
            let heard = self
                .recent
                .iter()
                .take(self.recent_len)
                .any(|&h| h == print);
            if !heard || attempt + 1 == VARIETY_ATTEMPTS {
                if heard {
                    self.stats.repeats_kept += 1;
                }
                self.remember(print);
                break;
            }
            self.stats.repeats_avoided += 1;
        }
        dropped
    }

    fn remember(&mut self, print: u64) {
        if let Some(slot) = self.recent.get_mut(self.recent_next) {
            *slot = print;
        }
        self.recent_next = (self.recent_next + 1) % RECENT_MELODIES;
        self.recent_len = (self.recent_len + 1).min(RECENT_MELODIES);
    }
}

/// A passing colour for the pad over `chord`: the third replaced by a
/// suspension, or a ninth added, using only scale tones. `None` when the
/// chord has no third to suspend or room for a ninth.
fn colour(ctx: &MusicalContext, chord: &Chord) -> Option<PitchClassSet> {
    let scale = ctx.scale();
    let pcs = chord.pitch_classes();
    let root = chord.root();
    let third = chord.quality().third()?;
    let four = root + 5;
    let two = root + 2;
    if matches!(chord.quality(), Quality::Major | Quality::Minor)
        && scale.contains(two)
        && pcs.len() < 4
    {
        return Some(pcs.with(two));
    }
    if scale.contains(four) {
        return Some(pcs.without(root + third).with(four));
    }
    if scale.contains(two) {
        return Some(pcs.without(root + third).with(two));
    }
    None
}
