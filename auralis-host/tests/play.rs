//! `auralis-host play` on a real sound server: PulseAudio (Debian's
//! `pulseaudio`, started here in user space with a null sink, no sound
//! card needed) reached through ALSA's pulse plugin, as on a desktop.
//! `parec` records the sink's monitor while `play` plays; the recording
//! must be the music `render` writes for the same seed (best-aligned
//! correlation, loudness by ffmpeg's EBU R128 meter), with no underrun,
//! the closing fade, and an exit soon after the end. `.ci/run` installs
//! PulseAudio, its tools and ALSA's plugins; without them this test says
//! so and passes, except under `CI=true`.

#![cfg(feature = "play")]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::missing;

const RATE: usize = 44_100;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_auralis-host"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auralis-play-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A PulseAudio daemon of its own, in `dir`, with one null sink called
/// `auralis`; killed when dropped.
struct Pulse {
    child: Child,
    dir: PathBuf,
}

impl Pulse {
    fn start(dir: &Path) -> Self {
        let mut command = Command::new("pulseaudio");
        command
            .args([
                "-n",
                "--daemonize=no",
                "--system=false",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--log-target=stderr",
                "--load=module-null-sink sink_name=auralis",
                "--load=module-native-protocol-unix auth-anonymous=1",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("pulseaudio.log")).unwrap());
        let pulse = Self {
            child: Self::env(&mut command, dir).spawn().unwrap(),
            dir: dir.to_path_buf(),
        };
        let t = Instant::now();
        loop {
            let up = pulse
                .command("pactl")
                .arg("info")
                .output()
                .is_ok_and(|o| o.status.success());
            if up {
                return pulse;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "PulseAudio did not start: {}",
                std::fs::read_to_string(dir.join("pulseaudio.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The environment that makes a program (and ALSA's pulse plugin in
    /// it) find this daemon and nothing else.
    fn env<'c>(command: &'c mut Command, dir: &Path) -> &'c mut Command {
        command
            .env("XDG_RUNTIME_DIR", dir)
            .env("HOME", dir)
            .env(
                "PULSE_SERVER",
                format!("unix:{}", dir.join("pulse/native").display()),
            )
            .env_remove("PULSE_SINK")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        Self::env(&mut command, &self.dir);
        command
    }

    /// Starts recording the null sink into `file` (raw s16le stereo at
    /// 44.1 kHz) and returns once the recording stream exists.
    fn record(&self, file: &Path) -> Child {
        let child = self
            .command("parec")
            .args([
                // Small fragments: the default (about 2 s) loses the
                // start and the end of a short recording.
                "--latency-msec=20",
                "-d",
                "auralis.monitor",
                "--format=s16le",
                "--rate=44100",
                "--channels=2",
                "--raw",
            ])
            .stdout(std::fs::File::create(file).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !self.has("source-outputs") {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "parec did not connect"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// Whether `pactl list short KIND` lists anything.
    fn has(&self, kind: &str) -> bool {
        self.command("pactl")
            .args(["list", "short", kind])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stops `parec` (SIGINT, so that it flushes) and reads what it wrote.
fn stop_recording(mut parec: Child, file: &Path) -> Vec<f32> {
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(parec.id() as i32, libc::SIGINT) };
    let _ = parec.wait();
    std::fs::read(file)
        .unwrap()
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))
        .collect()
}

/// Where the reference's first frame falls in the recording, in frames
/// (negative when the recording begins after the music did): first by
/// 10 ms loudness envelopes, then to the frame by the best correlation.
fn align(recording: &[f32], reference: &[f32]) -> isize {
    // Mean removed: the envelope's level would otherwise favour the
    // lag with the most loud overlap, not the right one.
    let envelope = |x: &[f32]| -> Vec<f64> {
        let e: Vec<f64> = x
            .chunks(882)
            .map(|c| c.iter().step_by(2).map(|v| f64::from(v.abs())).sum())
            .collect();
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        e.iter().map(|v| v - mean).collect()
    };
    let (er, ef) = (envelope(recording), envelope(reference));
    let score = |lag: isize, a: &[f64], b: &[f64], len: usize| -> f64 {
        (0..len)
            .filter_map(|i| {
                let j = usize::try_from(i as isize + lag).ok()?;
                Some(a.get(j)? * b.get(i)?)
            })
            .sum()
    };
    let blocks = ef.len().min(1_000);
    let coarse = (-100..er.len() as isize)
        .max_by(|&x, &y| score(x, &er, &ef, blocks).total_cmp(&score(y, &er, &ef, blocks)))
        .expect("a recording");
    // Frame by frame around it, over one second from the music's second
    // second.
    let window = &reference[RATE * 2..RATE * 4];
    let fine = |lag: isize| -> f64 {
        window
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let j = usize::try_from((RATE * 2 + i) as isize + lag * 2).ok()?;
                Some(f64::from(*recording.get(j)?) * f64::from(*b))
            })
            .sum()
    };
    (coarse * 441 - 441..=coarse * 441 + 441)
        .max_by(|&a, &b| fine(a).total_cmp(&fine(b)))
        .expect("a lag")
}

/// The recording's samples for the reference's frames `frames`, and the
/// reference's, where the recording holds them.
fn pair<'a>(
    recording: &'a [f32],
    reference: &'a [f32],
    offset: isize,
    frames: std::ops::Range<usize>,
) -> (&'a [f32], &'a [f32]) {
    let held = (recording.len() / 2) as isize - offset;
    let start = frames.start.max(usize::try_from(-offset).unwrap_or(0));
    let end = frames
        .end
        .min(usize::try_from(held).unwrap_or(0))
        .max(start);
    let at = |f: usize| (f as isize + offset) as usize * 2;
    (
        &recording[at(start)..at(end)],
        &reference[start * 2..end * 2],
    )
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x) - ma, f64::from(*y) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

fn rms_db(x: &[f32]) -> f64 {
    let power = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * (power.max(1e-9)).log10()
}

/// Integrated loudness of raw s16le stereo at 44.1 kHz, by ffmpeg.
fn lufs(samples: &[f32], dir: &Path, name: &str) -> f64 {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    for s in samples {
        file.write_all(&(*s as i16).to_le_bytes()).unwrap();
    }
    drop(file);
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostats",
            "-f",
            "s16le",
            "-ar",
            "44100",
            "-ac",
            "2",
            "-i",
        ])
        .arg(&path)
        .args(["-af", "ebur128", "-f", "null", "-"])
        .output()
        .unwrap();
    common::integrated_lufs(&String::from_utf8_lossy(&out.stderr))
}

