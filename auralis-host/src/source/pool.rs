//! The render pool: a few threads (one per core by default) that render
//! every stream's chunks, so that no async I/O worker ever runs the
//! synthesizer.
//!
//! Each stream asks for chunks with [`Stream::request`]; a stream sits in
//! the pool's queue at most once however many chunks it is owed, so one
//! thread renders it at a time and streams take turns chunk by chunk. Each
//! rendered chunk is encoded for its listener (JSON, binary PCM, Opus
//! frames or Ogg pages; one Opus encoder per stream, so the stream is
//! continuous) and goes into the stream's bounded channel to its socket
//! task. The socket task asks for each chunk just before it is due, so a
//! stream has at most a chunk or two rendered and waiting.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::MusicalContext;
use auralis_core::synth::SoundFont;
use crossbeam_channel::{Receiver, Sender};
use tokio::sync::mpsc;

use crate::metrics::Metrics;
use crate::wire::encoder::OggIdentity;
use crate::wire::protocol::AudioFormat;
use crate::wire::{Encoded, Encoder, Forms};

/// One rendered chunk, encoded for its listener.
#[derive(Debug)]
pub enum Rendered {
    /// An audio chunk, ready to send.
    Audio(Encoded),
    /// The engine could not be made, or encoding failed (the stream must
    /// end).
    Failed(String),
    /// Rendering the stream panicked: it is closed, the render thread
    /// goes on with the others.
    Panicked,
}

/// A stream's engine and encoder, made on its first chunk.
struct Live {
    engine: Engine<'static>,
    encoder: Encoder,
}

/// The render side of one listener's stream.
pub struct Stream {
    live: Mutex<Option<Box<Live>>>,
    pending: Mutex<Option<MusicalContext>>,
    seed: u64,
    sample_rate: auralis_core::SampleRate,
    context: MusicalContext,
    /// Parsed once for the whole server: a stream's engine takes it as
    /// it is, with no pass over the font.
    font: SoundFont<'static>,
    format: AudioFormat,
    owed: AtomicUsize,
    closed: AtomicBool,
    out: mpsc::Sender<Rendered>,
    /// Chunks rendered so far.
    rendered: AtomicU64,
    /// Chunks the consumer has taken off the channel so far (it says so
    /// through [`Stream::taken`]); rendered minus taken is what waits.
    taken: AtomicU64,
    /// Test hook: panic while rendering the third chunk (the
    /// `fault-injection` feature's `PANIC_SEED_VAR`).
    panic_on_purpose: bool,
}

/// Test-only fault injection (the `fault-injection` feature, which only
/// the host's own tests turn on): a stream whose seed equals this
/// variable's value (read when the pool starts) panics while rendering
/// its third chunk, so that tests can watch one stream fail alone.
#[cfg(feature = "fault-injection")]
pub const PANIC_SEED_VAR: &str = "AURALIS_TEST_RENDER_PANIC_SEED";

#[cfg(feature = "fault-injection")]
fn panic_seed() -> Option<u64> {
    static SEED: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| std::env::var(PANIC_SEED_VAR).ok()?.parse().ok())
}

