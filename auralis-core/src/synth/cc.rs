//! The MIDI controller numbers the synthesizer acts on (MIDI 1.0,
//! "Control Change Messages"), named so that no caller writes a bare
//! number.

/// Bank select, most significant byte.
pub const BANK_SELECT: u8 = 0;
/// Modulation wheel.
pub const MODULATION: u8 = 1;
/// Data entry, most significant byte (sets the selected RPN).
pub const DATA_ENTRY: u8 = 6;
/// Channel volume.
pub const VOLUME: u8 = 7;
/// Pan.
pub const PAN: u8 = 10;
/// Expression.
pub const EXPRESSION: u8 = 11;
/// Sustain (damper) pedal: down at 64 and above.
pub const SUSTAIN: u8 = 64;
/// Reverb send level.
pub const REVERB_SEND: u8 = 91;
/// Chorus send level.
pub const CHORUS_SEND: u8 = 93;
/// Non-registered parameter number, least significant byte.
pub const NRPN_LSB: u8 = 98;
/// Non-registered parameter number, most significant byte.
pub const NRPN_MSB: u8 = 99;
/// Registered parameter number, least significant byte.
pub const RPN_LSB: u8 = 100;
/// Registered parameter number, most significant byte.
pub const RPN_MSB: u8 = 101;
/// All sound off: silence the channel at once (with a short fade).
pub const ALL_SOUND_OFF: u8 = 120;
/// Reset all controllers.
pub const RESET_ALL_CONTROLLERS: u8 = 121;
/// All notes off: release every note of the channel.
pub const ALL_NOTES_OFF: u8 = 123;
/// Poly mode on: the last of the mode messages that also end all notes.
pub const POLY_ON: u8 = 127;
