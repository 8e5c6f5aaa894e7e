//! The synthesizer: 16 MIDI channels, a fixed pool of voices with
//! priority stealing, sample-accurate scheduled events, reverb, chorus and
//! a limiter.

use core::fmt;

use heapless::binary_heap::{BinaryHeap, Min};

use super::dsp::CONTROL_FRAMES;
use super::effects::{Chorus, Limiter, Reverb};
use super::params::{
    apply, collect_modulators, preset_may_add, Modulator, SourceValues, DEFAULTS, GEN_COUNT,
};
use super::sf2::{Sf2Error, SoundFont, Zone};
use super::voice::{Interpolation, Mix, Voice, VoiceStart, MAX_MODULATORS};

/// SoundFonts one synthesizer can hold at once.
pub const MAX_FONTS: usize = 4;
/// Scheduled events waiting at most.
pub const EVENT_CAPACITY: usize = 1024;
/// Stolen voices that may fade out at once beside the pool.
const FADE_SLOTS: usize = 16;
/// MIDI channels.
pub const CHANNELS: usize = 16;

/// A loaded SoundFont's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FontId(pub u8);

/// A MIDI channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MidiEvent {
    /// Start a note (velocity 0 means note-off).
    NoteOn {
        /// Channel 0–15.
        channel: u8,
        /// Key 0–127.
        key: u8,
        /// Velocity 0–127.
        velocity: u8,
    },
    /// Release a note.
    NoteOff {
        /// Channel 0–15.
        channel: u8,
        /// Key 0–127.
        key: u8,
    },
    /// A controller change.
    ControlChange {
        /// Channel 0–15.
        channel: u8,
        /// Controller 0–127.
        controller: u8,
        /// Value 0–127.
        value: u8,
    },
    /// Choose a program (in the channel's bank).
    ProgramChange {
        /// Channel 0–15.
        channel: u8,
        /// Program 0–127.
        program: u8,
    },
    /// Pitch wheel, 0–16383 with 8192 at rest.
    PitchBend {
        /// Channel 0–15.
        channel: u8,
        /// 14-bit value.
        value: u16,
    },
    /// Channel (after-touch) pressure.
    ChannelPressure {
        /// Channel 0–15.
        channel: u8,
        /// Value 0–127.
        value: u8,
    },
}

impl MidiEvent {
    fn channel(&self) -> u8 {
        match *self {
            MidiEvent::NoteOn { channel, .. }
            | MidiEvent::NoteOff { channel, .. }
            | MidiEvent::ControlChange { channel, .. }
            | MidiEvent::ProgramChange { channel, .. }
            | MidiEvent::PitchBend { channel, .. }
            | MidiEvent::ChannelPressure { channel, .. } => channel,
        }
    }

    /// Checks channel and data ranges.
    fn validate(&self) -> Result<(), SynthError> {
        let ch = self.channel();
        if usize::from(ch) >= CHANNELS {
            return Err(SynthError::Channel(ch));
        }
        let ok = match *self {
            MidiEvent::NoteOn { key, velocity, .. } => key < 128 && velocity < 128,
            MidiEvent::NoteOff { key, .. } => key < 128,
            MidiEvent::ControlChange {
                controller, value, ..
            } => controller < 128 && value < 128,
            MidiEvent::ProgramChange { program, .. } => program < 128,
            MidiEvent::PitchBend { value, .. } => value < 16_384,
            MidiEvent::ChannelPressure { value, .. } => value < 128,
        };
        if ok {
            Ok(())
        } else {
            Err(SynthError::Value(*self))
        }
    }
}