/// Without the feature nothing is injected (and the variable is not read).
#[cfg(not(feature = "fault-injection"))]
fn panic_seed() -> Option<u64> {
    None
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("seed", &self.seed)
            .field("format", &self.format)
            .field("owed", &self.owed)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// A stream composing from `seed` in `context`, playing `font`, whose
    /// chunks go to `out` (its capacity bounds what waits). Opus formats
    /// render at 48 kHz whatever `sample_rate` says.
    pub fn new(
        seed: u64,
        sample_rate: auralis_core::SampleRate,
        context: MusicalContext,
        font: SoundFont<'static>,
        format: AudioFormat,
        out: mpsc::Sender<Rendered>,
    ) -> Arc<Self> {
        Arc::new(Self {
            live: Mutex::new(None),
            pending: Mutex::new(None),
            seed,
            sample_rate: if format.is_opus() {
                auralis_core::SampleRate::HZ_48000
            } else {
                sample_rate
            },
            context,
            font,
            format,
            owed: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            out,
            rendered: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            panic_on_purpose: panic_seed() == Some(seed),
        })
    }

    /// Asks for one more chunk.
    pub fn request(self: &Arc<Self>, pool: &RenderPool) {
        if self.owed.fetch_add(1, Ordering::AcqRel) == 0 {
            pool.submit(Arc::clone(self));
        }
    }

    /// The consumer took one chunk off the channel.
    pub fn taken(&self) {
        self.taken.fetch_add(1, Ordering::AcqRel);
    }

    /// Chunks rendered and not yet taken by the consumer.
    pub fn waiting(&self) -> u64 {
        self.rendered
            .load(Ordering::Acquire)
            .saturating_sub(self.taken.load(Ordering::Acquire))
    }

    /// New parameters for the next phrase boundary (the last call wins).
    pub fn set_context(&self, ctx: MusicalContext) {
        if let Ok(mut p) = self.pending.lock() {
            *p = Some(ctx);
        }
    }

    /// The listener left: render nothing more, free the engine.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut e) = self.live.try_lock() {
            *e = None;
        }
    }

    /// The engine and encoder for this stream's format.
    fn start(&self) -> Result<Box<Live>, String> {
        let ctx = self.context;
        let ogg = OggIdentity {
            // The serial number only has to differ between streams.
            serial: (self.seed ^ (self.seed >> 32)) as u32,
            tags: vec![
                "ARTIST=Auralis".to_string(),
                format!(
                    "TITLE=Auralis: {} {}, seed {}",
                    ctx.spelling().name(ctx.key_pc()),
                    ctx.mode().name(),
                    self.seed
                ),
            ],
        };
        let encoder = Encoder::new(Forms::only(self.format), &ogg).map_err(|e| e.to_string())?;
        // The engine (~300 KB) is made idle in its box and started there,
        // so no thread needs a stack that holds one.
        let mut live = Box::new(Live {
            engine: Engine::idle(),
            encoder,
        });
        live.engine
            .init_with_font(self.seed, self.sample_rate, self.context, self.font)
            .map_err(|e| e.to_string())?;
        Ok(live)
    }

    /// Renders one chunk into `scratch` and hands it to the consumer.
    fn render_one(&self, scratch: &mut AudioChunk, metrics: &Metrics) {
        let Ok(mut slot) = self.live.lock() else {
            return;
        };
        if self.closed.load(Ordering::Acquire) {
            *slot = None;
            return;
        }
        if slot.is_none() {
            match self.start() {
                Ok(live) => *slot = Some(live),
                Err(e) => {
                    let _ = self.out.try_send(Rendered::Failed(e));
                    self.closed.store(true, Ordering::Release);
                    return;
                }
            }
        }
        let Some(live) = slot.as_mut() else { return };
        if let Some(ctx) = self.pending.lock().ok().and_then(|mut p| p.take()) {
            live.engine.set_context(ctx);
        }
        if self.panic_on_purpose && self.rendered.load(Ordering::Relaxed) == 2 {
            panic!("injected render fault (fault-injection)");
        }
        let t = Instant::now();
        let info = live.engine.next_chunk(scratch);
        metrics.synthesis.record(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let chord = live.engine.chord();
        let context = live.engine.context();
        let encoded = match live.encoder.encode(scratch, info.params, chord, &context) {
            Ok(encoded) => encoded,
            Err(e) => {
                let _ = self.out.try_send(Rendered::Failed(e.to_string()));
                self.closed.store(true, Ordering::Release);
                *slot = None;
                return;
            }
        };
        if self.format.is_opus() {
            metrics.encode.record(t.elapsed().as_secs_f64() * 1e3);
        }
        let rendered = Rendered::Audio(encoded);
        let waiting = self.rendered.fetch_add(1, Ordering::AcqRel) + 1;
        metrics.note_ahead(waiting.saturating_sub(self.taken.load(Ordering::Acquire)));
        // Sent while the engine is locked, so chunks arrive in order.
        match self.out.try_send(rendered) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics.overflows.fetch_add(1, Ordering::Relaxed);
                self.rendered.fetch_sub(1, Ordering::AcqRel);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.closed.store(true, Ordering::Release);
                *slot = None;
            }
        }
    }
}

/// The render threads and their shared queue.
///
/// The threads end (within a second) once every handle to the pool is
/// dropped.
#[derive(Debug, Clone)]
pub struct RenderPool {
    queue: Sender<Arc<Stream>>,
    // Held only for its count: the threads end when the last pool handle goes.
    _alive: Arc<()>,
}

impl RenderPool {
    /// Starts `threads` render threads (at least one).
    pub fn start(threads: usize, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let (tx, rx) = crossbeam_channel::unbounded::<Arc<Stream>>();
        let alive = Arc::new(());
        for i in 0..threads.max(1) {
            let rx: Receiver<Arc<Stream>> = rx.clone();
            let requeue = tx.clone();
            let alive = Arc::downgrade(&alive);
            let metrics = Arc::clone(&metrics);
            std::thread::Builder::new()
                .name(format!("auralis-render-{i}"))
                .spawn(move || render_loop(&rx, &requeue, &alive, &metrics))?;
        }
        Ok(Self {
            queue: tx,
            _alive: alive,
        })
    }

    fn submit(&self, stream: Arc<Stream>) {
        let _ = self.queue.send(stream);
    }
}

fn render_loop(
    rx: &Receiver<Arc<Stream>>,
    requeue: &Sender<Arc<Stream>>,
    alive: &std::sync::Weak<()>,
    metrics: &Metrics,
) {
    let mut scratch = Box::new(AudioChunk::new());
    metrics.render_threads_alive.fetch_add(1, Ordering::Relaxed);
    // Counted down however the thread ends.
    struct Alive<'m>(&'m Metrics);
    impl Drop for Alive<'_> {
        fn drop(&mut self) {
            self.0.render_threads_alive.fetch_sub(1, Ordering::Relaxed);
        }
    }
    let _alive = Alive(metrics);
    loop {
        let stream = match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(s) => s,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if alive.strong_count() == 0 {
                    return;
                }
                continue;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        };
        // A panic ends this stream only: the session closes it with 1011,
        // and the thread renders the others. The engine's lock is
        // poisoned, so nothing renders from its half-updated state again.
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            stream.render_one(&mut scratch, metrics)
        }));
        if rendered.is_err() {
            metrics.render_panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                seed = stream.seed,
                "rendering a stream panicked: it is closed"
            );
            stream.closed.store(true, Ordering::Release);
            let _ = stream.out.try_send(Rendered::Panicked);
            continue;
        }
        // Owed more? Back to the end of the queue, so streams take turns.
        let more = stream.owed.fetch_sub(1, Ordering::AcqRel) > 1;
        if more && !stream.closed.load(Ordering::Acquire) {
            let _ = requeue.send(stream);
        }
    }
}
