//! Stations over real sockets: one composition fanned out to many
//! listeners (identical bytes), a slow listener dropped without a gap for
//! the others, joining at a chunk boundary, the admin endpoint's token,
//! and the figures in status and metrics.

mod common;

use std::time::Duration;

use auralis_host::server::config::ServerConfig;
use auralis_host::station::StationSpec;
use auralis_host::wire::protocol::{decode_binary, decode_opus};
use common::in_process::{self, exchange, get, Server, Ws};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "test-token-0123456789";

async fn start() -> Server {
    in_process::start(ServerConfig {
        stations: vec![
            StationSpec::parse_flag("calm=sleep:7").unwrap(),
            StationSpec::parse_flag("work=focus:8").unwrap(),
        ],
        admin_token: Some(TOKEN.into()),
        max_connections: 1000,
        // Two hundred listeners from one address (this test).
        max_connections_per_address: 1000,
        ..ServerConfig::default()
    })
    .await
}

/// The next audio frame's (seq, bytes), skipping text; within 5 s.
async fn next_audio(ws: &mut Ws) -> (u64, Vec<u8>) {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("no error");
        if let Message::Binary(b) = m {
            let seq = decode_binary(&b)
                .map(|a| a.seq)
                .or_else(|| decode_opus(&b).map(|o| o.seq))
                .expect("an audio frame");
            return (seq, b.to_vec());
        }
    }
}

