//! The web player's JavaScript: unit tests under node's test runner
//! (`tests/js`) and the whole page in real headless Chromium against this
//! crate's server binary (`tests/browser`). Both need Node.js; the browser
//! test also needs Debian's `chromium` and `npm ci` in `tests/browser`,
//! which `.ci/run` provides. Without them these tests say so and pass,
//! except under `CI=true`, where they fail.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
#[path = "../../tests/src/skip.rs"]
#[allow(dead_code, unreachable_pub)] // shared by every test crate
mod skip;
use skip::skip;

use std::path::{Path, PathBuf};
use std::process::Command;

use auralis_core::engine::AudioChunk;
use auralis_host::wire::protocol::encode_binary;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reports that `what` is missing and returns `true` (skip), or panics
/// under `CI=true`, where everything must be installed.
fn missing(what: &str) -> bool {
    skip(what);
    true
}

fn node_works() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn javascript_unit_tests_pass_under_node() {
    if !node_works() && missing("node is not installed") {
        return;
    }
    // A frame from the Rust encoder, for the JavaScript decoder to read.
    let dir = std::env::temp_dir().join(format!("auralis-js-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut chunk = AudioChunk::new();
    chunk.seq = 123_456_789_012;
    chunk.frames = 4410;
    chunk.sample_rate = 44_100;
    for (i, s) in chunk.pcm.iter_mut().enumerate() {
        *s = ((i as i32 * 7919) % 65_536 - 32_768) as i16;
    }
    std::fs::write(
        dir.join("frame.bin"),
        encode_binary(&chunk, 1_795_887_762.25),
    )
    .unwrap();
    // And an Opus frame, for the Opus decoder.
    let mut encoder = auralis_host::wire::opus::ChunkEncoder::new().unwrap();
    let mut packets = auralis_host::wire::opus::Packets::default();
    let sine: Vec<i16> = (0..9600)
        .map(|i| ((i as f64 / 20.0).sin() * 8000.0) as i16)
        .collect();
    encoder.encode_chunk(&sine, &mut packets).unwrap();
    std::fs::write(
        dir.join("frame-opus.bin"),
        auralis_host::wire::protocol::encode_opus(987_654, 2.5, 4800, &packets),
    )
    .unwrap();
    let lengths: Vec<String> = packets.iter().map(|p| p.len().to_string()).collect();
    let first: Vec<String> = packets.iter().next().unwrap()[..4]
        .iter()
        .map(u8::to_string)
        .collect();
    std::fs::write(
        dir.join("frame-opus.json"),
        format!(
            "{{\"seq\":987654,\"packet_lengths\":[{}],\"first_bytes\":[{}]}}",
            lengths.join(","),
            first.join(",")
        ),
    )
    .unwrap();
    let pcm: Vec<String> = chunk.samples().iter().map(i16::to_string).collect();
    std::fs::write(
        dir.join("frame.json"),
        format!(
            "{{\"seq\":{},\"timestamp\":1795887762.25,\"sample_rate\":44100,\"pcm\":[{}]}}",
            chunk.seq,
            pcm.join(",")
        ),
    )
    .unwrap();
    let out = Command::new("node")
        .args(["--test", "tests/js/"])
        .current_dir(repo())
        .env("AURALIS_FRAME_FIXTURE", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("# fail 0") && text.contains("# skipped 0"),
        "{text}"
    );
}

#[test]
fn the_page_plays_in_headless_chromium() {
    let browser_dir = repo().join("tests/browser");
    if !node_works() && missing("node is not installed") {
        return;
    }
    if !browser_dir.join("node_modules/playwright-core").is_dir()
        && missing("tests/browser/node_modules is missing: run `npm ci` in tests/browser")
    {
        return;
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists()
        && missing("chromium is not installed (apt-get install chromium)")
    {
        return;
    }
    let artifacts = repo().join("target/test-artifacts");
    let out = Command::new("node")
        .args(["--test", "."])
        .current_dir(&browser_dir)
        .env("AURALIS_HOST_BIN", env!("CARGO_BIN_EXE_auralis-host"))
        .env("AURALIS_ARTIFACTS", &artifacts)
        .env("CHROMIUM", &chromium)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse::<usize>().ok())
            .unwrap_or_else(|| panic!("no {key:?} line in the runner's output:\n{text}"))
    };
    // Every test of every browser file (player.test.mjs: the server's
    // stream; engine.test.mjs: the engine in the page).
    let declared: usize = ["player.test.mjs", "engine.test.mjs"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(repo().join("tests/browser").join(f))
                .unwrap()
                .lines()
                .filter(|l| l.trim_start().starts_with("test("))
                .count()
        })
        .sum();
    assert!(declared > 0);
    assert_eq!(count("# pass "), declared, "{text}");
    assert_eq!(count("# fail "), 0, "{text}");
    assert!(
        artifacts.join("web-player.png").is_file(),
        "screenshot saved"
    );
}
