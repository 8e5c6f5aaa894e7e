//! The streaming server over real sockets on port 0: the protocol, the
//! HTTP routes, limits and shutdown.

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auralis_host::server::config::ServerConfig;
use auralis_host::server::protocol::{decode_binary, decode_json_pcm};
use auralis_host::server::{serve, App};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Server {
    addr: std::net::SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: ServerConfig) -> Server {
    let (announce, shutdown) = watch::channel(false);
    let app = App::new(config, shutdown).expect("server starts");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(
        Arc::clone(&app),
        listener,
        async {
            let _ = rx.await;
        },
        announce,
        Duration::from_millis(1500),
    ));
    Server {
        addr,
        app,
        stop: Some(tx),
        done,
    }
}

impl Server {
    async fn connect(&self, query: &str) -> Ws {
        let url = format!("ws://{}/ws/stream{query}", self.addr);
        tokio_tungstenite::connect_async(url)
            .await
            .expect("connects")
            .0
    }
}

/// The next message, JSON or binary, within 5 s.
async fn recv(ws: &mut Ws) -> Message {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("stream open")
            .expect("no error");
        if matches!(m, Message::Text(_) | Message::Binary(_) | Message::Close(_)) {
            return m;
        }
    }
}

fn json_of(m: &Message) -> Option<Value> {
    match m {
        Message::Text(t) => serde_json::from_str(t).ok(),
        _ => None,
    }
}

/// An audio chunk's (seq, pcm) from either framing.
fn audio(m: &Message) -> Option<(u64, Vec<i16>)> {
    match m {
        Message::Binary(b) => decode_binary(b).map(|a| (a.seq, a.pcm)),
        Message::Text(_) => {
            let v = json_of(m)?;
            (v["type"] == "audio")
                .then(|| (v["seq"].as_u64().unwrap(), decode_json_pcm(&v).unwrap()))
        }
        _ => None,
    }
}

/// Reads until `n` audio chunks have come; returns them and the other
/// messages seen on the way.
async fn take_audio(ws: &mut Ws, n: usize) -> (Vec<(u64, Vec<i16>)>, Vec<Value>) {
    let mut chunks = Vec::new();
    let mut other = Vec::new();
    while chunks.len() < n {
        let m = recv(ws).await;
        match audio(&m) {
            Some(a) => chunks.push(a),
            None => other.push(json_of(&m).unwrap_or(json!({"type": "close"}))),
        }
    }
    (chunks, other)
}

