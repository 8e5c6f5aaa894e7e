//! What a MIDI channel remembers: controllers, pitch wheel, pressure,
//! bank, program and the preset they resolve to.

use super::cc;
use super::params::SourceValues;

/// "No parameter selected" for the RPN registers.
const NULL_RPN: u16 = 0x3fff;
/// RPN 0: pitch-bend sensitivity.
const RPN_BEND_RANGE: u16 = 0;

/// The state of one MIDI channel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Channel {
    cc: [u8; 128],
    pub(crate) bend: u16,
    pub(crate) pressure: u8,
    bend_range: u8,
    pub(crate) bank: u16,
    pub(crate) program: u8,
    /// (font slot, preset index) the bank and program resolve to.
    pub(crate) preset: Option<(usize, usize)>,
    rpn: u16,
    pub(crate) sustain: bool,
}

/// What the voices of a channel must do after a controller change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Recompute what controllers feed (volume, pan, filter, …).
    Update,
    /// The sustain pedal came up: release the notes it held, then update.
    ReleaseSustained,
    /// Silence every voice at once (with a click-free fade).
    SoundOff,
    /// Release every note.
    NotesOff,
}

impl Channel {
    /// A channel after power-on: volume 100, pan centre, expression full,
    /// pitch wheel at rest, bend range two semitones.
    // Constant indices into a 128-entry array, checked when compiling.
    #[allow(clippy::indexing_slicing)]
    pub(crate) const fn new() -> Self {
        let mut cc = [0u8; 128];
        cc[cc::VOLUME as usize] = 100;
        cc[cc::PAN as usize] = 64;
        cc[cc::EXPRESSION as usize] = 127;
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

    /// The modulator sources of a note on this channel.
    pub(crate) fn values(&self, key: u8, velocity: u8) -> SourceValues<'_> {
        SourceValues {
            cc: &self.cc,
            key,
            velocity,
            pressure: self.pressure,
            bend: self.bend,
            bend_range: self.bend_range,
        }
    }

    /// Takes a controller change; says what the channel's voices must do.
    pub(crate) fn controller(&mut self, controller: u8, value: u8) -> Follow {
        if let Some(slot) = self.cc.get_mut(usize::from(controller)) {
            *slot = value;
        }
        match controller {
            cc::BANK_SELECT => self.bank = u16::from(value),
            cc::DATA_ENTRY if self.rpn == RPN_BEND_RANGE => self.bend_range = value.min(24),
            cc::SUSTAIN => {
                let was = self.sustain;
                self.sustain = value >= 64;
                if was && !self.sustain {
                    return Follow::ReleaseSustained;
                }
            }
            cc::NRPN_LSB | cc::NRPN_MSB => self.rpn = NULL_RPN,
            cc::RPN_LSB => self.rpn = (self.rpn & 0x3f80) | u16::from(value),
            cc::RPN_MSB => self.rpn = (self.rpn & 0x7f) | u16::from(value) << 7,
            cc::ALL_SOUND_OFF => return Follow::SoundOff,
            cc::RESET_ALL_CONTROLLERS => {
                let (bank, program, preset) = (self.bank, self.program, self.preset);
                *self = Channel::new();
                self.bank = bank;
                self.program = program;
                self.preset = preset;
            }
            cc::ALL_NOTES_OFF..=cc::POLY_ON => {
                self.sustain = false;
                return Follow::NotesOff;
            }
            _ => {}
        }
        Follow::Update
    }
}
