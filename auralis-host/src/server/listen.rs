//! `GET /listen`: the listener's own endless composition as an Ogg Opus
//! stream over plain chunked HTTP, for any player (VLC, mpv, ffplay, an
//! `<audio>` element, a smart speaker).
//!
//! The same limits, metrics and shutdown as a WebSocket listener: it takes
//! one of `--max-clients`, is rendered by the same pool (just in time, at
//! most [`Pacing::ahead`] chunks asked for and unsent), and when the server
//! stops the body ends cleanly (the chunked encoding's last chunk). A
//! player that stops reading fills its socket and the body's small queue;
//! after the send timeout it is dropped and counted as a slow client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use super::protocol::AudioFormat;
use super::render::{Payload, Rendered, Stream};
use super::session::{Pacing, CHUNK};
use super::{stream_options, text, App, Body, Open, Slot};

/// Chunks a player gets at once when it connects: players buffer before
/// they start, so a second up front lets them start at once.
const HTTP_LEAD: u64 = 10;
/// Chunks queued for the socket before a send waits.
const BODY_QUEUE: usize = 8;

/// Answers `/listen`: 200 with an endless `audio/ogg` body, or 400/503.
pub(super) fn listen(
    app: Arc<App>,
    req: &Request<Incoming>,
    peer: SocketAddr,
    open: Arc<Open>,
) -> Response<Body> {
    let options = match stream_options(req.uri().query()) {
        Ok(o) => o,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let headers = ogg_headers;
    if req.method() == Method::HEAD {
        let mut r = Response::new(super::full(Bytes::new()));
        headers(&mut r);
        return r;
    }
    let slot = match Slot::take(&app, peer) {
        Ok(slot) => slot,
        Err(refusal) => return refusal,
    };
    let n = app.ids.fetch_add(1, Relaxed);
    let seed = options.seed.unwrap_or_else(|| app.random(n));
    let (tx, rx) = mpsc::channel::<Bytes>(BODY_QUEUE);
    tracing::info!(%peer, seed, "player connected to /listen");
    app.metrics.http_listeners.fetch_add(1, Relaxed);
    let task_app = Arc::clone(&app);
    tokio::spawn(async move {
        let end = play(&task_app, seed, options.context, tx).await;
        tracing::info!(%peer, seed, "player left /listen: {end}");
        task_app.metrics.http_listeners.fetch_sub(1, Relaxed);
    });
    // The slot and the connection's permit live as long as the body: they
    // are given back when hyper has sent its end (or the player left).
    let mut r = Response::new(streamed(rx, (slot, open)));
    headers(&mut r);
    r
}

/// The headers of an endless Ogg stream: `audio/ogg`, never cached.
pub(super) fn ogg_headers(r: &mut Response<Body>) {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/ogg"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
}

/// A body streaming what comes on `rx`, holding `held` until it ends (the
/// sender dropped: hyper then sends the chunked encoding's end).
pub(super) fn streamed<H: Send + 'static>(rx: mpsc::Receiver<Bytes>, held: H) -> Body {
    let body = futures_util::stream::unfold((rx, held), |(mut rx, held)| async move {
        let bytes = rx.recv().await?;
        Some((Ok::<_, Infallible>(Frame::data(bytes)), (rx, held)))
    });
    StreamBody::new(body).boxed_unsync()
}

/// Renders and paces one player's stream until it leaves, falls behind or
/// the server stops; says why it ended.
async fn play(
    app: &App,
    seed: u64,
    context: auralis_core::music::MusicalContext,
    body: mpsc::Sender<Bytes>,
) -> &'static str {
    let pacing: Pacing = app.pacing;
    let (tx, mut rx) = mpsc::channel(pacing.ahead.max(1) + 1);
    let stream = Stream::new(
        seed,
        app.config.sample_rate,
        context,
        app.font,
        AudioFormat::Ogg,
        tx,
    );
    let mut shutdown = app.shutdown.clone();
    let mut start = Instant::now();
    let (mut asked, mut taken) = (0u64, 0u64);
    let end = loop {
        while asked < taken + pacing.ahead.max(1) as u64 {
            stream.request(&app.pool);
            asked += 1;
        }
        let due = start + CHUNK * u32::try_from(taken.saturating_sub(HTTP_LEAD - 1)).unwrap_or(0);
        tokio::select! {
            biased;
            _ = shutdown.changed() => break "server shutting down",
            _ = body.closed() => break "player gone",
            _ = sleep_until(due) => {}
        }
        let rendered = tokio::select! {
            biased;
            _ = shutdown.changed() => break "server shutting down",
            r = rx.recv() => r,
        };
        taken += 1;
        stream.taken();
        let late = Instant::now().saturating_duration_since(due);
        if late > std::time::Duration::from_millis(5) && taken > HTTP_LEAD {
            // Rendering was late: the schedule moves with it.
            app.metrics.underruns.fetch_add(1, Relaxed);
            start += late;
        }
        let bytes = match rendered {
            Some(Rendered::Audio {
                payload: Payload::Binary(b),
                ..
            }) => b,
            Some(Rendered::Audio { .. }) => continue,
            Some(Rendered::Failed(e)) => {
                tracing::error!("a /listen stream could not start: {e}");
                break "engine failed";
            }
            // The render pool counted it; the body just ends.
            Some(Rendered::Panicked) => break "render panicked",
            None => break "engine failed",
        };
        let len = bytes.len() as u64;
        match timeout(pacing.send_timeout, body.send(bytes)).await {
            Ok(Ok(())) => {
                app.metrics.chunks_sent.fetch_add(1, Relaxed);
                app.metrics.bytes_out.fetch_add(len, Relaxed);
            }
            Ok(Err(_)) => break "player gone",
            Err(_) => {
                app.metrics.slow_disconnects.fetch_add(1, Relaxed);
                break "player too slow";
            }
        }
    };
    stream.close();
    end
}
