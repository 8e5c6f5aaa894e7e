//! A listener's WebSocket session over any [`Source`]: `welcome`, then
//! each chunk when its source says it is due (with the `params`,
//! `now_playing` and `status` messages that go before it), while the
//! listener's messages are answered and pings measure the round trip.
//!
//! Generic over any `Sink + Stream` of tungstenite messages, so the same
//! code runs over a real socket and in unit tests. Every send is bounded
//! by the send timeout; a listener that cannot take a message in time is
//! closed with 1008 and counted as too slow.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::End;
use crate::metrics::Metrics;
use crate::source::{Chunk, Ended, Next, Source};
use crate::wire::protocol::{self, AudioFormat, Request};
use crate::wire::Payload;

/// What the status says while paused.
const PAUSED_TEXT: &str = "paused: press Play to listen";

/// A session's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The id sent in `welcome`.
    pub client_id: String,
    /// The form audio is sent in.
    pub format: AudioFormat,
    /// A send that takes longer than this ends the session.
    pub send_timeout: Duration,
    /// How often the server pings to measure the round trip.
    pub ping_every: Duration,
}

/// Runs a session over `ws` until it ends, and says why.
pub async fn run<W, S>(
    ws: W,
    source: S,
    settings: &Settings,
    metrics: &Metrics,
    shutdown: watch::Receiver<bool>,
) -> End
where
    W: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
    S: Source,
{
    let mut session = Session {
        ws,
        source,
        settings,
        metrics,
        rendered_at: VecDeque::with_capacity(64),
        rtt_ms: None,
        ping_sent: None,
        pings: 0,
        reported: None,
    };
    let end = match session.start().await {
        Ok(()) => session.serve(shutdown).await,
        Err(end) => end,
    };
    if end == End::TooSlow {
        metrics.slow_disconnects.fetch_add(1, Relaxed);
    }
    end
}

struct Session<'a, W, S> {
    ws: W,
    source: S,
    settings: &'a Settings,
    metrics: &'a Metrics,
    /// When the chunks sent lately were rendered, for `report`.
    rendered_at: VecDeque<(u64, Instant)>,
    rtt_ms: Option<f64>,
    ping_sent: Option<(u64, Instant)>,
    pings: u64,
    /// The newest chunk a `report` measured: older ones are ignored.
    reported: Option<u64>,
}

