//! The engine in WebAssembly, bit for bit: builds `auralis-wasm` for
//! `wasm32-unknown-unknown`, renders the same streams here, and runs
//! `tests/wasm/wasm.test.mjs` under Node's test runner, which loads the
//! module and compares its hashes with these (and checks its errors, a
//! font passed in as bytes, and the size budget below).

use auralis_tests::fnv::{fnv1a64, fnv1a64_pcm, FNV_START};
use auralis_tests::skip::skip;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::synth::{MidiEvent, SoundFontRenderer, Synth};
use auralis_core::{Mode, MusicalContext, Preset, SampleRate};

/// The module with the built-in (ambient) bank must stay under this.
const MAX_WASM_BYTES: u64 = 600 * 1024;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether node and the wasm target are here; under CI they must be.
fn tools_present() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"));
    if node && target {
        return true;
    }
    skip(format_args!(
        "the WebAssembly test needs node ({node}) and the wasm32-unknown-unknown target ({target})"
    ));
    false
}

/// Builds auralis-wasm (with `extra` arguments) and returns the module.
fn build_wasm_with(extra: &[&str], target_dir: &str) -> PathBuf {
    let dir = repo().join("auralis-wasm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target-dir", target_dir])
        .args(extra)
        .current_dir(&dir)
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "auralis-wasm did not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join(target_dir)
        .join("wasm32-unknown-unknown/release/auralis_wasm.wasm")
}

/// Runs `node` with `args` and `env` from the repository's root; its
/// stdout, after checking it succeeded (and, for Node's test runner, that
/// nothing failed or was skipped).
fn node(args: &[&OsStr], env: &[(&str, &OsStr)]) -> String {
    let mut command = Command::new("node");
    command.args(args).current_dir(repo());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if args.first().is_some_and(|a| *a == "--test") {
        assert!(
            text.contains("# fail 0") && text.contains("# skipped 0"),
            "{text}"
        );
    }
    text
}

fn build_wasm() -> PathBuf {
    build_wasm_with(&[], "target")
}

/// FNV-1a 64 over the little-endian samples of `chunks` chunks, the
/// preset asked for before chunk `preset_at`.
fn native_hash(seed: u64, rate: u32, chunks: u32, preset_at: u32, preset: usize) -> u64 {
    let context = MusicalContext::new(60, Mode::ALL[0], 60.0, 0.5).unwrap();
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(seed, SampleRate::new(rate).unwrap(), context).unwrap());
    let mut chunk = Box::new(AudioChunk::new());
    let mut hash = FNV_START;
    for i in 0..chunks {
        if i == preset_at {
            e.set_context(e.context().with_preset(Preset::ALL[preset]));
        }
        e.next_chunk(&mut chunk);
        hash = fnv1a64_pcm(hash, chunk.samples());
    }
    hash
}

#[test]
fn the_wasm_engine_renders_the_native_bits() {
    if !tools_present() {
        return;
    }
    let wasm = build_wasm();
    let size = std::fs::metadata(&wasm).unwrap().len();
    eprintln!("auralis_wasm.wasm: {size} bytes");
    assert!(
        size <= MAX_WASM_BYTES,
        "{size} bytes, over the 600 KiB budget"
    );

    // (seed, rate, chunks, preset asked for before this chunk, preset)
    let cases = [
        (2026u64, 44_100u32, 20u32, u32::MAX, 0usize),
        (41, 48_000, 40, 12, 2),
    ];
    let expect: Vec<String> = cases
        .iter()
        .map(|&(seed, rate, chunks, at, preset)| {
            let hash = native_hash(seed, rate, chunks, at, preset);
            format!(
                "{{\"seed\":{seed},\"rate\":{rate},\"chunks\":{chunks},\"preset_at\":{},\"preset\":{preset},\"hash\":\"{hash:016x}\"}}",
                if at == u32::MAX { -1 } else { i64::from(at) }
            )
        })
        .collect();
    // Two different streams: the comparison is not of silence.
    assert_ne!(expect[0], expect[1]);

    let font = std::env::temp_dir().join(format!("auralis-wasm-gm-{}.sf2", std::process::id()));
    std::fs::write(&font, auralis_core::bank::DEFAULT_SF2).unwrap();
    let expect = format!("[{}]", expect.join(","));
    let text = node(
        &["--test".as_ref(), "tests/wasm/wasm.test.mjs".as_ref()],
        &[
            ("AURALIS_WASM", wasm.as_ref()),
            ("AURALIS_WASM_EXPECT", expect.as_ref()),
            ("AURALIS_WASM_FONT", font.as_ref()),
        ],
    );
    let _ = std::fs::remove_file(&font);
    assert!(text.contains("# pass 6"), "{text}");
}

