//! The seed's `IFluidSynthRenderer` as a trait, so that the engine can
//! play through the built-in synthesizer or any other.

use super::error::SynthError;

/// A loaded SoundFont's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FontId(pub u8);

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
