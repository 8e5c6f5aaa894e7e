//! Load test for `auralis-host`: opens N WebSocket listeners on loopback
//! that consume in real time, like a player with a small buffer, and
//! reports per-client lateness, underruns, and the server's CPU and memory.
//!
//! ```text
//! cargo build --release -p auralis-host
//! cargo run --release -p auralis-bench --bin loadtest -- --clients 100 --seconds 60
//! ```
//!
//! By default it starts `target/release/auralis-host` itself on a free
//! port (`--server-bin` to choose another binary, or `--url` and
//! `--server-pid` for a server already running). With `--churn`, each
//! listener leaves after a random 5–30 s and a new one takes its place,
//! and the server's resident memory is sampled every `--sample-every`
//! seconds: the leak check.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auralis_host::server::protocol::BINARY_HEADER;
use clap::Parser;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// Load-tests an Auralis server with N real-time listeners.
#[derive(Debug, Parser)]
struct Args {
    /// Simultaneous listeners (1–2000).
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Seconds to measure, after everyone has connected (1–3600).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Milliseconds between two connections while ramping up.
    #[arg(long, default_value_t = 20)]
    ramp_ms: u64,
    /// Chunks a listener buffers before it starts playing (the server
    /// sends three at once).
    #[arg(long, default_value_t = 3)]
    prebuffer: u64,
    /// Audio as JSON/base64 instead of binary frames.
    #[arg(long)]
    json: bool,
    /// Listeners leave after 5–30 s and are replaced (memory leak check).
    #[arg(long)]
    churn: bool,
    /// Seconds between resident-memory samples.
    #[arg(long, default_value_t = 30)]
    sample_every: u64,
    /// The server binary to start (ignored with --url).
    #[arg(long, default_value = "target/release/auralis-host")]
    server_bin: String,
    /// Render threads for the started server (0 = one per core).
    #[arg(long, default_value_t = 0)]
    render_threads: usize,
    /// A running server to test instead, e.g. http://127.0.0.1:8000 (loopback only).
    #[arg(long)]
    url: Option<String>,
    /// The running server's pid, for its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// What one listener saw.
#[derive(Debug, Default, Clone)]
struct ClientReport {
    chunks: u64,
    underruns: u64,
    /// How late each chunk came against its playback slot, ms (negative:
    /// early).
    late_ms: Vec<f64>,
    gaps: u64,
    closed_early: bool,
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn start_server(args: &Args) -> Result<(Child, String), String> {
    let mut child = Command::new(&args.server_bin)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--max-clients",
            &(args.clients + 16).to_string(),
            "--render-threads",
            &args.render_threads.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (build it: cargo build --release -p auralis-host)",
                args.server_bin
            )
        })?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("server said nothing: {e}"))?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("no URL in {line:?}"))?
        .trim_end_matches('/')
        .to_string();
    Ok((child, url))
}

