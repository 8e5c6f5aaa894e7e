//! The synthesizer: 16 MIDI channels, loaded fonts, the voice pool,
//! sample-accurate scheduled events, reverb, chorus and a limiter.

use super::cc;
use super::channel::{Channel, Follow};
use super::dsp::CONTROL_FRAMES;
use super::event::{EventQueue, MidiEvent};
use super::event::{FontId, SynthError};
use super::mixer::Mixer;
use super::params::{apply, collect_modulators, preset_may_add, Modulator, DEFAULTS, GEN_COUNT};
use super::pool::VoicePool;
use super::renderer::{SoundFontRenderer, StreamRenderer};
use super::sf2::{SoundFont, Zone};
use super::simd::Simd;
use super::voice::{Interpolation, Voice, VoiceStart, MAX_MODULATORS};
use super::{CHANNELS, MAX_FONTS};
use crate::rate::SampleRate;

/// Programs the loaded fonts lack, played as program 0 instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Substitutions {
    /// Bit `p` set: program `p` (bank 0) was missing.
    pub programs: u128,
    /// A percussion channel found no drum kit (bank 128) at all.
    pub drums: bool,
}

impl Substitutions {
    /// The missing programs, lowest first.
    pub fn missing_programs(&self) -> impl Iterator<Item = u8> + '_ {
        (0..128u8).filter(|p| self.programs & (1u128 << p) != 0)
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

/// The synthesizer, with a pool of `VOICES` voices (default 64).
///
/// Methods: [`Synth::new`], [`Synth::schedule`],
/// [`Synth::frame`], [`Synth::set_interpolation`], [`Synth::set_gain`],
/// [`Synth::set_chorus`], [`Synth::set_polyphony`],
/// [`Synth::active_voices`], [`Synth::stats`], and the
/// [`SoundFontRenderer`] methods.
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
    pool: VoicePool<VOICES>,
    events: EventQueue,
    frame: u64,
    sample_rate: SampleRate,
    /// The voices' renderer, the effects and the limiter.
    mixer: Mixer,
    serial: u64,
    events_dropped: u64,
    notes_without_preset: u64,
    substituted: Substitutions,
}

impl<'a, const VOICES: usize> StreamRenderer<'a> for Synth<'a, VOICES> {
    fn sample_rate(&self) -> SampleRate {
        Synth::sample_rate(self)
    }

    fn frame(&self) -> u64 {
        self.frame
    }

    fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError> {
        Synth::schedule(self, frame, event)
    }

    fn set_gain(&mut self, gain: f32) {
        Synth::set_gain(self, gain);
    }

    fn set_chorus(&mut self, level: f32) {
        Synth::set_chorus(self, level);
    }

    fn play(&mut self, event: MidiEvent) -> Result<(), SynthError> {
        self.apply(event)
    }

    fn device(&self) -> &'static str {
        self.mixer.simd.device()
    }
}

impl<'a, const VOICES: usize> Synth<'a, VOICES> {
    const POOL_OK: () = assert!(
        VOICES >= 1 && VOICES <= 4096,
        "a voice pool holds 1 to 4096 voices"
    );

    /// A synthesizer at `sample_rate` with no font loaded.
    pub fn new(sample_rate: SampleRate) -> Self {
        let mut s = Self::idle();
        s.reinit(sample_rate);
        s
    }

    /// A silent synthesizer at 44.1 kHz with no font, as a constant: the
    /// starting point for building one in place (see [`Synth::reinit`]),
    /// which never needs the whole synthesizer on the stack.
    pub const fn idle() -> Self {
        let () = Self::POOL_OK;
        Self {
            fonts: [const { None }; MAX_FONTS],
            channels: [const { Channel::new() }; CHANNELS],
            pool: VoicePool::new(),
            events: EventQueue::new(),
            frame: 0,
            sample_rate: SampleRate::HZ_44100,
            mixer: Mixer::new(),
            serial: 0,
            events_dropped: 0,
            notes_without_preset: 0,
            substituted: Substitutions {
                programs: 0,
                drums: false,
            },
        }
    }

    /// Makes this synthesizer, in place, exactly what
    /// [`Synth::new`]`(sample_rate)` returns: no font, every voice free,
    /// effects cleared. Nothing large is built on the stack.
    pub fn reinit(&mut self, sample_rate: SampleRate) {
        self.fonts = [None; MAX_FONTS];
        for c in self.channels.iter_mut() {
            *c = Channel::new();
        }
        self.pool.clear();
        self.events.clear();
        self.frame = 0;
        self.sample_rate = sample_rate;
        self.mixer.reinit(sample_rate.hz());
        self.serial = 0;
        self.events_dropped = 0;
        self.notes_without_preset = 0;
        self.substituted = Substitutions::default();
    }

