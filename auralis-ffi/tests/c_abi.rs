//! The C ABI from real C and C++ programs (`tests/c/`), built with gcc and
//! g++ against `libauralis.a` and `libauralis.so`, run under
//! AddressSanitizer/UBSan and under valgrind; the example
//! `render_wav.c`, built also through `pkg-config`; and the samples of the
//! C path against the Rust API, bit for bit.
//!
//! Needs gcc, g++, valgrind and pkg-config: without them these tests say
//! so and pass, except under `CI=true`, where they fail.

/// Says that a test skips, and why, where `cargo test` shows it: straight
/// to the process's stderr, past the test harness's capture.
#[path = "../../tests/src/skip.rs"]
#[allow(dead_code, unreachable_pub)] // shared by every test crate
mod skip;
use skip::skip;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext};
use auralis_core::SampleRate;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo put libauralis.a and .so for this build: beside this test
/// in `target/<profile>/deps` (a plain `cargo test` leaves them there),
/// else in `target/<profile>` (after `cargo build`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap().to_path_buf();
    if deps.join("libauralis.a").is_file() && deps.join("libauralis.so").is_file() {
        deps
    } else {
        profile_dir()
    }
}

/// `target/<profile>`, where the build script writes auralis.pc.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("auralis-c-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(format_args!("{tool} is not installed"));
    }
    ok
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const C_FLAGS: [&str; 5] = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"];
const SANITIZE: [&str; 2] = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];
const WRAP: &str =
    "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=posix_memalign,--wrap=aligned_alloc";

#[derive(Clone, Copy, Debug)]
enum Link {
    Static,
    Dynamic,
}

/// Compiles `source` into `out` with `compiler` and the given flags.
fn build(compiler: &str, source: &Path, out: &Path, flags: &[&str], link: Link) {
    let lib = lib_dir();
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .arg(format!("-I{}", repo().join("include").display()))
        .arg(source);
    match link {
        Link::Static => {
            cmd.arg(lib.join("libauralis.a"));
        }
        Link::Dynamic => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-lauralis")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
    }
    cmd.args(["-lpthread", "-ldl", "-lm", "-o"]).arg(out);
    run(&mut cmd);
}

/// A command for a built C program. `cargo test` puts `target/<profile>`
/// on `LD_LIBRARY_PATH`, which outranks the programs' rpath and may hold
/// an older `libauralis.so` from a `cargo build`: point it at this build.
fn program(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env("LD_LIBRARY_PATH", lib_dir());
    cmd
}

fn valgrind(cmd: &mut Command) -> Output {
    let mut v = Command::new("valgrind");
    v.args([
        "-q",
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect",
    ])
    .arg(cmd.get_program())
    .args(cmd.get_args())
    .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
    run(&mut v)
}

fn fonts() -> (PathBuf, PathBuf) {
    let r = repo().join("tests/corpus");
    (
        r.join("sf2-valid/tiny.sf2"),
        r.join("sf2/absurd-chunk-size.sf2"),
    )
}

/// The fixed render of engine_test.c, done with the Rust API (on a thread
/// with room for an unoptimised engine on its stack).
fn rust_reference() -> Vec<u8> {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(rust_reference_here)
        .unwrap()
        .join()
        .unwrap()
}

fn rust_reference_here() -> Vec<u8> {
    let ctx = MusicalContext::new(62, Mode::Dorian, 66.0, 0.7).unwrap();
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(42, SampleRate::HZ_44100, MusicalContext::DEFAULT).unwrap());
    e.set_context(ctx);
    let mut bytes = Vec::new();
    let mut chunk = Box::new(AudioChunk::new());
    for _ in 0..3 {
        e.next_chunk(&mut chunk);
        bytes.extend(chunk.samples().iter().flat_map(|s| s.to_ne_bytes()));
    }
    let (mut l, mut r) = (vec![0f32; 1000], vec![0f32; 1000]);
    e.render(&mut l, &mut r);
    bytes.extend(
        l.iter()
            .zip(&r)
            .flat_map(|(a, b)| [*a, *b])
            .flat_map(f32::to_ne_bytes),
    );
    bytes
}

