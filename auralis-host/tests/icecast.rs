//! A station pushed to a real Icecast 2.4 (Debian's `icecast2`, started
//! here on a loopback port with a generated config, no system service):
//! Debian's `ffmpeg` decodes 10 s of it through Icecast, then Icecast
//! restarts and the source is back within 10 s with the composition going
//! on (the Ogg granule positions, which count the station's chunks,
//! continue; nothing starts again from the top). `.ci/run` installs both;
//! without them this test says so and passes, except under `CI=true`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "auralis-test-pw";

mod common;

use common::{free_port, missing};

/// Icecast on `port`, logging into `dir`.
struct Icecast {
    child: Child,
    config: PathBuf,
}

impl Icecast {
    fn start(dir: &Path, port: u16) -> Self {
        // Icecast refuses to run as root unless told whom to become.
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let security = if root {
            "<security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>"
        } else {
            "<security><chroot>0</chroot></security>"
        };
        let config = dir.join("icecast.xml");
        std::fs::write(
            &config,
            format!(
                "<icecast>\n\
                 <hostname>127.0.0.1</hostname><location>test</location><admin>test@localhost</admin>\n\
                 <limits><clients>50</clients><sources>4</sources><queue-size>524288</queue-size>\
                 <client-timeout>30</client-timeout><header-timeout>15</header-timeout>\
                 <source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>\n\
                 <authentication><source-password>{PASSWORD}</source-password>\
                 <relay-password>{PASSWORD}</relay-password><admin-user>admin</admin-user>\
                 <admin-password>{PASSWORD}</admin-password></authentication>\n\
                 <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>\n\
                 <fileserve>1</fileserve>\n\
                 <paths><basedir>/usr/share/icecast2</basedir><logdir>{dir}</logdir>\
                 <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>\n\
                 <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>\n\
                 {security}\n</icecast>\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("icecast2")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ice = Self { child, config };
        let t = Instant::now();
        while get(port, "/status-json.xsl", Duration::from_millis(500)).is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "Icecast did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ice
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Icecast {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.config;
    }
}

/// GETs `path`, reading for at most `read_for`; the body, or `None` when
/// nothing answers.
fn get(port: u16, path: &str, read_for: Duration) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(200))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    let t = Instant::now();
    while t.elapsed() < read_for {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                if !got.is_empty()
                    && got.windows(4).any(|w| w == b"\r\n\r\n")
                    && read_for < Duration::from_secs(1)
                {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let split = got.windows(4).position(|w| w == b"\r\n\r\n")?;
    if !got.starts_with(b"HTTP/1.0 200") && !got.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    Some(got[split + 4..].to_vec())
}

/// Whether Icecast lists the mount as a live source.
fn source_up(port: u16, mount: &str) -> bool {
    get(port, "/status-json.xsl", Duration::from_millis(500))
        .is_some_and(|b| String::from_utf8_lossy(&b).contains(mount))
}

/// The granule positions of the audio pages (not the two header pages).
fn granules(ogg: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = ogg[i..].windows(4).position(|w| w == b"OggS") {
        let at = i + p;
        if let Some(g) = ogg.get(at + 6..at + 14) {
            let g = u64::from_le_bytes(g.try_into().unwrap());
            if g > 0 {
                out.push(g);
            }
        }
        i = at + 4;
    }
    out
}

#[test]
fn a_station_plays_through_icecast_and_survives_its_restart() {
    if missing("icecast2") || missing("ffmpeg") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("auralis-icecast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The log directory must be writable by whom Icecast becomes.
    Command::new("chmod").arg("777").arg(&dir).status().unwrap();
    let port = free_port();
    let mut icecast = Icecast::start(&dir, port);
    let log = std::fs::File::create(dir.join("station.log")).unwrap();
    let mut station = Command::new(env!("CARGO_BIN_EXE_auralis-host"))
        .args([
            "station",
            "--name",
            "ci",
            "--preset",
            "sleep",
            "--seed",
            "11",
            "--icecast",
        ])
        .arg(format!("http://source:{PASSWORD}@127.0.0.1:{port}/ci.ogg"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !source_up(port, "/ci.ogg") {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the station never reached Icecast"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A real client through Icecast: 10 s decoded, the right format, sound.
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-t", "10", "-i"])
        .arg(format!("http://127.0.0.1:{port}/ci.ogg"))
        .args(["-af", "ebur128=framelog=verbose", "-f", "null", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg failed:\n{stderr}");
    assert!(stderr.contains("Audio: opus, 48000 Hz, stereo"), "{stderr}");
    let lufs = common::integrated_lufs(&stderr);
    assert!(lufs > -40.0, "not silent: {lufs} LUFS");

    // Where the composition is now.
    let before = granules(&get(port, "/ci.ogg", Duration::from_secs(2)).unwrap());
    let last_before = *before.iter().max().expect("audio pages");

    // Icecast restarts; the source is back within 10 s, and goes on.
    icecast.stop();
    let restarted = Instant::now();
    let mut icecast = Icecast::start(&dir, port);
    while !source_up(port, "/ci.ogg") {
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "the station did not come back within 10 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let back_after = restarted.elapsed();
    let after = granules(&get(port, "/ci.ogg", Duration::from_secs(2)).unwrap());
    let first_after = *after.iter().min().expect("audio pages after the restart");
    assert!(
        first_after > last_before,
        "the composition goes on: granule {first_after} after the restart, {last_before} before"
    );
    // Whole chunks: pre-skip plus a multiple of 4800 samples.
    assert_eq!((first_after - 312) % 4800, 0);
    let _ = writeln!(
        std::io::stderr(),
        "icecast: back {back_after:?} after the restart; chunk {} before, {} after",
        (last_before - 312) / 4800,
        (first_after - 312) / 4800
    );
    let _ = station.kill();
    let _ = station.wait();
    icecast.stop();
    let log = std::fs::read_to_string(dir.join("station.log")).unwrap_or_default();
    assert_eq!(log.matches("icecast: pushing").count(), 2, "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_station_command_refuses_bad_input_clearly() {
    for (args, says) in [
        (
            vec!["--name", "x", "--icecast", "ftp://h/m.ogg"],
            "only http://",
        ),
        (
            vec!["--name", "x", "--icecast", "http://h:1/m.ogg"],
            "no source password",
        ),
        (
            vec!["--name", "a b", "--icecast", "http://source:p@h:1/m.ogg"],
            "letters, digits",
        ),
        (
            vec![
                "--name",
                "x",
                "--preset",
                "party",
                "--icecast",
                "http://source:p@h:1/m.ogg",
            ],
            "focus, meditation",
        ),
        (
            vec![
                "--name",
                "x",
                "--seed",
                "soon",
                "--icecast",
                "http://source:p@h:1/m.ogg",
            ],
            "daily",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_auralis-host"))
            .arg("station")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A flag's bad value is a usage error (2), as for render; a bad
        // station or URL is refused when the station is made (1).
        let usage = args.contains(&"--preset");
        let code = if usage { 2 } else { 1 };
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_configured_station_is_pushed_by_the_server() {
    if missing("icecast2") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("auralis-icecast-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Command::new("chmod").arg("777").arg(&dir).status().unwrap();
    let port = free_port();
    let mut icecast = Icecast::start(&dir, port);
    let config = dir.join("auralis.toml");
    std::fs::write(
        &config,
        format!(
            "[[stations]]\nname = \"night\"\npreset = \"sleep\"\nseed = 3\n\
             icecast = \"http://source:{PASSWORD}@127.0.0.1:{port}/night.ogg\"\n"
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_auralis-host"));
    command
        .args(["--addr", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stderr(Stdio::null());
    let (mut server, addr) = common::spawn_server(&mut command);
    let server_port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let t = Instant::now();
    while !source_up(port, "/night.ogg") {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the server never pushed its station"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server says so in its status, without the password.
    let status = get(server_port, "/api/status", Duration::from_millis(500)).unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status).unwrap();
    let ice = &status["stations"][0]["icecast"];
    assert_eq!(ice["connected"], true, "{status}");
    assert_eq!(ice["connects"], 1);
    assert!(!status.to_string().contains(PASSWORD));
    // Icecast's copy and the server's own are the same station.
    let ogg = get(port, "/night.ogg", Duration::from_secs(1)).unwrap();
    assert!(!granules(&ogg).is_empty());
    let _ = server.kill();
    let _ = server.wait();
    icecast.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