/// The race of bench/wasm/race.mjs on a short file (5 s of it): every
/// renderer makes sound and the ratio is printed. Speed itself is a
/// benchmark's business (BENCHMARKS.md), not asserted here.
#[test]
fn the_race_against_the_javascript_synthesizers_runs() {
    if !tools_present() {
        return;
    }
    let bench = repo().join("bench/wasm");
    if !bench.join("node_modules/js-synthesizer").is_dir() {
        skip("bench/wasm/node_modules is missing: run `npm ci` in bench/wasm");
        return;
    }
    let font = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
    let midi = "/usr/share/games/openttd/baseset/openmsx/be_sharp_bw_redfarn.mid";
    for needed in [font, midi] {
        if !Path::new(needed).exists() {
            skip(format_args!(
                "{needed} is missing (fluid-soundfont-gm, openttd-openmsx)"
            ));
            return;
        }
    }
    let wasm = build_wasm_with(&["--features", "midi"], "target/midi");
    let race = bench.join("race.mjs");
    let text = node(
        &[
            race.as_ref(),
            "--seconds".as_ref(),
            "5".as_ref(),
            "--font".as_ref(),
            font.as_ref(),
            "--wasm".as_ref(),
            wasm.as_ref(),
            midi.as_ref(),
        ],
        &[],
    );
    eprintln!("{text}");
    for name in ["auralis", "js-synthesizer", "spessasynth_core"] {
        assert!(
            text.contains(&format!(": {name} 5.0 s in ")),
            "{name} in {text}"
        );
    }
    assert!(text.contains("be_sharp_bw_redfarn.mid: ratio "), "{text}");
}

/// A sequence over many programs, the drums, pitch bend and controllers:
/// (block of 128 frames, status, data1, data2).
fn midi_sequence() -> Vec<(u32, u8, u8, u8)> {
    let programs = [0u8, 24, 40, 56, 73, 88, 16, 104];
    let mut events = Vec::new();
    for (ch, p) in programs.iter().enumerate() {
        events.push((0, 0xC0 | ch as u8, *p, 0));
        events.push((0, 0xB0 | ch as u8, 10, (ch as u8 * 16).min(127)));
    }
    for step in 0..40u32 {
        let block = 2 + step * 20;
        let ch = (step % 8) as u8;
        let key = 48 + ((step * 7) % 24) as u8;
        events.push((block, 0x90 | ch, key, 60 + (step % 60) as u8));
        events.push((block + 30, 0x80 | ch, key, 0));
        // The drums on channel 10.
        events.push((block, 0x99, 35 + (step % 12) as u8, 100));
        if step % 5 == 0 {
            events.push((block + 5, 0xE1, 0, (64 + step % 32) as u8));
            events.push((block + 7, 0xB2, 7, (60 + step) as u8));
            events.push((block + 9, 0xB3, 1, (step * 3 % 128) as u8));
        }
    }
    events.sort_by_key(|e| e.0);
    events
}

/// The native synthesizer playing [`midi_sequence`] as auralis-wasm's
/// `auralis_synth_init` sets it up, hashed over the float bits.
fn native_midi_hash(events: &[(u32, u8, u8, u8)], blocks: u32) -> u64 {
    let mut synth: Box<Synth<'static, 256>> = Box::new(Synth::new(SampleRate::HZ_44100));
    synth
        .load_soundfont(auralis_core::bank::DEFAULT_SF2)
        .unwrap();
    synth.set_chorus(0.3);
    let (mut l, mut r) = ([0f32; 128], [0f32; 128]);
    let mut hash = FNV_START;
    let mut next = 0;
    for b in 0..blocks {
        while let Some(&(at, s, d1, d2)) = events.get(next) {
            if at != b {
                break;
            }
            synth
                .apply(MidiEvent::from_bytes(s, d1, d2).unwrap())
                .unwrap();
            next += 1;
        }
        synth.render(&mut l, &mut r);
        hash = fnv1a64(
            hash,
            l.iter().chain(&r).flat_map(|v| v.to_bits().to_le_bytes()),
        );
    }
    hash
}

#[test]
fn the_wasm_midi_synthesizer_renders_the_native_bits() {
    if !tools_present() {
        return;
    }
    let wasm = build_wasm_with(&["--features", "midi"], "target/midi");
    let events = midi_sequence();
    let blocks = 900; // 2.6 s
    let hash = native_midi_hash(&events, blocks);
    let json: Vec<String> = events
        .iter()
        .map(|(b, s, d1, d2)| format!("[{b},{s},{d1},{d2}]"))
        .collect();
    let font = std::env::temp_dir().join(format!("auralis-wasm-midi-{}.sf2", std::process::id()));
    std::fs::write(&font, auralis_core::bank::DEFAULT_SF2).unwrap();
    let (events_json, blocks_text, expect) = (
        format!("[{}]", json.join(",")),
        blocks.to_string(),
        format!("{hash:016x}"),
    );
    let text = node(
        &["--test".as_ref(), "tests/wasm/midi.test.mjs".as_ref()],
        &[
            ("AURALIS_WASM_MIDI", wasm.as_ref()),
            ("AURALIS_WASM_FONT", font.as_ref()),
            ("AURALIS_MIDI_EVENTS", events_json.as_ref()),
            ("AURALIS_MIDI_BLOCKS", blocks_text.as_ref()),
            ("AURALIS_MIDI_EXPECT", expect.as_ref()),
        ],
    );
    let _ = std::fs::remove_file(&font);
    assert!(text.contains("# pass 1"), "{text}");
    // Not silence: another sequence hashes otherwise.
    assert_ne!(hash, native_midi_hash(&events[..events.len() / 2], blocks));
}
