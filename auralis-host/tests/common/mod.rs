//! Helpers the binary's integration tests share.

#![allow(dead_code)] // each test file uses some of them

pub(crate) mod in_process;
#[path = "../../../tests/src/skip.rs"]
#[allow(dead_code, unreachable_pub)] // shared by every test crate
mod skip;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns a server `command` (whose stdout is taken here), waits for the
/// line it prints with its URL, and returns the child and `host:port`.
pub(crate) fn spawn_server(command: &mut Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("a URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, addr)
}

/// A loopback port nothing listens on now (for a program the test
/// starts, which must be told its port).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `true` (the test skips, saying so) when `tool` is not installed; under
/// `CI=true`, where everything must be, it fails instead.
pub(crate) fn missing(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return false;
    }
    skip::skip(format_args!(
        "{tool} is not installed (apt-get install {tool})"
    ));
    true
}

/// The integrated loudness in the summary of ffmpeg's `ebur128` filter.
pub(crate) fn integrated_lufs(stderr: &str) -> f64 {
    stderr
        .rsplit("Integrated loudness:")
        .next()
        .and_then(|s| s.split("I:").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no loudness summary in ffmpeg's output:\n{stderr}"))
}
