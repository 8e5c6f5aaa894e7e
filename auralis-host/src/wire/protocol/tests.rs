//! The protocol's messages, refusals and frames, pinned field by field.

use super::*;
use serde_json::json;

fn chunk() -> AudioChunk {
    let mut c = AudioChunk::new();
    c.seq = 41;
    c.frames = 4410;
    c.sample_rate = 44_100;
    for (i, s) in c.pcm.iter_mut().enumerate() {
        *s = (i as i16).wrapping_mul(7);
    }
    c
}

#[test]
fn json_and_binary_carry_the_same_pcm() {
    let c = chunk();
    let j: Value = serde_json::from_str(&encode_json(&c, 12.5)).unwrap();
    assert_eq!(j["type"], "audio");
    assert_eq!(j["seq"], 41);
    assert_eq!(j["duration_ms"], 100);
    assert_eq!(j["channels"], 2);
    let pcm = decode_json_pcm(&j).unwrap();
    assert_eq!(pcm.len(), 8820);
    assert_eq!(pcm, c.samples());
    let b = decode_binary(&encode_binary(&c, 12.5)).unwrap();
    assert_eq!(
        (b.seq, b.timestamp, b.sample_rate, b.channels),
        (41, 12.5, 44_100, 2)
    );
    assert_eq!(b.pcm, pcm);
}

#[test]
fn binary_decoder_refuses_bad_frames() {
    let good = encode_binary(&chunk(), 1.0);
    assert!(decode_binary(&good[..31]).is_none());
    assert!(decode_binary(&good[..good.len() - 2]).is_none());
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(decode_binary(&bad).is_none());
}

#[test]
fn params_merge_and_refuse_as_a_whole() {
    let cur = MusicalContext::DEFAULT;
    let r = parse_request(
        r#"{"type":"update_params","params":{"mode":"dorian","bpm":72}}"#,
        &cur,
    )
    .unwrap();
    let Request::Params(ctx) = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        (ctx.mode(), ctx.bpm(), ctx.key()),
        (Mode::Dorian, 72.0, cur.key())
    );
    // The alias, and one bad field spoils the whole message.
    let Ok(Request::Params(ctx)) =
        parse_request(r#"{"type":"update_params","params":{"key":64.0}}"#, &cur)
    else {
        panic!("key 64.0 is a whole number")
    };
    assert_eq!(ctx.key(), 64);
    let e = parse_request(
        r#"{"type":"control","params":{"mode":"dorian","bpm":300}}"#,
        &cur,
    )
    .unwrap_err();
    assert_eq!(e.code, "INVALID_PARAMS");
    assert!(e.message.contains("40–90"), "{}", e.message);
    for bad in [
        r#"{"type":"update_params","params":{"key":59}}"#,
        r#"{"type":"update_params","params":{"key":"C"}}"#,
        r#"{"type":"update_params","params":{"key":62.5}}"#,
        r#"{"type":"update_params","params":{"intensity":1.5}}"#,
        r#"{"type":"update_params","params":{"mode":"locrian"}}"#,
        r#"{"type":"update_params","params":{}}"#,
        r#"{"type":"update_params"}"#,
        r#"{"type":"select_preset","preset":"party"}"#,
    ] {
        assert_eq!(
            parse_request(bad, &cur).unwrap_err().code,
            "INVALID_PARAMS",
            "{bad}"
        );
    }
    for bad in [
        "nonsense",
        "[1,2]",
        r#"{"type":"dance"}"#,
        r#"{"kind":"ping"}"#,
        r#"{"type":"report"}"#,
    ] {
        assert_eq!(
            parse_request(bad, &cur).unwrap_err().code,
            "INVALID_MESSAGE",
            "{bad}"
        );
    }
}

