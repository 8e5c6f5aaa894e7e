//! A listener's own stream, rendered just in time.
//!
//! The source asks the render pool for each chunk a margin before it is
//! due (the margin grows by twice the delay when a chunk comes late, and
//! shrinks by 50 µs a chunk while they come in time), and never has more
//! than [`Pacing::ahead`] chunks asked for and not yet handed out. A chunk
//! therefore waits tens of milliseconds on the server, not hundreds. The
//! first [`Pacing::lead`] chunks of a run (a start, or a resume) are due
//! at once, the rest one per 100 ms; when the render side is late the
//! schedule moves with it, so a slow render is never mistaken for a slow
//! listener.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use auralis_core::music::MusicalContext;
use hyper::body::Bytes;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::pool::{RenderPool, Rendered, Stream};
use super::{Chunk, Description, Ended, Next, Source};
use crate::metrics::Metrics;
use crate::wire::protocol::{self, AudioFormat, Refusal};

/// Length of one chunk.
pub const CHUNK: Duration = Duration::from_millis(100);

/// Pacing and limits of a listener's stream.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Chunks handed out at once when the stream starts (or resumes): how
    /// far ahead of real time the listener is kept (2 = 200 ms).
    pub lead: u64,
    /// Most chunks asked for (rendering or rendered) and not yet sent.
    pub ahead: usize,
    /// How long before its due time a chunk is first asked for; it adapts
    /// between [`Pacing::min_margin`] and [`Pacing::max_margin`].
    pub margin: Duration,
    /// The smallest margin.
    pub min_margin: Duration,
    /// The largest margin.
    pub max_margin: Duration,
    /// A send that takes longer than this ends the session.
    pub send_timeout: Duration,
    /// A stream this far behind its schedule is ended.
    pub max_behind: Duration,
    /// How often the server pings to measure the round trip.
    pub ping_every: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            lead: 2,
            ahead: 2,
            margin: Duration::from_millis(40),
            min_margin: Duration::from_millis(15),
            max_margin: Duration::from_millis(250),
            send_timeout: Duration::from_secs(2),
            max_behind: Duration::from_secs(3),
            ping_every: Duration::from_secs(5),
        }
    }
}

/// What a personal stream plays.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The composition's seed.
    pub seed: u64,
    /// Output sample rate (Opus formats always run at 48 kHz).
    pub sample_rate: auralis_core::SampleRate,
    /// The form its chunks are encoded in.
    pub format: AudioFormat,
    /// The SoundFont played, parsed once for the whole server.
    pub font: auralis_core::synth::SoundFont<'static>,
    /// Starting parameters.
    pub context: MusicalContext,
    /// Pacing and limits.
    pub pacing: Pacing,
    /// Start paused: render nothing until [`Source::resume`].
    pub paused: bool,
}

/// One listener's just-in-time stream.
#[derive(Debug)]
pub struct Personal {
    plan: Plan,
    stream: Arc<Stream>,
    rx: mpsc::Receiver<Rendered>,
    pool: RenderPool,
    metrics: Arc<Metrics>,
    /// The parameters last asked for.
    requested: MusicalContext,
    paused: bool,
    /// Chunk index (counted from 0 as they leave the channel) of the first
    /// chunk of the current run; earlier ones are stale and dropped.
    run_first: u64,
    /// When the current run started (its first `lead` chunks are due then).
    run_start: Instant,
    /// Chunks asked of the render pool so far.
    asked: u64,
    /// Chunks taken off the channel so far.
    taken: u64,
    /// How long before its due time a chunk is asked for.
    margin: Duration,
    /// A chunk was due and not ready: the next one that comes is taken at
    /// once.
    waiting: bool,
    /// Chunks waiting in this stream's channel, as last added to the
    /// server-wide total.
    depth: usize,
    /// `params` and `now_playing` messages of dropped stale chunks, sent
    /// before the next chunk that goes out.
    carried: Vec<String>,
}

impl Personal {
    /// A stream rendered by `pool`, counted in `metrics`.
    pub fn new(plan: Plan, pool: RenderPool, metrics: Arc<Metrics>) -> Self {
        let (tx, rx) = mpsc::channel(plan.pacing.ahead.max(1) + 1);
        let stream = Stream::new(
            plan.seed,
            plan.sample_rate,
            plan.context,
            plan.font,
            plan.format,
            tx,
        );
        if plan.paused {
            metrics.paused.fetch_add(1, Relaxed);
        }
        Self {
            plan,
            stream,
            rx,
            pool,
            metrics,
            requested: plan.context,
            paused: plan.paused,
            run_first: 0,
            run_start: Instant::now(),
            asked: 0,
            taken: 0,
            margin: plan.pacing.margin,
            waiting: false,
            depth: 0,
            carried: Vec::new(),
        }
    }

    /// When chunk `index` (counted as chunks leave the channel) is due:
    /// the first `lead` of a run at once, then one per 100 ms.
    fn due(&self, index: u64) -> Instant {
        let lead = self.plan.pacing.lead.max(1);
        let k = index
            .saturating_sub(self.run_first)
            .saturating_sub(lead - 1);
        self.run_start + CHUNK * u32::try_from(k).unwrap_or(u32::MAX)
    }

    /// Keeps the server-wide count of rendered chunks waiting current.
    fn note_depth(&mut self) {
        let depth = self.rx.len();
        let (new, old) = (depth as i64, self.depth as i64);
        self.metrics.buffered.fetch_add(new - old, Relaxed);
        self.depth = depth;
    }

