//! The music's parameters: key, mode, tempo, intensity and the presets.

use crate::boundary::{arg, check, with_engine, with_engine_ref, Out};
use crate::state::{context_of, params_of, AuralisEngine};
use crate::types::{AuralisParams, AuralisStatus};
use auralis_core::music::Preset;

/// Asks for new parameters; they take effect at the next beat (within
/// 1.5 s at 40 BPM), and `auralis_engine_next_chunk` reports the chunk.
/// Changes before then replace each other.
///
/// - Ownership: `params` is only read during the call.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, INVALID_ARGUMENT (nothing changes).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `params` is NULL or points to a readable `AuralisParams`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_set_params(
    engine: *mut AuralisEngine,
    params: *const AuralisParams,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or a readable AuralisParams, per the contract.
        let p = check!(unsafe { arg(params) });
        match context_of(p) {
            Some(ctx) => {
                e.engine.set_context(ctx);
                e.ok()
            }
            None => e.fail(
                AuralisStatus::InvalidArgument,
                format_args!(
                    "params out of range: key {} (60-71), mode {} (0-5), bpm {} (40-90), intensity {} (0-1)",
                    p.key, p.mode, p.bpm, p.intensity
                ),
            ),
        }
    })
}

/// Stores the parameters last asked for (sounding now or soon) in `*out`.
///
/// - Ownership: `*out` is the caller's; written only on success.
/// - Threads: read-only: any number of `const` calls may run on one engine at
///   once, from any threads, never beside a call that changes it.
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no call through a non-`const`
/// handle uses it during this one.
/// `out` is NULL or points to a writable `AuralisParams`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_get_params(
    engine: *const AuralisEngine,
    out: *mut AuralisParams,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        out.set(params_of(&e.engine.context()));
        AuralisStatus::Ok
    })
}

/// Asks for a preset (one of `AuralisPreset`): its mode, tempo and
/// intensity; the key stays. Takes effect as `auralis_engine_set_params`.
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
pub unsafe extern "C" fn auralis_engine_set_preset(
    engine: *mut AuralisEngine,
    preset: i32,
) -> AuralisStatus {
    with_engine(engine, |e| {
        let Some(p) = usize::try_from(preset)
            .ok()
            .and_then(|i| Preset::ALL.get(i).copied())
        else {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("preset {preset} is not 0-3"),
            );
        };
        let ctx = e.engine.context().with_preset(p);
        e.engine.set_context(ctx);
        e.ok()
    })
}