/// What one `play --minutes` run gave.
struct Played {
    stderr: String,
    /// From the device's start to the process's exit.
    wall: Duration,
    recording: Vec<f32>,
}

fn play(pulse: &Pulse, dir: &Path, args: &[&str]) -> Played {
    let file = dir.join("recording.raw");
    let parec = pulse.record(&file);
    let mut child = pulse
        .command(env!("CARGO_BIN_EXE_auralis-host"))
        .arg("play")
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The clock starts when the device does ("playing on …"), not when
    // the process does: a loaded machine may take a while to start it.
    let mut stderr = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut started = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("playing on ") {
            started = Some(Instant::now());
        }
        stderr.push_str(&line);
        stderr.push('\n');
        if started.is_some() {
            break;
        }
    }
    for line in lines {
        stderr.push_str(&line.unwrap());
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    let wall = started.map(|t| t.elapsed()).unwrap_or_default();
    // What the sink still held reaches the monitor, and some silence.
    std::thread::sleep(Duration::from_secs(1));
    let recording = stop_recording(parec, &file);
    assert!(status.success(), "play failed: {stderr}");
    Played {
        stderr,
        wall,
        recording,
    }
}

fn rendered(dir: &Path, seed: &str, minutes: &str) -> Vec<f32> {
    let wav = dir.join("reference.wav");
    let out = bin()
        .args(["render", "--seed", seed, "--minutes", minutes, "--out"])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    hound::WavReader::open(&wav)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap()))
        .collect()
}

