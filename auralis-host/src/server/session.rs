//! One listener's WebSocket session: `welcome`, then audio paced in real
//! time a few chunks ahead, while client messages are answered.
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
use super::render::{RenderPool, Rendered, Stream};

/// Length of one chunk.
pub const CHUNK: Duration = Duration::from_millis(100);

/// Pacing and limits of a session.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Chunks sent at once on connect: how far ahead of real time the
    /// client is kept (3 = 300 ms).
    pub lead: u64,
    /// Chunks rendered ahead and waiting in the stream's ring.
    pub ahead: usize,
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
            lead: 3,
            ahead: 6,
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
    pub sample_rate: u32,
    /// Audio framing.
    pub format: AudioFormat,
    /// The SoundFont played.
    pub font: &'static [u8],
    /// Starting parameters.
    pub context: MusicalContext,
    /// Pacing and limits.
    pub pacing: Pacing,
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
    let (tx, mut rx) = mpsc::channel(cfg.pacing.ahead.max(1));
    let stream = Stream::new(
        cfg.seed,
        cfg.sample_rate,
        cfg.context,
        cfg.font,
        cfg.format,
        tx,
    );
    for _ in 0..cfg.pacing.ahead.max(1) {
        stream.request(&pool);
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
    };
    let welcome = protocol::welcome(
        &cfg.client_id,
        cfg.seed,
        cfg.sample_rate,
        cfg.format,
        &cfg.context,
    );
    let end = if s.send(Message::text(welcome)).await.is_err()
        || s.send(Message::text(protocol::status("connected", "streaming", 0)))
            .await
            .is_err()
    {
        End::ClientGone
    } else {
        s.stream_loop(&stream, &pool, &mut rx, &mut shutdown).await
    };
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

    async fn stream_loop(
        &mut self,
        stream: &Arc<Stream>,
        pool: &RenderPool,
        rx: &mut mpsc::Receiver<Rendered>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> End {
        let pacing = self.cfg.pacing;
        let mut start = Instant::now();
        let mut next: u64 = 0;
        let mut waiting = false;
        let mut ping = tokio::time::interval_at(start + pacing.ping_every, pacing.ping_every);
        loop {
            // The first `lead` chunks go at once, then one per 100 ms.
            let due = start
                + CHUNK
                    * u32::try_from(next.saturating_sub(pacing.lead.saturating_sub(1)))
                        .unwrap_or(u32::MAX);
            let result: Result<(), End> = tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    self.close(CloseCode::Away, "server shutting down").await;
                    return End::Shutdown;
                }
                incoming = self.ws.next() => self.incoming(incoming, stream).await,
                r = rx.recv(), if waiting => {
                    waiting = false;
                    // The render side was late: the schedule moves with it,
                    // so a slow render is never mistaken for a slow client.
                    let now = Instant::now();
                    start += now.saturating_duration_since(due);
                    self.deliver(r, now, stream, pool, &mut next, true).await
                }
                _ = sleep_until(due), if !waiting => match rx.try_recv() {
                    Ok(r) => self.deliver(Some(r), due, stream, pool, &mut next, false).await,
                    Err(mpsc::error::TryRecvError::Empty) if next < pacing.lead => {
                        // The chunks of the start are still rendering: that
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

    async fn deliver(
        &mut self,
        r: Option<Rendered>,
        due: Instant,
        stream: &Arc<Stream>,
        pool: &RenderPool,
        next: &mut u64,
        recovered: bool,
    ) -> Result<(), End> {
        let Some(r) = r else {
            return Err(End::EngineFailed);
        };
        match r {
            Rendered::Failed(e) => {
                let text = protocol::error("SOUNDFONT_LOAD_FAILED", &e.to_string(), false);
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
                message,
                params,
                at,
            } => {
                if Instant::now() > due + self.cfg.pacing.max_behind {
                    return Err(End::TooSlow);
                }
                if let Some(ctx) = params {
                    self.send(Message::text(protocol::params_message(&ctx, seq)))
                        .await?;
                }
                if recovered {
                    let status = protocol::status("connected", "streaming", self.depth);
                    self.send(Message::text(status)).await?;
                }
                let t = Instant::now();
                self.send(message).await?;
                self.metrics.send.record(t.elapsed().as_secs_f64() * 1e3);
                self.metrics.chunks_sent.fetch_add(1, Relaxed);
                if self.rendered_at.len() == self.rendered_at.capacity() {
                    self.rendered_at.pop_front();
                }
                self.rendered_at.push_back((seq, Instant::from_std(at)));
                *next += 1;
                stream.request(pool);
                Ok(())
            }
        }
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