#[test]
fn presets_pings_and_reports() {
    let cur = MusicalContext::DEFAULT;
    assert_eq!(
        parse_request(r#"{"type":"select_preset","preset":"Sleep"}"#, &cur),
        Ok(Request::Preset(Preset::Sleep))
    );
    assert_eq!(
        parse_request(r#"{"type":"ping","timestamp":5.5}"#, &cur),
        Ok(Request::Ping(Some(5.5)))
    );
    assert_eq!(
        parse_request(r#"{"type":"report","seq":9,"buffer_ms":400}"#, &cur),
        Ok(Request::Report {
            seq: 9,
            buffer_ms: Some(400.0),
            underruns: None
        })
    );
    let p: Value = serde_json::from_str(&pong(Some(5.5))).unwrap();
    assert_eq!(p["client_timestamp"], 5.5);
    assert_eq!(
        parse_request(r#"{"type":"pause"}"#, &cur),
        Ok(Request::Pause)
    );
    assert_eq!(
        parse_request(r#"{"type":"resume"}"#, &cur),
        Ok(Request::Resume)
    );
}

#[test]
fn opus_frames_round_trip_and_refuse_bad_ones() {
    let mut enc = crate::wire::opus::ChunkEncoder::new().unwrap();
    let mut packets = crate::wire::opus::Packets::default();
    let pcm: Vec<i16> = (0..9600).map(|i| ((i * 37) % 2000) as i16).collect();
    enc.encode_chunk(&pcm, &mut packets).unwrap();
    let bytes = encode_opus(77, 3.25, 4800, &packets);
    let f = decode_opus(&bytes).unwrap();
    assert_eq!((f.seq, f.timestamp, f.frames), (77, 3.25, 4800));
    let want: Vec<Vec<u8>> = packets.iter().map(<[u8]>::to_vec).collect();
    assert_eq!(f.packets, want);
    assert!(decode_binary(&bytes).is_none(), "not a PCM frame");
    assert!(decode_opus(&bytes[..bytes.len() - 1]).is_none());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_opus(&longer).is_none());
}

#[test]
fn now_playing_names_key_mode_and_chord() {
    let ctx = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5).unwrap();
    let v: Value = serde_json::from_str(&now_playing(&ctx, Some("D:min7"), 12)).unwrap();
    assert_eq!(
        (&v["type"], &v["key"], &v["mode"], &v["chord"], &v["seq"]),
        (
            &json!("now_playing"),
            &json!("D"),
            &json!("dorian"),
            &json!("D:min7"),
            &json!(12)
        )
    );
}

/// Each client message type, its alias and its refusals, through the
/// serde-derived envelope: the same requests and the same error codes
/// and words as the hand-written parser gave.
#[test]
fn every_client_message_and_refusal() {
    let now = MusicalContext::DEFAULT;
    let ok = |t: &str| parse_request(t, &now).unwrap();
    let refused = |t: &str| parse_request(t, &now).unwrap_err();
    assert_eq!(ok(r#"{"type":"pause"}"#), Request::Pause);
    assert_eq!(ok(r#"{"type":"resume","extra":[1]}"#), Request::Resume);
    assert_eq!(
        ok(r#"{"type":"ping","timestamp":"soon"}"#),
        Request::Ping(None)
    );
    assert_eq!(ok(r#"{"type":"ping"}"#), Request::Ping(None));
    let bpm70 = now.with_bpm(70.0).unwrap();
    assert_eq!(
        ok(r#"{"type":"control","params":{"bpm":70}}"#),
        Request::Params(bpm70)
    );
    assert_eq!(
        ok(r#"{"type":"update_params","params":{"bpm":70}}"#),
        Request::Params(bpm70)
    );
    assert_eq!(
        ok(r#"{"type":"report","seq":9,"buffer_ms":"x"}"#),
        Request::Report {
            seq: 9,
            buffer_ms: None,
            underruns: None
        }
    );
    for (text, code, words) in [
        ("[1, 2]", "INVALID_MESSAGE", "a message is a JSON object"),
        ("{nope", "INVALID_MESSAGE", "not JSON"),
        (
            r#"{"kind":"pause"}"#,
            "INVALID_MESSAGE",
            "missing string field",
        ),
        (r#"{"type":7}"#, "INVALID_MESSAGE", "missing string field"),
        (
            r#"{"type":"dance"}"#,
            "INVALID_MESSAGE",
            "unknown message type \"dance\": use update_params",
        ),
        (
            r#"{"type":"report"}"#,
            "INVALID_MESSAGE",
            "report needs an integer",
        ),
        (
            r#"{"type":"report","seq":-1}"#,
            "INVALID_MESSAGE",
            "report needs an integer",
        ),
        (
            r#"{"type":"update_params","params":3}"#,
            "INVALID_PARAMS",
            "needs a \"params\" object",
        ),
        (
            r#"{"type":"select_preset"}"#,
            "INVALID_PARAMS",
            "needs a \"preset\" string",
        ),
        (
            r#"{"type":"select_preset","preset":"loud"}"#,
            "INVALID_PARAMS",
            "unknown preset",
        ),
    ] {
        let r = refused(text);
        assert_eq!(r.code, code, "{text}");
        assert!(r.message.contains(words), "{text}: {}", r.message);
    }
}

/// Every server message is an object whose `type` comes first and
/// names it, with the fields the protocol documents.
#[test]
fn every_server_message_has_its_type_and_fields() {
    let ctx = MusicalContext::DEFAULT;
    let cases = [
        (
            welcome("c1", 7, 48_000, AudioFormat::Opus, &ctx, None),
            "welcome",
            vec![
                "client_id",
                "protocol",
                "sample_rate",
                "channels",
                "chunk_ms",
                "format",
                "seed",
                "params",
                "timestamp",
            ],
        ),
        (
            params_message(&ctx, 3),
            "params",
            vec!["params", "seq", "timestamp"],
        ),
        (
            status("paused", "why", 2),
            "status",
            vec!["state", "message", "buffer_depth", "timestamp"],
        ),
        (
            error("X", "y", true),
            "error",
            vec!["code", "message", "recoverable", "timestamp"],
        ),
        (
            pong(None),
            "pong",
            vec!["client_timestamp", "server_timestamp"],
        ),
        (
            encode_json(&chunk(), 1.0),
            "audio",
            vec![
                "seq",
                "timestamp",
                "duration_ms",
                "sample_rate",
                "channels",
                "data",
            ],
        ),
    ];
    for (text, kind, fields) in cases {
        assert!(
            text.starts_with(&format!("{{\"type\":\"{kind}\"")),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        for f in fields {
            assert!(v.get(f).is_some(), "{kind} lacks {f}: {text}");
        }
    }
    let w: Value =
        serde_json::from_str(&welcome("c1", 7, 48_000, AudioFormat::Opus, &ctx, None)).unwrap();
    assert_eq!(w["params"], params_json(&ctx));
    assert_eq!(w["format"], "opus");
    assert_eq!(w["protocol"], PROTOCOL);
}