    /// Frames rendered so far: the clock scheduled events refer to.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// The output sample rate.
    pub fn sample_rate(&self) -> SampleRate {
        self.sample_rate
    }

    /// The instruction set the voices render with ([`Simd::best`] unless
    /// told otherwise). Every level gives the same samples, bit for bit.
    pub fn set_simd(&mut self, simd: Simd) {
        self.mixer.simd = simd;
    }

    /// The instruction set the voices render with.
    pub fn simd(&self) -> Simd {
        self.mixer.simd
    }

    /// Linear or 4-point cubic interpolation (the default) for new blocks.
    pub fn set_interpolation(&mut self, interpolation: Interpolation) {
        self.mixer.interpolation = interpolation;
    }

    /// Most voices that sound at once, 1 to `VOICES` (clamped; the default
    /// is `VOICES`). Beyond it a new note steals, as when the pool is full.
    /// Lowering it does not cut voices already sounding.
    pub fn set_polyphony(&mut self, voices: usize) {
        self.pool.set_polyphony(voices);
    }

    /// The polyphony limit in force.
    pub fn polyphony(&self) -> usize {
        self.pool.polyphony()
    }

    /// How long the reverb's lines may be ([`super::ReverbSize::Compact`] plays
    /// what a build with the `compact` feature plays); empties the reverb.
    pub fn set_reverb_size(&mut self, size: super::ReverbSize) {
        self.mixer.set_reverb_size(size, self.sample_rate.hz());
    }

    /// Master gain before the limiter (default 0.5; clamped to 0–8).
    pub fn set_gain(&mut self, gain: f32) {
        if gain.is_finite() {
            self.mixer.gain = gain.clamp(0.0, 8.0);
        }
    }

    /// Chorus return level, 0 (off, the default) to 1.
    pub fn set_chorus(&mut self, level: f32) {
        self.mixer.chorus.level = if level.is_finite() {
            level.clamp(0.0, 1.0)
        } else {
            0.0
        };
    }

    /// Voices sounding now (fading stolen voices not counted).
    pub fn active_voices(&self) -> usize {
        self.pool.active_count()
    }

    /// What the synthesizer has counted.
    pub fn stats(&self) -> SynthStats {
        SynthStats {
            voices_stolen: self.pool.stolen,
            hard_cuts: self.pool.hard_cuts,
            events_dropped: self.events_dropped,
            notes_without_preset: self.notes_without_preset,
        }
    }

