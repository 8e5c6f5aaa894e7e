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

#[cfg(test)]
mod tests {
    //! The session over an in-memory connection (`tokio::io::duplex`,
    //! a real WebSocket on each end) and a scripted source, on tokio's
    //! paused clock.

    use std::collections::VecDeque;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    use auralis_core::engine::AudioChunk;
    use auralis_core::music::MusicalContext;
    use hyper::body::Bytes;
    use serde_json::Value;
    use tokio::io::DuplexStream;
    use tokio::time::{sleep, Duration};
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::WebSocketStream;

    use super::*;
    use crate::source::{Description, Source};
    use crate::wire::encoder::OggIdentity;
    use crate::wire::protocol::Refusal;
    use crate::wire::{Encoder, Forms};

    /// A source that plays `chunks` chunks one per 100 ms, then ends as
    /// `then` says; a station when `read_only`.
    struct Scripted {
        encoder: Encoder,
        seq: u64,
        chunks: u64,
        then: Option<Ended>,
        paused: bool,
        read_only: bool,
        contexts: Arc<std::sync::Mutex<Vec<MusicalContext>>>,
    }

    impl Scripted {
        fn new(chunks: u64, then: Option<Ended>) -> Self {
            let ogg = OggIdentity {
                serial: 1,
                tags: Vec::new(),
            };
            Self {
                encoder: Encoder::new(Forms::only(AudioFormat::Binary), &ogg).unwrap(),
                seq: 0,
                chunks,
                then,
                paused: false,
                read_only: false,
                contexts: Arc::default(),
            }
        }
    }

    impl Source for Scripted {
        fn describe(&self) -> Description<'_> {
            Description {
                seed: 77,
                sample_rate: 44_100,
                context: MusicalContext::DEFAULT,
                station: self.read_only.then_some("night"),
            }
        }

        fn preamble(&self) -> Option<Bytes> {
            None
        }

        async fn next(&mut self) -> Next {
            if self.paused {
                return std::future::pending().await;
            }
            sleep(Duration::from_millis(100)).await;
            if self.seq == self.chunks {
                return match self.then.clone() {
                    Some(ended) => Next::End(ended),
                    None => std::future::pending().await,
                };
            }
            let mut chunk = AudioChunk::new();
            chunk.seq = self.seq;
            chunk.frames = 4410;
            chunk.sample_rate = 44_100;
            self.seq += 1;
            let ctx = MusicalContext::DEFAULT;
            let encoded = self.encoder.encode(&chunk, None, None, &ctx).unwrap();
            Next::Chunk {
                chunk: Chunk::Own(encoded),
                before: Vec::new(),
                recovered: false,
            }
        }

        fn pause(&mut self) -> bool {
            !std::mem::replace(&mut self.paused, true)
        }

        fn resume(&mut self) -> bool {
            std::mem::replace(&mut self.paused, false)
        }

        fn paused(&self) -> bool {
            self.paused
        }

        fn context(&self) -> MusicalContext {
            MusicalContext::DEFAULT
        }

        fn set_context(&mut self, ctx: MusicalContext) -> Result<(), Refusal> {
            if self.read_only {
                return Err(Refusal {
                    code: "STATION_READ_ONLY",
                    message: "a station".into(),
                });
            }
            self.contexts.lock().unwrap().push(ctx);
            Ok(())
        }

        fn depth(&self) -> usize {
            0
        }