/// What went wrong asking the synthesizer for something.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SynthError {
    /// The SoundFont failed validation.
    Font(Sf2Error),
    /// All font slots are in use.
    TooManyFonts,
    /// No font has this id.
    UnknownFont(FontId),
    /// The font has no preset with this bank and program.
    NoSuchPreset {
        /// Bank.
        bank: u16,
        /// Program.
        program: u8,
    },
    /// Channels are 0–15.
    Channel(u8),
    /// A data byte is out of range.
    Value(MidiEvent),
    /// The sample rate is outside 8–192 kHz.
    SampleRate(u32),
    /// The event queue is full; the event was not scheduled.
    QueueFull,
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::Font(e) => write!(f, "{e}"),
            SynthError::TooManyFonts => write!(
                f,
                "no room for another SoundFont: at most {MAX_FONTS} can be loaded"
            ),
            SynthError::UnknownFont(id) => write!(f, "no SoundFont is loaded with id {}", id.0),
            SynthError::NoSuchPreset { bank, program } => {
                write!(
                    f,
                    "the SoundFont has no preset for bank {bank}, program {program}"
                )
            }
            SynthError::Channel(c) => write!(f, "channel {c} is out of range: use 0 to 15"),
            SynthError::Value(e) => write!(f, "a value in {e:?} is out of range"),
            SynthError::SampleRate(r) => {
                write!(f, "sample rate {r} Hz is not supported: use 8000 to 192000")
            }
            SynthError::QueueFull => write!(f, "the event queue is full ({EVENT_CAPACITY} events)"),
        }
    }
}

impl core::error::Error for SynthError {}

impl From<Sf2Error> for SynthError {
    fn from(e: Sf2Error) -> Self {
        SynthError::Font(e)
    }
}

/// What the synthesizer has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// Voices stolen to make room (each faded out, not cut).
    pub voices_stolen: u64,
    /// Fading voices ended abruptly because every fade slot was busy.
    pub hard_cuts: u64,
    /// Events refused because the queue was full.
    pub events_dropped: u64,
    /// Note-ons on a channel with no playable preset.
    pub notes_without_preset: u64,
}

/// The SoundFont synthesizer contract, after the seed's
/// `IFluidSynthRenderer`: load fonts, choose presets, play notes and
/// controllers, render stereo audio.
pub trait SoundFontRenderer<'a> {
    /// Loads a SoundFont from bytes that outlive the renderer.
    fn load_soundfont(&mut self, bytes: &'a [u8]) -> Result<FontId, SynthError>;
    /// Plays `preset` of `bank` from font `font` on `channel`.
    fn select_preset(
        &mut self,
        channel: u8,
        font: FontId,
        bank: u16,
        preset: u8,
    ) -> Result<(), SynthError>;
    /// Starts a note now.
    fn note_on(&mut self, channel: u8, key: u8, velocity: u8) -> Result<(), SynthError>;
    /// Releases a note now.
    fn note_off(&mut self, channel: u8, key: u8) -> Result<(), SynthError>;
    /// A controller change now.
    fn control_change(&mut self, channel: u8, controller: u8, value: u8) -> Result<(), SynthError>;
    /// A program change now.
    fn program_change(&mut self, channel: u8, program: u8) -> Result<(), SynthError>;
    /// A pitch-wheel move now (0–16383, 8192 at rest).
    fn pitch_bend(&mut self, channel: u8, value: u16) -> Result<(), SynthError>;
    /// Releases every note of a channel.
    fn all_notes_off(&mut self, channel: u8) -> Result<(), SynthError>;
    /// Silences every voice of a channel at once (with a click-free fade).
    fn all_sound_off(&mut self, channel: u8) -> Result<(), SynthError>;
    /// Silences everything and resets every channel.
    fn reset(&mut self);
    /// Renders `left.len()` (= `right.len()`) frames.
    fn render(&mut self, left: &mut [f32], right: &mut [f32]);
    /// Reverb room size, damping and wet level, each 0–1.
    fn configure_reverb(&mut self, room_size: f32, damping: f32, wet_level: f32);
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    cc: [u8; 128],
    bend: u16,
    pressure: u8,
    bend_range: u8,
    bank: u16,
    program: u8,
    preset: Option<(usize, usize)>,
    rpn: u16,
    sustain: bool,
}