impl<W, S> Session<'_, W, S>
where
    W: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
    S: Source,
{
    async fn send(&mut self, m: Message) -> Result<(), End> {
        match timeout(self.settings.send_timeout, self.ws.send(m)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::ClientGone),
            Err(_) => Err(End::TooSlow),
        }
    }

    async fn send_text(&mut self, text: String) -> Result<(), End> {
        self.send(Message::text(text)).await
    }

    /// `welcome`, then the first `status`.
    async fn start(&mut self) -> Result<(), End> {
        let d = self.source.describe();
        let welcome = protocol::welcome(
            &self.settings.client_id,
            d.seed,
            d.sample_rate,
            self.settings.format,
            &d.context,
            d.station,
        );
        self.send_text(welcome).await?;
        let status = if self.source.paused() {
            protocol::status("paused", PAUSED_TEXT, 0)
        } else {
            protocol::status("connected", "streaming", 0)
        };
        self.send_text(status).await
    }

    async fn serve(&mut self, mut shutdown: watch::Receiver<bool>) -> End {
        let every = self.settings.ping_every;
        let mut ping = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            let result = tokio::select! {
                biased;
                _ = shutdown.changed() => Err(End::Shutdown),
                incoming = self.ws.next() => self.incoming(incoming).await,
                next = self.source.next() => self.next(next).await,
                _ = ping.tick() => {
                    self.pings += 1;
                    self.ping_sent = Some((self.pings, Instant::now()));
                    self.send(Message::Ping(self.pings.to_le_bytes().to_vec().into())).await
                }
            };
            if let Err(end) = result {
                self.close(end).await;
                return end;
            }
        }
    }

    /// Closes the connection as `end` asks (with no close frame when the
    /// listener is gone or never got a stream).
    async fn close(&mut self, end: End) {
        let (code, reason) = match end {
            End::ClientGone | End::EngineFailed => return,
            End::Shutdown | End::SourceStopped => (CloseCode::Away, "server shutting down"),
            End::Oversized => (CloseCode::Size, "frame too large"),
            End::TooSlow => (CloseCode::Policy, "client too slow"),
            End::RenderPanic => (CloseCode::Error, "internal error"),
            End::ProtocolError => (CloseCode::Protocol, "protocol error"),
            End::InvalidText => (CloseCode::Invalid, "text is not UTF-8"),
        };
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let sent = timeout(
            Duration::from_millis(500),
            self.ws.send(Message::Close(Some(frame))),
        )
        .await;
        if sent.is_ok() {
            // Wait briefly for the listener's close reply: a clean
            // handshake.
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

    /// Sends what the source has next.
    async fn next(&mut self, next: Next) -> Result<(), End> {
        match next {
            Next::Chunk {
                chunk,
                before,
                recovered,
            } => self.chunk(chunk, before, recovered).await,
            Next::Late => {
                let status = protocol::status("buffering", "a chunk was late", 0);
                self.send_text(status).await
            }
            Next::End(Ended::Failed(e)) => {
                let _ = self
                    .send_text(protocol::error("SOUNDFONT_LOAD_FAILED", &e, false))
                    .await;
                Err(End::EngineFailed)
            }
            Next::End(Ended::Panicked) => {
                let text = protocol::error(
                    "INTERNAL_ERROR",
                    "this stream failed on the server and was closed; reconnect for a new one",
                    false,
                );
                let _ = self.send_text(text).await;
                Err(End::RenderPanic)
            }
            Next::End(ended) => Err(End::from(&ended)),
        }
    }

    /// One chunk: what goes before it, then its audio.
    async fn chunk(
        &mut self,
        chunk: Chunk,
        before: Vec<String>,
        recovered: bool,
    ) -> Result<(), End> {
        // Carried messages first, then this chunk's own (a carried
        // `params` is older than this chunk's).
        for m in before {
            self.send_text(m).await?;
        }
        if let Some(ctx) = chunk.params {
            self.send_text(protocol::params_message(&ctx, chunk.seq))
                .await?;
        }
        if let Some(m) = &chunk.now_playing {
            self.send(Message::Text(m.clone())).await?;
        }
        if recovered {
            let depth = self.source.depth();
            self.send_text(protocol::status("connected", "streaming", depth))
                .await?;
        }
        let Some(audio) = chunk.audio(self.settings.format) else {
            return Ok(());
        };
        let bytes = audio.len() as u64;
        let message = match audio {
            Payload::Text(t) => Message::Text(t),
            Payload::Binary(b) => Message::Binary(b),
        };
        let t = Instant::now();
        self.send(message).await?;
        self.metrics.send.record(t.elapsed().as_secs_f64() * 1e3);
        self.metrics.chunks_sent.fetch_add(1, Relaxed);
        self.metrics.bytes_out.fetch_add(bytes, Relaxed);
        if self.rendered_at.len() == self.rendered_at.capacity() {
            self.rendered_at.pop_front();
        }
        self.rendered_at
            .push_back((chunk.seq, Instant::from_std(chunk.at)));
        Ok(())
    }

    async fn incoming(&mut self, incoming: Option<Result<Message, WsError>>) -> Result<(), End> {
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
        let request = match protocol::parse_request(&text, &self.source.context()) {
            Ok(r) => r,
            Err(refusal) => return self.refuse(refusal.code, &refusal.message).await,
        };
        match request {
            Request::Params(ctx) => self.set_context(ctx).await,
            Request::Preset(p) => self.set_context(self.source.context().with_preset(p)).await,
            Request::Ping(ts) => self.send_text(protocol::pong(ts)).await,
            Request::Pause if self.source.pause() => {
                self.send_text(protocol::status("paused", PAUSED_TEXT, 0))
                    .await
            }
            Request::Resume if self.source.resume() => {
                self.send_text(protocol::status("connected", "streaming", 0))
                    .await
            }
            Request::Pause | Request::Resume => Ok(()),
            Request::Report { seq, .. } => {
                self.report(seq);
                Ok(())
            }
        }
    }

    async fn set_context(&mut self, ctx: auralis_core::music::MusicalContext) -> Result<(), End> {
        match self.source.set_context(ctx) {
            Ok(()) => Ok(()),
            Err(refusal) => {
                let text = protocol::error(refusal.code, &refusal.message, true);
                self.send_text(text).await
            }
        }
    }

    /// The listener started playing chunk `seq`: the end-to-end latency.
    fn report(&mut self, seq: u64) {
        // A report of an older chunk than one already measured (a player
        // that re-sends, or a stale queue) says nothing new.
        if !self.source.measures_latency() || self.reported.is_some_and(|r| seq <= r) {
            return;
        }
        self.reported = Some(seq);
        if let Some(&(_, at)) = self.rendered_at.iter().find(|(s, _)| *s == seq) {
            let one_way = self.rtt_ms.unwrap_or(0.0) / 2.0;
            let ms = (at.elapsed().as_secs_f64() * 1e3 - one_way).max(0.0);
            self.metrics.end_to_end.record(ms);
        }
    }

    async fn refuse(&mut self, code: &str, message: &str) -> Result<(), End> {
        self.metrics.invalid_messages.fetch_add(1, Relaxed);
        self.send_text(protocol::error(code, message, true)).await
    }
}
