//! A stream's query string: seed, format and codec, paused, the starting
//! music, or a station.

use serde_json::json;

use crate::wire::protocol::{self, AudioFormat};

/// What a stream's query string asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// `seed=N`: a reproducible stream.
    pub seed: Option<u64>,
    /// `format=json|binary` and `codec=pcm|opus`.
    pub format: AudioFormat,
    /// `paused=1`: render nothing until the client says `resume`.
    pub paused: bool,
    /// `preset`, then `key`, `mode`, `bpm`, `intensity` over it.
    pub context: auralis_core::music::MusicalContext,
    /// `station=NAME`: listen to a station instead.
    pub station: Option<String>,
}

/// Parses a stream's query: `seed`, `format`, `codec`, `paused`, `preset`,
/// `key`, `mode`, `bpm`, `intensity` (other names are ignored).
pub fn stream_options(query: Option<&str>) -> Result<StreamOptions, String> {
    use std::str::FromStr as _;
    let mut o = StreamOptions {
        seed: None,
        format: AudioFormat::Json,
        paused: false,
        context: auralis_core::music::MusicalContext::DEFAULT,
        station: None,
    };
    let (mut format, mut codec) = (None, None);
    let mut params = serde_json::Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "seed" => {
                o.seed = Some(v.parse::<u64>().map_err(|_| {
                    format!("seed={v} is not a whole number 0–18446744073709551615")
                })?)
            }
            "format" => format = Some(v),
            "station" => o.station = Some(v.to_string()),
            "codec" => codec = Some(v),
            "paused" => {
                o.paused = match v {
                    "1" | "true" | "" => true,
                    "0" | "false" => false,
                    _ => return Err(format!("paused={v} is unknown: use 1 or 0")),
                }
            }
            "preset" => {
                let p = auralis_core::music::Preset::from_str(v).map_err(|_| {
                    format!("preset={v} is unknown: use focus, meditation, sleep or bright")
                })?;
                o.context = o.context.with_preset(p);
            }
            "key" | "bpm" | "intensity" => {
                let x: f64 = v
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| format!("{k}={v} is not a finite number"))?;
                params.insert(k.to_string(), json!(x));
            }
            "mode" => {
                params.insert(k.to_string(), json!(v));
            }
            _ => {}
        }
    }
    if !params.is_empty() {
        o.context = protocol::parse_params(&params, &o.context).map_err(|r| r.message)?;
    }
    o.format = match (format, codec) {
        (None | Some("json"), None | Some("pcm")) => AudioFormat::Json,
        (Some("binary"), None | Some("pcm")) => AudioFormat::Binary,
        (None | Some("binary"), Some("opus")) => AudioFormat::Opus,
        (Some("json"), Some("opus")) => {
            return Err("codec=opus travels in binary frames: leave out format=json".into())
        }
        (Some(f), _) if f != "json" && f != "binary" => {
            return Err(format!("format={f} is unknown: use json or binary"))
        }
        (_, Some(c)) => return Err(format!("codec={c} is unknown: use pcm or opus")),
        _ => AudioFormat::Json,
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_options_parse_and_refuse() {
        let o = stream_options(None).unwrap();
        assert_eq!(
            (o.seed, o.format, o.paused),
            (None, AudioFormat::Json, false)
        );
        let o = stream_options(Some("seed=42&format=binary&x=1")).unwrap();
        assert_eq!((o.seed, o.format), (Some(42), AudioFormat::Binary));
        let o = stream_options(Some("codec=opus&paused=1&preset=sleep&key=62")).unwrap();
        assert_eq!((o.format, o.paused), (AudioFormat::Opus, true));
        assert_eq!((o.context.key(), o.context.mode().name()), (62, "phrygian"));
        let o = stream_options(Some("mode=dorian&bpm=72&intensity=0.25")).unwrap();
        assert_eq!(
            (
                o.context.mode().name(),
                o.context.bpm(),
                o.context.intensity()
            ),
            ("dorian", 72.0, 0.25)
        );
        for (query, says) in [
            ("seed=-1", "seed"),
            ("format=xml", "json or binary"),
            ("codec=mp3", "pcm or opus"),
            ("format=json&codec=opus", "binary frames"),
            ("preset=party", "focus, meditation"),
            ("key=59", "60–71"),
            ("bpm=fast", "not a finite number"),
            ("bpm=1e309", "bpm=1e309 is not a finite number"),
            ("intensity=NaN", "not a finite number"),
            ("mode=locrian", "aeolian"),
            ("paused=maybe", "1 or 0"),
        ] {
            let e = stream_options(Some(query)).unwrap_err();
            assert!(e.contains(says), "{query}: {e}");
        }
    }
}