const NULL_RPN: u16 = 0x3fff;

impl Channel {
    const fn new() -> Self {
        let mut cc = [0u8; 128];
        cc[7] = 100;
        cc[10] = 64;
        cc[11] = 127;
        Self {
            cc,
            bend: 8192,
            pressure: 0,
            bend_range: 2,
            bank: 0,
            program: 0,
            preset: None,
            rpn: NULL_RPN,
            sustain: false,
        }
    }

    fn values(&self, key: u8, velocity: u8) -> SourceValues<'_> {
        SourceValues {
            cc: &self.cc,
            key,
            velocity,
            pressure: self.pressure,
            bend: self.bend,
            bend_range: self.bend_range,
        }
    }
}

/// An event waiting for its frame; ordered by frame, then by arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scheduled {
    frame: u64,
    seq: u64,
    event: MidiEvent,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.frame, self.seq).cmp(&(other.frame, other.seq))
    }
}

/// The synthesizer, with a pool of `VOICES` voices (default 64).
///
/// Methods: [`Synth::new`], [`Synth::schedule`], [`Synth::frame`],
/// [`Synth::set_interpolation`], [`Synth::set_gain`],
/// [`Synth::set_chorus`], [`Synth::active_voices`], [`Synth::stats`],
/// and the [`SoundFontRenderer`] methods.
///
/// # Real-time
/// After construction nothing allocates, locks or panics: note events
/// are O(zones + voices), rendering is O(frames × voices). Events are
/// sample-accurate: an event scheduled at frame N takes effect at frame N
/// whatever the render block sizes, and the output does not depend on how
/// rendering is split into calls.
pub struct Synth<'a, const VOICES: usize = 64> {
    fonts: [Option<SoundFont<'a>>; MAX_FONTS],
    channels: [Channel; CHANNELS],
    voices: [Voice; VOICES],
    active: usize,
    polyphony: usize,
    fading: [Voice; FADE_SLOTS],
    events: BinaryHeap<Scheduled, Min, EVENT_CAPACITY>,
    seq: u64,
    frame: u64,
    sample_rate: u32,
    interpolation: Interpolation,
    reverb: Reverb,
    chorus: Chorus,
    limiter: Limiter,
    bufs: [[f32; CONTROL_FRAMES as usize]; 4],
    gain: f32,
    serial: u64,
    stats: SynthStats,
}

impl<'a, const VOICES: usize> Synth<'a, VOICES> {
    const POOL_OK: () = assert!(
        VOICES >= 1 && VOICES <= 4096,
        "a voice pool holds 1 to 4096 voices"
    );

    /// A synthesizer at `sample_rate` Hz with no font loaded.
    pub fn new(sample_rate: u32) -> Result<Self, SynthError> {
        let mut s = Self::idle();
        s.reinit(sample_rate)?;
        Ok(s)
    }

    /// A silent synthesizer at 44.1 kHz with no font, as a constant: the
    /// starting point for building one in place (see [`Synth::reinit`]),
    /// which never needs the whole synthesizer on the stack.
    pub const fn idle() -> Self {
        let () = Self::POOL_OK;
        Self {
            fonts: [const { None }; MAX_FONTS],
            channels: [const { Channel::new() }; CHANNELS],
            voices: [const { Voice::EMPTY }; VOICES],
            active: 0,
            polyphony: VOICES,
            fading: [const { Voice::EMPTY }; FADE_SLOTS],
            events: BinaryHeap::new(),
            seq: 0,
            frame: 0,
            sample_rate: 44_100,
            interpolation: Interpolation::Cubic,
            reverb: Reverb::new(),
            chorus: Chorus::new(),
            limiter: Limiter::new(),
            bufs: [[0.0; CONTROL_FRAMES as usize]; 4],
            gain: 0.5,
            serial: 0,
            stats: SynthStats {
                voices_stolen: 0,
                hard_cuts: 0,
                events_dropped: 0,
                notes_without_preset: 0,
            },
        }
    }