    /// Takes a chunk asked for before a pause and drops it, keeping what
    /// it announced for the next chunk that goes out.
    fn drop_stale(&mut self, r: Rendered) -> Option<Ended> {
        self.taken += 1;
        self.stream.taken();
        match r {
            Rendered::Audio(e) => {
                if let Some(ctx) = e.params {
                    self.carried.push(protocol::params_message(&ctx, e.seq));
                }
                if let Some(m) = e.now_playing {
                    self.carried.push(m.to_string());
                }
                None
            }
            Rendered::Failed(e) => Some(Ended::Failed(e)),
            Rendered::Panicked => Some(Ended::Panicked),
        }
    }

    /// Hands out a chunk taken off the channel (`None`: the render side
    /// is gone).
    fn deliver(&mut self, r: Option<Rendered>, due: Instant, recovered: bool) -> Next {
        let Some(r) = r else {
            return Next::End(Ended::Failed("the stream's renderer stopped".into()));
        };
        self.taken += 1;
        self.stream.taken();
        match r {
            Rendered::Failed(e) => Next::End(Ended::Failed(e)),
            Rendered::Panicked => Next::End(Ended::Panicked),
            Rendered::Audio(_) if Instant::now() > due + self.plan.pacing.max_behind => {
                Next::End(Ended::TooSlow)
            }
            Rendered::Audio(e) => Next::Chunk {
                chunk: Chunk::Own(e),
                before: std::mem::take(&mut self.carried),
                recovered,
            },
        }
    }

    /// One step: asks, drops a stale chunk, or hands out the next one.
    /// `None` when it only did the first two.
    async fn step(&mut self) -> Option<Next> {
        let pacing = self.plan.pacing;
        // Stale chunks (asked for before a pause) are taken and dropped as
        // soon as they come.
        let draining = self.paused || self.taken < self.run_first;
        let due = self.due(self.taken);
        let may_ask = !self.paused && self.asked < self.taken + pacing.ahead.max(1) as u64;
        let ask_at = self
            .due(self.asked)
            .checked_sub(self.margin)
            .unwrap_or(self.run_start);
        let waiting = self.waiting;
        tokio::select! {
            biased;
            _ = sleep_until(ask_at), if may_ask => {
                self.stream.request(&self.pool);
                self.asked += 1;
                None
            }
            r = self.rx.recv(), if draining || waiting => match r {
                Some(r) if draining => self.drop_stale(r).map(Next::End),
                r => {
                    self.waiting = false;
                    // The render side was late: the schedule moves with
                    // it, and chunks are asked for earlier from now on.
                    let now = Instant::now();
                    let late = now.saturating_duration_since(due);
                    self.run_start += late;
                    self.margin = (self.margin + 2 * late + Duration::from_millis(5))
                        .clamp(pacing.min_margin, pacing.max_margin);
                    Some(self.deliver(r, now, true))
                }
            },
            _ = sleep_until(due), if !waiting && !draining => match self.rx.try_recv() {
                Ok(r) => {
                    // In time: ask a little later next time (slowly: a
                    // server under load stays safe once it learnt).
                    self.margin = self
                        .margin
                        .saturating_sub(Duration::from_micros(50))
                        .max(pacing.min_margin);
                    Some(self.deliver(Some(r), due, false))
                }
                Err(mpsc::error::TryRecvError::Empty) => {
                    self.waiting = true;
                    // The chunks of a start still rendering are a start,
                    // not an underrun.
                    (self.taken - self.run_first >= pacing.lead).then(|| {
                        self.metrics.underruns.fetch_add(1, Relaxed);
                        Next::Late
                    })
                }
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    Some(self.deliver(None, due, false))
                }
            },
        }
    }
}

impl Source for Personal {
    fn describe(&self) -> Description<'_> {
        Description {
            seed: self.plan.seed,
            sample_rate: self.plan.sample_rate.hz(),
            context: self.plan.context,
            station: None,
        }
    }

    fn preamble(&self) -> Option<Bytes> {
        // The first chunk's Ogg page carries the headers.
        None
    }

    async fn next(&mut self) -> Next {
        loop {
            // Every state change happens after an await has finished, so
            // a call dropped at an await loses nothing.
            let next = self.step().await;
            self.note_depth();
            if let Some(next) = next {
                return next;
            }
        }
    }

    fn pause(&mut self) -> bool {
        if self.paused {
            return false;
        }
        self.paused = true;
        self.metrics.paused.fetch_add(1, Relaxed);
        true
    }

    fn resume(&mut self) -> bool {
        if !self.paused {
            return false;
        }
        self.paused = false;
        self.metrics.paused.fetch_sub(1, Relaxed);
        // A new run starts now, with its lead; whatever was asked for
        // before is dropped.
        self.run_first = self.asked;
        self.run_start = Instant::now();
        self.waiting = false;
        true
    }

    fn paused(&self) -> bool {
        self.paused
    }

    fn context(&self) -> MusicalContext {
        self.requested
    }

    fn set_context(&mut self, ctx: MusicalContext) -> Result<(), Refusal> {
        self.requested = ctx;
        self.stream.set_context(ctx);
        Ok(())
    }

    fn depth(&self) -> usize {
        self.depth
    }

    fn measures_latency(&self) -> bool {
        true
    }
}

impl Drop for Personal {
    fn drop(&mut self) {
        if self.paused {
            self.metrics.paused.fetch_sub(1, Relaxed);
        }
        self.metrics.buffered.fetch_sub(self.depth as i64, Relaxed);
        self.stream.close();
    }
}
