//! The seed's `IFluidSynthRenderer` as a trait, so that the engine can
//! play through the built-in synthesizer or any other.

use super::event::{FontId, MidiEvent, SynthError};
use crate::rate::SampleRate;

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

/// What the streaming engine ([`crate::engine::Engine`]) needs of a
/// renderer beyond the seed's trait: a sample clock, events placed on it
/// ahead of time, and the master gain and chorus level.
///
/// The engine hands a renderer only the events due before the end of the
/// render call that follows, so a renderer never holds a phrase's future
/// beyond one render: cutting a phrase short is the engine's own business
/// and needs no cancelling here.
pub trait StreamRenderer<'a>: SoundFontRenderer<'a> {
    /// The output sample rate.
    fn sample_rate(&self) -> SampleRate;
    /// Frames rendered so far: the clock [`StreamRenderer::schedule`]
    /// refers to.
    fn frame(&self) -> u64;
    /// Plays `event` at frame `frame` of this renderer's clock,
    /// sample-accurately, during a later [`SoundFontRenderer::render`]
    /// (at the start of the next one if `frame` is past).
    fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError>;
    /// Master gain before any limiter (the engine sets 0–8).
    fn set_gain(&mut self, gain: f32);
    /// Chorus return level, 0 (off) to 1.
    fn set_chorus(&mut self, level: f32);
    /// Plays `event` now. The default checks its ranges and goes through
    /// the seed trait's methods (which have no channel pressure: that is
    /// accepted and ignored).
    fn play(&mut self, event: MidiEvent) -> Result<(), SynthError> {
        event.validate()?;
        match event {
            MidiEvent::NoteOn {
                channel,
                key,
                velocity,
            } => self.note_on(channel, key, velocity),
            MidiEvent::NoteOff { channel, key } => self.note_off(channel, key),
            MidiEvent::ControlChange {
                channel,
                controller,
                value,
            } => self.control_change(channel, controller, value),
            MidiEvent::ProgramChange { channel, program } => self.program_change(channel, program),
            MidiEvent::PitchBend { channel, value } => self.pitch_bend(channel, value),
            MidiEvent::ChannelPressure { .. } => Ok(()),
        }
    }
    /// What renders, for status pages: "CPU" unless the renderer says
    /// more.
    fn device(&self) -> &'static str {
        "CPU"
    }
}
