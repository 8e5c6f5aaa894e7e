//! The HTTP routes (status, metrics, static files), the limits on
//! listeners and frames, and shutdown.

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use auralis_host::server::config::ServerConfig;
use tokio::net::TcpStream;

use super::*;
use crate::common::in_process::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_metrics_and_prometheus_carry_the_figures() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    take_audio(&mut ws, 8).await;
    send(
        &mut ws,
        json!({"type": "report", "seq": 5, "buffer_ms": 300}),
    )
    .await;
    send(&mut ws, json!({"type": "ping"})).await;
    while json_of(&recv(&mut ws).await).is_none_or(|v| v["type"] != "pong") {}

    let (code, ctype, body) = http(server.addr, "GET", "/api/status").await;
    assert_eq!((code, ctype.as_str()), (200, "application/json"));
    let s: Value = serde_json::from_str(&body).unwrap();
    for k in [
        "uptime_sec",
        "active_connections",
        "buffer_depth",
        "device",
        "soundfont_loaded",
        "synthesis_active",
        "timestamp",
    ] {
        assert!(s.get(k).is_some(), "status has {k}: {s}");
    }
    assert_eq!(s["active_connections"], 1);
    assert_eq!(s["synthesis_active"], true);
    assert!(s["device"].as_str().unwrap().starts_with("CPU"));
    assert!(s["timestamp"].as_str().unwrap().ends_with('Z'));
    // Chunks rendered and not yet taken by the stream's session. Rendered
    // just in time, a stream has at most two asked for and unsent, and the
    // session takes each as it comes, so this is mostly 0 (it was "up to
    // six rendered ahead" before chunks were rendered just in time).
    let depth = s["buffer_depth"].as_f64().unwrap();
    assert!((0.0..=2.0).contains(&depth), "buffer_depth {depth}");

    let (code, _, body) = http(server.addr, "GET", "/api/metrics").await;
    assert_eq!(code, 200);
    let m: Value = serde_json::from_str(&body).unwrap();
    for h in [
        "synthesis_latency_ms",
        "network_latency_ms",
        "end_to_end_latency_ms",
    ] {
        for k in ["avg", "p50", "p95", "p99", "samples"] {
            assert!(m[h][k].is_number(), "{h}.{k}: {m}");
        }
    }
    assert!(m["synthesis_latency_ms"]["samples"].as_u64().unwrap() >= 8);
    assert!(m["synthesis_latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(m["end_to_end_latency_ms"]["samples"], 1);
    for k in [
        "buffer_underruns",
        "buffer_overflows",
        "disconnects",
        "memory_usage_mb",
        "active_connections",
        "chunks_sent",
    ] {
        assert!(m[k].is_number(), "{k}: {m}");
    }
    assert!(m["memory_usage_mb"].as_f64().unwrap() > 1.0);
    assert!(m["chunks_sent"].as_u64().unwrap() >= 8);

    let (code, ctype, text) = http(server.addr, "GET", "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        ctype.contains("openmetrics-text") || ctype.starts_with("text/plain"),
        "{ctype}"
    );
    let mut names = HashSet::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value of {line}"));
        names.insert(series.split('{').next().unwrap().to_string());
    }
    for n in [
        "auralis_synthesis_latency_ms",
        "auralis_network_latency_ms",
        "auralis_end_to_end_latency_ms",
        "auralis_buffer_underruns_total",
        "auralis_buffer_overflows_total",
        "auralis_disconnects_total",
        "auralis_active_connections",
        "auralis_resident_memory_bytes",
        "auralis_allocator_live_bytes",
    ] {
        assert!(names.contains(n), "{n} in {names:?}");
    }
    assert!(text.contains("auralis_active_connections 1"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));

    // When the listener leaves, nothing is left counted.
    drop(ws);
    for _ in 0..100 {
        if server.app.metrics.active.load(Relaxed) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.app.metrics.active.load(Relaxed), 0);
    assert_eq!(server.app.metrics.buffered.load(Relaxed), 0);
    assert_eq!(server.app.metrics.buffer_depth(), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_404s_and_wrong_methods() {
    let server = start(ServerConfig::default()).await;
    let (code, ctype, body) = http(server.addr, "GET", "/").await;
    assert_eq!((code, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.contains("<title>Auralis"));
    for (path, ctype) in [
        ("/client/app.js", "text/javascript; charset=utf-8"),
        ("/client/worklet.js", "text/javascript; charset=utf-8"),
        ("/client/style.css", "text/css; charset=utf-8"),
    ] {
        let (code, got, body) = http(server.addr, "GET", path).await;
        assert_eq!((code, got.as_str()), (200, ctype), "{path}");
        assert!(!body.is_empty());
    }
    for path in [
        "/client/missing.js",
        "/client/../Cargo.toml",
        "/client/..%2fCargo.toml",
        "/etc/passwd",
        "/api/nothing",
    ] {
        assert_eq!(http(server.addr, "GET", path).await.0, 404, "{path}");
    }
    assert_eq!(http(server.addr, "GET", "/healthz").await.0, 200);
    assert_eq!(http(server.addr, "GET", "/ws/stream").await.0, 426);
    assert_eq!(http(server.addr, "POST", "/api/status").await.0, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_clients_refuses_with_a_clear_error() {
    let server = start(ServerConfig {
        max_clients: 2,
        ..ServerConfig::default()
    })
    .await;
    assert_eq!(http(server.addr, "GET", "/healthz").await.0, 200);
    let _a = server.connect("").await;
    let _b = server.connect("").await;
    // Full: a balancer's health check says to send listeners elsewhere.
    let (code, _, body) = http(server.addr, "GET", "/healthz").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"full\""), "{body}");
    let url = format!("ws://{}/ws/stream", server.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 503);
            let body = String::from_utf8(resp.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("max-clients"), "{body}");
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert_eq!(server.app.metrics.refused.load(Relaxed), 1);
    let (_, _, body) = http(server.addr, "GET", "/ws/stream?seed=x").await;
    assert!(body.contains("WebSocket"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_and_bad_queries_are_refused_without_harm() {
    let server = start(ServerConfig::default()).await;
    let mut good = server.connect("?format=binary").await;
    let mut big = server.connect("?format=binary").await;
    take_audio(&mut good, 2).await;
    let huge = "x".repeat(200 * 1024);
    let _ = big.send(Message::text(huge)).await;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), big.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(Some(frame)))) => break Some(u16::from(frame.code)),
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    assert!(
        matches!(code, Some(1009) | None),
        "closed for size: {code:?}"
    );
    let (chunks, _) = take_audio(&mut good, 10).await;
    assert!(chunks.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    let url = format!("ws://{}/ws/stream?seed=abc", server.addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("expected HTTP 400, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_dropped_and_nobody_else_notices() {
    let server = start(ServerConfig::default()).await;
    // A client that connects with a tiny receive window and never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let url = format!("ws://{}/ws/stream", server.addr);
    let (stalled, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    let mut good = server.connect("?format=binary").await;
    let (chunks, _) = take_audio(&mut good, 80).await;
    assert_consecutive(&chunks, 0);
    assert_eq!(server.app.metrics.slow_disconnects.load(Relaxed), 1);
    assert_eq!(server.app.metrics.active.load(Relaxed), 1);
    // Just in time: neither the stalled stream nor the good one ever had
    // more than two chunks rendered and unsent.
    let ahead = server.app.metrics.max_ahead.load(Relaxed);
    assert!((1..=2).contains(&ahead), "{ahead} chunks rendered ahead");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_stream_with_a_close_frame() {
    let mut server = start(ServerConfig::default()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut ws = server.connect("?format=binary").await;
        take_audio(&mut ws, 1).await;
        clients.push(ws);
    }
    let t = Instant::now();
    server.stop.take().unwrap().send(()).unwrap();
    for ws in &mut clients {
        let code = loop {
            match recv(ws).await {
                Message::Close(frame) => break frame.map(|f| u16::from(f.code)),
                _ => continue,
            }
        };
        assert_eq!(code, Some(1001), "going away");
    }
    tokio::time::timeout(Duration::from_secs(2), &mut server.done)
        .await
        .expect("serve returns within 2 s")
        .unwrap()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "no longer accepting"
    );
}
