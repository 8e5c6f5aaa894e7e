//! Playing: Opus against PCM, just-in-time rendering, pause and resume,
//! now playing.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use auralis_host::server::config::ServerConfig;

use super::*;
use crate::common::in_process::start;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_frames_decode_to_the_same_music_as_pcm() {
    use auralis_host::wire::opus::ChunkDecoder;
    use auralis_host::wire::protocol::decode_opus;
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
