//! `/ws/stream`: the WebSocket upgrade, checked as RFC 6455 asks, and the
//! start of a listener's session (a personal stream or a station).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::app::{App, Open, Slot};
use super::http::{full, text, Body};
use super::{stations, stream_options, MAX_CLIENT_MESSAGE};
use crate::source::personal::{Personal, Plan};
use crate::source::station::Subscription;
use crate::source::Source;
use crate::transport::websocket::{self, Settings};
use crate::transport::End;
use crate::wire::protocol::AudioFormat;

pub(super) fn websocket(
    app: Arc<App>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
    open: Arc<Open>,
) -> Response<Body> {
    if let Err(refusal) = check_upgrade(&req, &app.config.allowed_origins) {
        return refusal;
    }
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return upgrade_required();
    };
    let options = match stream_options(req.uri().query()) {
        Ok(o) => o,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    if let Some(name) = &options.station {
        let Some(station) = app.station(name).cloned() else {
            return text(
                StatusCode::NOT_FOUND,
                format!("no station called {name:?}\n"),
            );
        };
        if *app.shutdown.borrow() {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
        }
        // A station's listeners cost no rendering: they take no slot of
        // --max-clients (--max-connections still bounds them).
        let on_upgrade = hyper::upgrade::on(&mut req);
        let listening = stations::Listening::new(&app, &station);
        let source = Subscription::new(station, options.paused);
        let format = options.format;
        tokio::spawn(async move {
            let end = session(&app, on_upgrade, peer, source, format).await;
            if end == Some(End::TooSlow) {
                listening.dropped_as_slow();
            }
            drop(listening);
            drop(open);
        });
        return switching_protocols(&key);
    }
    let slot = match Slot::take(&app, peer) {
        Ok(slot) => slot,
        Err(refusal) => return refusal,
    };
    let n = app.ids.fetch_add(1, Relaxed);
    let format = options.format;
    let plan = Plan {
        seed: options.seed.unwrap_or_else(|| app.random(n)),
        // Opus is always 48 kHz, whatever the server's PCM rate.
        sample_rate: if format.is_opus() {
            auralis_core::SampleRate::HZ_48000
        } else {
            app.config.sample_rate
        },
        format,
        font: app.font,
        context: options.context,
        pacing: app.pacing,
        paused: options.paused,
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let source = Personal::new(plan, app.pool.clone(), Arc::clone(&app.metrics));
        session(&app, on_upgrade, peer, source, format).await;
        drop(slot);
        drop(open);
    });
    switching_protocols(&key)
}

/// Completes the upgrade and runs the listener's session over `source`;
/// `None` when the upgrade failed.
async fn session<S: Source>(
    app: &App,
    on_upgrade: hyper::upgrade::OnUpgrade,
    peer: SocketAddr,
    source: S,
    format: AudioFormat,
) -> Option<End> {
    let upgraded = match on_upgrade.await {
        Ok(u) => u,
        Err(e) => {
            tracing::debug!(%peer, "upgrade failed: {e}");
            return None;
        }
    };
    let ws = server_websocket(upgraded).await;
    let settings = Settings {
        client_id: format!("{:016x}", app.random(!source.describe().seed)),
        format,
        send_timeout: app.pacing.send_timeout,
        ping_every: app.pacing.ping_every,
    };
    let d = source.describe();
    let (seed, station) = (d.seed, d.station.map(str::to_string));
    tracing::info!(%peer, client = %settings.client_id, seed, station, format = format.name(), "listener connected");
    let end = websocket::run(ws, source, &settings, &app.metrics, app.shutdown.clone()).await;
    tracing::info!(%peer, client = %settings.client_id, "listener left: {end:?}");
    Some(end)
}

/// 101 with the accept key for `key`.
fn switching_protocols(key: &HeaderValue) -> Response<Body> {
    let mut r = Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

/// Bytes a connection reads at a time. Listeners send a few small text
/// messages a second; tungstenite's default (128 KiB) cost every
/// listener that much memory, and tungstenite zeroes the free part of
/// the buffer before each read: with hundreds of listeners that memset
/// was a tenth of the server's CPU. A larger message still arrives
/// whole (the buffer grows to the frame's length, up to
/// [`MAX_CLIENT_MESSAGE`]).
const READ_BUFFER: usize = 4096;

/// The server's side of an upgraded connection, with the client message
/// size limit and a small read buffer ([`READ_BUFFER`]).
pub(super) async fn server_websocket(
    upgraded: hyper::upgrade::Upgraded,
) -> WebSocketStream<TokioIo<hyper::upgrade::Upgraded>> {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await
}

/// 426 with the `Upgrade` header that says what to use.
fn upgrade_required() -> Response<Body> {
    let mut r = text(
        StatusCode::UPGRADE_REQUIRED,
        "/ws/stream is a WebSocket: connect with a WebSocket client\n".into(),
    );
    r.headers_mut()
        .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    r.headers_mut().insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    r
}

/// Checks a WebSocket upgrade request as RFC 6455 §4.2.1 asks (GET,
/// `Upgrade: websocket`, `Connection: upgrade`, version 13, a key of 16
/// bytes in base64) and, when origins are configured, its `Origin`.
#[allow(clippy::result_large_err)]
fn check_upgrade(req: &Request<Incoming>, origins: &[String]) -> Result<(), Response<Body>> {
    use base64::Engine as _;
    let h = req.headers();
    let has = |name: header::HeaderName, token: &str| {
        h.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if req.method() != Method::GET {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket opens with GET\n".into(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return Err(r);
    }
    if !has(header::UPGRADE, "websocket") || h.get(header::SEC_WEBSOCKET_KEY).is_none() {
        return Err(upgrade_required());
    }
    if !has(header::CONNECTION, "upgrade") {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs `Connection: Upgrade`\n".into(),
        ));
    }
    if h.get(header::SEC_WEBSOCKET_VERSION)
        .and_then(|v| v.to_str().ok())
        != Some("13")
    {
        return Err(upgrade_required());
    }
    let key_ok = h
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .and_then(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k.trim())
                .ok()
        })
        .is_some_and(|k| k.len() == 16);
    if !key_ok {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key must be 16 bytes in base64\n".into(),
        ));
    }
    if h.get_all(header::ORIGIN).iter().count() > 1 {
        // A page sends one; two could smuggle an allowed one past a check
        // that reads only the first.
        return Err(text(
            StatusCode::BAD_REQUEST,
            "a request carries at most one Origin header\n".into(),
        ));
    }
    if !origins.is_empty() {
        // Players that are not web pages send no Origin: they may listen.
        if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            if !origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
                return Err(text(
                    StatusCode::FORBIDDEN,
                    format!("pages from {origin} may not open a stream here\n"),
                ));
            }
        }
    }
    Ok(())
}
