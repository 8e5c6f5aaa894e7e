//! Two auralis-host instances behind a real HAProxy (Debian's `haproxy`,
//! running `deploy/haproxy.cfg` as shipped, with only its ports replaced),
//! all on loopback: listeners connected through it are spread over both
//! instances; when one instance stops (SIGTERM), each of its listeners,
//! reconnecting as the page does (after 100 ms), hears music again from
//! the other within 2 s, while the other's listeners lose no chunk.
//! `.ci/run` installs HAProxy; without it this test says so and passes,
//! except under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auralis_host::wire::protocol::decode_binary;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

mod common;

use common::{free_port, missing, spawn_server};

const LISTENERS: usize = 12;

/// Kills the process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn instance() -> (Guard, String) {
    let (child, addr) = spawn_server(
        Command::new(env!("CARGO_BIN_EXE_auralis-host"))
            // Every connection comes from HAProxy's address: the limit per
            // address is HAProxy's job (deploy/haproxy.cfg).
            .args([
                "--addr",
                "127.0.0.1:0",
                "--max-connections-per-address",
                "1000",
            ])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null()),
    );
    (Guard(child), addr)
}

/// deploy/haproxy.cfg with the test's ports.
fn config(dir: &Path, front: u16, a: &str, b: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg"),
    )
    .unwrap();
    let mut cfg = shipped.clone();
    for (from, to) in [
        ("bind :8000".to_string(), format!("bind 127.0.0.1:{front}")),
        (
            "server a 127.0.0.1:8001".to_string(),
            format!("server a {a}"),
        ),
        (
            "server b 127.0.0.1:8002".to_string(),
            format!("server b {b}"),
        ),
    ] {
        assert!(cfg.contains(&from), "deploy/haproxy.cfg has no {from:?}");
        cfg = cfg.replace(&from, &to);
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// What one listener heard: (arrival, seq) of each chunk, and when its
/// stream ended.
#[derive(Default)]
struct Heard {
    chunks: Vec<(Instant, u64)>,
    ended: Option<Instant>,
}

/// A listener through the balancer, recording what it hears.
fn listen(front: u16, heard: Arc<Mutex<Heard>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let url = format!("ws://127.0.0.1:{front}/ws/stream?format=binary");
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
            heard.lock().unwrap().ended = Some(Instant::now());
            return;
        };
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Binary(b) = m {
                if let Some(frame) = decode_binary(&b) {
                    heard
                        .lock()
                        .unwrap()
                        .chunks
                        .push((Instant::now(), frame.seq));
                }
            }
        }
        heard.lock().unwrap().ended = Some(Instant::now());
    })
}

async fn active(addr: &str) -> u64 {
    let body = http_get(addr, "/api/status").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["active_connections"].as_u64().unwrap()
}

/// A plain HTTP/1.1 GET's body.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_spread_over_instances_and_move_when_one_stops() {
    if missing("haproxy") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("auralis-haproxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut a, addr_a) = instance();
    let (_b, addr_b) = instance();
    let front = free_port();
    let cfg = config(&dir, front, &addr_a, &addr_b);
    let _haproxy = Guard(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("haproxy.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while !healthy(front).await {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "HAProxy did not start: {}",
            std::fs::read_to_string(dir.join("haproxy.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let heard: Vec<Arc<Mutex<Heard>>> = (0..LISTENERS).map(|_| Arc::default()).collect();
    for h in &heard {
        listen(front, Arc::clone(h));
        // One at a time, as pages arrive: leastconn sees each.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t = Instant::now();
    while heard.iter().any(|h| h.lock().unwrap().chunks.len() < 3) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "not every listener hears music"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (on_a, on_b) = (active(&addr_a).await, active(&addr_b).await);
    assert_eq!(on_a + on_b, LISTENERS as u64);
    assert!(on_a >= 4 && on_b >= 4, "spread {on_a} / {on_b}");

    // Instance A stops; its listeners come back through the balancer.
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(a.0.id() as i32, libc::SIGTERM) };
    let stopped = Instant::now();
    let mut moved = Vec::new();
    let t = Instant::now();
    while moved.len() < on_a as usize {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} of {on_a} listeners of the stopped instance were let go",
            moved.len()
        );
        for (i, h) in heard.iter().enumerate() {
            let ended = h.lock().unwrap().ended;
            if let Some(at) = ended {
                if !moved.iter().any(|(j, _, _)| *j == i) {
                    // The page's first reconnect comes 100 ms later.
                    let again = Arc::new(Mutex::new(Heard::default()));
                    let delay = Duration::from_millis(100).saturating_sub(at.elapsed());
                    let again2 = Arc::clone(&again);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        listen(front, again2);
                    });
                    moved.push((i, at, again));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = a.0.wait();
    // Each hears music again within 2 s of losing it.
    let t = Instant::now();
    for (i, lost, again) in &moved {
        loop {
            let first = again.lock().unwrap().chunks.first().map(|c| c.0);
            if let Some(back) = first {
                let gap = back.duration_since(*lost);
                assert!(
                    gap < Duration::from_secs(2),
                    "listener {i} was silent for {gap:?}"
                );
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "listener {i} never came back"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        active(&addr_b).await,
        LISTENERS as u64,
        "all on the instance left"
    );

    // The other instance's listeners lost nothing meanwhile (listened to
    // for two seconds from the stop).
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(stopped.elapsed())).await;
    let mut kept = 0;
    for h in &heard {
        let h = h.lock().unwrap();
        if h.ended.is_some() {
            continue;
        }
        kept += 1;
        for w in h.chunks.windows(2) {
            assert_eq!(w[1].1, w[0].1 + 1, "a chunk went missing");
            // Chunks are due every 100 ms, two ahead: a second without
            // one would be heard.
            let gap = w[1].0.duration_since(w[0].0);
            assert!(gap < Duration::from_secs(1), "a {gap:?} gap");
        }
        let around: Vec<Instant> = h
            .chunks
            .iter()
            .map(|c| c.0)
            .filter(|at| *at >= stopped)
            .collect();
        assert!(around.len() >= 10, "it kept hearing music");
    }
    assert_eq!(kept, on_b as usize);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether `/healthz` answers 200 through the balancer.
async fn healthy(front: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", front)).await else {
        return false;
    };
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out.starts_with("HTTP/1.1 200")
}
