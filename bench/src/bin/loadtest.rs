//! Load test for `auralis-host`: opens N WebSocket listeners on loopback
//! that consume in real time, like a player with a small buffer (each
//! sends the server a `report` when a chunk starts playing, as the web
//! player does, so the server measures end-to-end latency), and reports
//! per-client lateness, underruns, bytes per listener-second, the server's
//! end-to-end latency, CPU and memory. `--codec opus` listens to Opus.
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

use auralis_host::wire::protocol::BINARY_HEADER;
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
    /// sends two at once).
    #[arg(long, default_value_t = 2)]
    prebuffer: u64,
    /// Audio as JSON/base64 instead of binary frames.
    #[arg(long)]
    json: bool,
    /// `pcm` or `opus` (binary Opus frames, checked frame by frame).
    #[arg(long, default_value = "pcm")]
    codec: String,
    /// Listen to this station instead of personal streams (the started
    /// server gets `--station NAME=sleep:1`); listeners send no reports.
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
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
    /// Listen over plain HTTP to this path of --url instead (an Ogg
    /// stream: /listen, /station/NAME, or an Icecast mount); a read that
    /// waits over 500 ms counts as a stall.
    #[arg(long, value_name = "PATH")]
    http: Option<String>,
    /// The running server's pid, for its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// What one listener saw.
#[derive(Debug, Default, Clone)]
struct ClientReport {
    chunks: u64,
    /// Audio bytes received.
    bytes: u64,
    /// Seconds from the first to the last chunk.
    seconds: f64,
    /// Frames that were not valid audio frames of the codec asked for.
    bad_frames: u64,
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
    let mut command = Command::new(&args.server_bin);
    command.args([
        "--addr",
        "127.0.0.1:0",
        "--max-clients",
        &(args.clients + 16).to_string(),
        "--max-connections",
        &(args.clients + 64).to_string(),
        "--render-threads",
        &args.render_threads.to_string(),
    ]);
    if let Some(name) = &args.station {
        command.arg("--station").arg(format!("{name}=sleep:1"));
    }
    // Every listener comes from this one address: a server that limits
    // connections per address (newer ones do) must allow them all.
    let help = Command::new(&args.server_bin)
        .arg("--help")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if help.contains("--max-connections-per-address") {
        command
            .arg("--max-connections-per-address")
            .arg((args.clients + 64).to_string());
    }
    let mut child = command
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
    opus: bool,
    report_back: bool,
    stop: Arc<AtomicBool>,
    lifetime: Option<Duration>,
) -> ClientReport {
    use futures_util::SinkExt;
    let mut report = ClientReport::default();
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&ws_url).await else {
        report.closed_early = true;
        return report;
    };
    let born = Instant::now();
    let mut first: Option<Instant> = None;
    let mut start: Option<Instant> = None;
    let mut expect = 0u64;
    let mut first_seq: Option<u64> = None;
    // Chunks received and not yet "played": (seq, when it starts playing).
    let mut queued: std::collections::VecDeque<(u64, Instant)> = Default::default();
    while !stop.load(Ordering::Relaxed) && lifetime.is_none_or(|l| born.elapsed() < l) {
        let wake = queued
            .front()
            .map_or(Instant::now() + Duration::from_millis(500), |q| q.1);
        let m = tokio::select! {
            m = ws.next() => m,
            _ = tokio::time::sleep_until(wake.into()) => {
                // Report each chunk as it starts playing, like the page.
                let now = Instant::now();
                while let Some(&(seq, at)) = queued.front() {
                    if at > now {
                        break;
                    }
                    queued.pop_front();
                    if !report_back {
                        continue;
                    }
                    let text = format!("{{\"type\":\"report\",\"seq\":{seq}}}");
                    if ws.send(Message::text(text)).await.is_err() {
                        report.closed_early = true;
                    }
                }
                continue;
            }
        };
        let m = match m {
            Some(Ok(m)) => m,
            _ => {
                report.closed_early = true;
                break;
            }
        };
        let seq = match &m {
            Message::Binary(b) if opus => match opus_seq(b) {
                Some(seq) => seq,
                None => {
                    report.bad_frames += 1;
                    continue;
                }
            },
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
        report.bytes += m.len() as u64;
        // A station's listener joins mid-stream: count from its first.
        let first_seq = *first_seq.get_or_insert(seq);
        if seq != expect && report.chunks > 0 {
            report.gaps += 1;
        }
        expect = seq + 1;
        let seq = seq - first_seq.min(seq);
        report.chunks += 1;
        let now = Instant::now();
        let first_at = *first.get_or_insert(now);
        report.seconds = now.duration_since(first_at).as_secs_f64();
        if seq + 1 == prebuffer {
            start = Some(now);
        }
        if let Some(s) = start {
            // Playback starts when `prebuffer` chunks are in (at s), so
            // chunk `seq` plays from s + seq × 100 ms, and is late if it
            // comes after that: the buffer ran dry.
            let slot = s + Duration::from_millis(100) * seq as u32;
            // Signed: negative is early (the listener's margin).
            let late = if now >= slot {
                now.duration_since(slot).as_secs_f64() * 1e3
            } else {
                -(slot.duration_since(now).as_secs_f64() * 1e3)
            };
            let mut plays = slot;
            if late > 0.0 && seq >= prebuffer {
                report.underruns += 1;
                // A real player re-buffers: its clock slips by the gap.
                start = Some(s + now.duration_since(slot));
                plays = now;
            }
            if seq >= prebuffer {
                report.late_ms.push(late);
            }
            queued.push_back((seq, plays.max(now)));
        } else {
            queued.push_back((seq, now + Duration::from_secs(3600)));
        }
        if seq + 1 == prebuffer {
            // The prebuffered chunks start playing now, one after another.
            for q in queued.iter_mut() {
                q.1 = now + Duration::from_millis(100) * q.0 as u32;
            }
        }
    }
    let _ = ws.close(None).await;
    report
}

