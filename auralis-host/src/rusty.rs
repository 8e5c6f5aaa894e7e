//! [`SoundFontRenderer`] over the `rustysynth` crate: the reference that
//! Auralis is compared with, behind the same trait.

use std::sync::Arc;

use auralis_core::synth::{
    cc, FontId, MidiEvent, SoundFont, SoundFontRenderer, StreamRenderer, SynthError,
};
use rustysynth::{SoundFont as RsFont, Synthesizer, SynthesizerSettings};

/// A rustysynth synthesizer behind Auralis's renderer trait.
///
/// rustysynth plays one SoundFont, always with linear interpolation, and
/// its reverb and chorus are on or off for good (chosen at creation);
/// `configure_reverb` cannot change them. Fonts are checked with
/// Auralis's parser first, so both renderers refuse the same files with
/// the same errors.
///
/// As a [`StreamRenderer`] it can carry Auralis's engine
/// (`Engine::with_renderer`): scheduled events wait in a queue and each
/// render stops at the next one, so they land on their frame (rustysynth
/// itself applies them at its 64-frame block boundaries). It has no
/// limiter: the engine's gain goes to rustysynth's master volume as is.
pub struct RustyRenderer {
    rate: auralis_core::SampleRate,
    settings: SynthesizerSettings,
    synth: Option<Synthesizer>,
    /// Frames rendered so far.
    frame: u64,
    /// Scheduled events, (frame, event), in the order they are due.
    queue: std::collections::VecDeque<(u64, MidiEvent)>,
}

impl RustyRenderer {
    /// A renderer at `sample_rate` with `voices` voices, effects on or off.
    pub fn new(sample_rate: auralis_core::SampleRate, voices: usize, effects: bool) -> Self {
        let mut settings = SynthesizerSettings::new(sample_rate.hz() as i32);
        settings.maximum_polyphony = voices;
        settings.enable_reverb_and_chorus = effects;
        Self {
            rate: sample_rate,
            settings,
            synth: None,
            frame: 0,
            queue: std::collections::VecDeque::new(),
        }
    }

    fn synth(&mut self) -> Result<&mut Synthesizer, SynthError> {
        self.synth
            .as_mut()
            .ok_or(SynthError::UnknownFont(FontId(0)))
    }

    fn midi(&mut self, channel: u8, command: i32, d1: u8, d2: u8) -> Result<(), SynthError> {
        if channel >= 16 {
            return Err(SynthError::Channel(channel));
        }
        let s = self.synth()?;
        s.process_midi_message(i32::from(channel), command, i32::from(d1), i32::from(d2));
        Ok(())
    }
}

impl<'a> SoundFontRenderer<'a> for RustyRenderer {
    fn load_soundfont(&mut self, bytes: &'a [u8]) -> Result<FontId, SynthError> {
        SoundFont::parse(bytes)?;
        if self.synth.is_some() {
            return Err(SynthError::TooManyFonts);
        }
        let font = RsFont::new(&mut &bytes[..])
            .map_err(|_| SynthError::Unsupported("rustysynth cannot read this SoundFont"))?;
        let synth = Synthesizer::new(&Arc::new(font), &self.settings)
            .map_err(|_| SynthError::SampleRate(self.rate.hz()))?;
        self.synth = Some(synth);
        Ok(FontId(0))
    }

    fn select_preset(
        &mut self,
        channel: u8,
        font: FontId,
        bank: u16,
        preset: u8,
    ) -> Result<(), SynthError> {
        if font.0 != 0 || self.synth.is_none() {
            return Err(SynthError::UnknownFont(font));
        }
        let s = self.synth()?;
        let exists = s.get_sound_font().get_presets().iter().any(|p| {
            p.get_bank_number() == i32::from(bank) && p.get_patch_number() == i32::from(preset)
        });
        if !exists {
            return Err(SynthError::NoSuchPreset {
                bank,
                program: preset,
            });
        }
        if bank < 128 {
            self.midi(channel, 0xB0, cc::BANK_SELECT, bank as u8)?;
        }
        self.midi(channel, 0xC0, preset, 0)
    }

    fn note_on(&mut self, channel: u8, key: u8, velocity: u8) -> Result<(), SynthError> {
        self.midi(channel, 0x90, key, velocity)
    }

    fn note_off(&mut self, channel: u8, key: u8) -> Result<(), SynthError> {
        self.midi(channel, 0x80, key, 0)
    }

    fn control_change(&mut self, channel: u8, controller: u8, value: u8) -> Result<(), SynthError> {
        self.midi(channel, 0xB0, controller, value)
    }

    fn program_change(&mut self, channel: u8, program: u8) -> Result<(), SynthError> {
        self.midi(channel, 0xC0, program, 0)
    }

    fn pitch_bend(&mut self, channel: u8, value: u16) -> Result<(), SynthError> {
        self.midi(channel, 0xE0, (value & 0x7f) as u8, (value >> 7) as u8)
    }

    fn all_notes_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.midi(channel, 0xB0, cc::ALL_NOTES_OFF, 0)
    }

    fn all_sound_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.midi(channel, 0xB0, cc::ALL_SOUND_OFF, 0)
    }

    fn reset(&mut self) {
        self.queue.clear();
        if let Some(s) = self.synth.as_mut() {
            s.reset();
        }
    }

    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len());
        let mut done = 0;
        while done < n {
            while let Some(&(at, event)) = self.queue.front() {
                if at > self.frame {
                    break;
                }
                self.queue.pop_front();
                // Checked when scheduled.
                let _ = StreamRenderer::play(self, event);
            }
            let until_event = self
                .queue
                .front()
                .map_or(u64::MAX, |&(at, _)| at - self.frame);
            let len = (n - done).min(usize::try_from(until_event).unwrap_or(usize::MAX));
            let (l, r) = (&mut left[done..done + len], &mut right[done..done + len]);
            match self.synth.as_mut() {
                Some(s) => s.render(l, r),
                None => {
                    l.fill(0.0);
                    r.fill(0.0);
                }
            }
            self.frame += len as u64;
            done += len;
        }
    }

    fn configure_reverb(&mut self, _room_size: f32, _damping: f32, _wet_level: f32) {
        // rustysynth's reverb has fixed settings; see the type's docs.
    }
}

impl<'a> StreamRenderer<'a> for RustyRenderer {
    fn sample_rate(&self) -> auralis_core::SampleRate {
        self.rate
    }

    fn frame(&self) -> u64 {
        self.frame
    }

    fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError> {
        if event.channel() >= 16 {
            return Err(SynthError::Channel(event.channel()));
        }
        // After every event due at or before the same frame.
        let at = self.queue.partition_point(|&(t, _)| t <= frame);
        self.queue.insert(at, (frame, event));
        Ok(())
    }

    fn set_gain(&mut self, gain: f32) {
        if let Some(s) = self.synth.as_mut() {
            s.set_master_volume(gain);
        }
    }

    fn set_chorus(&mut self, _level: f32) {
        // Fixed at creation; see the type's docs.
    }
}
