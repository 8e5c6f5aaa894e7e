//! The server side of stations: `GET /station/NAME` (Ogg Opus over HTTP),
//! `/ws/stream?station=NAME` (JSON, binary PCM or Opus frames), the admin
//! endpoint `POST /api/stations/NAME` (a bearer token from the config),
//! and their figures for status and metrics.
//!
//! A listener is a subscriber of the station's broadcast: it starts with
//! the pre-roll and goes on with the live chunks, each send bounded by the
//! send timeout; one that falls [`crate::station::LISTENER_QUEUE`] chunks behind is
//! dropped and counted, and nobody else notices.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::protocol::{self, AudioFormat, Request as ClientRequest};
use super::{json_response, server_websocket, text, App, Body, Open};
use crate::station::{Encoded, Station};

/// How long a station listener's send may take before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Counts a station listener for as long as it lives.
struct Listening {
    station: Arc<Station>,
    app: Arc<App>,
}

impl Listening {
    fn new(app: &Arc<App>, station: &Arc<Station>) -> Self {
        station.listeners.fetch_add(1, Relaxed);
        app.metrics.connections_total.fetch_add(1, Relaxed);
        Self {
            station: Arc::clone(station),
            app: Arc::clone(app),
        }
    }

    fn dropped_as_slow(&self) {
        self.station.dropped.fetch_add(1, Relaxed);
        self.app.metrics.slow_disconnects.fetch_add(1, Relaxed);
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.station.listeners.fetch_sub(1, Relaxed);
        self.app.metrics.disconnects.fetch_add(1, Relaxed);
    }
}

impl App {
    /// The station called `name`.
    pub fn station(&self, name: &str) -> Option<&Arc<Station>> {
        self.stations.iter().find(|s| s.name == name)
    }

    /// Stations as `/api/status` lists them.
    pub(super) fn stations_json(&self) -> Value {
        Value::Array(
            self.stations
                .iter()
                .map(|s| {
                    let icecast = s.icecast.lock().ok().and_then(|i| i.clone()).map(|i| {
                        json!({
                            "target": i.target,
                            "connected": i.connected,
                            "connects": i.connects,
                            "last_error": i.last_error,
                        })
                    });
                    json!({
                        "name": s.name,
                        "listeners": s.listeners.load(Relaxed),
                        "dropped_listeners": s.dropped.load(Relaxed),
                        "chunks": s.chunks.load(Relaxed),
                        "seed": s.seed(),
                        "params": protocol::params_json(&s.context()),
                        "icecast": icecast,
                    })
                })
                .collect(),
        )
    }

    /// Per-station lines for `/metrics`.
    pub(super) fn stations_prometheus(&self, out: &mut String) {
        if self.stations.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "# HELP auralis_station_listeners Listeners of each station."
        );
        let _ = writeln!(out, "# TYPE auralis_station_listeners gauge");
        for s in &self.stations {
            let _ = writeln!(
                out,
                "auralis_station_listeners{{station=\"{}\"}} {}",
                s.name,
                s.listeners.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP auralis_station_dropped_listeners Station listeners dropped for falling behind."
        );
        let _ = writeln!(out, "# TYPE auralis_station_dropped_listeners counter");
        for s in &self.stations {
            let _ = writeln!(
                out,
                "auralis_station_dropped_listeners_total{{station=\"{}\"}} {}",
                s.name,
                s.dropped.load(Relaxed)
            );
        }
    }
}

/// `GET /station/NAME`: the station as an endless Ogg Opus body.
pub(super) fn http_listener(
    app: Arc<App>,
    req: &Request<Incoming>,
    name: &str,
    open: Arc<Open>,
) -> Response<Body> {
    let Some(station) = app.station(name).cloned() else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no station called {name:?}\n"),
        );
    };
    let headers = |r: &mut Response<Body>| {
        super::listen::ogg_headers(r);
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("Auralis: {name}")) {
            h.insert("icy-name", v);
        }
    };
    if req.method() == Method::HEAD {
        let mut r = Response::new(super::full(Bytes::new()));
        headers(&mut r);
        return r;
    }
    if *app.shutdown.borrow() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
    }
    let listening = Listening::new(&app, &station);
    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let (preroll, live) = station.subscribe();
    let mut shutdown = app.shutdown.clone();
    tokio::spawn(async move {
        let send = |b: Bytes| timeout(SEND_TIMEOUT, tx.send(b));
        let feed = async {
            send(station.ogg_headers()).await.ok()?.ok()?;
            let mut last = None;
            for c in preroll {
                last = Some(c.seq);
                send(c.ogg.clone()).await.ok()?.ok()?;
            }
            let mut live = live;
            loop {
                let c = next_chunk(&mut live, &mut last).await?;
                match send(c.ogg.clone()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Some(false),
                    Err(_) => return None,
                }
            }
        };
        let slow = tokio::select! {
            r = feed => r.is_none(),
            _ = shutdown.changed() => false,
        };
        if slow && !tx.is_closed() {
            listening.dropped_as_slow();
        }
        drop(listening);
    });
    let mut r = Response::new(super::listen::streamed(rx, open));
    headers(&mut r);
    r
}

