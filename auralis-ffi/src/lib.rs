#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

use auralis_core::engine::MAX_CHUNK_SAMPLES;

/// The library version, NUL-terminated, taken from `Cargo.toml`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Major version of the library (checked against `Cargo.toml` by a test).
pub const AURALIS_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const AURALIS_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const AURALIS_VERSION_PATCH: u32 = 0;
/// Voices this build's engine holds: the most `polyphony` can be.
pub const AURALIS_MAX_VOICES: u32 = 64;
/// Samples (not frames) in the longest chunk: 100 ms of stereo at 48 kHz.
pub const AURALIS_CHUNK_MAX_SAMPLES: u32 = 9600;
const _: () = assert!(AURALIS_CHUNK_MAX_SAMPLES as usize == MAX_CHUNK_SAMPLES);
/// Bytes that always hold an engine's error message, NUL included.
pub const AURALIS_ERROR_MAX: u32 = 256;

const VOICES: usize = AURALIS_MAX_VOICES as usize;
const ERROR_MAX: usize = AURALIS_ERROR_MAX as usize;
/// Frames rendered at a time into the engine's scratch buffers.
const BLOCK: usize = 256;

mod boundary;
mod state;
mod types;

// The exported functions, in the header's order: cbindgen reads the
// modules in the order they are declared here (each on its own, so that
// rustfmt does not sort them).
mod status;

mod lifecycle;

mod soundfont;

mod params;

mod render;

mod notes;

mod effects;

mod metrics;

mod ring;

pub use effects::*;
pub use lifecycle::*;
pub use metrics::*;
pub use notes::*;
pub use params::*;
pub use render::*;
pub use ring::*;
pub use soundfont::*;
pub use status::*;
pub use types::*;

#[cfg(test)]
mod tests {
    use super::*;
    use auralis_core::music::{Mode, Preset};
    use core::ffi::CStr;

    #[test]
    fn version_matches_the_crate() {
        // SAFETY: auralis_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(auralis_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(
            AURALIS_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            AURALIS_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            AURALIS_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
    }

    #[test]
    fn c_enums_follow_the_core_order() {
        let modes = [
            (AuralisMode::Aeolian, "aeolian"),
            (AuralisMode::Dorian, "dorian"),
            (AuralisMode::Lydian, "lydian"),
            (AuralisMode::Phrygian, "phrygian"),
            (AuralisMode::Ionian, "ionian"),
            (AuralisMode::Mixolydian, "mixolydian"),
        ];
        for (m, name) in modes {
            assert_eq!(Mode::ALL[m as usize].name(), name);
        }
        let presets = [
            (AuralisPreset::Focus, "focus"),
            (AuralisPreset::Meditation, "meditation"),
            (AuralisPreset::Sleep, "sleep"),
            (AuralisPreset::Bright, "bright"),
        ];
        for (p, name) in presets {
            assert_eq!(Preset::ALL[p as usize].name(), name);
        }
    }

    #[test]
    fn every_status_has_its_own_description() {
        use AuralisStatus::*;
        let all = [
            Ok,
            NullPointer,
            InvalidArgument,
            BufferTooSmall,
            SoundfontInvalid,
            Io,
            Unsupported,
            Misaligned,
            Internal,
            RingFull,
        ];
        // Exhaustive: a new status does not compile until it is listed.
        for s in all {
            match s {
                Ok | NullPointer | InvalidArgument | BufferTooSmall | SoundfontInvalid | Io
                | Unsupported | Misaligned | Internal | RingFull => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        for s in all.map(|s| s as i32) {
            // SAFETY: static NUL-terminated strings.
            let text = unsafe { CStr::from_ptr(auralis_status_str(s)) }
                .to_str()
                .unwrap();
            assert!(seen.insert(text), "{s}: {text}");
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(auralis_status_str(99)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown status");
    }
}
