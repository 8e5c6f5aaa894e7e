//! Skipping a test that needs something this machine lacks: one helper
//! for every test crate (the crates other than this one include this file
//! with `#[path]`, as they cannot depend on it).

use std::fmt::Display;
use std::io::Write as _;

/// Says that a test cannot run here because `what` is missing. Under
/// `CI=true`, where `.ci/run` installs everything, that is a failure;
/// elsewhere it prints a `SKIPPED: …` line (shown in `cargo test`'s
/// output) and returns, and the caller returns early.
pub fn skip(what: impl Display) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} (CI must install it: see .ci/run)"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: {what}");
}

/// The bytes of a file a test needs (a Debian package's SoundFont), or
/// `None` after [`skip`].
pub fn read_or_skip(path: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(b) => Some(b),
        Err(e) => {
            skip(format_args!("{path}: {e}"));
            None
        }
    }
}
