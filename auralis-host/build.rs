//! Builds the WebAssembly engine (`auralis-wasm`) for the web player to
//! render in the listener's browser, and embeds it (raw and gzipped) in
//! the server. Without the `wasm32-unknown-unknown` target the server is
//! built without it (a warning says how to add it) and the page plays the
//! server's stream instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("..");
    for path in [
        "auralis-wasm/src",
        "auralis-wasm/Cargo.toml",
        "auralis-wasm/Cargo.lock",
        "auralis-wasm/.cargo/config.toml",
        "auralis-core/src",
        "auralis-core/build.rs",
        "auralis-core/Cargo.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let wasm = match build(&root, &out) {
        Ok(bytes) => bytes,
        Err(why) => {
            println!(
                "cargo:warning=the web player will stream from the server only: {why} \
                 (rustup target add wasm32-unknown-unknown, then build again)"
            );
            Vec::new()
        }
    };
    std::fs::write(out.join("auralis.wasm"), &wasm).expect("OUT_DIR is writable");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm).expect("in memory");
    let gz = if wasm.is_empty() {
        Vec::new()
    } else {
        gz.finish().expect("in memory")
    };
    std::fs::write(out.join("auralis.wasm.gz"), gz).expect("OUT_DIR is writable");
}

/// `cargo build --release` of auralis-wasm in a target directory of its
/// own (the outer build holds the workspace's), with none of the outer
/// build's settings.
fn build(root: &Path, out: &Path) -> Result<Vec<u8>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target_dir = out.join("wasm-target");
    let mut command = Command::new(cargo);
    command
        // From its own folder, so that its .cargo/config.toml (simd128)
        // applies.
        .current_dir(root.join("auralis-wasm"))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--manifest-path")
        .arg(root.join("auralis-wasm/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let outer = key.starts_with("CARGO_")
            && key != "CARGO_HOME"
            && !key.starts_with("CARGO_NET_")
            && !key.starts_with("CARGO_REGISTRIES_")
            && !key.starts_with("CARGO_HTTP_");
        if outer
            || [
                "RUSTFLAGS",
                "RUSTC_WRAPPER",
                "RUSTC_WORKSPACE_WRAPPER",
                "MAKEFLAGS",
                "MFLAGS",
                "RUSTDOCFLAGS",
            ]
            .contains(&key.as_str())
        {
            command.env_remove(&key);
        }
    }
    let result = command
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("cargo failed");
        return Err(first.to_string());
    }
    let path = target_dir.join("wasm32-unknown-unknown/release/auralis_wasm.wasm");
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}
