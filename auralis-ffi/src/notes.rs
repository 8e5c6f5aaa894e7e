//! The host's own MIDI: notes, controllers and programs.

use crate::boundary::with_engine;
use crate::state::AuralisEngine;
use crate::types::AuralisStatus;
use auralis_core::synth::{MidiEvent, SynthError};

pub(crate) fn synth_status(e: &mut AuralisEngine, r: Result<(), SynthError>) -> AuralisStatus {
    match r {
        Ok(()) => e.ok(),
        Err(err) => e.fail(AuralisStatus::InvalidArgument, format_args!("{err}")),
    }
}

pub(crate) fn midi_ok(
    e: &mut AuralisEngine,
    channel: u8,
    data: &[u8],
) -> Result<(), AuralisStatus> {
    if channel > 15 || data.iter().any(|d| *d > 127) {
        return Err(e.fail(
            AuralisStatus::InvalidArgument,
            format_args!("channel {channel} must be 0-15 and data {data:?} 0-127"),
        ));
    }
    Ok(())
}

/// Starts a note now (channel 0–15, key and velocity 0–127). Channels 0
/// (keys, program 0) and 1 (pad) are the composer's too; while it plays,
/// use others or turn it off (`auralis_engine_set_composing`).
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_note_on(
    engine: *mut AuralisEngine,
    channel: u8,
    key: u8,
    velocity: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[key, velocity]) {
            return s;
        }
        let r = e.engine.play(MidiEvent::NoteOn {
            channel,
            key,
            velocity,
        });
        synth_status(e, r)
    })
}

/// Releases a note now.
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_note_off(
    engine: *mut AuralisEngine,
    channel: u8,
    key: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[key]) {
            return s;
        }
        let r = e.engine.play(MidiEvent::NoteOff { channel, key });
        synth_status(e, r)
    })
}

/// Sends a MIDI control change now (controller and value 0–127).
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_control_change(
    engine: *mut AuralisEngine,
    channel: u8,
    controller: u8,
    value: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[controller, value]) {
            return s;
        }
        let r = e.engine.play(MidiEvent::ControlChange {
            channel,
            controller,
            value,
        });
        synth_status(e, r)
    })
}

/// Selects a program (0–127) of the SoundFont on a channel now.
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_program_change(
    engine: *mut AuralisEngine,
    channel: u8,
    program: u8,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if let Err(s) = midi_ok(e, channel, &[program]) {
            return s;
        }
        let r = e.engine.play(MidiEvent::ProgramChange { channel, program });
        synth_status(e, r)
    })
}
