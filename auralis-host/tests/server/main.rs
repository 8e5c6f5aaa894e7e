//! The streaming server over real sockets on port 0: the stream's
//! protocol (`protocol.rs`), playing, pausing and codecs
//! (`playback.rs`), and the HTTP routes, limits and shutdown
//! (`routes.rs`).

#[path = "../common/mod.rs"]
mod common;
mod playback;
mod protocol;
mod routes;

use std::time::Duration;

use auralis_host::wire::protocol::{decode_binary, decode_json_pcm};
use common::in_process::{exchange, request, Ws};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

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

/// `method path` on `addr`: the reply's status, content type and body.
async fn http(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    exchange(addr, &request(method, path)).await
}

/// The PCM of `n` binary audio chunks, skipping other messages.
async fn pcm_of(ws: &mut Ws, n: usize) -> Vec<i16> {
    let (chunks, _) = take_audio(ws, n).await;
    chunks.into_iter().flat_map(|(_, pcm)| pcm).collect()
}