async fn listener(
    ws_url: String,
    prebuffer: u64,
    stop: Arc<AtomicBool>,
    lifetime: Option<Duration>,
) -> ClientReport {
    let mut report = ClientReport::default();
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&ws_url).await else {
        report.closed_early = true;
        return report;
    };
    let born = Instant::now();
    let mut start: Option<Instant> = None;
    let mut expect = 0u64;
    while !stop.load(Ordering::Relaxed) && lifetime.is_none_or(|l| born.elapsed() < l) {
        let m = match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(_) => {
                report.closed_early = true;
                break;
            }
            Err(_) => continue,
        };
        let seq = match &m {
            Message::Binary(b) if b.len() >= BINARY_HEADER => {
                u64::from_le_bytes(b[12..20].try_into().unwrap_or_default())
            }
            Message::Text(t) if t.contains("\"audio\"") => {
                serde_json::from_str::<serde_json::Value>(t)
                    .ok()
                    .and_then(|v| v["seq"].as_u64())
                    .unwrap_or(u64::MAX)
            }
            _ => continue,
        };
        if seq != expect {
            report.gaps += 1;
        }
        expect = seq + 1;
        report.chunks += 1;
        let now = Instant::now();
        if seq + 1 == prebuffer {
            start = Some(now);
        }
        if let (Some(s), true) = (start, seq >= prebuffer) {
            // Chunk `seq` plays from s + (seq - prebuffer + 1) × 100 ms.
            let slot = s + Duration::from_millis(100) * (seq + 1).saturating_sub(prebuffer) as u32;
            // Signed: negative is early (the listener's margin).
            let late = if now >= slot {
                now.duration_since(slot).as_secs_f64() * 1e3
            } else {
                -(slot.duration_since(now).as_secs_f64() * 1e3)
            };
            if late > 0.0 {
                report.underruns += 1;
                // A real player re-buffers: its clock slips by the gap.
                start = Some(s + now.duration_since(slot));
            }
            report.late_ms.push(late);
        }
    }
    let _ = ws.close(None).await;
    report
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if !(1..=2000).contains(&args.clients) || !(1..=3600).contains(&args.seconds) {
        return Err("--clients must be 1–2000 and --seconds 1–3600".into());
    }
    let (mut child, url, pid) = match &args.url {
        Some(u) => {
            let host = u.trim_start_matches("http://");
            if !(host.starts_with("127.")
                || host.starts_with("localhost")
                || host.starts_with("[::1]"))
            {
                return Err(format!(
                    "{u} is not loopback: the load tester only talks to this machine"
                ));
            }
            (None, u.trim_end_matches('/').to_string(), args.server_pid)
        }
        None => {
            let (c, u) = start_server(&args)?;
            let pid = c.id();
            (Some(c), u, Some(pid))
        }
    };
    let ws_url = format!(
        "{}/ws/stream{}",
        url.replace("http://", "ws://"),
        if args.json { "" } else { "?format=binary" }
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let rss_idle = pid.and_then(rss_mb);
    let result = rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        let spawn_one = |stop: Arc<AtomicBool>,
                         reports: Arc<Mutex<Vec<ClientReport>>>,
                         n: usize| {
            let ws_url = ws_url.clone();
            let churn = args.churn;
            let prebuffer = args.prebuffer;
            tokio::spawn(async move {
                let mut k = n as u64;
                loop {
                    let lifetime = churn.then(|| {
                        k = k
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        Duration::from_millis(5000 + (k >> 33) % 25_000)
                    });
                    let r = listener(ws_url.clone(), prebuffer, Arc::clone(&stop), lifetime).await;
                    if let Ok(mut v) = reports.lock() {
                        v.push(r);
                    }
                    if !churn || stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
        };
        for n in 0..args.clients {
            tasks.push(spawn_one(Arc::clone(&stop), Arc::clone(&reports), n));
            tokio::time::sleep(Duration::from_millis(args.ramp_ms)).await;
        }
        let rss_loaded_start = pid.and_then(rss_mb);
        let cpu0 = pid.and_then(cpu_ticks);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(args.seconds) {
            let wait = Duration::from_secs(args.sample_every.max(1))
                .min(Duration::from_secs(args.seconds).saturating_sub(t0.elapsed()));
            tokio::time::sleep(wait).await;
            if let Some(m) = pid.and_then(rss_mb) {
                eprintln!("t={:>4}s  server RSS {m:.1} MB", t0.elapsed().as_secs());
            }
        }
        let cpu1 = pid.and_then(cpu_ticks);
        let rss_loaded = pid.and_then(rss_mb);
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let reports = reports.lock().map(|v| v.clone()).unwrap_or_default();
        (
            reports,
            cpu0.zip(cpu1),
            t0.elapsed(),
            rss_loaded_start,
            rss_loaded,
        )
    });
    let (reports, cpu, elapsed, rss_start, rss_loaded) = result;
    let clean = reports
        .iter()
        .filter(|r| r.underruns == 0 && r.gaps == 0 && !r.closed_early)
        .count();
    let underruns: u64 = reports.iter().map(|r| r.underruns).sum();
    let gaps: u64 = reports.iter().map(|r| r.gaps).sum();
    let early = reports.iter().filter(|r| r.closed_early).count();
    let mut late: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.late_ms.iter().copied())
        .collect();
    let mut worst: Vec<f64> = reports
        .iter()
        .map(|r| r.late_ms.iter().copied().fold(f64::MIN, f64::max))
        .collect();
    let chunks: u64 = reports.iter().map(|r| r.chunks).sum();
    println!(
        "clients {}  ({}), {} s measured, {} sessions",
        args.clients,
        if args.json { "json" } else { "binary" },
        elapsed.as_secs(),
        reports.len()
    );
    println!("chunks received {chunks}; underruns {underruns}; seq gaps {gaps}; sessions ended by the server {early}");
    println!("sessions with zero underruns: {clean}/{}", reports.len());
    println!(
        "lateness vs playback slot, ms (negative = early): p50 {:.1}  p99 {:.1}  max {:.1}; worst per client p50 {:.1} max {:.1}",
        quantile(&mut late, 0.5),
        quantile(&mut late, 0.99),
        quantile(&mut late, 1.0),
        quantile(&mut worst, 0.5),
        quantile(&mut worst, 1.0)
    );
    if let Some((a, b)) = cpu {
        let ticks = 100.0; // USER_HZ on Linux
        let pct = (b - a) as f64 / ticks / elapsed.as_secs_f64() * 100.0;
        println!(
            "server CPU {pct:.0}% of one core ({} cores here)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    if let (Some(i), Some(s), Some(l)) = (rss_idle, rss_start, rss_loaded) {
        println!("server RSS: idle {i:.1} MB, loaded {s:.1} MB at start, {l:.1} MB at end");
    }
    if let Some(c) = child.as_mut() {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let _ = c.wait();
    }
    Ok(())
}
