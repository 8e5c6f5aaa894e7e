//! The effects: the reverb's settings.

use crate::boundary::with_engine;
use crate::state::AuralisEngine;
use crate::types::AuralisStatus;

/// Sets the reverb: room size, damping and wet level, each 0–1 (0 wet
/// turns it off). The default is 0.82, 0.45, 0.35.
///
/// - Ownership: nothing to own.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT (a value outside 0–1 or NaN).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_reverb(
    engine: *mut AuralisEngine,
    room_size: f32,
    damping: f32,
    wet: f32,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if ![room_size, damping, wet]
            .iter()
            .all(|v| (0.0..=1.0).contains(v))
        {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("reverb values must be 0-1: {room_size}, {damping}, {wet}"),
            );
        }
        e.reverb = Some((room_size, damping, wet));
        e.engine.configure_reverb(room_size, damping, wet);
        e.ok()
    })
}