    /// Schedules `event` at absolute frame `frame` (see [`Synth::frame`]);
    /// a frame already past takes effect at the start of the next render.
    /// A full queue hands the event back and counts it.
    pub fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError> {
        event.validate()?;
        self.events.push(frame, event).map_err(|_| {
            self.events_dropped += 1;
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

    /// Adds a font already parsed (and so checked) by
    /// [`SoundFont::parse`] to the first free slot, as
    /// [`SoundFontRenderer::load_soundfont`] does with bytes: a font parsed
    /// once can serve any number of synthesizers without being checked
    /// again.
    ///
    /// # Errors
    /// [`SynthError::TooManyFonts`] when every slot is taken.
    pub fn add_font(&mut self, font: SoundFont<'a>) -> Result<FontId, SynthError> {
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

    /// Finds a preset in the loaded fonts, newest first: the exact bank,
    /// then bank 0 (or, for percussion, program 0 of bank 128), then, for
    /// a melodic program no font has at all, program 0 — as other
    /// synthesizers do, so that a file never falls silent; that last
    /// substitution is recorded (see [`Synth::substitutions`]).
    fn resolve(&mut self, bank: u16, program: u8) -> Option<(usize, usize)> {
        let find = |s: &Self, bank: u16, program: u16| {
            (0..MAX_FONTS).rev().find_map(|f| {
                s.font(f)
                    .and_then(|sf| sf.find_preset(bank, program))
                    .map(|p| (f, p))
            })
        };
        if let Some(p) = find(self, bank, u16::from(program)) {
            return Some(p);
        }
        if bank == 128 {
            let kit = find(self, 128, 0);
            if kit.is_none() && self.fonts.iter().any(Option::is_some) {
                self.substituted.drums = true;
            }
            return kit;
        }
        if let Some(p) = find(self, 0, u16::from(program)) {
            return Some(p);
        }
        let fallback = find(self, 0, 0);
        if fallback.is_some() && program < 128 {
            self.substituted.programs |= 1u128 << program;
        }
        fallback
    }

    /// Programs that no loaded font has and that play program 0 instead
    /// (and whether a drum channel found no kit at all): a host warns once
    /// for each.
    pub fn substitutions(&self) -> Substitutions {
        self.substituted
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
            self.notes_without_preset += 1;
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
                let note = Note {
                    font: fi,
                    channel,
                    key,
                    velocity,
                    sample,
                    first_serial,
                };
                self.start_voice(&font, &chan, note, [iglobal, pglobal], izone, pzone);
            }
        }
    }

    /// Starts one voice of a note: the instrument zone's generators, the
    /// preset zone's added to them, and both zones' modulators.
    fn start_voice(
        &mut self,
        font: &SoundFont<'a>,
        chan: &Channel,
        note: Note,
        [iglobal, pglobal]: [Option<Zone<'a>>; 2],
        izone: Zone<'a>,
        pzone: Zone<'a>,
    ) {
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
        let class = gens
            .get(super::params::gen::EXCLUSIVE_CLASS)
            .copied()
            .unwrap_or(0);
        if class != 0 {
            for v in self.pool.active_mut() {
                if v.channel == note.channel
                    && v.exclusive_class == class
                    && v.serial < note.first_serial
                {
                    v.cut();
                }
            }
        }
        let slot = self.pool.allocate();
        self.serial += 1;
        let start = VoiceStart {
            channel: note.channel,
            key: note.key,
            velocity: note.velocity,
            serial: self.serial,
            font: note.font,
            sample: note.sample,
            gens: &gens,
            mods: &mods,
            to_grid: (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as u32,
        };
        let sr = self.sample_rate.hz() as f32;
        let ok = self
            .pool
            .get_mut(slot)
            .is_some_and(|v| v.start(font, &start, chan.values(note.key, note.velocity), sr));
        if !ok {
            self.pool.remove(slot);
        }
    }

    fn release_note(&mut self, channel: u8, key: u8) {
        let sustain = self
            .channels
            .get(usize::from(channel))
            .is_some_and(|c| c.sustain);
        for v in self.pool.active_mut() {
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
        for v in self.pool.active_mut() {
            if v.channel == channel {
                v.update(c.values(v.key, v.velocity));
            }
        }
    }

    fn controller(&mut self, channel: u8, controller: u8, value: u8) {
        let Some(c) = self.channels.get_mut(usize::from(channel)) else {
            return;
        };
        let voices = self
            .pool
            .active_mut()
            .iter_mut()
            .filter(|v| v.channel == channel);
        match c.controller(controller, value) {
            Follow::SoundOff => voices.for_each(Voice::cut),
            Follow::NotesOff => voices.for_each(Voice::release),
            Follow::ReleaseSustained => {
                for v in voices.filter(|v| v.sustained) {
                    v.release();
                }
                self.update_channel(channel);
            }
            Follow::Update => self.update_channel(channel),
        }
    }

    /// Renders one segment that crosses no control-grid point and no event.
    fn segment(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len()).min(CONTROL_FRAMES as usize);
        let to_grid = (CONTROL_FRAMES - self.frame % CONTROL_FRAMES) as u32;
        let sr = self.sample_rate.hz() as f32;
        for v in self.pool.lanes_mut() {
            v.prepare_block(sr, to_grid);
        }
        let (active, fading) = self.pool.lanes();
        self.mixer.segment(active, fading, &self.fonts, left, right);
        if (self.frame + n as u64) % CONTROL_FRAMES == 0 {
            self.pool.retire_finished();
        }
    }
}

/// Which note a voice belongs to, and where its sample comes from.
#[derive(Clone, Copy, Debug)]
struct Note {
    font: usize,
    channel: u8,
    key: u8,
    velocity: u8,
    sample: usize,
    /// Serial the note's first voice gets: older voices are other notes.
    first_serial: u64,
}

impl<'a, const VOICES: usize> SoundFontRenderer<'a> for Synth<'a, VOICES> {
    fn load_soundfont(&mut self, bytes: &'a [u8]) -> Result<FontId, SynthError> {
        self.add_font(SoundFont::parse(bytes)?)
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
        self.control_change(channel, cc::ALL_NOTES_OFF, 0)
    }

    fn all_sound_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.control_change(channel, cc::ALL_SOUND_OFF, 0)
    }

    fn reset(&mut self) {
        self.pool.silence();
        self.events.clear();
        self.channels = [const { Channel::new() }; CHANNELS];
        for ch in 0..CHANNELS as u8 {
            self.program(ch, 0);
        }
        self.mixer.clear_effects(self.sample_rate.hz());
    }

    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        let mut done = 0;
        // Each pass renders up to the next event, grid point or the end;
        // bounded by the frames plus the events due.
        while done < n {
            while let Some(event) = self.events.pop_due(self.frame) {
                self.dispatch(event);
            }
            let to_grid = CONTROL_FRAMES - self.frame % CONTROL_FRAMES;
            let mut len = ((n - done) as u64).min(to_grid);
            if let Some(next) = self.events.next_frame() {
                len = len.min(next.saturating_sub(self.frame));
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
        self.mixer.reverb.configure(room_size, damping, wet_level);
    }
}
