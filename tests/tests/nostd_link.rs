//! The no_std proof, run with the rest of the tests: `tests/nostd-link` is
//! a `#![no_std]` `#![no_main]` program with its own panic handler that
//! links auralis-core and composes a phrase. If anything in the core's
//! dependency tree used `std`, `std`'s panic handler would collide with
//! the program's own and this build would fail.

use std::path::Path;
use std::process::Command;

#[test]
fn core_links_into_a_program_without_std() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("nostd-link/Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "no_std link check failed to build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let exe = manifest.with_file_name("target/release/auralis-nostd-link");
    let status = Command::new(&exe)
        .status()
        .expect("the no_std program runs");
    assert_eq!(
        status.code(),
        Some(0),
        "the no_std program composed no melody"
    );
}
