//! The stream's protocol: welcome, gapless audio, parameters, presets,
//! refusals that leave the stream running, and one stream per listener.

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use auralis_host::server::config::ServerConfig;

use super::*;
use crate::common::in_process::start;

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