/// One plain-HTTP listener: reads the body and counts bytes and stalls.
async fn http_listener(addr: String, path: String, stop: Arc<AtomicBool>) -> ClientReport {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut report = ClientReport::default();
    let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
        report.closed_early = true;
        return report;
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        report.closed_early = true;
        return report;
    }
    let mut buf = vec![0u8; 16384];
    let started = Instant::now();
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                report.closed_early = true;
                break;
            }
            Ok(Ok(n)) => {
                report.bytes += n as u64;
                report.chunks += 1;
                last = Instant::now();
            }
            Err(_) => {
                // Nothing for 500 ms (after the first second): a stall.
                if started.elapsed() > Duration::from_secs(1)
                    && last.elapsed() >= Duration::from_millis(500)
                {
                    report.underruns += 1;
                }
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
    }
    report
}

/// The seq of a well-formed Opus frame of five packets (checked without
/// copying: the tester must stay light beside thousands of listeners).
fn opus_seq(b: &[u8]) -> Option<u64> {
    if b.get(..4)? != b"AURA" || *b.get(4)? != 2 || *b.get(28)? != 5 {
        return None;
    }
    let mut at = BINARY_HEADER;
    for _ in 0..5 {
        let len = u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?);
        at += 2 + usize::from(len);
    }
    (at == b.len()).then(|| u64::from_le_bytes(b[12..20].try_into().unwrap_or_default()))
}

/// The server's `/api/metrics` (one GET on loopback).
async fn server_metrics(url: &str) -> Option<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
    let req = format!("GET /api/metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()
}

