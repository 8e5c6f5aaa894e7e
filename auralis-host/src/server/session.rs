//! One listener's WebSocket session: `welcome`, then audio paced in real
//! time, rendered just in time, while client messages are answered.
//!
//! Just in time: the session asks the render pool for each chunk a margin
//! before it is due (the margin grows by twice the delay when a chunk
//! comes late, and shrinks by 50 µs a chunk while they come in time), and never has more than
//! [`Pacing::ahead`] chunks asked for and not yet sent. A chunk therefore
//! waits tens of milliseconds on the server, not hundreds.
//!
//! Generic over any `Sink + Stream` of tungstenite messages, so the same
//! code runs over a real socket and in unit tests.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use auralis_core::music::MusicalContext;
use futures_util::{Sink, SinkExt, Stream as FStream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::metrics::Metrics;
use super::protocol::{self, AudioFormat, Request};
use super::render::{Payload, RenderPool, Rendered, Stream};

/// What the status says while paused.
const PAUSED_TEXT: &str = "paused: press Play to listen";

/// Length of one chunk.
pub const CHUNK: Duration = Duration::from_millis(100);

/// Pacing and limits of a session.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Chunks sent at once when the stream starts (or resumes): how far
    /// ahead of real time the client is kept (2 = 200 ms).
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
    /// A session this far behind its schedule is ended.
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

/// Everything one session needs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The id sent in `welcome`.
    pub client_id: String,
    /// The composition's seed.
    pub seed: u64,
    /// Output sample rate.
    pub sample_rate: auralis_core::SampleRate,
    /// Audio framing.
    pub format: AudioFormat,
    /// The SoundFont played.
    pub font: auralis_core::synth::SoundFont<'static>,
    /// Starting parameters.
    pub context: MusicalContext,
    /// Pacing and limits.
    pub pacing: Pacing,
    /// Start paused: render and send nothing until the client says
    /// `resume` (a page whose browser blocked autoplay).
    pub paused: bool,
}

/// Why a session ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum End {
    /// The client closed or the connection dropped.
    ClientGone,
    /// The server is shutting down.
    Shutdown,
    /// The client could not keep up.
    TooSlow,
    /// The client sent a frame over the size limit.
    Oversized,
    /// The engine could not be made.
    EngineFailed,
    /// Rendering the stream panicked (closed with 1011).
    RenderPanic,
    /// The client broke the WebSocket protocol (closed with 1002).
    ProtocolError,
    /// The client sent text that is not UTF-8 (closed with 1007).
    InvalidText,
}

struct Session<'a, S> {
    ws: S,
    cfg: &'a SessionConfig,
    metrics: &'a Metrics,
    requested: MusicalContext,
    rendered_at: VecDeque<(u64, Instant)>,
    rtt_ms: Option<f64>,
    ping_sent: Option<(u64, Instant)>,
    pings: u64,
    /// Chunks waiting in this stream's ring, as last added to the
    /// server-wide total.
    depth: usize,
    /// The newest chunk a `report` measured: older ones are ignored.
    reported: Option<u64>,
    /// Paused by the listener.
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
    /// A `params` or `now_playing` message of a dropped stale chunk, sent
    /// with the next chunk that goes out.
    carried: Vec<String>,
}

/// Runs a session to its end and says why it ended.
pub async fn run<S>(
    ws: S,
    cfg: SessionConfig,
    pool: RenderPool,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) -> End