    /// Makes this synthesizer, in place, exactly what
    /// [`Synth::new`]`(sample_rate)` returns: no font, every voice free,
    /// effects cleared. Nothing large is built on the stack.
    pub fn reinit(&mut self, sample_rate: u32) -> Result<(), SynthError> {
        if !(8_000..=192_000).contains(&sample_rate) {
            return Err(SynthError::SampleRate(sample_rate));
        }
        self.fonts = [None; MAX_FONTS];
        for c in self.channels.iter_mut() {
            *c = Channel::new();
        }
        for v in self.voices.iter_mut().chain(self.fading.iter_mut()) {
            *v = Voice::EMPTY;
        }
        self.active = 0;
        self.polyphony = VOICES;
        self.events.clear();
        self.seq = 0;
        self.frame = 0;
        self.sample_rate = sample_rate;
        self.interpolation = Interpolation::Cubic;
        self.reverb.prepare(sample_rate);
        self.reverb.configure(0.5, 0.5, 0.2);
        self.chorus = Chorus::new();
        self.chorus.prepare(sample_rate);
        self.limiter.prepare(sample_rate);
        self.bufs = [[0.0; CONTROL_FRAMES as usize]; 4];
        self.gain = 0.5;
        self.serial = 0;
        self.stats = SynthStats::default();
        Ok(())
    }

    /// Frames rendered so far: the clock scheduled events refer to.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// The output sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Linear or 4-point cubic interpolation (the default) for new blocks.
    pub fn set_interpolation(&mut self, interpolation: Interpolation) {
        self.interpolation = interpolation;
    }

    /// Most voices that sound at once, 1 to `VOICES` (clamped; the default
    /// is `VOICES`). Beyond it a new note steals, as when the pool is full.
    /// Lowering it does not cut voices already sounding.
    pub fn set_polyphony(&mut self, voices: usize) {
        self.polyphony = voices.clamp(1, VOICES);
    }

    /// The polyphony limit in force.
    pub fn polyphony(&self) -> usize {
        self.polyphony
    }

    /// Master gain before the limiter (default 0.5; clamped to 0–8).
    pub fn set_gain(&mut self, gain: f32) {
        self.gain = if gain.is_finite() {
            gain.clamp(0.0, 8.0)
        } else {
            self.gain
        };
    }

    /// Chorus return level, 0 (off, the default) to 1.
    pub fn set_chorus(&mut self, level: f32) {
        self.chorus.level = if level.is_finite() {
            level.clamp(0.0, 1.0)
        } else {
            0.0
        };
    }

    /// Voices sounding now (fading stolen voices not counted).
    pub fn active_voices(&self) -> usize {
        self.active
    }

    /// What the synthesizer has counted.
    pub fn stats(&self) -> SynthStats {
        self.stats
    }

    /// Schedules `event` at absolute frame `frame` (see [`Synth::frame`]);
    /// a frame already past takes effect at the start of the next render.
    /// A full queue hands the event back and counts it.
    pub fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError> {
        event.validate()?;
        self.seq += 1;
        let s = Scheduled {
            frame,
            seq: self.seq,
            event,
        };
        self.events.push(s).map_err(|_| {
            self.stats.events_dropped += 1;
            SynthError::QueueFull
        })
    }

    /// Applies an event now.
    pub fn apply(&mut self, event: MidiEvent) -> Result<(), SynthError> {
        event.validate()?;
        self.dispatch(event);
        Ok(())
    }