/// The checks both tests make on a run of `seconds` seconds.
fn check(played: &Played, reference: &[f32], dir: &Path, seconds: usize) {
    assert!(
        played.stderr.contains(": 0 underruns"),
        "underruns while playing: {}",
        played.stderr
    );
    let offset = align(&played.recording, reference);
    // PulseAudio's monitor misses the first moments of a new stream
    // (paplay's too: the sink rewinds to mix it in sooner); the rest must
    // be there.
    assert!(
        offset > -(RATE as isize) / 4,
        "the recording begins {} ms into the music",
        -offset * 1000 / RATE as isize
    );
    // Before the closing fade (its last 10 s), the same music.
    let (heard, written) = pair(
        &played.recording,
        reference,
        offset,
        0..(seconds - 10) * RATE,
    );
    assert!(
        heard.len() > (seconds - 11) * RATE * 2,
        "the recording is short"
    );
    let r = correlation(heard, written);
    assert!(r >= 0.99, "correlation {r} with the rendered music");
    let (heard_lufs, written_lufs) = (
        lufs(heard, dir, "heard.raw"),
        lufs(written, dir, "written.raw"),
    );
    assert!(
        (heard_lufs - written_lufs).abs() <= 0.5,
        "{heard_lufs} LUFS heard against {written_lufs} LUFS rendered"
    );
    // The fade: its last second is far below the same second rendered,
    // and nothing sounds after the end.
    let (heard, written) = pair(
        &played.recording,
        reference,
        offset,
        (seconds - 1) * RATE..seconds * RATE,
    );
    let drop_db = rms_db(written) - rms_db(heard);
    assert!(
        drop_db > 20.0,
        "the last second is only {drop_db} dB quieter"
    );
    let end = (seconds as isize * RATE as isize + offset) as usize * 2;
    let after = played.recording.get(end..).unwrap_or_default();
    assert!(
        after.len() > RATE / 5,
        "the recording stops at the music's end"
    );
    assert!(after.iter().all(|s| s.abs() < 64.0), "sound after the end");
    // It leaves within a second of handing the device its last sample
    // (as it reports), and the whole run took the music's time, give or
    // take the sound server's clock and start (it must not hang).
    assert!(
        stopped_within(&played.stderr, "the music's last sample") < 1.0,
        "{}",
        played.stderr
    );
    assert!(
        played.wall < Duration::from_secs(seconds as u64 + 4),
        "played for {:?}",
        played.wall
    );
}

/// The seconds `play` says it took to stop after `what`.
fn stopped_within(stderr: &str, what: &str) -> f64 {
    stderr
        .split("; stopped ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(&format!(" s after {what}\n")))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no 'stopped … after {what}' in {stderr:?}"))
}

#[test]
fn play_sounds_like_render_with_no_underruns_and_stops_at_its_end() {
    if ["pulseaudio", "parec", "pactl", "ffmpeg"]
        .iter()
        .any(|t| missing(t))
    {
        return;
    }
    let dir = scratch("plain");
    let pulse = Pulse::start(&dir);
    let played = play(&pulse, &dir, &["--seed", "17", "--minutes", "0.5"]);
    let reference = rendered(&dir, "17", "0.5");
    check(&played, &reference, &dir, 30);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn play_keeps_up_beside_two_busy_processes() {
    if ["pulseaudio", "parec", "pactl", "ffmpeg"]
        .iter()
        .any(|t| missing(t))
    {
        return;
    }
    let dir = scratch("hogs");
    let pulse = Pulse::start(&dir);
    let mut hogs: Vec<Child> = (0..2)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap()
        })
        .collect();
    let played = play(&pulse, &dir, &["--seed", "5", "--minutes", "0.3"]);
    for hog in &mut hogs {
        let _ = hog.kill();
        let _ = hog.wait();
    }
    let reference = rendered(&dir, "5", "0.3");
    check(&played, &reference, &dir, 18);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_fades_out_and_exits_within_a_second() {
    if ["pulseaudio", "parec", "pactl"].iter().any(|t| missing(t)) {
        return;
    }
    let dir = scratch("ctrl-c");
    let pulse = Pulse::start(&dir);
    let file = dir.join("recording.raw");
    let parec = pulse.record(&file);
    let mut child = pulse
        .command(env!("CARGO_BIN_EXE_auralis-host"))
        .args(["play", "--seed", "3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let signalled = Instant::now();
    let status = child.wait().unwrap();
    let exited = signalled.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let recording = stop_recording(parec, &file);
    assert!(status.success(), "{stderr}");
    assert!(
        exited < Duration::from_secs(1),
        "exited {exited:?} after Ctrl-C"
    );
    assert!(stderr.contains(": 0 underruns"), "{stderr}");
    // The end is a fade, not a cut: the last 50 ms of sound are quieter
    // than the 200 ms before them, and silence follows.
    let last = recording
        .iter()
        .rposition(|s| s.abs() > 64.0)
        .expect("it played");
    let fifty = RATE / 20 * 2;
    let tail = &recording[last + 2 - fifty..last + 2];
    let before = &recording[last + 2 - 6 * fifty..last + 2 - 2 * fifty];
    assert!(
        rms_db(before) - rms_db(tail) > 6.0,
        "no fade: {} dB then {} dB",
        rms_db(before),
        rms_db(tail)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
