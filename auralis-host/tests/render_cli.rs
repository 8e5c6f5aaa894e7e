//! `auralis-host render --midi`, run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auralis-host"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auralis-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = bin();
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

/// A format 0 file: a pad chord and a drum hit (channel 10), then silence.
fn midi_with_drums() -> Vec<u8> {
    let track = [
        &[0x00, 0xC0, 89][..],
        &[0x00, 0x90, 57, 100],
        &[0x00, 0x90, 60, 100],
        &[0x00, 0x99, 36, 120],
        &[0x83, 0x60, 0x89, 36, 0], // 480 ticks
        &[0x87, 0x40, 0x80, 57, 0], // 960 more
        &[0x00, 0x80, 60, 0],
        &[0x00, 0xFF, 0x2F, 0x00],
    ]
    .concat();
    let mut f = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk".to_vec();
    f.extend_from_slice(&(track.len() as u32).to_be_bytes());
    f.extend_from_slice(&track);
    f
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Int => r
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32_768.0)
            .collect(),
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap()).collect(),
    };
    (spec, samples)
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

#[test]
fn renders_a_composition_with_the_built_in_bank_and_keeps_the_tail() {
    let mid = scratch("song.mid");
    let o = run(
        &["compose", "--seed", "5", "--minutes", "0.5", "--out"],
        &[&mid],
    );
    assert!(o.status.success());
    let (a, b) = (scratch("a.wav"), scratch("b.wav"));
    for out in [&a, &b] {
        let o = run(&["render", "--midi"], &[&mid, Path::new("--out"), out]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "rendering is not deterministic"
    );
    let (spec, s) = read_wav(&a);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 44_100, 16)
    );
    let secs = s.len() as f32 / 2.0 / 44_100.0;
    // 32 s of music (one 8-bar phrase at 60 BPM) plus the release and reverb.
    assert!(secs > 33.0 && secs < 65.0, "{secs} s");
    assert!(rms(&s) > 1e-3);
    // The tail fades rather than stopping dead.
    let end = s.len();
    let last = rms(&s[end - 2 * 4410..]);
    let before = rms(&s[end - 2 * 44_100 * 3..end - 2 * 44_100 * 2]);
    assert!(last < before, "no fade at the end: {last} vs {before}");
}

#[test]
fn real_fonts_drums_float_output_and_linear_interpolation() {
    let font = "/usr/share/sounds/sf2/TimGM6mb.sf2";
    if !Path::new(font).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{font} missing (CI must install it: see .ci/run)"
        );
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {font} is not installed");
        return;
    }
    let mid = scratch("drums.mid");
    std::fs::write(&mid, midi_with_drums()).unwrap();
    let out = scratch("drums.wav");
    let o = run(
        &[
            "render",
            "--soundfont",
            font,
            "--float",
            "--no-effects",
            "--interpolation",
            "linear",
            "--sample-rate",
            "48000",
            "--midi",
        ],
        &[&mid, Path::new("--out"), &out],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (spec, s) = read_wav(&out);
    assert_eq!(
        (spec.sample_format, spec.bits_per_sample, spec.sample_rate),
        (hound::SampleFormat::Float, 32, 48_000)
    );
    assert!(s.iter().all(|v| v.abs() <= 1.0));
    // The kick on channel 10 speaks at once, before the slow pad swells.
    assert!(rms(&s[..2 * 2400]) > 1e-3, "no drum at the start");
}