where
    S: FStream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    let (tx, mut rx) = mpsc::channel(cfg.pacing.ahead.max(1) + 1);
    let stream = Stream::new(
        cfg.seed,
        cfg.sample_rate,
        cfg.context,
        cfg.font,
        cfg.format,
        tx,
    );
    if cfg.paused {
        metrics.paused.fetch_add(1, Relaxed);
    }
    let mut s = Session {
        ws,
        cfg: &cfg,
        metrics: &metrics,
        requested: cfg.context,
        rendered_at: VecDeque::with_capacity(64),
        rtt_ms: None,
        ping_sent: None,
        pings: 0,
        depth: 0,
        reported: None,
        paused: cfg.paused,
        run_first: 0,
        run_start: Instant::now(),
        asked: 0,
        taken: 0,
        margin: cfg.pacing.margin,
        carried: Vec::new(),
    };
    let welcome = protocol::welcome(
        &cfg.client_id,
        cfg.seed,
        cfg.sample_rate.hz(),
        cfg.format,
        &cfg.context,
    );
    let first_status = if cfg.paused {
        protocol::status("paused", PAUSED_TEXT, 0)
    } else {
        protocol::status("connected", "streaming", 0)
    };
    let end = if s.send(Message::text(welcome)).await.is_err()
        || s.send(Message::text(first_status)).await.is_err()
    {
        End::ClientGone
    } else {
        s.stream_loop(&stream, &pool, &mut rx, &mut shutdown).await
    };
    if s.paused {
        metrics.paused.fetch_sub(1, Relaxed);
    }
    s.note_depth(0);
    stream.close();
    drop(rx);
    if end == End::TooSlow {
        metrics.slow_disconnects.fetch_add(1, Relaxed);
    }
    end
}

