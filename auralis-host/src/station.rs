//! Stations: one endless composition for any number of listeners.
//!
//! A station renders on one thread of its own, in real time, whatever its
//! audience: each 100 ms chunk is encoded once in every form a listener
//! may want (JSON, binary PCM, an Opus frame, an Ogg page) and published
//! to a broadcast channel. Listeners subscribe; each has its own bounded
//! view of the channel, so a slow one falls behind alone and is dropped
//! (counted) without holding back anyone else. A new listener starts with
//! the last [`PREROLL`] chunks, so it starts at a chunk boundary with a
//! buffer of its own.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::MusicalContext;
use auralis_core::synth::SoundFont;
use hyper::body::Bytes;
use tokio::sync::broadcast;

use crate::wire::encoder::OggIdentity;
use crate::wire::{Encoded, Encoder, Forms};

/// Chunks a new listener gets at once: 500 ms of pre-roll. A station is
/// shared, so latency matters less than for a personal stream; the
/// pre-roll is the listener's buffer against the fan-out's jitter.
pub const PREROLL: usize = 5;
/// Chunks a listener may fall behind before it is dropped as too slow.
pub const LISTENER_QUEUE: usize = 32;
/// A station always renders at 48 kHz (Opus's rate).
pub const RATE: u32 = crate::wire::opus::RATE;
/// [`RATE`] as the engine takes it.
const SAMPLE_RATE: auralis_core::SampleRate = auralis_core::SampleRate::HZ_48000;
/// Chunks over which a new composition (a new day's seed) fades in while
/// the old one fades out: three seconds.
pub const RESEED_FADE_CHUNKS: u32 = 30;

/// Days since the Unix epoch (UTC).
fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400)
}

/// How a station's seed is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// Always this seed: the same music every time the station starts.
    Fixed(u64),
    /// A seed for the day (UTC) the station starts, from its name.
    Daily,
}

impl Seed {
    /// The seed to use for `name` now.
    pub fn resolve(self, name: &str) -> u64 {
        match self {
            Seed::Fixed(s) => s,
            Seed::Daily => {
                let day = today();
                // FNV-1a over the name, then the day.
                let mut h = 0xcbf2_9ce4_8422_2325_u64;
                for b in name.bytes().chain(day.to_le_bytes()) {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                h
            }
        }
    }
}

/// What a station is.
#[derive(Clone, Debug, PartialEq)]
pub struct StationSpec {
    /// Its name, in URLs: letters, digits, `-` and `_`.
    pub name: String,
    /// The music it starts with.
    pub context: MusicalContext,
    /// Its seed.
    pub seed: Seed,
    /// An Icecast mount to push it to, `http://source:PASSWORD@HOST:PORT/MOUNT.ogg`.
    pub icecast: Option<String>,
}

impl StationSpec {
    /// Checks the name.
    pub fn check(&self) -> Result<(), String> {
        let ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(format!(
                "station name {:?} must be 1–64 letters, digits, '-' or '_'",
                self.name
            ))
        }
    }

    /// Parses `NAME=PRESET[:SEED]` (the `--station` flag); `SEED` may be
    /// `daily`.
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        use std::str::FromStr as _;
        let (name, rest) = text.split_once('=').ok_or_else(|| {
            format!("--station {text}: use NAME=PRESET[:SEED], e.g. sleep=sleep:42")
        })?;
        let (preset, seed) = match rest.split_once(':') {
            Some((p, s)) => (p, Some(s)),
            None => (rest, None),
        };
        let preset = auralis_core::music::Preset::from_str(preset).map_err(|_| {
            format!("--station {text}: preset {preset:?} is not focus, meditation, sleep or bright")
        })?;
        let seed = match seed {
            None | Some("daily") => Seed::Daily,
            Some(s) => Seed::Fixed(s.parse().map_err(|_| {
                format!("--station {text}: seed {s:?} is not a whole number or \"daily\"")
            })?),
        };
        let spec = Self {
            name: name.to_string(),
            context: MusicalContext::DEFAULT.with_preset(preset),
            seed,
            icecast: None,
        };
        spec.check()?;
        Ok(spec)
    }
}