/// The next text message as JSON, within 5 s.
async fn next_text(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = m {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

fn post(path: &str, token: Option<&str>, body: &str) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_listeners_get_identical_bytes_for_each_chunk() {
    let server = start().await;
    let mut listeners = Vec::new();
    for i in 0..200 {
        let codec = if i % 2 == 0 {
            "codec=opus"
        } else {
            "format=binary"
        };
        listeners.push(server.connect(&format!("?station=calm&{codec}")).await);
    }
    // Wait until everyone is in, then compare a chunk all of them get.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status: Value =
        serde_json::from_str(&exchange(server.addr, &get("/api/status")).await.2).unwrap();
    let calm = &status["stations"][0];
    assert_eq!(
        (&calm["name"], &calm["listeners"]),
        (&json!("calm"), &json!(200))
    );
    assert_eq!(status["stations"][1]["listeners"], 0);
    let mut seen: std::collections::HashMap<(bool, u64), Vec<u8>> = Default::default();
    let mut first = Vec::new();
    for (i, ws) in listeners.iter_mut().enumerate() {
        let mut chunks = Vec::new();
        for _ in 0..12 {
            chunks.push(next_audio(ws).await);
        }
        first.push(chunks[0].0);
        // Consecutive: the pre-roll then the live chunks, no gap.
        for w in chunks.windows(2) {
            assert_eq!(w[1].0, w[0].0 + 1, "listener {i}");
        }
        for (seq, bytes) in chunks {
            let key = (i % 2 == 0, seq);
            match seen.get(&key) {
                Some(b) => assert_eq!(b, &bytes, "listener {i}, chunk {seq}"),
                None => {
                    seen.insert(key, bytes);
                }
            }
        }
    }
    // One render for all: the station rendered about one chunk per 100 ms
    // of its life, however many listen.
    let rendered = server
        .app
        .station("calm")
        .unwrap()
        .chunks
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(rendered < 200, "{rendered} chunks rendered");
    let metrics = exchange(server.addr, &get("/metrics")).await.2;
    assert!(
        metrics.contains("auralis_station_listeners{station=\"calm\"} 200"),
        "{metrics}"
    );
    assert!(metrics.ends_with("# EOF\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_stops_reading_is_dropped_and_the_others_have_no_gap() {
    let server = start().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.addr).await.unwrap();
    let url = format!("ws://{}/ws/stream?station=work&format=json", server.addr);
    let (stalled, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    let mut good = server.connect("?station=work&format=binary").await;
    let (mut last, _) = next_audio(&mut good).await;
    // JSON is 24 KB a chunk: the stalled socket fills within seconds.
    for _ in 0..60 {
        let (seq, _) = next_audio(&mut good).await;
        assert_eq!(seq, last + 1, "no gap for the listener that reads");
        last = seq;
    }
    let station = server.app.station("work").unwrap();
    assert_eq!(
        station.dropped.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        station.listeners.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_mid_stream_starts_at_a_chunk_boundary() {
    let server = start().await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let mut ws = server.connect("?station=calm&codec=opus").await;
    let welcome = next_text(&mut ws).await;
    assert_eq!(
        (
            &welcome["type"],
            &welcome["station"],
            &welcome["sample_rate"]
        ),
        (&json!("welcome"), &json!("calm"), &json!(48_000))
    );
    let (seq, bytes) = next_audio(&mut ws).await;
    assert!(seq >= 10, "joins the running station, not its start: {seq}");
    // A whole Opus chunk: five packets decoding to 4800 frames.
    let frame = decode_opus(&bytes).unwrap();
    assert_eq!((frame.frames, frame.packets.len()), (4800, 5));
    // Over HTTP: the Ogg headers, then whole pages from the same place.
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(get("/station/calm").as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while got.windows(4).filter(|w| *w == b"OggS").count() < 8 {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text
        .to_ascii_lowercase()
        .contains("content-type: audio/ogg"));
    let pages: Vec<usize> = got
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"OggS")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(&got[pages[0] + 28..pages[0] + 36], b"OpusHead");
    assert_eq!(&got[pages[1] + 28..pages[1] + 36], b"OpusTags");
    // The first audio page ends a whole chunk: its granule is a multiple
    // of 4800 past the pre-skip.
    let granule = u64::from_le_bytes(got[pages[2] + 6..pages[2] + 14].try_into().unwrap());
    assert!(granule > 4800 * 10);
    assert_eq!((granule - 312) % 4800, 0, "granule {granule}");
    let (code, _, _) = exchange(server.addr, &get("/station/nope")).await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_admin_token_changes_a_station() {
    let server = start().await;
    let mut ws = server.connect("?station=work&format=binary").await;
    let before = server.app.station("work").unwrap().context();
    let body = r#"{"params":{"mode":"lydian","bpm":72}}"#;
    for token in [None, Some("wrong-token-0123456789")] {
        let (code, _, text) = exchange(server.addr, &post("/api/stations/work", token, body)).await;
        assert_eq!(code, 401, "{text}");
        assert_eq!(server.app.station("work").unwrap().context(), before);
    }
    // A listener cannot change it either.
    ws.send(Message::text(
        json!({"type": "update_params", "params": {"mode": "ionian"}}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let m = next_text(&mut ws).await;
        if m["type"] == "error" {
            assert_eq!(m["code"], "STATION_READ_ONLY");
            break;
        }
    }
    assert_eq!(server.app.station("work").unwrap().context(), before);
    // With the token: changed, announced to listeners at a boundary.
    let (code, _, text) =
        exchange(server.addr, &post("/api/stations/work", Some(TOKEN), body)).await;
    assert_eq!(code, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&v["params"]["mode"], &v["params"]["bpm"]),
        (&json!("lydian"), &json!(72.0))
    );
    loop {
        let m = next_text(&mut ws).await;
        if m["type"] == "params" {
            assert_eq!(m["params"]["mode"], "lydian");
            break;
        }
    }
    let (code, _, _) = exchange(
        server.addr,
        &post("/api/stations/work", Some(TOKEN), "{\"preset\":\"party\"}"),
    )
    .await;
    assert_eq!(code, 400);
    let (code, _, _) = exchange(server.addr, &post("/api/stations/nope", Some(TOKEN), body)).await;
    assert_eq!(code, 404);
    // One change at a time, in the endpoint's own words (nothing said
    // about WebSocket messages), and nothing changes on a refusal.
    let before = server.app.station("work").unwrap().context();
    for (bad, says) in [
        (
            r#"{"seed":1,"preset":"sleep"}"#,
            "exactly one of seed, preset or params",
        ),
        (r#"{}"#, "given: none"),
        (r#"{"params":1}"#, "params must be an object"),
        (r#"{"params":{"key":59}}"#, "60–71"),
        (r#"{"tempo":60}"#, "not something a station takes"),
        (r#"[1]"#, "not a JSON object"),
    ] {
        let (code, _, text) =
            exchange(server.addr, &post("/api/stations/work", Some(TOKEN), bad)).await;
        assert_eq!(code, 400, "{bad}: {text}");
        assert!(text.contains(says), "{bad}: {text}");
        assert!(
            !text.contains("update_params") && !text.contains("select_preset"),
            "{text}"
        );
    }
    assert_eq!(server.app.station("work").unwrap().context(), before);
    // The scheme is case-insensitive: `bearer` works as `Bearer` does.
    let lower = post("/api/stations/work", Some(TOKEN), r#"{"preset":"sleep"}"#)
        .replace("Authorization: Bearer", "Authorization: bearer");
    let (code, _, text) = exchange(server.addr, &lower).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        server.app.station("work").unwrap().context().mode().name(),
        "phrygian"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_answers_bad_frames_as_a_personal_stream_does() {
    let server = start().await;
    let mut ws = server.connect("?station=calm&format=binary").await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    loop {
        let m = next_text(&mut ws).await;
        if m["type"] == "error" {
            assert_eq!(
                (&m["code"], &m["recoverable"]),
                (&json!("INVALID_MESSAGE"), &json!(true))
            );
            break;
        }
    }
    // Still streaming after the error.
    next_audio(&mut ws).await;
    // A message over 64 KiB closes with 1009.
    ws.send(Message::text("x".repeat(70 * 1024))).await.unwrap();
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1009));
}
