//! The real `auralis-host` binary as a server: it prints its URL, serves,
//! and on SIGTERM or SIGINT closes every stream properly and exits in time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

mod common;

fn start(args: &[&str]) -> (std::process::Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auralis-host"));
    command.args(args).stderr(Stdio::null());
    let (child, addr) = common::spawn_server(&mut command);
    (child, format!("http://{addr}"))
}

async fn stops_on(signal: &str, args: &[&str]) {
    let (mut child, url) = start(args);
    let ws_url = format!(
        "{}/ws/stream?format=binary",
        url.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    // Wait for audio, then ask the server to stop.
    loop {
        if let Some(Ok(Message::Binary(_))) = ws.next().await {
            break;
        }
    }
    let t = Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(3), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1001));
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "still running 3 s after {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "exited after {:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_streams_and_exits_within_two_seconds() {
    stops_on("-TERM", &["--addr", "127.0.0.1:0"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_through_the_serve_subcommand_too() {
    stops_on(
        "-INT",
        &["serve", "--addr", "127.0.0.1:0", "--max-clients", "4"],
    )
    .await;
}

#[test]
fn help_documents_every_flag_and_config_key_with_defaults() {
    let out = Command::new(env!("CARGO_BIN_EXE_auralis-host"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--addr",
        "--soundfont",
        "--config",
        "--max-clients",
        "--render-threads",
        "--sample-rate",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
    for key in [
        "addr =",
        "soundfont =",
        "max_clients =",
        "render_threads =",
        "sample_rate =",
    ] {
        assert!(help.contains(key), "config key {key} in {help}");
    }
    assert!(
        help.contains("127.0.0.1:8000") && help.contains("256"),
        "{help}"
    );
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let dir = std::env::temp_dir().join(format!("auralis-serve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("auralis.toml");
    std::fs::write(&toml, "max_client = 3\n").unwrap();
    let corrupt = dir.join("corrupt.sf2");
    std::fs::write(&corrupt, b"RIFF\x04\x00\x00\x00sfbkjunk").unwrap();
    for (args, needle) in [
        (vec!["--config", toml.to_str().unwrap()], "max_client"),
        (
            vec!["--soundfont", corrupt.to_str().unwrap()],
            "corrupt.sf2",
        ),
        (vec!["--soundfont", "/nonexistent.sf2"], "cannot read"),
        (vec!["--sample-rate", "22050"], "44100 or 48000"),
        (vec!["--addr", "not-an-address"], "host:port"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_auralis-host"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `station` reads the musical flags as `render` does: note names for
/// the key, the same ranges, a preset instead of mode, tempo and
/// intensity; and the Icecast URL from the environment.
#[test]
fn station_takes_the_musical_flags_as_render_does() {
    let station = |args: &[&str], env: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_auralis-host"));
        c.arg("station")
            .args(args)
            .env_remove("AURALIS_ICECAST_URL");
        if let Some(url) = env {
            c.env("AURALIS_ICECAST_URL", url);
        }
        let o = c.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let url = "http://source:pw@127.0.0.1:1/m.ogg";
    // A note name is a key: what stops this one is its bad name, later.
    let (code, err) = station(&["--name", "a b", "--key", "D", "--icecast", url], None);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("station name"), "{err}");
    let (code, err) = station(
        &[
            "--name",
            "x",
            "--preset",
            "sleep",
            "--bpm",
            "50",
            "--icecast",
            url,
        ],
        None,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, err) = station(&["--name", "x", "--key", "59", "--icecast", url], None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("60 (C) to 71 (B)"), "{err}");
    // The URL (and its password) from the environment.
    let (code, err) = station(&["--name", "a b"], Some(url));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("station name"),
        "the URL came from the environment: {err}"
    );
}