impl<S> Session<'_, S>
where
    S: FStream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    /// Keeps the server-wide count of rendered chunks waiting current.
    fn note_depth(&mut self, depth: usize) {
        let (new, old) = (depth as i64, self.depth as i64);
        self.metrics.buffered.fetch_add(new - old, Relaxed);
        self.depth = depth;
    }

    async fn send(&mut self, m: Message) -> Result<(), End> {
        match timeout(self.cfg.pacing.send_timeout, self.ws.send(m)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::ClientGone),
            Err(_) => Err(End::TooSlow),
        }
    }

    async fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if timeout(
            Duration::from_millis(500),
            self.ws.send(Message::Close(Some(frame))),
        )
        .await
        .is_ok()
        {
            // Wait briefly for the client's close reply: a clean handshake.
            let _ = timeout(Duration::from_millis(500), async {
                while let Some(Ok(m)) = self.ws.next().await {
                    if m.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// When chunk `index` (counted as chunks leave the channel) is due to
    /// be sent: the first `lead` of a run at once, then one per 100 ms.
    fn due(&self, index: u64) -> Instant {
        let lead = self.cfg.pacing.lead.max(1);
        let k = index
            .saturating_sub(self.run_first)
            .saturating_sub(lead - 1);
        self.run_start + CHUNK * u32::try_from(k).unwrap_or(u32::MAX)
    }

    async fn stream_loop(
        &mut self,
        stream: &Arc<Stream>,
        pool: &RenderPool,
        rx: &mut mpsc::Receiver<Rendered>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> End {
        let pacing = self.cfg.pacing;
        self.run_start = Instant::now();
        let mut waiting = false;
        let mut ping =
            tokio::time::interval_at(self.run_start + pacing.ping_every, pacing.ping_every);
        loop {
            // Stale chunks (asked for before a pause) are taken and dropped
            // as soon as they come.
            let draining = self.paused || self.taken < self.run_first;
            let due = self.due(self.taken);
            let may_ask = !self.paused && self.asked < self.taken + pacing.ahead.max(1) as u64;
            let ask_at = self
                .due(self.asked)
                .checked_sub(self.margin)
                .unwrap_or(self.run_start);
            let result: Result<(), End> = tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    self.close(CloseCode::Away, "server shutting down").await;
                    return End::Shutdown;
                }
                incoming = self.ws.next() => self.incoming(incoming, stream).await,
                _ = sleep_until(ask_at), if may_ask => {
                    stream.request(pool);
                    self.asked += 1;
                    Ok(())
                }
                r = rx.recv(), if draining || waiting => match r {
                    Some(r) if draining => self.drop_stale(r, stream),
                    r => {
                        waiting = false;
                        // The render side was late: the schedule moves
                        // with it, so a slow render is never mistaken for
                        // a slow client, and chunks are asked for earlier
                        // from now on.
                        let now = Instant::now();
                        let late = now.saturating_duration_since(due);
                        self.run_start += late;
                        self.margin = (self.margin + 2 * late + Duration::from_millis(5))
                            .clamp(pacing.min_margin, pacing.max_margin);
                        self.deliver(r, now, stream, true).await
                    }
                },
                _ = sleep_until(due), if !waiting && !draining => match rx.try_recv() {
                    Ok(r) => {
                        // In time: ask a little later next time (slowly:
                        // a server under load stays safe once it learnt).
                        self.margin = self
                            .margin
                            .saturating_sub(Duration::from_micros(50))
                            .max(pacing.min_margin);
                        self.deliver(Some(r), due, stream, false).await
                    }
                    Err(mpsc::error::TryRecvError::Empty)
                        if self.taken - self.run_first < pacing.lead =>
                    {
                        // The chunks of a start are still rendering: that
                        // is a start, not an underrun.
                        waiting = true;
                        Ok(())
                    }
                    Err(mpsc::error::TryRecvError::Empty) => {
                        waiting = true;
                        self.metrics.underruns.fetch_add(1, Relaxed);
                        self.send(Message::text(protocol::status("buffering", "a chunk was late", 0))).await
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => Err(End::EngineFailed),
                },
                _ = ping.tick() => {
                    self.pings += 1;
                    self.ping_sent = Some((self.pings, Instant::now()));
                    self.send(Message::Ping(self.pings.to_le_bytes().to_vec().into())).await
                }
            };
            self.note_depth(rx.len());
            match result {
                Ok(()) => {}
                Err(End::Oversized) => {
                    self.close(CloseCode::Size, "frame too large").await;
                    return End::Oversized;
                }
                Err(End::TooSlow) => {
                    self.close(CloseCode::Policy, "client too slow").await;
                    return End::TooSlow;
                }
                Err(End::RenderPanic) => {
                    self.close(CloseCode::Error, "internal error").await;
                    return End::RenderPanic;
                }
                Err(End::ProtocolError) => {
                    self.close(CloseCode::Protocol, "protocol error").await;
                    return End::ProtocolError;
                }
                Err(End::InvalidText) => {
                    self.close(CloseCode::Invalid, "text is not UTF-8").await;
                    return End::InvalidText;
                }
                Err(end) => return end,
            }
        }
    }

    /// Takes a chunk asked for before a pause and drops it, keeping what
    /// it announced for the next chunk that is sent.
    fn drop_stale(&mut self, r: Rendered, stream: &Arc<Stream>) -> Result<(), End> {
        self.taken += 1;
        stream.taken();
        match r {
            Rendered::Audio {
                seq,
                params,
                now_playing,
                ..
            } => {
                if let Some(ctx) = params {
                    self.carried.push(protocol::params_message(&ctx, seq));
                }
                if let Some(m) = now_playing {
                    self.carried.push(m);
                }
                Ok(())
            }
            Rendered::Failed(_) => Err(End::EngineFailed),
            Rendered::Panicked => Err(End::RenderPanic),
        }
    }

    async fn deliver(
        &mut self,
        r: Option<Rendered>,
        due: Instant,
        stream: &Arc<Stream>,
        recovered: bool,
    ) -> Result<(), End> {
        let Some(r) = r else {
            return Err(End::EngineFailed);
        };
        self.taken += 1;
        stream.taken();
        match r {
            Rendered::Failed(e) => {
                let text = protocol::error("SOUNDFONT_LOAD_FAILED", &e, false);
                let _ = self.send(Message::text(text)).await;
                Err(End::EngineFailed)
            }
            Rendered::Panicked => {
                let text = protocol::error(
                    "INTERNAL_ERROR",
                    "this stream failed on the server and was closed; reconnect for a new one",
                    false,
                );
                let _ = self.send(Message::text(text)).await;
                Err(End::RenderPanic)
            }
            Rendered::Audio {
                seq,
                payload,
                params,
                now_playing,
                at,
            } => {
                if Instant::now() > due + self.cfg.pacing.max_behind {
                    return Err(End::TooSlow);
                }
                // Carried messages first, then this chunk's own (a carried
                // `params` is older than this chunk's).
                let carried = std::mem::take(&mut self.carried);
                for m in carried {
                    self.send(Message::text(m)).await?;
                }
                if let Some(ctx) = params {
                    self.send(Message::text(protocol::params_message(&ctx, seq)))
                        .await?;
                }
                if let Some(m) = now_playing {
                    self.send(Message::text(m)).await?;
                }
                if recovered {
                    let status = protocol::status("connected", "streaming", self.depth);
                    self.send(Message::text(status)).await?;
                }
                let bytes = payload.len() as u64;
                let message = match payload {
                    Payload::Text(t) => Message::text(t),
                    Payload::Binary(b) => Message::binary(b),
                };
                let t = Instant::now();
                self.send(message).await?;
                self.metrics.send.record(t.elapsed().as_secs_f64() * 1e3);
                self.metrics.chunks_sent.fetch_add(1, Relaxed);
                self.metrics.bytes_out.fetch_add(bytes, Relaxed);
                if self.rendered_at.len() == self.rendered_at.capacity() {
                    self.rendered_at.pop_front();
                }
                self.rendered_at.push_back((seq, Instant::from_std(at)));
                Ok(())
            }
        }
    }

    /// The listener paused: nothing more is asked for or sent.
    async fn pause(&mut self) -> Result<(), End> {
        if self.paused {
            return Ok(());
        }
        self.paused = true;
        self.metrics.paused.fetch_add(1, Relaxed);
        self.send(Message::text(protocol::status("paused", PAUSED_TEXT, 0)))
            .await
    }

    /// The listener pressed Play: a new run starts now, with its lead, and
    /// whatever was asked for before is dropped.
    async fn resume(&mut self) -> Result<(), End> {
        if !self.paused {
            return Ok(());
        }
        self.paused = false;
        self.metrics.paused.fetch_sub(1, Relaxed);
        self.run_first = self.asked;
        self.run_start = Instant::now();
        self.send(Message::text(protocol::status("connected", "streaming", 0)))
            .await
    }

    async fn incoming(
        &mut self,
        incoming: Option<Result<Message, WsError>>,
        stream: &Arc<Stream>,
    ) -> Result<(), End> {
        let text = match incoming {
            None | Some(Ok(Message::Close(_))) => return Err(End::ClientGone),
            Some(Err(WsError::Capacity(_))) => return Err(End::Oversized),
            Some(Err(WsError::Utf8(_))) => return Err(End::InvalidText),
            Some(Err(WsError::Protocol(_))) => return Err(End::ProtocolError),
            Some(Err(_)) => return Err(End::ClientGone),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Pong(p))) => {
                if let Some((n, at)) = self.ping_sent {
                    if p.as_ref() == n.to_le_bytes() {
                        let ms = at.elapsed().as_secs_f64() * 1e3;
                        self.rtt_ms = Some(ms);
                        self.metrics.network.record(ms);
                        self.ping_sent = None;
                    }
                }
                return Ok(());
            }
            Some(Ok(Message::Ping(_) | Message::Frame(_))) => return Ok(()),
            Some(Ok(Message::Binary(_))) => {
                return self
                    .refuse(
                        "INVALID_MESSAGE",
                        "binary frames are not understood: send JSON text",
                    )
                    .await
            }
        };
        match protocol::parse_request(&text, &self.requested) {
            Err(refusal) => self.refuse(refusal.code, &refusal.message).await,
            Ok(Request::Params(ctx)) => {
                self.requested = ctx;
                stream.set_context(ctx);
                Ok(())
            }
            Ok(Request::Preset(p)) => {
                let ctx = self.requested.with_preset(p);
                self.requested = ctx;
                stream.set_context(ctx);
                Ok(())
            }
            Ok(Request::Ping(ts)) => self.send(Message::text(protocol::pong(ts))).await,
            Ok(Request::Pause) => self.pause().await,
            Ok(Request::Resume) => self.resume().await,
            Ok(Request::Report { seq, .. }) => {
                // A report of an older chunk than one already measured (a
                // player that re-sends, or a stale queue) says nothing new.
                if self.reported.is_some_and(|r| seq <= r) {
                    return Ok(());
                }
                self.reported = Some(seq);
                if let Some(&(_, at)) = self.rendered_at.iter().find(|(s, _)| *s == seq) {
                    let one_way = self.rtt_ms.unwrap_or(0.0) / 2.0;
                    let ms = (at.elapsed().as_secs_f64() * 1e3 - one_way).max(0.0);
                    self.metrics.end_to_end.record(ms);
                }
                Ok(())
            }
        }
    }

    async fn refuse(&mut self, code: &str, message: &str) -> Result<(), End> {
        self.metrics.invalid_messages.fetch_add(1, Relaxed);
        self.send(Message::text(protocol::error(code, message, true)))
            .await
    }
}
