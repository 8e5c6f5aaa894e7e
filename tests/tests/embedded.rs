//! The core on a microcontroller, bit for bit: `tests/qemu-cortex-m` is
//! firmware for QEMU's mps2-an386 (a Cortex-M4 with FPU) that renders a
//! seeded stream from the built-in bank with its engine in a static; this
//! test builds it, runs it under `qemu-system-arm`, and compares the hash
//! of its samples, taken by its DAC interrupt from the core's ring, with
//! the same stream rendered here.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
use auralis_tests::fnv::{fnv1a64_pcm, FNV_START};
use auralis_tests::skip::skip;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::synth::{ReverbSize, Synth};
use auralis_core::MusicalContext;
use auralis_core::SampleRate;

/// What the firmware prints and what it was asked to render.
struct Report {
    seed: u64,
    voices: usize,
    chunks: u32,
    hash: u64,
    sizes: String,
    /// The DAC interrupt's line: frames played, underruns, tiers.
    dac: String,
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Whether the firmware can be built and run here; under CI it must.
fn tools_present() -> bool {
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("thumbv7em-none-eabihf"));
    if qemu && target {
        return true;
    }
    skip(format_args!(
        "the embedded test needs qemu-system-arm ({qemu}) and the \
         thumbv7em-none-eabihf target ({target})"
    ));
    false
}

fn run_firmware() -> Report {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("qemu-cortex-m");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["run", "--release", "--quiet"])
        .current_dir(&dir)
        // The firmware has its own target; do not inherit the host's.
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    // Building takes a while the first time; QEMU itself a few seconds.
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the firmware did not finish within 15 minutes (QEMU hung?)");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the firmware failed (status {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    for bad in ["FAULT", "PANIC", "FAILED"] {
        assert!(
            !stdout.contains(bad),
            "the firmware reported {bad}:\n{stdout}"
        );
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("auralis-qemu "))
        .unwrap_or_else(|| panic!("no result line:\n{stdout}\n{stderr}"));
    let sizes = stdout
        .lines()
        .find(|l| l.starts_with("auralis-qemu-sizes "))
        .unwrap_or("")
        .to_string();
    let dac = stdout
        .lines()
        .find(|l| l.starts_with("auralis-qemu-dac "))
        .unwrap_or_else(|| panic!("no DAC line:\n{stdout}"))
        .to_string();
    let get = |k: &str| field(line, k).unwrap_or_else(|| panic!("no {k} in {line:?}"));
    Report {
        seed: get("seed").parse().expect("seed"),
        voices: get("voices").parse().expect("voices"),
        chunks: get("chunks").parse().expect("chunks"),
        hash: u64::from_str_radix(get("pcm_fnv1a64"), 16).expect("hash"),
        sizes,
        dac,
    }
}

/// The same stream on this machine: FNV-1a 64 over the little-endian
/// 16-bit samples.
fn host_hash(seed: u64, chunks: u32) -> u64 {
    const VOICES: usize = 16;
    let mut e: Box<Engine<'static, Synth<'static, VOICES>>> =
        Box::new(Engine::new(seed, SampleRate::HZ_44100, MusicalContext::DEFAULT).expect("engine"));
    e.set_reverb_size(ReverbSize::Compact);
    let mut chunk = Box::new(AudioChunk::new());
    let mut hash = FNV_START;
    for _ in 0..chunks {
        e.next_chunk(&mut chunk);
        hash = fnv1a64_pcm(hash, chunk.samples());
    }
    hash
}

#[test]
fn the_firmware_renders_the_same_bits_as_the_host() {
    if !tools_present() {
        return;
    }
    let report = run_firmware();
    assert_eq!(report.voices, 16, "the host test renders 16 voices");
    let host = host_hash(report.seed, report.chunks);
    eprintln!("{}", report.sizes);
    assert_eq!(
        report.hash, host,
        "Cortex-M4 (QEMU) {:016x} against host {:016x}",
        report.hash, host
    );
    // Something was rendered: a silent stream would hash the same anywhere.
    assert_ne!(host, host_hash(report.seed.wrapping_add(1), report.chunks));

    // The hash is the DAC's: every frame went through the ring to the
    // interrupt, none was missing when it came.
    eprintln!("{}", report.dac);
    let dac = |k: &str| -> u64 {
        field(&report.dac, k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {:?}", report.dac))
    };
    assert_eq!(dac("frames"), u64::from(report.chunks) * 4_410);
    assert_eq!(dac("underruns"), 0, "the DAC ran dry");
    assert!(dac("interrupts") >= dac("frames") / 32);
    // The tiers cover the whole time played (to the millisecond, per tier).
    let tiers: u64 = ["emergency_ms", "low_ms", "healthy_ms", "full_ms"]
        .iter()
        .map(|k| dac(k))
        .sum();
    let played_ms = dac("frames") * 1_000 / 44_100;
    assert!(
        tiers <= played_ms && tiers + 4 >= played_ms,
        "tiers {tiers} ms of {played_ms} ms"
    );
}
