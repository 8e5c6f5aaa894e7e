//! Making, sizing and freeing engines (on the heap or in caller memory),
//! and reading an engine's last error.

use crate::boundary::{arg, check, guard, out_optional, slice_mut, with_engine_ref, Out};
use crate::state::{check_config, AuralisEngine};
use crate::types::{AuralisConfig, AuralisStatus, DEFAULT_CONFIG};
use core::ffi::{c_char, c_void};
use core::mem::{align_of, size_of};
use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

/// The default configuration: 44100 Hz, `AURALIS_MAX_VOICES` voices,
/// seed 0.
///
/// - Ownership: returns a value; nothing to free.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_config_default() -> AuralisConfig {
    DEFAULT_CONFIG
}

/// Makes an engine on the heap playing the built-in bank, and stores it in
/// `*out` (written only on success).
///
/// - Ownership: the caller owns the engine and frees it with `auralis_engine_free`;
///   `config` is only read during the call.
/// - Threads: any thread.
/// - Real-time safe: no (allocates the engine, `auralis_engine_size()` bytes, and builds it
///   in place).
/// - Errors: NULL_POINTER, INVALID_ARGUMENT (sample rate, polyphony).
///
/// # Safety
/// `config` is NULL or points to a readable `AuralisConfig`; `out` is NULL
/// or points to a writable `AuralisEngine *`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_new(
    config: *const AuralisConfig,
    out: *mut *mut AuralisEngine,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or a readable AuralisConfig, per the contract.
        let config = check!(unsafe { arg(config) });
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        check!(check_config(config));
        let mut slot = Box::<AuralisEngine>::new_uninit();
        // SAFETY: the box is ours and sized for an engine: an idle engine
        // is copied in (from the constant, not through the stack), after
        // which the box holds a valid value.
        let mut engine = unsafe {
            slot.as_mut_ptr().write(AuralisEngine::IDLE);
            slot.assume_init()
        };
        match engine.init(config, false) {
            Ok(()) => {
                out.set(Box::into_raw(engine));
                AuralisStatus::Ok
            }
            Err(s) => s,
        }
    })
}

/// Bytes an engine needs in caller memory (for `auralis_engine_init`).
///
/// - Ownership: returns a value.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_engine_size() -> usize {
    size_of::<AuralisEngine>()
}

/// Alignment an engine needs in caller memory.
///
/// - Ownership: returns a value.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_engine_align() -> usize {
    align_of::<AuralisEngine>()
}

/// Makes an engine inside caller memory — `len` bytes at `memory`, at
/// least `auralis_engine_size()` bytes aligned to `auralis_engine_align()` —
/// and stores its handle in `*out` (written only on success). Nothing this
/// engine does afterwards allocates: it plays the built-in bank or a
/// borrowed SoundFont (copying and file loading say UNSUPPORTED). The
/// engine is built in place, never on the stack (128 KB of stack is
/// plenty, tested).
///
/// - Ownership: the memory stays the caller's; it must outlive the engine and not be
///   touched until `auralis_engine_free(engine)` (which releases nothing but
///   the engine's own state); then it may be reused. `config` is only read.
/// - Threads: any thread.
/// - Real-time safe: allocation-free, but builds a whole engine: not for the audio thread.
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL, MISALIGNED, INVALID_ARGUMENT.
///
/// # Safety
/// `memory` is NULL or valid for reads and writes of `len` bytes and used
/// by nothing else while the engine lives; `config` is NULL or points to a
/// readable `AuralisConfig`; `out` is NULL or points to a writable
/// `AuralisEngine *`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_init(
    memory: *mut c_void,
    len: usize,
    config: *const AuralisConfig,
    out: *mut *mut AuralisEngine,
) -> AuralisStatus {
    guard(|| {
        // SAFETY: NULL or a readable AuralisConfig, per the contract.
        let config = check!(unsafe { arg(config) });
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        if memory.is_null() {
            return AuralisStatus::NullPointer;
        }
        if len < size_of::<AuralisEngine>() {
            return AuralisStatus::BufferTooSmall;
        }
        if (memory as usize) % align_of::<AuralisEngine>() != 0 {
            return AuralisStatus::Misaligned;
        }
        check!(check_config(config));
        let slot = memory.cast::<AuralisEngine>();
        // SAFETY: `memory` is non-NULL, large and aligned enough (checked
        // above) and the caller's to use, per the contract: an idle engine
        // is copied in, then built in place.
        let engine = unsafe {
            slot.write(AuralisEngine::IDLE);
            &mut *slot
        };
        match engine.init(config, true) {
            Ok(()) => {
                out.set(slot);
                AuralisStatus::Ok
            }
            Err(s) => {
                // SAFETY: the idle engine written above, dropped once; the
                // memory is the caller's again.
                unsafe { core::ptr::drop_in_place(slot) };
                s
            }
        }
    })
}

/// Frees an engine from `auralis_engine_new`, or ends one made by
/// `auralis_engine_init` (its memory is the caller's again). NULL is
/// fine. The handle is invalid afterwards.
///
/// - Ownership: takes the engine back; a borrowed SoundFont is the caller's again.
/// - Threads: the engine's thread.
/// - Real-time safe: no (frees memory).
/// - Errors: none (returns nothing).
///
/// # Safety
/// `engine` is NULL or a live handle, not yet freed, that no other call
/// uses during this one or afterwards.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_free(engine: *mut AuralisEngine) {
    if engine.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a live engine from _new or _init, per the contract, not
        // used again after this call.
        unsafe {
            if (*engine).in_caller_memory {
                core::ptr::drop_in_place(engine);
            } else {
                drop(Box::from_raw(engine));
            }
        }
    }));
}

/// Copies the detail of the engine's last error (empty after a success) as
/// a NUL-terminated string into `buf` (`len` bytes; `AURALIS_ERROR_MAX`
/// always suffices) and its length without the NUL into `*written`.
///
/// - Ownership: `buf` stays the caller's; `written` may be NULL.
/// - Threads: read-only: any number of `const` calls may run on one engine at
///   once, from any threads, never beside a call that changes it.
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER, BUFFER_TOO_SMALL (nothing written).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no call through a non-`const`
/// handle uses it during this one.
/// `buf` is NULL or valid for writes of `len` bytes; `written` is NULL or
/// points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_error(
    engine: *const AuralisEngine,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        // SAFETY: NULL or `len` writable bytes, per the contract.
        let buf = check!(unsafe { slice_mut(buf.cast::<u8>(), len) });
        // SAFETY: NULL or writable, per the contract.
        let written = unsafe { out_optional(written) };
        let n = e.error_len;
        let (Some(text), Some(dst)) = (e.error.get(..n), buf.get_mut(..n + 1)) else {
            return AuralisStatus::BufferTooSmall;
        };
        let (body, nul) = dst.split_at_mut(n);
        body.copy_from_slice(text);
        nul[0] = 0;
        if let Some(w) = written {
            w.set(n);
        }
        AuralisStatus::Ok
    })
}