/// Lets this process open as many sockets as the hard limit allows.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
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
    if !(1..=10_000).contains(&args.clients) || !(1..=3600).contains(&args.seconds) {
        return Err("--clients must be 1–10000 and --seconds 1–3600".into());
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
    let opus = match args.codec.as_str() {
        "pcm" => false,
        "opus" if !args.json => true,
        "opus" => return Err("Opus travels in binary frames: leave out --json".into()),
        c => return Err(format!("--codec {c} is unknown: use pcm or opus")),
    };
    let mut ws_url = format!(
        "{}/ws/stream{}",
        url.replace("http://", "ws://"),
        match (args.json, opus) {
            (true, _) => "?format=json",
            (false, false) => "?format=binary",
            (false, true) => "?codec=opus",
        }
    );
    if let Some(name) = &args.station {
        ws_url.push_str(&format!("&station={name}"));
    }
    let report_back = args.station.is_none();
    raise_descriptor_limit();
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
            let http_path = args.http.clone();
            let http_addr = url.trim_start_matches("http://").to_string();
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
                    let r = match &http_path {
                        Some(path) => {
                            http_listener(http_addr.clone(), path.clone(), Arc::clone(&stop)).await
                        }
                        None => {
                            listener(
                                ws_url.clone(),
                                prebuffer,
                                opus,
                                report_back,
                                Arc::clone(&stop),
                                lifetime,
                            )
                            .await
                        }
                    };
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
        let own0 = cpu_ticks(std::process::id());
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
        let own = own0.zip(cpu_ticks(std::process::id()));
        let rss_loaded = pid.and_then(rss_mb);
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let reports = reports.lock().map(|v| v.clone()).unwrap_or_default();
        let server = server_metrics(&url).await;
        (
            server,
            own,
            reports,
            cpu0.zip(cpu1),
            t0.elapsed(),
            rss_loaded_start,
            rss_loaded,
        )
    });
    let (server, own, reports, cpu, elapsed, rss_start, rss_loaded) = result;
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
        .filter(|r| !r.late_ms.is_empty())
        .map(|r| r.late_ms.iter().copied().fold(f64::MIN, f64::max))
        .collect();
    let chunks: u64 = reports.iter().map(|r| r.chunks).sum();
    println!(
        "clients {}  ({}), {} s measured, {} sessions",
        args.clients,
        match (&args.http, args.json, opus) {
            (Some(_), _, _) => "plain HTTP (Ogg), stalls counted as underruns",
            (None, true, _) => "json",
            (None, false, false) => "binary PCM",
            (None, false, true) => "Opus",
        },
        elapsed.as_secs(),
        reports.len()
    );
    println!("chunks received {chunks}; underruns {underruns}; seq gaps {gaps}; sessions ended by the server {early}");
    println!("sessions with zero underruns: {clean}/{}", reports.len());
    let bad: u64 = reports.iter().map(|r| r.bad_frames).sum();
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    println!(
        "bytes per listener-second {:.0} ({:.1} kbit/s); frames not valid audio {bad}",
        bytes as f64 / seconds.max(1e-9),
        bytes as f64 * 8.0 / seconds.max(1e-9) / 1000.0
    );
    if let Some(m) = &server {
        let e = &m["end_to_end_latency_ms"];
        println!(
            "end to end (server, from the listeners' reports), ms: p50 {} p95 {} p99 {} over {}; server underruns {}",
            e["p50"], e["p95"], e["p99"], e["samples"], m["buffer_underruns"]
        );
        let enc = &m["opus_encode_ms"];
        if enc["samples"].as_u64().unwrap_or(0) > 0 {
            println!(
                "Opus encoding per 100 ms chunk, ms: avg {} p50 {} p99 {}; synthesis avg {}",
                enc["avg"], enc["p50"], enc["p99"], m["synthesis_latency_ms"]["avg"]
            );
        }
    }
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
    if let Some((a, b)) = own {
        let pct = (b - a) as f64 / 100.0 / elapsed.as_secs_f64() * 100.0;
        println!("load tester CPU {pct:.0}% of one core (same machine)");
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