/// Where the station's Icecast push stands (for status).
#[derive(Debug, Clone, Default)]
pub struct IcecastState {
    /// The mount, without the password.
    pub target: String,
    /// Pushing now.
    pub connected: bool,
    /// Connections made so far (1 after the first; more after restarts).
    pub connects: u64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// A running station.
#[derive(Debug)]
pub struct Station {
    /// Its name.
    pub name: String,
    /// Its seed now (a daily station changes it at midnight UTC).
    seed: AtomicU64,
    /// A new seed asked for: the composition changes, crossfaded.
    reseed: Mutex<Option<u64>>,
    /// Whether the seed is the day's.
    daily: bool,
    font: SoundFont<'static>,
    tx: broadcast::Sender<Arc<Encoded>>,
    preroll: Mutex<VecDeque<Arc<Encoded>>>,
    ogg_headers: Bytes,
    pending: Mutex<Option<MusicalContext>>,
    context: Mutex<MusicalContext>,
    /// Listeners now (WebSocket and HTTP).
    pub listeners: AtomicI64,
    /// Listeners dropped for falling behind.
    pub dropped: AtomicU64,
    /// Chunks rendered so far.
    pub chunks: AtomicU64,
    /// The Icecast push, if any.
    pub icecast: Mutex<Option<IcecastState>>,
    stop: AtomicBool,
}

impl Station {
    /// Starts rendering `spec` with `font` (parsed once for the whole
    /// process) on a thread of its own.
    pub fn start(spec: &StationSpec, font: SoundFont<'static>) -> Result<Arc<Self>, String> {
        spec.check()?;
        let seed = spec.seed.resolve(&spec.name);
        let ogg = OggIdentity {
            serial: (seed ^ (seed >> 32)) as u32,
            tags: vec![
                "ARTIST=Auralis".to_string(),
                format!("TITLE=Auralis station {}", spec.name),
            ],
        };
        // Every form, once: each listener takes the one it asked for.
        let mut encoder =
            Encoder::new(Forms::ALL, &ogg).map_err(|e| format!("station {}: {e}", spec.name))?;
        let ogg_headers = encoder.take_ogg_headers();
        let (tx, _) = broadcast::channel(LISTENER_QUEUE);
        let station = Arc::new(Self {
            name: spec.name.clone(),
            seed: AtomicU64::new(seed),
            reseed: Mutex::new(None),
            daily: spec.seed == Seed::Daily,
            font,
            tx,
            preroll: Mutex::new(VecDeque::with_capacity(PREROLL + 1)),
            ogg_headers,
            pending: Mutex::new(None),
            context: Mutex::new(spec.context),
            listeners: AtomicI64::new(0),
            dropped: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            icecast: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&station);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let context = spec.context;
        std::thread::Builder::new()
            .name(format!("auralis-station-{}", spec.name))
            // The engine is made here, on a stack with room for it.
            .stack_size(16 << 20)
            .spawn(
                move || match Engine::with_font(seed, SAMPLE_RATE, context, font) {
                    Ok(engine) => {
                        let _ = ready_tx.send(Ok(()));
                        s.run(Box::new(engine), encoder);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                    }
                },
            )
            .map_err(|e| format!("station {}: cannot start its thread: {e}", spec.name))?;
        ready_rx
            .recv()
            .map_err(|_| format!("station {}: its thread ended", spec.name))?
            .map_err(|e| format!("station {}: {e}", spec.name))?;
        Ok(station)
    }

    /// The seed of the composition playing now.
    pub fn seed(&self) -> u64 {
        self.seed.load(Relaxed)
    }

    /// Starts a new composition from `seed`, crossfaded over
    /// [`RESEED_FADE_CHUNKS`] chunks from the one playing; the chunk
    /// numbers and the Ogg stream go on. A daily station does this itself
    /// when the day (UTC) changes.
    pub fn reseed(&self, seed: u64) {
        if let Ok(mut r) = self.reseed.lock() {
            *r = Some(seed);
        }
    }

    /// Stops rendering (the thread ends within a chunk).
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// The parameters in force (or asked for).
    pub fn context(&self) -> MusicalContext {
        self.context.lock().map_or(MusicalContext::DEFAULT, |c| *c)
    }

    /// New parameters from the next beat on (the admin endpoint).
    pub fn set_context(&self, ctx: MusicalContext) {
        if let Ok(mut c) = self.context.lock() {
            *c = ctx;
        }
        if let Ok(mut p) = self.pending.lock() {
            *p = Some(ctx);
        }
    }

    /// The Ogg Opus headers every Ogg listener starts with.
    pub fn ogg_headers(&self) -> Bytes {
        self.ogg_headers.clone()
    }

    /// Joins: the pre-roll (the last chunks, oldest first) and the live
    /// chunks after it.
    pub fn subscribe(&self) -> (Vec<Arc<Encoded>>, broadcast::Receiver<Arc<Encoded>>) {
        // Subscribed under the pre-roll's lock, so no chunk falls between.
        let preroll = self.preroll.lock();
        let rx = self.tx.subscribe();
        let chunks = preroll
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default();
        (chunks, rx)
    }

    fn publish(&self, chunk: Encoded) {
        let chunk = Arc::new(chunk);
        if let Ok(mut p) = self.preroll.lock() {
            if p.len() == PREROLL {
                p.pop_front();
            }
            p.push_back(Arc::clone(&chunk));
            // Nobody listening is fine: the station plays on.
            let _ = self.tx.send(chunk);
        }
        self.chunks.fetch_add(1, Relaxed);
    }

    /// The render loop: a chunk every 100 ms of wall-clock time.
    fn run(&self, mut engine: Box<Engine<'static>>, mut encoder: Encoder) {
        let mut scratch = Box::new(AudioChunk::new());
        let mut fading = Box::new(AudioChunk::new());
        // The composition fading out after a reseed, and chunks left.
        let mut old: Option<(Box<Engine<'static>>, u32)> = None;
        let mut day = today();
        let mut seq: u64 = 0;
        let tick = Duration::from_millis(100);
        let mut next = Instant::now();
        while !self.stop.load(Relaxed) {
            if self.daily && today() != day {
                day = today();
                self.reseed(Seed::Daily.resolve(&self.name));
            }
            if let Some(seed) = self.reseed.lock().ok().and_then(|mut r| r.take()) {
                match Engine::with_font(seed, SAMPLE_RATE, self.context(), self.font) {
                    Ok(new) => {
                        old = Some((core::mem::replace(&mut engine, Box::new(new)), 0));
                        self.seed.store(seed, Relaxed);
                        tracing::info!(station = %self.name, seed, "a new composition begins");
                    }
                    Err(e) => tracing::error!(station = %self.name, "cannot reseed: {e}"),
                }
            }
            if let Some(ctx) = self.pending.lock().ok().and_then(|mut p| p.take()) {
                engine.set_context(ctx);
                if let Some((o, _)) = &mut old {
                    o.set_context(ctx);
                }
            }
            let info = engine.next_chunk(&mut scratch);
            if let Some((o, done)) = &mut old {
                o.next_chunk(&mut fading);
                crossfade(&mut scratch.pcm, &fading.pcm, *done);
                *done += 1;
                if *done == RESEED_FADE_CHUNKS {
                    old = None;
                }
            }
            // The station's own numbering goes on across compositions.
            scratch.seq = seq;
            let context = engine.context();
            match encoder.encode(&scratch, info.params, engine.chord(), &context) {
                Ok(encoded) => self.publish(encoded),
                Err(e) => {
                    tracing::error!(station = %self.name, "encoding failed, the station stops: {e}");
                    break;
                }
            }
            seq += 1;
            next += tick;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > Duration::from_secs(1) {
                // Far behind (the machine stalled): start the clock again
                // rather than rush to catch up.
                next = now;
            }
        }
    }
}

/// Mixes chunk `done` of a crossfade: `new` rises and `old` falls along
/// equal-power curves over [`RESEED_FADE_CHUNKS`] chunks.
fn crossfade(new: &mut [i16], old: &[i16], done: u32) {
    let len = new.len().max(1) as f32;
    let total = RESEED_FADE_CHUNKS as f32;
    for (i, (n, o)) in new.iter_mut().zip(old).enumerate() {
        let t = ((done as f32 + i as f32 / len) / total).clamp(0.0, 1.0);
        let (g_new, g_old) = (
            (t * core::f32::consts::FRAC_PI_2).sin(),
            (t * core::f32::consts::FRAC_PI_2).cos(),
        );
        let x = f32::from(*n) * g_new + f32::from(*o) * g_old;
        *n = x.round().clamp(-32768.0, 32767.0) as i16;
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_refuse() {
        let s = StationSpec::parse_flag("sleep=sleep:42").unwrap();
        assert_eq!((s.name.as_str(), s.seed), ("sleep", Seed::Fixed(42)));
        assert_eq!(s.context.mode().name(), "phrygian");
        assert_eq!(
            StationSpec::parse_flag("cafe=focus").unwrap().seed,
            Seed::Daily
        );
        for bad in ["sleep", "a b=sleep", "x=party", "x=sleep:soon", "=sleep"] {
            assert!(StationSpec::parse_flag(bad).is_err(), "{bad}");
        }
        assert_eq!(Seed::Daily.resolve("a"), Seed::Daily.resolve("a"));
        assert_ne!(Seed::Daily.resolve("a"), Seed::Daily.resolve("b"));
    }

    #[test]
    fn a_station_publishes_chunks_to_every_subscriber_alike() {
        let spec = StationSpec::parse_flag("t=focus:3").unwrap();
        let station = Station::start(
            &spec,
            SoundFont::parse(auralis_core::bank::DEFAULT_SF2).unwrap(),
        )
        .unwrap();
        let (_, mut a) = station.subscribe();
        let (_, mut b) = station.subscribe();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for _ in 0..5 {
                let x = a.recv().await.unwrap();
                let y = b.recv().await.unwrap();
                assert!(Arc::ptr_eq(&x, &y), "one encoding for everyone");
                let Some(crate::wire::Payload::Binary(page)) =
                    x.audio(crate::wire::protocol::AudioFormat::Ogg)
                else {
                    panic!("a station writes Ogg pages")
                };
                assert_eq!(&page[..4], b"OggS");
            }
        });
        let (preroll, _) = station.subscribe();
        assert_eq!(preroll.len(), PREROLL);
        assert_eq!(preroll[1].seq, preroll[0].seq + 1);
        station.stop();
    }

    /// RMS of a PCM frame's samples.
    fn rms(chunk: &Encoded) -> f64 {
        let Some(crate::wire::Payload::Binary(frame)) =
            chunk.audio(crate::wire::protocol::AudioFormat::Binary)
        else {
            panic!("a station encodes PCM")
        };
        let a = crate::wire::protocol::decode_binary(&frame).unwrap();
        let sum: f64 = a.pcm.iter().map(|&x| f64::from(x).powi(2)).sum();
        (sum / a.pcm.len() as f64).sqrt()
    }

    #[test]
    fn a_new_seed_crossfades_into_a_new_composition_and_the_numbers_go_on() {
        let spec = StationSpec::parse_flag("t=focus:3").unwrap();
        let station = Station::start(
            &spec,
            SoundFont::parse(auralis_core::bank::DEFAULT_SF2).unwrap(),
        )
        .unwrap();
        let (_, mut rx) = station.subscribe();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut last = None;
            let mut levels = Vec::new();
            for i in 0..80 {
                if i == 40 {
                    station.reseed(99);
                }
                let c = rx.recv().await.unwrap();
                if let Some(l) = last {
                    assert_eq!(c.seq, l + 1, "the numbering goes on");
                }
                last = Some(c.seq);
                levels.push(rms(&c));
            }
            assert_eq!(station.seed(), 99);
            // The old music fades while the new one swells: no chunk of
            // the switch falls silent.
            let before = levels[30..40].iter().sum::<f64>() / 10.0;
            assert!(before > 50.0, "the station plays: {before}");
            for (i, l) in levels[40..75].iter().enumerate() {
                assert!(
                    *l > before * 0.1,
                    "chunk {} of the switch: {l} vs {before}",
                    i
                );
            }
        });
        station.stop();
    }

    #[test]
    fn the_crossfade_keeps_equal_power_and_ends_on_the_new_signal() {
        let old = vec![10_000i16; 100];
        let mut first = vec![0i16; 100];
        crossfade(&mut first, &old, 0);
        assert_eq!(first[0], 10_000, "starts on the old signal");
        let mut last = vec![10_000i16; 100];
        crossfade(&mut last, &[0; 100], RESEED_FADE_CHUNKS - 1);
        assert!(last[99] > 9_990, "ends on the new one: {}", last[99]);
    }
}