        fn measures_latency(&self) -> bool {
            true
        }
    }

    type Client = WebSocketStream<DuplexStream>;

    /// A session over `source` in a task; the client's end, the metrics,
    /// the shutdown switch and the session's end.
    async fn start(
        source: Scripted,
        pipe: usize,
    ) -> (
        Client,
        Arc<Metrics>,
        watch::Sender<bool>,
        tokio::task::JoinHandle<End>,
    ) {
        let (a, b) = tokio::io::duplex(pipe);
        let server = WebSocketStream::from_raw_socket(a, Role::Server, None).await;
        let client = WebSocketStream::from_raw_socket(b, Role::Client, None).await;
        let metrics = Arc::new(Metrics::default());
        let (stop, shutdown) = watch::channel(false);
        let settings = Settings {
            client_id: "c".into(),
            format: AudioFormat::Binary,
            send_timeout: Duration::from_secs(2),
            ping_every: Duration::from_secs(3600),
        };
        let m = Arc::clone(&metrics);
        let task = tokio::spawn(async move { run(server, source, &settings, &m, shutdown).await });
        (client, metrics, stop, task)
    }

    /// The next message that is not a ping.
    async fn recv(client: &mut Client) -> Message {
        loop {
            match client.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(m)) => return m,
                other => panic!("the connection ended: {other:?}"),
            }
        }
    }

    fn json(m: &Message) -> Value {
        match m {
            Message::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("not text: {other:?}"),
        }
    }

    fn seq(m: &Message) -> u64 {
        match m {
            Message::Binary(b) => protocol::decode_binary(b).unwrap().seq,
            other => panic!("not audio: {other:?}"),
        }
    }

    async fn say(client: &mut Client, text: &str) {
        client.send(Message::text(text)).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn welcome_then_chunks_in_order_at_their_pace() {
        let (mut client, metrics, _stop, _task) = start(Scripted::new(100, None), 1 << 20).await;
        let welcome = json(&recv(&mut client).await);
        assert_eq!(
            (welcome["type"].as_str(), welcome["seed"].as_u64()),
            (Some("welcome"), Some(77))
        );
        assert!(
            welcome.get("station").is_none(),
            "a personal stream names no station"
        );
        assert_eq!(json(&recv(&mut client).await)["state"], "connected");
        let t = Instant::now();
        for expected in 0..5 {
            assert_eq!(seq(&recv(&mut client).await), expected);
        }
        // Five chunks, one per 100 ms (the clock is tokio's, paused).
        assert_eq!(t.elapsed(), Duration::from_millis(500));
        assert_eq!(metrics.chunks_sent.load(Relaxed), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_stops_the_audio_and_a_second_resume_changes_nothing() {
        let (mut client, _metrics, _stop, _task) = start(Scripted::new(100, None), 1 << 20).await;
        recv(&mut client).await;
        recv(&mut client).await;
        assert_eq!(seq(&recv(&mut client).await), 0);
        say(&mut client, r#"{"type":"pause"}"#).await;
        assert_eq!(json(&recv(&mut client).await)["state"], "paused");
        // A second pause is no news, and nothing comes while paused.
        say(&mut client, r#"{"type":"pause"}"#).await;
        let quiet = tokio::time::timeout(Duration::from_secs(5), recv(&mut client)).await;
        assert!(quiet.is_err(), "nothing while paused: {quiet:?}");
        say(&mut client, r#"{"type":"resume"}"#).await;
        assert_eq!(json(&recv(&mut client).await)["state"], "connected");
        say(&mut client, r#"{"type":"resume"}"#).await;
        // Playing again, and the second resume sent no status of its own.
        assert_eq!(seq(&recv(&mut client).await), 1);
        assert_eq!(seq(&recv(&mut client).await), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bad_message_is_answered_and_the_stream_goes_on() {
        let (mut client, metrics, _stop, _task) = start(Scripted::new(100, None), 1 << 20).await;
        recv(&mut client).await;
        recv(&mut client).await;
        say(&mut client, "nonsense").await;
        client.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        let mut errors = Vec::new();
        let mut audio = 0;
        while errors.len() < 2 || audio < 2 {
            match recv(&mut client).await {
                m @ Message::Text(_) => errors.push(json(&m)),
                m => {
                    seq(&m);
                    audio += 1;
                }
            }
        }
        for e in &errors {
            assert_eq!(
                (e["type"].as_str(), e["code"].as_str()),
                (Some("error"), Some("INVALID_MESSAGE"))
            );
            assert_eq!(e["recoverable"], true);
        }
        assert_eq!(metrics.invalid_messages.load(Relaxed), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_station_refuses_new_parameters() {
        let mut source = Scripted::new(100, None);
        source.read_only = true;
        let (mut client, metrics, _stop, _task) = start(source, 1 << 20).await;
        assert_eq!(json(&recv(&mut client).await)["station"], "night");
        recv(&mut client).await;
        say(&mut client, r#"{"type":"select_preset","preset":"sleep"}"#).await;
        loop {
            let m = recv(&mut client).await;
            if let Message::Text(_) = m {
                let e = json(&m);
                assert_eq!(e["code"], "STATION_READ_ONLY");
                break;
            }
        }
        assert_eq!(metrics.invalid_messages.load(Relaxed), 0, "a valid request");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_closed_as_too_slow() {
        // A small pipe: the 17 KB frames fill it at once.
        let (client, metrics, _stop, task) = start(Scripted::new(1000, None), 4096).await;
        let end = task.await.unwrap();
        assert_eq!(end, End::TooSlow);
        assert_eq!(metrics.slow_disconnects.load(Relaxed), 1);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_that_ends_closes_the_session_with_its_reason() {
        let (mut client, _metrics, _stop, task) =
            start(Scripted::new(2, Some(Ended::Stopped)), 1 << 20).await;
        let mut frames = VecDeque::new();
        loop {
            match client.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(frame.code, CloseCode::Away);
                    break;
                }
                Some(Ok(m)) => frames.push_back(m),
                other => panic!("no close frame: {other:?}"),
            }
        }
        assert_eq!(frames.len(), 4, "welcome, status and two chunks");
        drop(client);
        assert_eq!(task.await.unwrap(), End::SourceStopped);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_with_going_away() {
        let (mut client, _metrics, stop, task) = start(Scripted::new(100, None), 1 << 20).await;
        recv(&mut client).await;
        stop.send(true).unwrap();
        loop {
            match client.next().await {
                Some(Ok(Message::Close(Some(frame)))) => {
                    assert_eq!(frame.code, CloseCode::Away);
                    break;
                }
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        }
        drop(client);
        assert_eq!(task.await.unwrap(), End::Shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn new_parameters_reach_the_source() {
        let source = Scripted::new(100, None);
        let contexts = Arc::clone(&source.contexts);
        let (mut client, _metrics, stop, task) = start(source, 1 << 20).await;
        recv(&mut client).await;
        say(
            &mut client,
            r#"{"type":"update_params","params":{"bpm":50}}"#,
        )
        .await;
        say(&mut client, r#"{"type":"ping","timestamp":1.5}"#).await;
        loop {
            let m = recv(&mut client).await;
            if let Message::Text(_) = &m {
                if json(&m)["type"] == "pong" {
                    break;
                }
            }
        }
        // The pong came after the parameters were handled.
        let asked = contexts.lock().unwrap().clone();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].bpm(), 50.0);
        stop.send(true).unwrap();
        drop(client);
        assert_eq!(task.await.unwrap(), End::Shutdown);
    }
}
