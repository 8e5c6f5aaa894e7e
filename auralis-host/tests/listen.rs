//! `GET /listen` judged by a real client: Debian's `ffmpeg` decodes the
//! Ogg Opus stream of the real `auralis-host` binary (right rate and
//! channels, no decode errors, a listening level), and the stream ends
//! cleanly when the server stops. `.ci/run` installs ffmpeg; without it
//! these tests say so and pass, except under `CI=true`, where they fail.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::missing;

/// The server binary on a free loopback port; returns it and `host:port`.
fn start(args: &[&str]) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auralis-host"));
    command
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::null());
    common::spawn_server(&mut command)
}

/// One HTTP request; the status line's code and the whole head.
fn head_of(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = vec![0; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before the head");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).to_string();
    let code = text[9..12].parse().unwrap();
    (code, text)
}

/// ffmpeg's lines that report a problem.
fn errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("invalid") || l.contains("corrupt")
        })
        .collect()
}

#[test]
fn ffmpeg_decodes_ten_seconds_of_listen_at_a_listening_level() {
    if missing("ffmpeg") {
        return;
    }
    let (mut server, addr) = start(&[]);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-t", "10", "-i"])
        .arg(format!("http://{addr}/listen?preset=focus&seed=3"))
        .args(["-af", "ebur128=framelog=verbose", "-f", "null", "-"])
        .output()
        .unwrap();
    let _ = server.kill();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg failed:\n{stderr}");
    assert!(
        stderr.contains("Audio: opus, 48000 Hz, stereo"),
        "an Opus stream at 48 kHz, stereo:\n{stderr}"
    );
    assert!(
        stderr.contains("TITLE") && stderr.contains("C dorian, seed 3"),
        "the stream names what it plays:\n{stderr}"
    );
    assert_eq!(errors(&stderr), Vec::<&str>::new(), "no decode errors");
    let decoded = stderr
        .rsplit("time=")
        .next()
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or("");
    assert!(decoded.starts_with("00:00:10"), "10 s decoded: {decoded}");
    let lufs = common::integrated_lufs(&stderr);
    assert!((-26.0..=-12.0).contains(&lufs), "{lufs} LUFS");
}

#[test]
fn stopping_the_server_ends_the_stream_cleanly() {
    if missing("ffmpeg") {
        return;
    }
    // An idle timeout far shorter than the stream: a stream is not idle.
    let (mut server, addr) = start(&["--idle-timeout", "1"]);
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(format!("http://{addr}/listen"))
        .args(["-f", "null", "-"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        ffmpeg.try_wait().unwrap().is_none(),
        "still streaming past the idle timeout"
    );
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let t = Instant::now();
    let exit = loop {
        if let Some(s) = ffmpeg.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "ffmpeg still reading 5 s after the server stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    ffmpeg
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "ffmpeg: {exit:?}\n{stderr}");
    assert_eq!(errors(&stderr), Vec::<&str>::new(), "a clean end");
    assert!(server.wait().unwrap().success());
}

#[test]
fn listen_refuses_bad_queries_and_respects_the_listener_limit() {
    let (mut server, addr) = start(&["--max-clients", "1"]);
    let (code, head) = head_of(&addr, "HEAD /listen HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 200, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: audio/ogg"),
        "{head}"
    );
    let (code, head) = head_of(
        &addr,
        "GET /listen?preset=party HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(code, 400, "{head}");
    // One listener takes the only slot; the next is told to come back.
    let mut first = TcpStream::connect(&addr).unwrap();
    first
        .write_all(b"GET /listen?seed=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"OggS") {
        let n = first.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    let (code, head) = head_of(&addr, "GET /listen HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 503, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after"), "{head}");
    // HEAD says what a GET would get now.
    let (code, head) = head_of(&addr, "HEAD /listen HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 503, "{head}");
    // What /listen cannot do is refused, not ignored.
    for q in ["station=calm", "paused=1"] {
        let (code, head) = head_of(
            &addr,
            &format!("GET /listen?{q} HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
        assert_eq!(code, 400, "{q}: {head}");
    }
    // A number too large for a float is refused by name.
    let (code, head) = head_of(&addr, "GET /listen?bpm=1e309 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 400, "{head}");
    drop(first);
    let _ = server.kill();
}

/// A connection that asks for `path` and never reads: its receive buffer
/// is 4 KiB, so the server's send buffer fills in seconds, not minutes.
fn stalled(addr: &str, path: &str) -> socket2::Socket {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    let to: std::net::SocketAddr = addr.parse().unwrap();
    s.connect(&to.into()).unwrap();
    let mut tcp: &Socket = &s;
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    s
}

/// The body of a whole `GET path`, as JSON.
fn json_of(addr: &str, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_player_that_stops_reading_gives_its_slot_back() {
    let (mut server, addr) = start(&["--max-clients", "1", "--station", "night=sleep:3"]);
    let _listen = stalled(&addr, "/listen?seed=5");
    let _station = stalled(&addr, "/station/night");
    std::thread::sleep(Duration::from_millis(500));
    let (code, _) = head_of(&addr, "GET /listen HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(code, 503, "the stalled player holds the only slot");
    // Both fill their sockets and are dropped as too slow (the send
    // timeout is 2 s); then, within 2 s, the slot and the station's
    // listener are gone with them.
    let start = Instant::now();
    let mut slow_at = None;
    loop {
        let m = json_of(&addr, "/api/metrics");
        let slow = m["slow_client_disconnects"].as_u64().unwrap();
        if slow >= 2 && slow_at.is_none() {
            slow_at = Some(Instant::now());
        }
        let status = json_of(&addr, "/api/status");
        let station = &status["stations"][0];
        let freed = status["active_connections"] == 0 && station["listeners"] == 0;
        if let (Some(at), true) = (slow_at, freed) {
            assert!(
                at.elapsed() < Duration::from_secs(2),
                "freed {:?} after the drop",
                at.elapsed()
            );
            assert_eq!(station["dropped_listeners"], 1);
            break;
        }
        if let Some(at) = slow_at {
            assert!(
                at.elapsed() < Duration::from_secs(2),
                "dropped, yet still held: {status}"
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "never dropped: {m}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A new listener streams.
    let mut next = TcpStream::connect(&addr).unwrap();
    next.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    next.write_all(b"GET /listen?seed=6 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"OggS") {
        let n = next.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    let _ = server.kill();
}