/// The next live chunk after `last`; `None` when the listener lagged (it
/// is too slow) or the station stopped.
async fn next_chunk(
    live: &mut broadcast::Receiver<Arc<Encoded>>,
    last: &mut Option<u64>,
) -> Option<Arc<Encoded>> {
    loop {
        match live.recv().await {
            Ok(c) if last.is_some_and(|l| c.seq <= l) => continue,
            Ok(c) => {
                *last = Some(c.seq);
                return Some(c);
            }
            Err(_) => return None,
        }
    }
}

/// Starts a WebSocket listener of `station` on an upgraded connection.
pub(super) fn websocket_listener(
    app: Arc<App>,
    station: Arc<Station>,
    format: AudioFormat,
    on_upgrade: hyper::upgrade::OnUpgrade,
    peer: SocketAddr,
    open: Arc<Open>,
) {
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = server_websocket(upgraded).await;
        tracing::debug!(%peer, station = %station.name, "station listener connected");
        let listening = Listening::new(&app, &station);
        let slow = ws_session(ws, &app, &station, format).await;
        if slow {
            listening.dropped_as_slow();
        }
        drop(listening);
        drop(open);
    });
}

/// One WebSocket listener of a station; `true` if it was dropped for
/// being too slow.
async fn ws_session<S>(
    mut ws: WebSocketStream<S>,
    app: &App,
    station: &Station,
    format: AudioFormat,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut shutdown = app.shutdown.clone();
    let client_id = format!("{:016x}", app.random(station.seed()));
    let mut welcome: Value = serde_json::from_str(&protocol::welcome(
        &client_id,
        station.seed(),
        crate::station::RATE,
        format,
        &station.context(),
    ))
    .unwrap_or_default();
    welcome["station"] = json!(station.name);
    let (preroll, mut live) = station.subscribe();
    let mut last = None;
    let mut paused = false;
    macro_rules! send {
        ($m:expr) => {
            match timeout(SEND_TIMEOUT, ws.send($m)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return false,
                Err(_) => {
                    close(&mut ws, CloseCode::Policy, "client too slow").await;
                    return true;
                }
            }
        };
    }
    send!(Message::text(welcome.to_string()));
    send!(Message::text(protocol::status("connected", "streaming", 0)));
    for c in &preroll {
        last = Some(c.seq);
        for m in messages(c, format, app) {
            send!(m);
        }
    }
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                close(&mut ws, CloseCode::Away, "server shutting down").await;
                return false;
            }
            incoming = ws.next() => {
                use tokio_tungstenite::tungstenite::Error as WsError;
                // The same answers as a personal stream's session.
                let text = match incoming {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        app.metrics.invalid_messages.fetch_add(1, Relaxed);
                        send!(Message::text(protocol::error(
                            "INVALID_MESSAGE",
                            "binary frames are not understood: send JSON text",
                            true,
                        )));
                        continue;
                    }
                    Some(Err(WsError::Capacity(_))) => {
                        close(&mut ws, CloseCode::Size, "frame too large").await;
                        return false;
                    }
                    Some(Err(WsError::Utf8(_))) => {
                        close(&mut ws, CloseCode::Invalid, "text is not UTF-8").await;
                        return false;
                    }
                    Some(Err(WsError::Protocol(_))) => {
                        close(&mut ws, CloseCode::Protocol, "protocol error").await;
                        return false;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return false,
                    Some(Ok(_)) => continue,
                };
                let reply = match protocol::parse_request(&text, &station.context()) {
                    Err(refusal) => {
                        app.metrics.invalid_messages.fetch_add(1, Relaxed);
                        Some(protocol::error(refusal.code, &refusal.message, true))
                    }
                    Ok(ClientRequest::Params(_) | ClientRequest::Preset(_)) => Some(protocol::error(
                        "STATION_READ_ONLY",
                        "this is a station: everyone hears the same music, and only its operator changes it",
                        true,
                    )),
                    Ok(ClientRequest::Ping(ts)) => Some(protocol::pong(ts)),
                    Ok(ClientRequest::Pause) => {
                        paused = true;
                        Some(protocol::status("paused", "paused: press Play to listen", 0))
                    }
                    Ok(ClientRequest::Resume) => {
                        paused = false;
                        // Back in at the live edge, with the pre-roll.
                        let (preroll, rx) = station.subscribe();
                        live = rx;
                        for c in &preroll {
                            last = Some(c.seq);
                            for m in messages(c, format, app) {
                                send!(m);
                            }
                        }
                        Some(protocol::status("connected", "streaming", 0))
                    }
                    Ok(ClientRequest::Report { .. }) => None,
                };
                if let Some(r) = reply {
                    send!(Message::text(r));
                }
            }
            c = next_chunk(&mut live, &mut last) => {
                let Some(c) = c else {
                    // Lagged: this listener could not keep up.
                    close(&mut ws, CloseCode::Policy, "client too slow").await;
                    return true;
                };
                if paused {
                    continue;
                }
                for m in messages(&c, format, app) {
                    send!(m);
                }
            }
        }
    }
}