#[test]
fn bad_files_get_a_clear_message_and_no_panic() {
    let good_mid = scratch("ok.mid");
    std::fs::write(&good_mid, midi_with_drums()).unwrap();
    let junk = scratch("junk.bin");
    std::fs::write(&junk, b"RIFF\x10\0\0\0sfbkLIST").unwrap();
    let out = scratch("x.wav");
    for (args, paths, expect) in [
        (
            vec!["render", "--midi"],
            vec![Path::new("/nonexistent/a.mid")],
            "cannot open MIDI file /nonexistent/a.mid",
        ),
        (
            vec!["render", "--midi"],
            vec![junk.as_path()],
            "not a valid Standard MIDI File",
        ),
        (
            vec!["render", "--soundfont"],
            vec![junk.as_path(), Path::new("--midi"), good_mid.as_path()],
            "is not a usable SoundFont",
        ),
        (
            vec!["render", "--soundfont", "/nonexistent/x.sf2", "--midi"],
            vec![good_mid.as_path()],
            "cannot read /nonexistent/x.sf2",
        ),
    ] {
        let mut all: Vec<&Path> = paths;
        all.push(Path::new("--out"));
        all.push(&out);
        let o = run(&args, &all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = run(&["render", "--minutes", "1"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--out"));
    let o = run(
        &["render", "--seed", "3", "--midi"],
        &[good_mid.as_path(), Path::new("--out"), &out],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be used with"));
    let o = run(
        &[
            "render",
            "--sample-rate",
            "44105",
            "--minutes",
            "0.1",
            "--out",
        ],
        &[&out],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("44100 or 48000"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn renders_the_generative_stream_reproducibly() {
    let (a, b, c) = (scratch("s1.wav"), scratch("s2.wav"), scratch("s3.wav"));
    for out in [&a, &b] {
        let o = run(
            &[
                "render",
                "--seed",
                "7",
                "--minutes",
                "0.5",
                "--preset",
                "sleep",
                "--out",
            ],
            &[out],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = run(
        &[
            "render",
            "--seed",
            "8",
            "--minutes",
            "0.5",
            "--preset",
            "sleep",
            "--out",
        ],
        &[&c],
    );
    assert!(o.status.success());
    let (bytes_a, bytes_c) = (std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
    assert_eq!(
        bytes_a,
        std::fs::read(&b).unwrap(),
        "same arguments, different WAV"
    );
    assert_ne!(bytes_a, bytes_c, "another seed should be other music");
    let (spec, s) = read_wav(&a);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 44_100, 16)
    );
    assert_eq!(s.len(), 2 * 44_100 * 30);
    assert!(rms(&s[44_100..]) > 1e-3);
    let o = run(
        &[
            "render",
            "--seed",
            "7",
            "--minutes",
            "0.1",
            "--sample-rate",
            "48000",
            "--float",
            "--out",
        ],
        &[&c],
    );
    assert!(o.status.success());
    let (spec, s) = read_wav(&c);
    assert_eq!(
        (spec.sample_rate, spec.sample_format),
        (48_000, hound::SampleFormat::Float)
    );
    assert_eq!(s.len(), 2 * 4800 * 60);
}

/// A 38-byte file: one note, then an end of track 2^28 − 1 ticks later
/// (three days at 120 BPM).
fn time_bomb() -> Vec<u8> {
    let track = [
        &[0x00, 0x90, 60, 100][..],
        &[0x83, 0x60, 0x80, 60, 0],
        &[0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x2F, 0x00],
    ]
    .concat();
    let mut f = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk".to_vec();
    f.extend_from_slice(&(track.len() as u32).to_be_bytes());
    f.extend_from_slice(&track);
    f
}

#[test]
fn an_end_of_track_days_after_the_last_note_is_not_rendered() {
    let bomb = time_bomb();
    assert_eq!(bomb.len(), 38);
    let (mid, out) = (scratch("bomb.mid"), scratch("bomb.wav"));
    std::fs::write(&mid, &bomb).unwrap();
    for (flags, range) in [
        (vec![], 60.0..=95.0),
        (vec!["--max-silence", "5"], 5.0..=40.0),
    ] {
        let mut all = vec!["render"];
        all.extend(flags);
        all.push("--midi");
        let o = run(&all, &[&mid, Path::new("--out"), &out]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        // The silence before its end-of-track is kept up to --max-silence
        // (60 s by default), then cut, and the user is told.
        assert!(err.contains("--max-silence to keep more"), "{err}");
        let (spec, s) = read_wav(&out);
        let secs = s.len() as f64 / 2.0 / f64::from(spec.sample_rate);
        assert!(range.contains(&secs), "{all:?}: {secs} s");
        assert!(rms(&s) > 1e-4, "the note is there");
    }
}

/// A file with rests before its end-of-track lasts as long as FluidSynth
/// plays it (OpenMSX's tttheme2: 105.3 s, where the last note ends at
/// 91.8 s).
#[test]
fn a_midi_file_keeps_its_rests_up_to_its_end_of_track() {
    let mid = Path::new("/usr/share/games/openttd/baseset/openmsx/tttheme2.mid");
    if !mid.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} missing (CI must install openttd-openmsx)",
            mid.display()
        );
        eprintln!(
            "SKIPPED: {} is not installed (openttd-openmsx)",
            mid.display()
        );
        return;
    }
    let font = Path::new("/usr/share/sounds/sf2/FluidR3_GM.sf2");
    let (ours, theirs) = (scratch("tttheme2.wav"), scratch("tttheme2-fluidsynth.wav"));
    let o = run(&["render", "--midi"], &[mid, Path::new("--out"), &ours]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fluid = Command::new("fluidsynth")
        .args(["-ni", "-q", "-T", "wav", "-r", "44100", "-F"])
        .arg(&theirs)
        .arg(font)
        .arg(mid)
        .output();
    let length = |p: &Path| {
        let (spec, s) = read_wav(p);
        s.len() as f64 / 2.0 / f64::from(spec.sample_rate)
    };
    let ours = length(&ours);
    match fluid {
        Ok(f) if f.status.success() && font.exists() => {
            let theirs = length(&theirs);
            assert!(
                (ours - theirs).abs() <= 3.0,
                "ours {ours} s, FluidSynth {theirs} s"
            );
        }
        other => {
            assert!(std::env::var_os("CI").is_none(), "fluidsynth: {other:?}");
            eprintln!("SKIPPED: fluidsynth or FluidR3 is not installed");
        }
    }
    assert!(ours > 100.0, "{ours} s: the rests before the end are kept");
}

#[test]
fn a_midi_file_longer_than_max_minutes_is_refused_up_front() {
    // The drum file lasts 1.5 s; a limit of a second refuses it.
    let (mid, out) = (scratch("long.mid"), scratch("long.wav"));
    std::fs::write(&mid, midi_with_drums()).unwrap();
    let o = run(
        &["render", "--max-minutes", "0.01", "--midi"],
        &[&mid, Path::new("--out"), &out],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--max-minutes"), "{err}");
    assert!(!out.exists(), "nothing should have been written");
}

/// A file whose last note lies beyond what a frame count can hold: one
/// tick per quarter note, the slowest tempo (16.7 s a quarter), and
/// 94,000 notes each the longest delta apart (2^28 − 1 ticks).
fn midi_past_the_end_of_time() -> Vec<u8> {
    let mut track = vec![0x00, 0xFF, 0x51, 0x03, 0xFF, 0xFF, 0xFF, 0x00, 0x80, 60, 0];
    for _ in 0..94_000 {
        track.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F, 60, 0]);
    }
    track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);
    let mut f = b"MThd\0\0\0\x06\0\0\0\x01\x00\x01MTrk".to_vec();
    f.extend_from_slice(&(track.len() as u32).to_be_bytes());
    f.extend_from_slice(&track);
    f
}

#[test]
fn a_far_midi_file_is_refused_even_with_a_huge_max_minutes() {
    let (mid, out) = (scratch("far.mid"), scratch("far.wav"));
    std::fs::write(&mid, midi_past_the_end_of_time()).unwrap();
    let mut c = bin();
    c.args(["render", "--max-minutes", "1e13", "--midi"])
        .arg(&mid)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Refused at once; before, the frame count wrapped round and the
    // render went on for ever (killed here after a minute).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still rendering a file that cannot fit");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("more than a WAV file can hold"), "{err}");
    assert!(!out.exists(), "nothing should have been written");
}

#[test]
fn a_render_too_large_for_a_wav_file_is_refused_before_it_starts() {
    let out = scratch("huge.wav");
    for (args, fits) in [
        (vec!["--minutes", "406"], "at most 405 minutes"),
        (
            vec!["--minutes", "187", "--float", "--sample-rate", "48000"],
            "at most 186 minutes",
        ),
    ] {
        let t = std::time::Instant::now();
        let mut all = vec!["render", "--seed", "1"];
        all.extend(args);
        all.push("--out");
        let o = run(&all, &[&out]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("4 GiB") && err.contains(fits), "{err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(10));
        assert!(!out.exists());
    }
    // 405 minutes would fit: it is not refused (checked without rendering
    // it all: the refusal comes before any work, so its absence shows
    // within a second).
    let mut child = bin()
        .args(["render", "--seed", "1", "--minutes", "405", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "405 minutes should render"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn endless_or_huge_inputs_fail_at_once() {
    let out = scratch("zero.wav");
    let good_mid = scratch("ok2.mid");
    std::fs::write(&good_mid, midi_with_drums()).unwrap();
    for (args, paths, expect) in [
        (
            vec!["render", "--midi", "/dev/zero"],
            vec![],
            "not a regular file",
        ),
        (
            vec!["render", "--soundfont", "/dev/zero", "--midi"],
            vec![good_mid.as_path()],
            "not a regular file",
        ),
        (
            vec!["serve", "--config", "/dev/zero"],
            vec![],
            "not a regular file",
        ),
    ] {
        let t = std::time::Instant::now();
        let mut all: Vec<&Path> = paths;
        all.push(Path::new("--out"));
        all.push(&out);
        let args_owned: Vec<&str> = args.clone();
        let mut c = bin();
        c.args(&args_owned);
        if args[0] == "render" {
            for p in &all {
                c.arg(p);
            }
        }
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "{args:?}");
    }
    // A MIDI file of 40 MB is refused by its size, not read to the end.
    let big = scratch("big.mid");
    std::fs::write(&big, vec![0u8; 40 << 20]).unwrap();
    let o = run(&["render", "--midi"], &[&big, Path::new("--out"), &out]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("larger than 32 MiB"), "{err}");
    let _ = std::fs::remove_file(&big);
}

#[test]
fn output_goes_to_a_file_or_is_refused_before_rendering() {
    let dir = scratch("outdir");
    std::fs::create_dir_all(&dir).unwrap();
    for (out, expect) in [
        (dir.as_path(), "not a regular file"),
        (Path::new("-"), "standard output"),
        (Path::new("/nonexistent-dir/x.wav"), "cannot write"),
    ] {
        let o = run(
            &["render", "--seed", "1", "--minutes", "0.05", "--out"],
            &[out],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{out:?}: {err}");
        assert!(err.contains(expect), "{out:?}: {err}");
    }
    // A finished render leaves its file and no temporary one.
    let out = dir.join("ok.wav");
    let o = run(
        &["render", "--seed", "1", "--minutes", "0.05", "--out"],
        &[&out],
    );
    assert!(o.status.success());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ok.wav"]);
}

#[test]
fn the_sample_rate_message_says_what_the_stream_needs() {
    let out = scratch("rate.wav");
    let o = run(
        &[
            "render",
            "--sample-rate",
            "96000",
            "--minutes",
            "0.1",
            "--out",
        ],
        &[&out],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("multiple of 10 Hz") && err.contains("at most 48000 Hz"),
        "{err}"
    );
    // MIDI files render at 96 kHz.
    let mid = scratch("rate.mid");
    std::fs::write(&mid, midi_with_drums()).unwrap();
    let o = run(
        &["render", "--sample-rate", "96000", "--midi"],
        &[&mid, Path::new("--out"), &out],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Integrated loudness is out of reach here; the RMS of the whole file in
/// decibels is enough to compare two renders of the same music.
fn rms_db(x: &[f32]) -> f32 {
    20.0 * rms(x).log10()
}

#[test]
fn compose_and_render_give_the_same_length_and_level() {
    let (mid, direct, back) = (
        scratch("same.mid"),
        scratch("direct.wav"),
        scratch("back.wav"),
    );
    let music = ["--seed", "11", "--minutes", "1", "--preset", "focus"];
    let mut args = vec!["compose"];
    args.extend(music);
    args.push("--out");
    assert!(run(&args, &[&mid]).status.success());
    let mut args = vec!["render"];
    args.extend(music);
    args.push("--out");
    assert!(run(&args, &[&direct]).status.success());
    let o = run(
        &["render", "--gain", "5.4", "--midi"],
        &[&mid, Path::new("--out"), &back],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The MIDI file ends at one minute, as the render does.
    let tl = auralis_host::midi_file::read(&std::fs::read(&mid).unwrap(), 44_100).unwrap();
    assert!(
        (tl.last_meta as i64 - 60 * 44_100).abs() < 441,
        "the composed file lasts {} frames",
        tl.last_meta
    );
    let (_, d) = read_wav(&direct);
    assert_eq!(d.len(), 2 * 60 * 44_100);
    let (_, b) = read_wav(&back);
    // Compare the same minute (the MIDI render adds its tail).
    let b = &b[..d.len().min(b.len())];
    let (ld, lb) = (rms_db(&d[44_100..]), rms_db(&b[44_100..]));
    assert!(
        (ld - lb).abs() < 1.5,
        "direct {ld:.1} dB, composed and played back {lb:.1} dB"
    );
}

#[test]
fn ctrl_c_during_a_render_leaves_nothing_behind() {
    let dir = std::env::temp_dir().join(format!("auralis-interrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("long.wav");
    let mut child = bin()
        .args(["render", "--seed", "3", "--minutes", "60", "--out"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the unfinished file exists and is growing.
    let partial = || {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().contains(".partial-"))
            .and_then(|e| e.metadata().ok())
            .map(|m| m.len())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while partial().unwrap_or(0) < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "no partial file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(partial(), None, "the partial file is removed");
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
