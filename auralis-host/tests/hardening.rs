//! What a hostile or careless client can do to the server, over real
//! sockets: idle connections, broken handshakes and frames, stale
//! reports. Each was a failure once; each test fails without its fix.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

mod common;

/// Starts the real binary (through `sh`, so that `ulimit` can apply) and
/// returns it with its address.
fn start(shell_prefix: &str, args: &str) -> (std::process::Child, String) {
    let bin = env!("CARGO_BIN_EXE_auralis-host");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "{shell_prefix} exec {bin} serve --addr 127.0.0.1:0 {args}"
        ))
        .stderr(Stdio::null());
    common::spawn_server(&mut command)
}

/// One raw HTTP request; `(status, head, body)`, or `None` if the server
/// closed the connection without answering.
async fn raw(addr: &str, request: &str) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    // Read to the end, or only the head of a 101 (the socket stays open).
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut b = [0u8; 4096];
        while let Ok(n) = s.read(&mut b).await {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&b[..n]);
            if buf.starts_with(b"HTTP/1.1 101") && buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    Some((status, head.to_ascii_lowercase(), body.to_string()))
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// A WebSocket handshake request with the given extra or changed headers.
fn upgrade(method: &str, headers: &[(&str, &str)]) -> String {
    let mut h = vec![
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    for (k, v) in headers {
        h.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        if !v.is_empty() {
            h.push((k, v));
        }
    }
    let mut r = format!("{method} /ws/stream HTTP/1.1\r\n");
    for (k, v) in h {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r
}

/// Waits for the first binary audio frame of a stream at `addr`.
async fn hears_audio(addr: &str) -> bool {
    let url = format!("ws://{addr}/ws/stream?format=binary");
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await
    else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Binary(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
            _ => return false,
        }
    }
    false
}

/// A keep-alive connection waits for its next request for `--idle-timeout`
/// (hyper's header timer used to cut it at `--header-timeout`), and one
/// that sends no whole request is cut at the header deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_waits_for_the_idle_timeout_and_headers_for_theirs() {
    let (mut child, addr) = start("", "--header-timeout 1 --idle-timeout 4 --render-threads 1");
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut answered = 0;
    for pause in [0u64, 2_500] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        s.write_all(request).await.unwrap();
        let mut b = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        if b[..n].starts_with(b"HTTP/1.1 200") {
            answered += 1;
        }
    }
    assert_eq!(
        answered, 2,
        "the second request, 2.5 s later, was answered on the same connection"
    );
    // Then quiet: closed at the idle timeout.
    let t = Instant::now();
    let mut b = [0u8; 1];
    let n = tokio::time::timeout(Duration::from_secs(8), s.read(&mut b))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed");
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "not before the idle timeout"
    );

    // Half a request's headers: cut at the header deadline, long before
    // the idle one.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost")
        .await
        .unwrap();
    let t = Instant::now();
    let n = tokio::time::timeout(Duration::from_secs(8), slow.read(&mut b))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed");
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "cut at the header deadline: {:?}",
        t.elapsed()
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_cannot_lock_everyone_out() {
    // 256 descriptors, 300 idle connections: before, the idle ones took
    // every descriptor for good and /healthz timed out.
    let (mut child, addr) = start(
        "ulimit -n 256 &&",
        "--header-timeout 2 --idle-timeout 2 --render-threads 1",
    );
    let mut idle = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = TcpStream::connect(&addr).await {
            idle.push(s);
        }
    }
    assert!(idle.len() >= 250, "{} idle sockets opened", idle.len());
    let t = Instant::now();
    let mut healthy = None;
    while t.elapsed() < Duration::from_secs(3) {
        if let Some((200, _, body)) = raw(&addr, &get("/healthz")).await {
            healthy = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = healthy.unwrap_or_else(|| {
        panic!("/healthz did not answer within the header timeout plus one second")
    });
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert!(hears_audio(&addr).await, "a new listener should stream");
    // The idle ones were closed by the server: reading gives EOF.
    let mut closed = 0;
    for s in idle.iter_mut().take(20) {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 20, "idle connections are closed");
    child.kill().unwrap();
    let _ = child.wait();
}

/// One peer (127.0.0.2) keeps as many connections open as it can; the
/// others (127.0.0.1) are still served at once: the damage stays with
/// the peer that did it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_cannot_hold_every_connection() {
    let (mut child, addr) = start(
        "",
        "--max-connections 200 --header-timeout 60 --idle-timeout 60 --render-threads 1",
    );
    let to: std::net::SocketAddr = addr.parse().unwrap();
    let mut idle = Vec::new();
    for _ in 0..300 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        if let Ok(s) = socket.connect(to).await {
            idle.push(s);
        }
    }
    assert!(idle.len() >= 250, "{} idle sockets opened", idle.len());
    // Give the server a moment to accept (and refuse) them all.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _, body) = raw(&addr, &get("/healthz"))
        .await
        .expect("/healthz answers another address at once");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    // An eighth of 200: the peer holds 25, not all 200.
    let open = v["open_tcp_connections"].as_i64().unwrap();
    assert!((20..=30).contains(&open), "{open} open connections");
    assert!(hears_audio(&addr).await, "a new listener streams");
    drop(idle);
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_handshakes_are_refused_with_the_right_status() {
    let (mut child, addr) = start("", "--allowed-origin https://radio.example");
    // An allowed Origin first and a foreign one second: one check that
    // read only the first would let the second through.
    let two_origins = upgrade("GET", &[("Origin", "https://radio.example")])
        .replace("\r\n\r\n", "\r\nOrigin: https://evil.example\r\n\r\n");
    let cases: [(&str, String, u16, &str); 8] = [
        ("two Origin headers", two_origins, 400, ""),
        (
            "wrong version",
            upgrade("GET", &[("Sec-WebSocket-Version", "8")]),
            426,
            "sec-websocket-version: 13",
        ),
        (
            "malformed key",
            upgrade("GET", &[("Sec-WebSocket-Key", "not-base64!")]),
            400,
            "",
        ),
        (
            "missing Connection",
            upgrade("GET", &[("Connection", "")]),
            400,
            "",
        ),
        ("HEAD", upgrade("HEAD", &[]), 405, "allow: get"),
        (
            "foreign origin",
            upgrade("GET", &[("Origin", "https://evil.example")]),
            403,
            "",
        ),
        ("plain GET", get("/ws/stream"), 426, "upgrade: websocket"),
        (
            "POST",
            "POST /api/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                .into(),
            405,
            "allow: get, head",
        ),
    ];
    for (what, request, status, header) in cases {
        let (got, head, _) = raw(&addr, &request)
            .await
            .unwrap_or_else(|| panic!("{what}: no answer"));
        assert_eq!(got, status, "{what}: {head}");
        assert!(head.contains(header), "{what}: {head}");
    }
    // The right origin (and no origin at all, as VLC sends) may listen.
    let (got, _, _) = raw(
        &addr,
        &upgrade("GET", &[("Origin", "https://radio.example")]),
    )
    .await
    .unwrap();
    assert_eq!(got, 101);
    let (got, _, _) = raw(&addr, &upgrade("GET", &[])).await.unwrap();
    assert_eq!(got, 101);
    // A favicon, and one listener said as one.
    let (got, head, _) = raw(&addr, &get("/favicon.ico")).await.unwrap();
    assert_eq!(got, 200);
    assert!(head.contains("image/svg+xml"));
    child.kill().unwrap();
    let _ = child.wait();

    let (mut child, addr) = start("", "--max-clients 1");
    let url = format!("ws://{addr}/ws/stream");
    let (_first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (got, _, body) = raw(&addr, &upgrade("GET", &[])).await.unwrap();
    assert_eq!(got, 503);
    assert!(body.contains("1 listener already"), "{body}");
    child.kill().unwrap();
    let _ = child.wait();
}

/// Reads until a close frame; its code.
async fn close_code<S>(ws: &mut S) -> Option<u16>
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(f)))) => return f.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_with_the_code_that_says_why() {
    let (mut child, addr) = start("", "");
    // Text that is not UTF-8: 1007.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/stream"))
        .await
        .unwrap();
    let frame = Frame::message(vec![0xC3, 0x28, 0xFF], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(1007));

    // A frame the client did not mask breaks the protocol: 1002.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(upgrade("GET", &[]).as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"));
    s.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        s,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    let mut ws = ws;
    assert_eq!(close_code(&mut ws).await, Some(1002));
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_chunks_up_front_no_underrun_at_the_start_and_stale_reports_ignored() {
    let (mut child, addr) = start("", "");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/stream?format=binary"))
            .await
            .unwrap();
    let mut arrivals = Vec::new();
    while arrivals.len() < 6 {
        if let Some(Ok(Message::Binary(b))) = ws.next().await {
            let seq = auralis_host::wire::protocol::decode_binary(&b).unwrap().seq;
            arrivals.push((seq, Instant::now()));
        }
    }
    let (first, second, third) = (arrivals[0].1, arrivals[1].1, arrivals[2].1);
    // Two at once (the lead), then one every 100 ms: the third is paced.
    assert!(
        second.duration_since(first) < Duration::from_millis(50),
        "the second chunk came {:?} after the first",
        second.duration_since(first)
    );
    assert!(
        third.duration_since(first) >= Duration::from_millis(60),
        "the third chunk came {:?} after the first",
        third.duration_since(first)
    );
    // Reports: a fresh one is measured, an older one is not.
    for seq in [4u64, 1, 2, 5] {
        let report =
            serde_json::json!({"type": "report", "seq": seq, "buffer_ms": 300, "underruns": 0});
        ws.send(Message::text(report.to_string())).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, _, body) = raw(&addr, &get("/api/metrics")).await.unwrap();
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        m["buffer_underruns"], 0,
        "a new connection is not an underrun"
    );
    assert_eq!(
        m["end_to_end_latency_ms"]["samples"], 2,
        "only the reports of seq 4 and 5 count: {}",
        m["end_to_end_latency_ms"]
    );
    // Prometheus quantiles come in a fixed order, scrape after scrape.
    for _ in 0..3 {
        let (_, _, text) = raw(&addr, &get("/metrics")).await.unwrap();
        let order: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("auralis_synthesis_latency_ms{"))
            .collect();
        assert_eq!(order.len(), 3, "{text}");
        assert!(
            order[0].contains("\"0.5\"")
                && order[1].contains("\"0.95\"")
                && order[2].contains("\"0.99\"")
        );
    }
    child.kill().unwrap();
    let _ = child.wait();
}
