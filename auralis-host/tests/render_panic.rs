//! A panic while rendering one stream closes that stream with 1011 and
//! nothing else: the render thread goes on, other listeners keep playing,
//! metrics count it and /healthz reports the pool. The fault is injected
//! through the server's test-only hook (`AURALIS_TEST_RENDER_PANIC_SEED`).

use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

mod common;

async fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_render_panic_closes_one_stream_with_1011_and_the_other_plays_on() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auralis-host"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--render-threads", "1"])
        .env(auralis_host::source::pool::PANIC_SEED_VAR, "4242")
        .stderr(Stdio::null());
    let (mut child, addr) = common::spawn_server(&mut command);

    let url = |seed: u64| format!("ws://{addr}/ws/stream?format=binary&seed={seed}");
    let (mut healthy, _) = tokio_tungstenite::connect_async(url(1)).await.unwrap();
    let (mut doomed, _) = tokio_tungstenite::connect_async(url(4242)).await.unwrap();

    // The doomed stream: an INTERNAL_ERROR message, then close 1011.
    let mut error = None;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), doomed.next())
            .await
            .expect("the doomed stream ends")
        {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "error" {
                    error = Some(v);
                }
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(1011));
    let error = error.expect("an error message before the close");
    assert_eq!(error["code"], "INTERNAL_ERROR");
    assert_eq!(error["recoverable"], false);

    // The other stream, on the same (only) render thread, plays on without
    // a gap.
    let mut seqs = Vec::new();
    while seqs.len() < 15 {
        match tokio::time::timeout(Duration::from_secs(5), healthy.next())
            .await
            .expect("audio keeps coming")
        {
            Some(Ok(Message::Binary(b))) => {
                seqs.push(auralis_host::wire::protocol::decode_binary(&b).unwrap().seq);
            }
            Some(Ok(_)) => {}
            other => panic!("the healthy stream broke: {other:?}"),
        }
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let (status, body) = get(&addr, "/healthz").await;
    assert_eq!(status, 200);
    let h: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["render_threads_alive"], 1);
    assert_eq!(h["render_panics"], 1);
    let (_, body) = get(&addr, "/api/metrics").await;
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["render_panics"], 1);

    // /listen: a failed stream's connection is cut, so that a player can
    // tell it from a finished stream (which ends with the chunked
    // encoding's last chunk, as at a shutdown).
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /listen?seed=4242 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut got))
        .await
        .expect("the failed stream's connection ends")
        .unwrap();
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &got[..got.len().min(40)]
    );
    assert!(
        !got.ends_with(b"0\r\n\r\n"),
        "a failed /listen stream ended like a finished one"
    );
    let (_, body) = get(&addr, "/api/metrics").await;
    let m: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["render_panics"], 2);
    child.kill().unwrap();
    let _ = child.wait();
}
