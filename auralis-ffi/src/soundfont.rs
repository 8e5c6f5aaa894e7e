//! Choosing the SoundFont an engine plays: a file, a copy, or borrowed
//! caller memory.

use crate::boundary::{check, slice, with_engine};
use crate::state::{AuralisEngine, Font};
use crate::types::AuralisStatus;
use auralis_core::font_file::FontFile;
use core::ffi::{c_char, CStr};

/// Plays the SoundFont at `path`, checked now. A file only root can
/// change (as packaged fonts are) is mapped, so only the samples played
/// become resident; any other file is read into memory the library owns
/// (see `auralis_core::font_file`). Not a regular file, or over 2 GiB:
/// IO. The stream restarts from its beginning with the same seed,
/// parameters, polyphony and reverb.
///
/// - Ownership: `path` is only read during the call; the library owns the mapping or
///   copy and drops it when the engine is freed or loads another font.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: no (reads a file, allocates).
/// - Errors: NULL_POINTER, INVALID_ARGUMENT (path not UTF-8), IO,
///   SOUNDFONT_INVALID (the engine keeps its font), UNSUPPORTED (engine in
///   caller memory).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_file(
    engine: *mut AuralisEngine,
    path: *const c_char,
) -> AuralisStatus {
    with_engine(engine, |e| {
        if path.is_null() {
            return AuralisStatus::NullPointer;
        }
        if e.in_caller_memory {
            return e.fail(
                AuralisStatus::Unsupported,
                format_args!("an engine in caller memory never allocates: load the file yourself and use auralis_engine_load_soundfont_borrowed"),
            );
        }
        // SAFETY: a NUL-terminated string, per the contract.
        let Ok(path) = unsafe { CStr::from_ptr(path) }.to_str() else {
            return e.fail(
                AuralisStatus::InvalidArgument,
                format_args!("the path is not UTF-8"),
            );
        };
        match FontFile::open(path) {
            Ok(file) => e.load_file(file),
            Err(err) => e.fail(AuralisStatus::Io, format_args!("{err}")),
        }
    })
}

/// Plays the SoundFont in `data[0..len]`, copied. The stream restarts as
/// with `auralis_engine_load_soundfont_file`.
///
/// - Ownership: the caller may free its bytes as soon as this returns.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: no (allocates).
/// - Errors: NULL_POINTER, SOUNDFONT_INVALID, UNSUPPORTED (engine in caller
///   memory: use the borrowed form).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `data` is NULL or valid for reads of `len` bytes during the call.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_copy(
    engine: *mut AuralisEngine,
    data: *const u8,
    len: usize,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or `len` readable bytes at `data`, per the contract.
        let bytes = check!(unsafe { slice(data, len) });
        if e.in_caller_memory {
            return e.fail(
                AuralisStatus::Unsupported,
                format_args!("an engine in caller memory never allocates: use auralis_engine_load_soundfont_borrowed"),
            );
        }
        e.load_owned(bytes.into())
    })
}

/// Plays the SoundFont in `data[0..len]` without copying it. The stream
/// restarts as with the file form.
///
/// - Ownership: the bytes stay the caller's; they must stay valid and unchanged until
///   the engine is freed or loads another font.
/// - Threads: the engine's thread (one call at a time per engine).
/// - Real-time safe: allocation-free, but checks the whole file once: not for the audio
///   thread.
/// - Errors: NULL_POINTER, SOUNDFONT_INVALID (the engine keeps its font).
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no other call uses it during
/// this one.
/// `data` is NULL or valid for reads of `len` bytes, unchanged, for as
/// long as the engine plays it.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_load_soundfont_borrowed(
    engine: *mut AuralisEngine,
    data: *const u8,
    len: usize,
) -> AuralisStatus {
    with_engine(engine, |e| {
        // SAFETY: NULL or `len` readable bytes that the caller keeps valid
        // and unchanged for as long as the engine uses them, per the
        // contract.
        let font: &'static [u8] = check!(unsafe { slice(data, len) });
        e.load(font, Font::Borrowed)
    })
}