/// The messages one chunk makes for a listener in `format`.
fn messages(c: &Encoded, format: AudioFormat, app: &App) -> Vec<Message> {
    let mut out = Vec::with_capacity(3);
    if let Some(ctx) = c.params {
        out.push(Message::text(protocol::params_message(&ctx, c.seq)));
    }
    if let Some(n) = &c.now_playing {
        out.push(Message::text(n.clone()));
    }
    let audio = match format {
        AudioFormat::Json => Message::text(c.json.clone()),
        AudioFormat::Binary => Message::Binary(c.pcm.clone()),
        AudioFormat::Opus | AudioFormat::Ogg => Message::Binary(c.opus.clone()),
    };
    app.metrics.bytes_out.fetch_add(audio.len() as u64, Relaxed);
    app.metrics.chunks_sent.fetch_add(1, Relaxed);
    out.push(audio);
    out
}

async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = timeout(
        Duration::from_millis(500),
        ws.send(Message::Close(Some(frame))),
    )
    .await;
}

/// `POST /api/stations/NAME`: new parameters for a station, for the holder
/// of the admin token only. The body is `{"params":{…}}` (as
/// `update_params`), `{"preset":"sleep"}`, or `{"seed":N}` (a new
/// composition, crossfaded in over three seconds).
pub(super) async fn admin(app: Arc<App>, req: Request<Incoming>, name: String) -> Response<Body> {
    let Some(expected) = app.config.admin_token.clone() else {
        return text(
            StatusCode::FORBIDDEN,
            "no admin token is configured (admin_token in the config, or --admin-token)\n".into(),
        );
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !same(given.as_bytes(), expected.as_bytes()) {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "send the admin token as `Authorization: Bearer TOKEN`\n".into(),
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let Some(station) = app.station(&name).cloned() else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no station called {name:?}\n"),
        );
    };
    let body = match http_body_util::Limited::new(req.into_body(), 64 * 1024)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "the body is over 64 KiB or broken\n".into(),
            )
        }
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return text(StatusCode::BAD_REQUEST, "the body is not JSON\n".into());
    };
    if let Some(seed) = v.get("seed") {
        let Some(seed) = seed.as_u64() else {
            return text(
                StatusCode::BAD_REQUEST,
                format!("seed {seed} is not a whole number\n"),
            );
        };
        station.reseed(seed);
        tracing::info!(station = %name, seed, "a new composition, asked by the admin");
        return json_response(&json!({"station": name, "seed": seed}));
    }
    let request = if v.get("preset").is_some() {
        json!({"type": "select_preset", "preset": v["preset"]})
    } else {
        json!({"type": "update_params", "params": v.get("params").cloned().unwrap_or(Value::Null)})
    };
    let current = station.context();
    let ctx = match protocol::parse_request(&request.to_string(), &current) {
        Ok(ClientRequest::Params(ctx)) => ctx,
        Ok(ClientRequest::Preset(p)) => current.with_preset(p),
        // Only the two requests built above can come back.
        Ok(_) => current,
        Err(refusal) => return text(StatusCode::BAD_REQUEST, format!("{}\n", refusal.message)),
    };
    station.set_context(ctx);
    tracing::info!(station = %name, "parameters changed by the admin");
    json_response(&json!({"station": name, "params": protocol::params_json(&ctx)}))
}

/// Constant-time comparison of two byte strings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
