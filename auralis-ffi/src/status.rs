//! The library's version and the text of a status.

use crate::VERSION;
use core::ffi::{c_char, CStr};

/// Returns the library version as a static, NUL-terminated string such as
/// `"0.1.0"`.
///
/// - Ownership: the string is static; never free it.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// A static, NUL-terminated description of a status, such as
/// `"ok"`; unknown numbers give `"unknown status"`.
///
/// - Ownership: the string is static; never free it.
/// - Threads: any thread.
/// - Real-time safe: yes.
/// - Errors: none.
/// - Safety: nothing to uphold (no pointers).
#[no_mangle]
pub extern "C" fn auralis_status_str(status: i32) -> *const c_char {
    let s: &'static CStr = match status {
        0 => c"ok",
        1 => c"a required pointer was NULL",
        2 => c"a value is out of range",
        3 => c"a buffer is too small",
        4 => c"the SoundFont is corrupt or unusable",
        5 => c"a file could not be read",
        6 => c"not supported by this engine",
        7 => c"memory is not aligned for an engine or a ring",
        8 => c"internal error (a bug in Auralis)",
        9 => c"the ring is full",
        _ => c"unknown status",
    };
    s.as_ptr()
}
