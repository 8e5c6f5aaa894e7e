#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use core::ffi::c_char;

/// The library version, NUL-terminated, taken from `Cargo.toml`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the library version as a static, NUL-terminated string such as
/// `"0.1.0"`.
///
/// Ownership: the string is static; never free it.
/// Thread safety: any thread, any time. Real-time safe.
#[no_mangle]
pub extern "C" fn auralis_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn version_matches_the_crate() {
        // SAFETY: auralis_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(auralis_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