#[test]
fn every_function_from_c_under_sanitizers_and_valgrind_bit_identical_to_rust() {
    if !have("gcc") || !have("valgrind") {
        return;
    }
    let dir = scratch("engine");
    let src = repo().join("tests/c/engine_test.c");
    let (valid, corrupt) = fonts();
    let reference = rust_reference();
    for (link, sanitize) in [
        (Link::Static, true),
        (Link::Dynamic, true),
        (Link::Static, false),
        (Link::Dynamic, false),
    ] {
        let exe = dir.join(format!("engine_test_{link:?}_{sanitize}"));
        let mut flags = C_FLAGS.to_vec();
        if sanitize {
            flags.extend(SANITIZE);
        }
        build("gcc", &src, &exe, &flags, link);
        let pcm = dir.join(format!("out_{link:?}_{sanitize}.pcm"));
        let mut cmd = program(&exe);
        cmd.arg(&valid).arg(&corrupt).arg(&pcm);
        let out = if sanitize {
            run(cmd
                .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
                .env("UBSAN_OPTIONS", "halt_on_error=1"))
        } else {
            valgrind(&mut cmd)
        };
        assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));
        let got = std::fs::read(&pcm).unwrap();
        assert!(
            got == reference,
            "{link:?}: the C path's samples differ from the Rust API's"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_engine_in_caller_memory_never_allocates() {
    if !have("gcc") || !have("valgrind") {
        return;
    }
    let dir = scratch("placement");
    let exe = dir.join("placement_test");
    let mut flags = C_FLAGS.to_vec();
    flags.push(WRAP);
    build(
        "gcc",
        &repo().join("tests/c/placement_test.c"),
        &exe,
        &flags,
        Link::Static,
    );
    let (valid, _) = fonts();
    let out = valgrind(program(&exe).arg(&valid));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 allocations in caller memory"), "{text}");
    assert!(text.contains("render the same samples"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_ring_passes_every_frame_between_a_worker_and_a_callback_thread() {
    if !have("gcc") {
        return;
    }
    let dir = scratch("ring");
    let exe = dir.join("ring_test");
    let mut flags = C_FLAGS.to_vec();
    flags.extend(SANITIZE);
    build(
        "gcc",
        &repo().join("tests/c/ring_test.c"),
        &exe,
        &flags,
        Link::Static,
    );
    let out = run(program(&exe).arg("2"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("every frame once and in order"), "{text}");
    // The example: an audio callback fed from the ring, to a WAV file.
    let example = dir.join("ring_callback");
    build(
        "gcc",
        &repo().join("auralis-ffi/examples/ring_callback.c"),
        &example,
        &C_FLAGS,
        Link::Static,
    );
    let wav = dir.join("callback.wav");
    run(program(&example).arg(&wav).arg("3"));
    check_wav(&wav, 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_header_works_from_cpp17() {
    if !have("g++") {
        return;
    }
    let dir = scratch("cpp");
    for link in [Link::Static, Link::Dynamic] {
        let exe = dir.join(format!("api_test_{link:?}"));
        let mut flags = vec![
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
        ];
        flags.extend(SANITIZE);
        build(
            "g++",
            &repo().join("tests/c/api_test.cpp"),
            &exe,
            &flags,
            link,
        );
        let out = run(&mut program(&exe));
        assert!(String::from_utf8_lossy(&out.stdout).contains("api_test (C++17)"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A RIFF/WAVE file of `seconds` of 44.1 kHz stereo 16-bit audio.
fn check_wav(path: &Path, seconds: u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    assert_eq!(bytes.len(), 44 + seconds as usize * 44_100 * 4);
    let loud = bytes[44..]
        .chunks_exact(2)
        .filter(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 300)
        .count();
    assert!(loud > 10_000, "music, not silence: {loud}");
}

#[test]
fn the_render_wav_example_builds_statically_dynamically_and_through_pkg_config() {
    if !have("gcc") || !have("pkg-config") {
        return;
    }
    let dir = scratch("example");
    let src = repo().join("auralis-ffi/examples/render_wav.c");
    for link in [Link::Static, Link::Dynamic] {
        let exe = dir.join(format!("render_wav_{link:?}"));
        build("gcc", &src, &exe, &C_FLAGS, link);
        let wav = dir.join(format!("{link:?}.wav"));
        run(program(&exe).arg(&wav).arg("7").arg("3"));
        check_wav(&wav, 3);
    }
    // As an install would be used: header and static library under a
    // prefix, found through auralis.pc.
    let prefix = dir.join("prefix");
    std::fs::create_dir_all(prefix.join("include")).unwrap();
    std::fs::create_dir_all(prefix.join("lib/pkgconfig")).unwrap();
    std::fs::copy(
        repo().join("include/auralis.h"),
        prefix.join("include/auralis.h"),
    )
    .unwrap();
    std::fs::copy(
        lib_dir().join("libauralis.a"),
        prefix.join("lib/libauralis.a"),
    )
    .unwrap();
    std::fs::copy(
        profile_dir().join("auralis.pc"),
        prefix.join("lib/pkgconfig/auralis.pc"),
    )
    .unwrap();
    let flags = run(Command::new("pkg-config")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .arg(format!("--define-variable=prefix={}", prefix.display()))
        .args(["--cflags", "--libs", "--static", "auralis"]));
    let flags = String::from_utf8(flags.stdout).unwrap();
    assert!(flags.contains("-lauralis"), "{flags}");
    let exe = dir.join("render_wav_pkgconfig");
    run(Command::new("gcc")
        .args(C_FLAGS)
        .arg(&src)
        .args(flags.split_whitespace())
        .arg("-o")
        .arg(&exe));
    let wav = dir.join("pc.wav");
    run(program(&exe).arg(&wav).arg("7").arg("2"));
    check_wav(&wav, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