    fn dispatch(&mut self, event: MidiEvent) {
        match event {
            MidiEvent::NoteOn {
                channel,
                key,
                velocity: 0,
            }
            | MidiEvent::NoteOff { channel, key } => self.release_note(channel, key),
            MidiEvent::NoteOn {
                channel,
                key,
                velocity,
            } => self.start_note(channel, key, velocity),
            MidiEvent::ControlChange {
                channel,
                controller,
                value,
            } => self.controller(channel, controller, value),
            MidiEvent::ProgramChange { channel, program } => self.program(channel, program),
            MidiEvent::PitchBend { channel, value } => {
                if let Some(c) = self.channels.get_mut(usize::from(channel)) {
                    c.bend = value;
                }
                self.update_channel(channel);
            }
            MidiEvent::ChannelPressure { channel, value } => {
                if let Some(c) = self.channels.get_mut(usize::from(channel)) {
                    c.pressure = value;
                }
                self.update_channel(channel);
            }
        }
    }

    fn font(&self, i: usize) -> Option<&SoundFont<'a>> {
        self.fonts.get(i).and_then(Option::as_ref)
    }

    /// Finds a preset in the loaded fonts, newest first: the exact bank,
    /// then bank 0 (or, for percussion, program 0 of bank 128).
    fn resolve(&self, bank: u16, program: u8) -> Option<(usize, usize)> {
        let find = |bank: u16, program: u16| {
            (0..MAX_FONTS).rev().find_map(|f| {
                self.font(f)
                    .and_then(|sf| sf.find_preset(bank, program))
                    .map(|p| (f, p))
            })
        };
        find(bank, u16::from(program)).or_else(|| {
            if bank == 128 {
                find(128, 0)
            } else {
                find(0, u16::from(program))
            }
        })
    }

    fn program(&mut self, channel: u8, program: u8) {
        let Some(c) = self.channels.get(usize::from(channel)) else {
            return;
        };
        let bank = if channel == 9 { 128 } else { c.bank };
        let preset = self.resolve(bank, program);
        if let Some(c) = self.channels.get_mut(usize::from(channel)) {
            c.program = program;
            c.preset = preset;
        }
    }

    fn start_note(&mut self, channel: u8, key: u8, velocity: u8) {
        let Some(&chan) = self.channels.get(usize::from(channel)) else {
            return;
        };
        let Some((fi, pi)) = chan.preset else {
            self.stats.notes_without_preset += 1;
            return;
        };
        let Some(font) = self.font(fi).copied() else {
            return;
        };
        let Some(preset) = font.preset(pi) else {
            return;
        };
        // One sounding note per key and channel: a repeat releases the old.
        self.release_note(channel, key);
        let first_serial = self.serial + 1;
        let pglobal = font.preset_global_zone(pi);
        for bag in preset.zones {
            let Some(pzone) = font.preset_zone(bag) else {
                continue;
            };
            let Some(inst) = pzone.instrument() else {
                continue;
            };
            if !pzone.matches(key, velocity) {
                continue;
            }
            let Some(ih) = font.instrument(inst) else {
                continue;
            };
            let iglobal = font.instrument_global_zone(inst);
            for ibag in ih.zones {
                let Some(izone) = font.instrument_zone(ibag) else {
                    continue;
                };
                let Some(sample) = izone.sample() else {
                    continue;
                };
                if !izone.matches(key, velocity) {
                    continue;
                }
                self.start_voice(
                    &font,
                    fi,
                    &chan,
                    channel,
                    key,
                    velocity,
                    sample,
                    first_serial,
                    [iglobal, Some(izone), pglobal, Some(pzone)],
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn start_voice(
        &mut self,
        font: &SoundFont<'a>,
        fi: usize,
        chan: &Channel,
        channel: u8,
        key: u8,
        velocity: u8,
        sample: usize,
        first_serial: u64,
        [iglobal, izone, pglobal, pzone]: [Option<Zone<'a>>; 4],
    ) {
        let (Some(izone), Some(pzone)) = (izone, pzone) else {
            return;
        };
        let mut gens = DEFAULTS;
        if let Some(z) = &iglobal {
            apply(&mut gens, z);
        }
        apply(&mut gens, &izone);
        let mut pg = [0i32; GEN_COUNT];
        if let Some(z) = &pglobal {
            apply(&mut pg, z);
        }
        apply(&mut pg, &pzone);
        for (i, (g, p)) in gens.iter_mut().zip(pg.iter()).enumerate() {
            if preset_may_add(i) {
                *g += *p;
            }
        }
        let mut mods: heapless::Vec<Modulator, MAX_MODULATORS> = heapless::Vec::new();
        collect_modulators(
            &mut mods,
            iglobal.as_ref(),
            &izone,
            pglobal.as_ref(),
            &pzone,
        );

        // An exclusive class silences the channel's other voices of the
        // class (a closed hi-hat chokes the open one).
        let class = gens.get(57).copied().unwrap_or(0);
        if class != 0 {
            for v in self.voices.iter_mut().take(self.active) {
                if v.channel == channel && v.exclusive_class == class && v.serial < first_serial {
                    v.cut();
                }
            }
        }
        let slot = if self.active < self.polyphony.min(VOICES) {
            self.active += 1;
            self.active - 1
        } else {
            self.steal()
        };
        self.serial += 1;
        let start = VoiceStart {
            channel,
            key,
            velocity,
            serial: self.serial,
            font: fi,
            sample,
            gens: &gens,
            mods: &mods,
            to_grid: (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as u32,
        };
        let sr = self.sample_rate as f32;
        let ok = self
            .voices
            .get_mut(slot)
            .is_some_and(|v| v.start(font, &start, chan.values(key, velocity), sr));
        if !ok {
            self.remove(slot);
        }
    }

    /// Frees a pool slot for a new voice: the lowest-priority voice —
    /// released before sustained, quiet before loud, old before new —
    /// moves to a fade slot and fades out there.
    fn steal(&mut self) -> usize {
        let rank = |v: &Voice| (!v.released, v.loudness(), v.serial);
        let mut victim = 0;
        for (i, v) in self.voices.iter().enumerate().take(self.active) {
            let best = self.voices.get(victim).map(rank);
            let (r, b) = (rank(v), best.unwrap_or((true, f32::MAX, u64::MAX)));
            if (r.0, r.1, r.2) < (b.0, b.1, b.2) {
                victim = i;
            }
        }
        self.stats.voices_stolen += 1;
        let fade = match self.fading.iter().position(|v| v.done) {
            Some(i) => i,
            None => {
                // Every fade slot busy: end the oldest fade at once.
                self.stats.hard_cuts += 1;
                self.fading
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, v)| v.serial)
                    .map_or(0, |(i, _)| i)
            }
        };
        if let (Some(v), Some(f)) = (self.voices.get_mut(victim), self.fading.get_mut(fade)) {
            v.cut();
            core::mem::swap(v, f);
        }
        victim
    }

    fn remove(&mut self, slot: usize) {
        if slot < self.active {
            self.active -= 1;
            self.voices.swap(slot, self.active);
            if let Some(v) = self.voices.get_mut(self.active) {
                v.done = true;
            }
        }
    }

    fn release_note(&mut self, channel: u8, key: u8) {
        let sustain = self
            .channels
            .get(usize::from(channel))
            .is_some_and(|c| c.sustain);
        for v in self.voices.iter_mut().take(self.active) {
            if v.channel == channel && v.key == key && !v.released {
                if sustain {
                    v.sustained = true;
                } else {
                    v.release();
                }
            }
        }
    }

    fn update_channel(&mut self, channel: u8) {
        let Some(c) = self.channels.get(usize::from(channel)) else {
            return;
        };
        for v in self.voices.iter_mut().take(self.active) {
            if v.channel == channel {
                v.update(c.values(v.key, v.velocity));
            }
        }
    }

    fn controller(&mut self, channel: u8, cc: u8, value: u8) {
        let Some(c) = self.channels.get_mut(usize::from(channel)) else {
            return;
        };
        if let Some(slot) = c.cc.get_mut(usize::from(cc)) {
            *slot = value;
        }
        match cc {
            0 => c.bank = u16::from(value),
            6 if c.rpn == 0 => c.bend_range = value.min(24),
            64 => {
                let down = value >= 64;
                let was = c.sustain;
                c.sustain = down;
                if was && !down {
                    for v in self.voices.iter_mut().take(self.active) {
                        if v.channel == channel && v.sustained {
                            v.release();
                        }
                    }
                }
            }
            98 | 99 => c.rpn = NULL_RPN,
            100 => c.rpn = (c.rpn & 0x3f80) | u16::from(value),
            101 => c.rpn = (c.rpn & 0x7f) | u16::from(value) << 7,
            120 => {
                self.sound_off(channel);
                return;
            }
            121 => {
                let (bank, program, preset) = (c.bank, c.program, c.preset);
                *c = Channel::new();
                c.bank = bank;
                c.program = program;
                c.preset = preset;
            }
            123..=127 => {
                self.notes_off(channel);
                return;
            }
            _ => {}
        }
        self.update_channel(channel);
    }

    fn notes_off(&mut self, channel: u8) {
        if let Some(c) = self.channels.get_mut(usize::from(channel)) {
            c.sustain = false;
        }
        for v in self.voices.iter_mut().take(self.active) {
            if v.channel == channel {
                v.release();
            }
        }
    }

    fn sound_off(&mut self, channel: u8) {
        for v in self.voices.iter_mut().take(self.active) {
            if v.channel == channel {
                v.cut();
            }
        }
    }

    /// Renders one segment that crosses no control-grid point and no event.
    fn segment(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len()).min(CONTROL_FRAMES as usize);
        let to_grid = (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as u32;
        let [bl, br, brev, bcho] = &mut self.bufs;
        let (Some(bl), Some(br), Some(brev), Some(bcho)) = (
            bl.get_mut(..n),
            br.get_mut(..n),
            brev.get_mut(..n),
            bcho.get_mut(..n),
        ) else {
            return;
        };
        for b in [&mut *bl, &mut *br, &mut *brev, &mut *bcho] {
            b.fill(0.0);
        }
        let sr = self.sample_rate as f32;
        let interp = self.interpolation;
        let fonts = &self.fonts;
        // Active voices two at a time (their filters run interleaved), then
        // the fading ones; the mix sums in the same order either way.
        let font_of = |i: usize| fonts.get(i).copied().flatten();
        let (active, _) = self.voices.split_at_mut(self.active.min(VOICES));
        let mut pairs = active.chunks_exact_mut(2);
        for pair in pairs.by_ref() {
            if let [a, b] = pair {
                Voice::render_pair(
                    (a, b),
                    font_of,
                    (&mut *bl, &mut *br, &mut *brev, &mut *bcho),
                    interp,
                    sr,
                    to_grid,
                );
            }
        }
        let single = pairs
            .into_remainder()
            .iter_mut()
            .chain(self.fading.iter_mut());
        for v in single {
            if v.done {
                continue;
            }
            let Some(font) = fonts.get(v.font).and_then(Option::as_ref) else {
                v.done = true;
                continue;
            };
            let mix = Mix {
                left: bl,
                right: br,
                reverb: brev,
                chorus: bcho,
            };
            v.render(font, mix, interp, sr, to_grid);
        }
        self.reverb.process(brev, bl, br);
        self.chorus.process(bcho, bl, br);
        let g = self.gain;
        for (((l, r), dl), dr) in left
            .iter_mut()
            .zip(right.iter_mut())
            .zip(bl.iter())
            .zip(br.iter())
        {
            let (mut a, mut b) = (dl * g, dr * g);
            self.limiter.process(&mut a, &mut b);
            *l = a;
            *r = b;
        }
        // Drop finished voices, keeping the active ones packed in front.
        let mut i = 0;
        while i < self.active {
            if self.voices.get(i).is_some_and(|v| v.done) {
                self.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

impl<'a, const VOICES: usize> SoundFontRenderer<'a> for Synth<'a, VOICES> {
    fn load_soundfont(&mut self, bytes: &'a [u8]) -> Result<FontId, SynthError> {
        let font = SoundFont::parse(bytes)?;
        let slot = self
            .fonts
            .iter()
            .position(Option::is_none)
            .ok_or(SynthError::TooManyFonts)?;
        if let Some(s) = self.fonts.get_mut(slot) {
            *s = Some(font);
        }
        // Channels without a preset pick theirs up from the new font.
        for ch in 0..CHANNELS as u8 {
            if self
                .channels
                .get(usize::from(ch))
                .is_some_and(|c| c.preset.is_none())
            {
                let program = self.channels.get(usize::from(ch)).map_or(0, |c| c.program);
                self.program(ch, program);
            }
        }
        Ok(FontId(slot as u8))
    }

    fn select_preset(
        &mut self,
        channel: u8,
        font: FontId,
        bank: u16,
        preset: u8,
    ) -> Result<(), SynthError> {
        let c = usize::from(channel);
        if c >= CHANNELS {
            return Err(SynthError::Channel(channel));
        }
        let fi = usize::from(font.0);
        let sf = self.font(fi).ok_or(SynthError::UnknownFont(font))?;
        let p = sf
            .find_preset(bank, u16::from(preset))
            .ok_or(SynthError::NoSuchPreset {
                bank,
                program: preset,
            })?;
        if let Some(ch) = self.channels.get_mut(c) {
            ch.bank = bank;
            ch.program = preset;
            ch.preset = Some((fi, p));
        }
        Ok(())
    }

    fn note_on(&mut self, channel: u8, key: u8, velocity: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::NoteOn {
            channel,
            key,
            velocity,
        })
    }

    fn note_off(&mut self, channel: u8, key: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::NoteOff { channel, key })
    }

    fn control_change(&mut self, channel: u8, controller: u8, value: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::ControlChange {
            channel,
            controller,
            value,
        })
    }

    fn program_change(&mut self, channel: u8, program: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::ProgramChange { channel, program })
    }

    fn pitch_bend(&mut self, channel: u8, value: u16) -> Result<(), SynthError> {
        self.apply(MidiEvent::PitchBend { channel, value })
    }

    fn all_notes_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::ControlChange {
            channel,
            controller: 123,
            value: 0,
        })
    }

    fn all_sound_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.apply(MidiEvent::ControlChange {
            channel,
            controller: 120,
            value: 0,
        })
    }

    fn reset(&mut self) {
        for v in self.voices.iter_mut().chain(self.fading.iter_mut()) {
            v.done = true;
        }
        self.active = 0;
        self.events.clear();
        let fonts = self.fonts;
        self.channels = [const { Channel::new() }; CHANNELS];
        self.fonts = fonts;
        for ch in 0..CHANNELS as u8 {
            self.program(ch, 0);
        }
        self.reverb.prepare(self.sample_rate);
        self.chorus.prepare(self.sample_rate);
        self.limiter.prepare(self.sample_rate);
    }

    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        let mut done = 0;
        // Each pass renders up to the next event, grid point or the end;
        // bounded by the frames plus the events due.
        while done < n {
            while let Some(next) = self.events.peek().copied() {
                if next.frame > self.frame {
                    break;
                }
                let _ = self.events.pop();
                self.dispatch(next.event);
            }
            let to_grid = CONTROL_FRAMES - self.frame % CONTROL_FRAMES;
            let mut len = ((n - done) as u64).min(to_grid);
            if let Some(next) = self.events.peek() {
                len = len.min(next.frame - self.frame);
            }
            let len = len.max(1) as usize;
            let (Some(l), Some(r)) = (
                left.get_mut(done..done + len),
                right.get_mut(done..done + len),
            ) else {
                break;
            };
            self.segment(l, r);
            self.frame += len as u64;
            done += len;
        }
    }

    fn configure_reverb(&mut self, room_size: f32, damping: f32, wet_level: f32) {
        self.reverb.configure(room_size, damping, wet_level);
    }
}
