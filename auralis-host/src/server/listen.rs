//! `GET /listen`: the listener's own endless composition as an Ogg Opus
//! stream over plain chunked HTTP, for any player (VLC, mpv, ffplay, an
//! `<audio>` element, a smart speaker).
//!
//! The same limits, metrics and shutdown as a WebSocket listener: it takes
//! one of `--max-clients`, is a [`Personal`] stream like a WebSocket
//! listener's (with a lead of `HTTP_LEAD` chunks), played by the HTTP
//! transport, and when the server stops the body ends cleanly (the
//! chunked encoding's last chunk).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;

use super::app::{App, Open, Slot};
use super::http::{text, Body};
use super::stream_options;
use crate::source::personal::{Pacing, Personal, Plan};
use crate::transport::{http, End};
use crate::wire::protocol::AudioFormat;

/// Chunks a player gets at once when it connects: players buffer before
/// they start, so a second up front lets them start at once.
const HTTP_LEAD: u64 = 10;

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
    // What a WebSocket takes and /listen cannot do is refused, not ignored.
    if let Some(name) = &options.station {
        return text(
            StatusCode::BAD_REQUEST,
            format!("/listen is your own stream: a station plays at /station/{name}\n"),
        );
    }
    if options.paused {
        return text(
            StatusCode::BAD_REQUEST,
            "/listen cannot start paused: a player pauses by itself\n".into(),
        );
    }
    let headers = ogg_headers;
    if req.method() == Method::HEAD {
        // Says what a GET would get now: 503 when every slot is taken.
        if let Some(refusal) = Slot::would_refuse(&app) {
            return refusal;
        }
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
    let (tx, rx) = mpsc::channel::<Bytes>(http::BODY_QUEUE);
    tracing::info!(%peer, seed, "player connected to /listen");
    app.metrics.http_listeners.fetch_add(1, Relaxed);
    let plan = Plan {
        seed,
        sample_rate: auralis_core::SampleRate::HZ_48000,
        format: AudioFormat::Ogg,
        font: app.font,
        context: options.context,
        pacing: Pacing {
            lead: HTTP_LEAD,
            ..app.pacing
        },
        paused: false,
    };
    let (task_app, task_open) = (Arc::clone(&app), Arc::clone(&open));
    tokio::spawn(async move {
        let (app, open) = (task_app, task_open);
        let source = Personal::new(plan, app.pool.clone(), Arc::clone(&app.metrics));
        let send_timeout = app.pacing.send_timeout;
        let end = http::run(
            source,
            &tx,
            send_timeout,
            &app.metrics,
            app.shutdown.clone(),
        )
        .await;
        if end == End::RenderPanic || end == End::EngineFailed {
            tracing::warn!(%peer, seed, "a /listen stream failed ({end:?}): its connection is cut");
        } else {
            tracing::info!(%peer, seed, "player left /listen: {end:?}");
        }
        app.metrics.http_listeners.fetch_sub(1, Relaxed);
        // A stalled player's socket is full and hyper waits on it for
        // ever, and a failed stream must not end as a finished one: both
        // have their connection cut (the slot comes back at once).
        http::finish(end, tx, || open.close_now()).await;
    });
    // The slot and the connection's permit live as long as the body: they
    // are given back when hyper has sent its end (or the player left).
    let mut r = Response::new(http::body(rx, (slot, open)));
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