fn assert_consecutive(chunks: &[(u64, Vec<i16>)], from: u64) {
    for (i, (seq, pcm)) in chunks.iter().enumerate() {
        assert_eq!(*seq, from + i as u64, "no gap, no repeat");
        assert_eq!(pcm.len(), 8820, "4410 stereo frames");
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

async fn http(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, ctype, body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn welcome_first_then_gapless_audio_at_real_time() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("").await;
    let welcome = json_of(&recv(&mut ws).await).unwrap();
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["sample_rate"], 44_100);
    assert_eq!(welcome["channels"], 2);
    assert_eq!(welcome["format"], "json");
    assert_eq!(welcome["params"]["mode"], "aeolian");
    assert!(welcome["client_id"].as_str().is_some_and(|s| !s.is_empty()));
    let (first, other) = take_audio(&mut ws, 3).await;
    assert_eq!(other[0]["type"], "status");
    assert_eq!(other[0]["state"], "connected");
    assert_consecutive(&first, 0);
    // After the lead, one chunk per 100 ms: 20 chunks take about 2 s.
    let t = Instant::now();
    let (rest, _) = take_audio(&mut ws, 20).await;
    let took = t.elapsed();
    assert_consecutive(&rest, 3);
    assert!(
        took > Duration::from_millis(1700) && took < Duration::from_millis(3000),
        "20 chunks in {took:?}: real-time pacing"
    );
    // Music, not silence.
    let loud = rest
        .iter()
        .flat_map(|(_, p)| p)
        .filter(|s| s.unsigned_abs() > 100)
        .count();
    assert!(loud > 10_000, "{loud} samples above -50 dBFS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_changes_land_at_a_boundary_and_are_announced() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    let (chunks, _) = take_audio(&mut ws, 5).await;
    let asked_at = chunks.last().unwrap().0;
    send(
        &mut ws,
        json!({"type": "update_params", "params": {"mode": "lydian", "bpm": 72, "intensity": 0.4, "key": 62}, "timestamp": 1.0}),
    )
    .await;
    let mut announced = None;
    let mut last = asked_at;
    while announced.is_none() {
        let m = recv(&mut ws).await;
        if let Some((seq, _)) = audio(&m) {
            assert_eq!(seq, last + 1);
            last = seq;
            assert!(seq < asked_at + 60, "no params message within 5 s of audio");
        } else if let Some(v) = json_of(&m).filter(|v| v["type"] == "params") {
            announced = Some(v);
        }
    }
    let p = announced.unwrap();
    assert_eq!(
        p["params"],
        json!({"key": 62, "mode": "lydian", "bpm": 72.0, "intensity": 0.4})
    );
    let seq = p["seq"].as_u64().unwrap();
    // Within 5 s of audio of the request (the render side may be a few
    // chunks ahead of what was sent).
    assert!(
        seq > asked_at && seq <= asked_at + 50 + 6,
        "landed at {seq}, asked at {asked_at}"
    );
    // The announced chunk is the next audio to arrive.
    let (next, _) = take_audio(&mut ws, 1).await;
    assert_eq!(next[0].0, seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_presets_and_the_control_alias() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    let expected = [
        ("focus", "dorian", 60.0, 0.5),
        ("meditation", "aeolian", 50.0, 0.3),
        ("sleep", "phrygian", 40.0, 0.2),
        ("bright", "lydian", 70.0, 0.6),
    ];
    for (preset, mode, bpm, intensity) in expected {
        send(&mut ws, json!({"type": "select_preset", "preset": preset})).await;
        let p = loop {
            if let Some(v) = json_of(&recv(&mut ws).await).filter(|v| v["type"] == "params") {
                break v;
            }
        };
        assert_eq!(p["params"]["mode"], mode, "{preset}");
        assert_eq!(p["params"]["bpm"], bpm, "{preset}");
        assert_eq!(p["params"]["intensity"], intensity, "{preset}");
        assert_eq!(p["params"]["key"], 60, "a preset leaves the key alone");
    }
    send(&mut ws, json!({"type": "control", "params": {"bpm": 45}})).await;
    let p = loop {
        if let Some(v) = json_of(&recv(&mut ws).await).filter(|v| v["type"] == "params") {
            break v;
        }
    };
    assert_eq!(p["params"]["bpm"], 45.0);
    assert_eq!(p["params"]["mode"], "lydian");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_messages_get_errors_and_the_stream_goes_on() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    let (chunks, _) = take_audio(&mut ws, 2).await;
    let mut last = chunks[1].0;
    let bad: [(&str, &str); 5] = [
        ("this is not json", "INVALID_MESSAGE"),
        (r#"{"type":"dance"}"#, "INVALID_MESSAGE"),
        (
            r#"{"type":"update_params","params":{"bpm":500}}"#,
            "INVALID_PARAMS",
        ),
        (
            r#"{"type":"update_params","params":{"mode":"locrian","bpm":50}}"#,
            "INVALID_PARAMS",
        ),
        (
            r#"{"type":"select_preset","preset":"party"}"#,
            "INVALID_PARAMS",
        ),
    ];
    for (text, code) in bad {
        ws.send(Message::text(text)).await.unwrap();
        let err = loop {
            let m = recv(&mut ws).await;
            if let Some((seq, _)) = audio(&m) {
                assert_eq!(seq, last + 1, "audio goes on without a gap");
                last = seq;
            } else if let Some(v) = json_of(&m) {
                assert_ne!(v["type"], "params", "a refused message changes nothing");
                if v["type"] == "error" {
                    break v;
                }
            }
        };
        assert_eq!(err["code"], code, "{text}");
        assert_eq!(err["recoverable"], true);
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let (more, other) = take_audio(&mut ws, 10).await;
    assert_consecutive(&more, last + 1);
    assert!(other
        .iter()
        .any(|v| v["type"] == "error" && v["code"] == "INVALID_MESSAGE"));
    assert!(other.iter().all(|v| v["type"] != "params"));
    assert_eq!(server.app.metrics.invalid_messages.load(Relaxed), 6);
}

/// The server reads 4 KiB at a time; a valid message several times that
/// (here a ping padded with 30,000 spaces, still under the 64 KiB limit)
/// arrives whole and is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_larger_than_the_read_buffer_arrives_whole() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    let padded = format!(
        r#"{{"type":"ping","timestamp":77.5{}}}"#,
        " ".repeat(30_000)
    );
    ws.send(Message::text(padded)).await.unwrap();
    let pong = loop {
        if let Some(v) = json_of(&recv(&mut ws).await).filter(|v| v["type"] == "pong") {
            break v;
        }
    };
    assert_eq!(pong["client_timestamp"], 77.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    send(&mut ws, json!({"type": "ping", "timestamp": 1234.5})).await;
    let pong = loop {
        if let Some(v) = json_of(&recv(&mut ws).await).filter(|v| v["type"] == "pong") {
            break v;
        }
    };
    assert_eq!(pong["client_timestamp"], 1234.5);
    assert!(pong["server_timestamp"].as_f64().unwrap() > 1.7e9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_binary_carry_identical_pcm_for_one_seed() {
    let server = start(ServerConfig::default()).await;
    let mut a = server.connect("?seed=99").await;
    let mut b = server.connect("?seed=99&format=binary").await;
    let (ja, _) = take_audio(&mut a, 12).await;
    let (jb, _) = take_audio(&mut b, 12).await;
    assert_consecutive(&ja, 0);
    assert_eq!(ja, jb);
    assert!(matches!(recv(&mut b).await, Message::Binary(_)));
    // A different seed is different music.
    let mut c = server.connect("?seed=100&format=binary").await;
    let (jc, _) = take_audio(&mut c, 12).await;
    assert_ne!(ja[11].1, jc[11].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_listeners_hear_sixteen_different_streams() {
    let server = start(ServerConfig::default()).await;
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(server.connect("?format=binary").await);
    }
    assert_eq!(server.app.metrics.active.load(Relaxed), 16);
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let (chunks, _) = take_audio(&mut ws, 80).await;
                assert_consecutive(&chunks, 0);
                chunks
                    .into_iter()
                    .flat_map(|(_, p)| p)
                    .collect::<Vec<i16>>()
            })
        })
        .collect();
    let mut distinct = HashSet::new();
    for t in tasks {
        distinct.insert(t.await.unwrap());
    }
    // Each its own seed, so each its own music. (The first seconds of two
    // seeds can match — about one pair in 1,500 still does at 3 s, one in
    // 45,000 at 6 s: both open on the tonic before any melody — so 8 s.)
    assert_eq!(distinct.len(), 16);
}

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
    let _a = server.connect("").await;
    let _b = server.connect("").await;
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

/// The PCM of `n` binary audio chunks, skipping other messages.
async fn pcm_of(ws: &mut Ws, n: usize) -> Vec<i16> {
    let (chunks, _) = take_audio(ws, n).await;
    chunks.into_iter().flat_map(|(_, pcm)| pcm).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_frames_decode_to_the_same_music_as_pcm() {
    use auralis_host::opus::ChunkDecoder;
    use auralis_host::server::protocol::decode_opus;
    let config = ServerConfig {
        sample_rate: auralis_core::SampleRate::HZ_48000,
        ..ServerConfig::default()
    };
    let server = start(config).await;
    let mut pcm_ws = server.connect("?seed=5&format=binary").await;
    let mut opus_ws = server.connect("?seed=5&codec=opus").await;
    let welcome = json_of(&recv(&mut opus_ws).await).unwrap();
    assert_eq!(
        (&welcome["format"], &welcome["sample_rate"]),
        (&json!("opus"), &json!(48_000))
    );
    const CHUNKS: usize = 40;
    let mut decoder = ChunkDecoder::new().unwrap();
    let mut decoded = Vec::new();
    let (mut seqs, mut bytes) = (Vec::new(), 0);
    while seqs.len() < CHUNKS {
        if let Message::Binary(b) = recv(&mut opus_ws).await {
            let frame = decode_opus(&b).expect("an Opus frame");
            assert_eq!((frame.frames, frame.packets.len()), (4800, 5));
            bytes += b.len();
            seqs.push(frame.seq);
            for p in &frame.packets {
                decoder.decode(p, &mut decoded).unwrap();
            }
        }
    }
    assert_eq!(seqs, (0..CHUNKS as u64).collect::<Vec<_>>(), "no gaps");
    // Five packets decode to exactly one chunk: one encoder, no priming
    // gap between chunks.
    assert_eq!(decoded.len(), CHUNKS * 9600);
    let kbytes_per_second = bytes as f64 / (CHUNKS as f64 / 10.0) / 1000.0;
    assert!(kbytes_per_second <= 16.0, "{kbytes_per_second} kB/s");
    let pcm = pcm_of(&mut pcm_ws, CHUNKS).await;
    // The decoder runs 312 samples (the encoder's look-ahead) behind.
    let skip = 2 * 312;
    let (mut signal, mut noise) = (0f64, 0f64);
    for i in 2 * 9600..pcm.len() - skip {
        let (a, b) = (f64::from(pcm[i]), f64::from(decoded[i + skip]));
        signal += a * a;
        noise += (a - b) * (a - b);
    }
    assert!(signal > 0.0, "the stream is not silent");
    // Opus says 48 kHz even where the server's PCM runs at 44.1 kHz.
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?codec=opus").await;
    let welcome = json_of(&recv(&mut ws).await).unwrap();
    assert_eq!(welcome["sample_rate"], 48_000);
    let snr = 10.0 * (signal / noise).log10();
    assert!(snr > 20.0, "Opus against PCM: SNR {snr:.1} dB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_rendered_just_in_time() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    take_audio(&mut ws, 5).await;
    // After the start, each chunk arrives soon after it was rendered (it
    // used to wait behind six others, about 600 ms).
    let mut waits = Vec::new();
    for _ in 0..20 {
        if let Message::Binary(b) = recv(&mut ws).await {
            let a = decode_binary(&b).unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            waits.push((now - a.timestamp) * 1000.0);
        }
    }
    waits.sort_by(f64::total_cmp);
    let median = waits[waits.len() / 2];
    assert!(median < 150.0, "rendered {median:.0} ms before it was sent");
    let ahead = server.app.metrics.max_ahead.load(Relaxed);
    assert!(ahead <= 2, "{ahead} chunks rendered ahead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_rendering_and_resume_starts_afresh() {
    let server = start(ServerConfig::default()).await;
    let status = || async {
        let (code, _, body) = http(server.addr, "GET", "/api/status").await;
        assert_eq!(code, 200);
        serde_json::from_str::<Value>(&body).unwrap()
    };
    // A page whose browser blocked autoplay connects paused: nothing is
    // rendered or sent until it says resume.
    let mut ws = server.connect("?format=binary&paused=1").await;
    let welcome = json_of(&recv(&mut ws).await).unwrap();
    assert_eq!(welcome["type"], "welcome");
    let first = json_of(&recv(&mut ws).await).unwrap();
    assert_eq!(
        (&first["type"], &first["state"]),
        (&json!("status"), &json!("paused"))
    );
    assert!(first["message"].as_str().unwrap().contains("Play"));
    let quiet = tokio::time::timeout(Duration::from_millis(700), recv(&mut ws)).await;
    assert!(quiet.is_err(), "nothing comes while paused: {quiet:?}");
    let s = status().await;
    assert_eq!(
        (&s["paused_streams"], &s["streams_rendering"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(server.app.metrics.synthesis.snapshot().count(), 0);

    send(&mut ws, json!({"type": "resume"})).await;
    let t = Instant::now();
    let (chunks, other) = take_audio(&mut ws, 2).await;
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "sound starts at once"
    );
    assert!(other.iter().any(|m| m["state"] == "connected"));
    assert_consecutive(&chunks, 0);
    take_audio(&mut ws, 10).await;

    // Pause while playing: rendering stops (no synthesis at all for 1 s).
    send(&mut ws, json!({"type": "pause"})).await;
    loop {
        if json_of(&recv(&mut ws).await).is_some_and(|m| m["state"] == "paused") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rendered = server.app.metrics.synthesis.snapshot().count();
    let quiet = tokio::time::timeout(Duration::from_secs(1), recv(&mut ws)).await;
    assert!(quiet.is_err(), "no audio after pause: {quiet:?}");
    assert_eq!(server.app.metrics.synthesis.snapshot().count(), rendered);
    assert_eq!(status().await["paused_streams"], 1);

    // Resume: the music goes on (see the next test for how fresh it is).
    send(&mut ws, json!({"type": "resume"})).await;
    let (chunks, _) = take_audio(&mut ws, 3).await;
    assert!(chunks[0].0 >= 12, "the sequence goes on: {}", chunks[0].0);
    assert_consecutive(&chunks, chunks[0].0);
    assert_eq!(status().await["paused_streams"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumed_audio_was_rendered_after_the_resume() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary").await;
    take_audio(&mut ws, 3).await;
    send(&mut ws, json!({"type": "pause"})).await;
    loop {
        if json_of(&recv(&mut ws).await).is_some_and(|m| m["state"] == "paused") {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resumed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    send(&mut ws, json!({"type": "resume"})).await;
    for _ in 0..3 {
        let a = loop {
            if let Message::Binary(b) = recv(&mut ws).await {
                break decode_binary(&b).unwrap();
            }
        };
        assert!(
            a.timestamp >= resumed - 0.01,
            "chunk {} was rendered {:.2} s before the resume",
            a.seq,
            resumed - a.timestamp
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_playing_names_the_key_mode_and_chord() {
    let server = start(ServerConfig::default()).await;
    let mut ws = server.connect("?format=binary&preset=focus&key=62").await;
    let (_, other) = take_audio(&mut ws, 20).await;
    let np = other
        .iter()
        .find(|m| m["type"] == "now_playing")
        .expect("a now_playing message");
    assert_eq!((&np["key"], &np["mode"]), (&json!("D"), &json!("dorian")));
    let chord = np["chord"].as_str().expect("a chord");
    let (root, quality) = chord.split_once(':').expect("Harte notation");
    assert!(
        ["D", "E", "F", "G", "A", "B", "C"].contains(&root),
        "{chord} in D dorian"
    );
    assert!(!quality.is_empty());
}
