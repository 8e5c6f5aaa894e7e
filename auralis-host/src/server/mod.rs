//! The streaming server: every listener who connects to `/ws/stream` hears
//! their own endless composition; the web player, status and metrics are
//! served beside it.
//!
//! Threads: tokio's I/O workers run HTTP and the WebSocket sessions; a
//! [`render::RenderPool`] of plain threads renders every stream's chunks.
//! Each stream has a bounded ring (a channel of `Pacing::ahead` chunks)
//! between the two, so a slow client can never make the server hold more.

pub mod assets;
pub mod config;
pub mod listen;
pub mod metrics;
pub mod protocol;
pub mod render;
pub mod session;
pub mod stations;

use std::collections::hash_map::RandomState;
use std::convert::Infallible;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

pub use config::ServerConfig;
use metrics::Metrics;
use protocol::AudioFormat;
use render::RenderPool;
use session::{Pacing, SessionConfig};

/// Largest message a client may send (its messages are small JSON).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Kernel send buffer of each connection: about a second of JSON audio.
pub const SEND_BUFFER: usize = 128 * 1024;

/// Every response's body: whole (pages, JSON) or streamed (`/listen`).
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A whole body.
fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// A running server's shared state.
#[derive(Debug)]
pub struct App {
    config: ServerConfig,
    font: &'static [u8],
    font_name: String,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    pool: RenderPool,
    pacing: Pacing,
    shutdown: watch::Receiver<bool>,
    ids: AtomicU64,
    random: RandomState,
    /// One permit per open TCP connection (`max_connections`, kept below
    /// the descriptor limit).
    connections: Arc<tokio::sync::Semaphore>,
    /// The connection limit in force.
    connection_limit: usize,
    /// When the cap last logged (ms since start), so that a flood logs
    /// once every ten seconds, not once a connection.
    cap_logged: AtomicU64,
    /// The stations, each rendering on its own thread.
    stations: Vec<Arc<crate::station::Station>>,
}

impl App {
    /// Builds the server from its configuration: loads and checks the
    /// SoundFont, starts the render threads. `shutdown` turning `true`
    /// closes every session.
    pub fn new(config: ServerConfig, shutdown: watch::Receiver<bool>) -> Result<Arc<Self>, String> {
        let (font, font_name): (&'static [u8], String) = match &config.soundfont {
            None => (auralis_core::bank::DEFAULT_SF2, "built-in bank".to_string()),
            Some(path) => {
                let file = auralis_core::font_file::FontFile::open(path)
                    .map_err(|e| format!("cannot use SoundFont: {e}"))?;
                // Opened once (mapped where safe) and kept for the life of
                // the process: every stream borrows it.
                let file: &'static auralis_core::font_file::FontFile = Box::leak(Box::new(file));
                (file.bytes(), path.display().to_string())
            }
        };
        // Check the font and the rate once, so that sessions cannot fail.
        auralis_core::engine::Engine::<8>::with_soundfont(
            1,
            config.sample_rate,
            auralis_core::music::MusicalContext::DEFAULT,
            font,
        )
        .map(drop)
        .map_err(|e| format!("cannot play {font_name}: {e}"))?;
        let metrics = Arc::new(Metrics::default());
        let connection_limit = connection_limit(config.max_connections);
        if connection_limit < config.max_connections {
            tracing::info!(
                "at most {connection_limit} connections: the descriptor limit (ulimit -n) leaves no room for {}",
                config.max_connections
            );
        }
        let pool = RenderPool::start(config.render_threads(), Arc::clone(&metrics))
            .map_err(|e| format!("cannot start the render threads: {e}"))?;
        let stations = config
            .stations
            .iter()
            .map(|spec| crate::station::Station::start(spec, font))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Self {
            config,
            font,
            font_name,
            metrics,
            pool,
            pacing: Pacing::default(),
            shutdown,
            ids: AtomicU64::new(0),
            random: RandomState::new(),
            connections: Arc::new(tokio::sync::Semaphore::new(connection_limit)),
            connection_limit,
            cap_logged: AtomicU64::new(0),
            stations,
        }))
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    fn random(&self, salt: u64) -> u64 {
        self.random.hash_one((salt, std::time::Instant::now()))
    }

    /// `/healthz`: 200 with the render pool's state while every render
    /// thread runs, 503 when one has gone.
    fn health(&self) -> Response<Body> {
        let alive = self.metrics.render_threads_alive.load(Relaxed);
        let threads = self.config.render_threads() as i64;
        let ok = alive >= threads;
        let body = json!({
            "status": if ok { "ok" } else { "degraded" },
            "render_threads": threads,
            "render_threads_alive": alive,
            "render_panics": self.metrics.render_panics.load(Relaxed),
            "active_connections": self.metrics.active.load(Relaxed),
            "open_tcp_connections": self.metrics.open_connections.load(Relaxed),
        });
        let mut r = json_response(&body);
        if !ok {
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        }
        r
    }

    fn status_json(&self) -> serde_json::Value {
        let active = self.metrics.active.load(Relaxed);
        json!({
            "uptime_sec": (self.metrics.uptime() * 1000.0).round() / 1000.0,
            "active_connections": active,
            "max_clients": self.config.max_clients,
            "buffer_depth": self.metrics.buffer_depth(),
            "buffer_capacity": self.pacing.ahead,
            "paused_streams": self.metrics.paused.load(Relaxed),
            "streams_rendering": (active as i64 - self.metrics.paused.load(Relaxed)).max(0),
            "http_listeners": self.metrics.http_listeners.load(Relaxed),
            "device": auralis_core::synth::Simd::best().device(),
            "soundfont_loaded": true,
            "soundfont": self.font_name,
            "sample_rate": self.config.sample_rate,
            "render_threads": self.config.render_threads(),
            "synthesis_active": active > 0,
            "version": env!("CARGO_PKG_VERSION"),
            "stations": self.stations_json(),
            "timestamp": iso8601_now(),
        })
    }
}

impl Drop for App {
    fn drop(&mut self) {
        for s in &self.stations {
            s.stop();
        }
    }
}

/// Serves on `listener` until `stop` completes, then closes every
/// WebSocket with a close frame and returns within `drain` (sessions still
/// open then are dropped).
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    stop: impl Future<Output = ()>,
    announce: watch::Sender<bool>,
    drain: Duration,
) -> std::io::Result<()> {
    tokio::pin!(stop);
    // Stations with an Icecast mount are pushed there for as long as the
    // server runs.
    for (station, spec) in app.stations.iter().zip(&app.config.stations) {
        if let Some(url) = &spec.icecast {
            match crate::icecast::Target::parse(url) {
                Ok(target) => {
                    tokio::spawn(crate::icecast::push(
                        Arc::clone(station),
                        target,
                        app.shutdown.clone(),
                    ));
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
    }
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of descriptors and the like: wait, go on.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&app.connections).try_acquire_owned() else {
                    // Full: close this one at once, log now and then.
                    app.metrics.connections_capped.fetch_add(1, Relaxed);
                    app.log_cap(peer);
                    drop(tcp);
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                // A fixed send buffer bounds what a stalled client can make
                // the kernel hold, and lets the session notice it in time.
                let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
                tokio::spawn(connection(Arc::clone(&app), tcp, peer, Arc::new(Open::new(&app, permit))));
            }
        }
    }
    drop(listener);
    tracing::info!(
        "shutting down: closing {} stream(s)",
        app.metrics.active.load(Relaxed)
    );
    let _ = announce.send(true);
    let deadline = tokio::time::Instant::now() + drain;
    while app.metrics.active.load(Relaxed) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for s in &app.stations {
        s.stop();
    }
    Ok(())
}

/// An open TCP connection's hold on its `max_connections` permit, shared
/// with the WebSocket session it may become.
#[derive(Debug)]
struct Open {
    _permit: tokio::sync::OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Open {
    fn new(app: &App, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        app.metrics.open_connections.fetch_add(1, Relaxed);
        Self {
            _permit: permit,
            metrics: Arc::clone(&app.metrics),
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.open_connections.fetch_sub(1, Relaxed);
    }
}

/// Serves one TCP connection: HTTP/1.1 with a deadline for each request's
/// headers, closed when idle between requests; a WebSocket upgrade takes
/// the socket (and its permit) to the session.
async fn connection(app: Arc<App>, tcp: tokio::net::TcpStream, peer: SocketAddr, open: Arc<Open>) {
    let header_timeout = Duration::from_secs(app.config.header_timeout);
    let idle_timeout = Duration::from_secs(app.config.idle_timeout);
    // When (ms since start) the last request came, and whether any did.
    let last = Arc::new(AtomicU64::new(app.metrics.uptime_ms()));
    let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let service = {
        let (app, open) = (Arc::clone(&app), Arc::clone(&open));
        let (last, served) = (Arc::clone(&last), Arc::clone(&served));
        service_fn(move |req| {
            last.store(app.metrics.uptime_ms(), Relaxed);
            served.store(true, Relaxed);
            let app = Arc::clone(&app);
            let open = Arc::clone(&open);
            async move {
                let admin =
                    req.method() == Method::POST && req.uri().path().starts_with("/api/stations/");
                let response = if admin {
                    let name = req.uri().path()["/api/stations/".len()..].to_string();
                    stations::admin(app, req, name).await
                } else {
                    route(app, req, peer, open)
                };
                Ok::<_, Infallible>(response)
            }
        })
    };
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                break;
            }
            _ = tick.tick(), if !closing => {
                // A connection with no request for `idle_timeout` (or no
                // first request within the header deadline) is closed; one
                // that became a stream has left this loop already.
                let quiet = Duration::from_millis(
                    app.metrics.uptime_ms().saturating_sub(last.load(Relaxed)),
                );
                let allowed = if served.load(Relaxed) {
                    idle_timeout
                } else {
                    header_timeout
                };
                if quiet >= allowed {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
    drop(open);
}

impl App {
    /// Logs that the connection cap refused someone, at most once every
    /// ten seconds.
    fn log_cap(&self, peer: SocketAddr) {
        let now = self.metrics.uptime_ms();
        let last = self.cap_logged.load(Relaxed);
        if (now >= last + 10_000 || last == 0)
            && self
                .cap_logged
                .compare_exchange(last, now.max(1), Relaxed, Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %peer,
                "closing new connections: {} open (--max-connections); {} closed so far",
                self.connection_limit,
                self.metrics.connections_capped.load(Relaxed)
            );
        }
    }
}

/// `wanted` connections, or fewer if the descriptor limit would run out
/// first (a margin is kept for the listener, files and the runtime).
fn connection_limit(wanted: usize) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given; nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !ok || limit.rlim_cur == libc::RLIM_INFINITY {
        return wanted;
    }
    let room = (limit.rlim_cur as usize).saturating_sub(64).max(1);
    wanted.min(room)
}

fn route(
    app: Arc<App>,
    req: Request<Incoming>,
    peer: SocketAddr,
    open: Arc<Open>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET (and HEAD) are served here\n".into(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path.as_str() {
        "/ws/stream" => websocket(app, req, peer, open),
        "/listen" => listen::listen(app, &req, peer, open),
        p if p.starts_with("/station/") => {
            let name = p["/station/".len()..].to_string();
            stations::http_listener(app, &req, &name, open)
        }
        "/api/status" => json_response(&app.status_json()),
        "/api/metrics" => json_response(&app.metrics.json()),
        "/metrics" => {
            let mut text = app.metrics.prometheus();
            text.truncate(text.strip_suffix("# EOF\n").map_or(text.len(), str::len));
            app.stations_prometheus(&mut text);
            text.push_str("# EOF\n");
            let mut r = Response::new(full(text));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        "/healthz" => app.health(),
        "/favicon.ico" => {
            let mut r = Response::new(full(Bytes::from_static(assets::FAVICON)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=86400"),
            );
            r
        }
        _ => match assets::lookup(&path) {
            Some(asset) => {
                let mut r = Response::new(full(Bytes::from_static(asset.bytes)));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                );
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            None => text(StatusCode::NOT_FOUND, format!("no such page: {path}\n")),
        },
    }
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_response(v: &serde_json::Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// What a stream's query string asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamOptions {
    /// `seed=N`: a reproducible stream.
    pub seed: Option<u64>,
    /// `format=json|binary` and `codec=pcm|opus`.
    pub format: AudioFormat,
    /// `paused=1`: render nothing until the client says `resume`.
    pub paused: bool,
    /// `preset`, then `key`, `mode`, `bpm`, `intensity` over it.
    pub context: auralis_core::music::MusicalContext,
    /// `station=NAME`: listen to a station instead.
    pub station: Option<String>,
}

/// Parses a stream's query: `seed`, `format`, `codec`, `paused`, `preset`,
/// `key`, `mode`, `bpm`, `intensity` (other names are ignored).
pub fn stream_options(query: Option<&str>) -> Result<StreamOptions, String> {
    use std::str::FromStr as _;
    let mut o = StreamOptions {
        seed: None,
        format: AudioFormat::Json,
        paused: false,
        context: auralis_core::music::MusicalContext::DEFAULT,
        station: None,
    };
    let (mut format, mut codec) = (None, None);
    let mut params = serde_json::Map::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "seed" => {
                o.seed = Some(v.parse::<u64>().map_err(|_| {
                    format!("seed={v} is not a whole number 0–18446744073709551615")
                })?)
            }
            "format" => format = Some(v),
            "station" => o.station = Some(v.to_string()),
            "codec" => codec = Some(v),
            "paused" => {
                o.paused = match v {
                    "1" | "true" | "" => true,
                    "0" | "false" => false,
                    _ => return Err(format!("paused={v} is unknown: use 1 or 0")),
                }
            }
            "preset" => {
                let p = auralis_core::music::Preset::from_str(v).map_err(|_| {
                    format!("preset={v} is unknown: use focus, meditation, sleep or bright")
                })?;
                o.context = o.context.with_preset(p);
            }
            "key" | "bpm" | "intensity" => {
                let x: f64 = v.parse().map_err(|_| format!("{k}={v} is not a number"))?;
                params.insert(k.to_string(), json!(x));
            }
            "mode" => {
                params.insert(k.to_string(), json!(v));
            }
            _ => {}
        }
    }
    if !params.is_empty() {
        o.context = protocol::parse_params(&params, &o.context).map_err(|r| r.message)?;
    }
    o.format = match (format, codec) {
        (None | Some("json"), None | Some("pcm")) => AudioFormat::Json,
        (Some("binary"), None | Some("pcm")) => AudioFormat::Binary,
        (None | Some("binary"), Some("opus")) => AudioFormat::Opus,
        (Some("json"), Some("opus")) => {
            return Err("codec=opus travels in binary frames: leave out format=json".into())
        }
        (Some(f), _) if f != "json" && f != "binary" => {
            return Err(format!("format={f} is unknown: use json or binary"))
        }
        (_, Some(c)) => return Err(format!("codec={c} is unknown: use pcm or opus")),
        _ => AudioFormat::Json,
    };
    Ok(o)
}

/// A slot among `--max-clients`, given back when dropped.
#[derive(Debug)]
struct Slot(Arc<App>);

impl Slot {
    /// Takes a slot for a new listener, or answers why not (shutting
    /// down, or full: 503 with `Retry-After`).
    #[allow(clippy::result_large_err)]
    fn take(app: &Arc<App>, peer: SocketAddr) -> Result<Self, Response<Body>> {
        if *app.shutdown.borrow() {
            return Err(text(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting down\n".into(),
            ));
        }
        let max = app.config.max_clients as u64;
        if app.metrics.active.fetch_add(1, Relaxed) >= max {
            app.metrics.active.fetch_sub(1, Relaxed);
            app.metrics.refused.fetch_add(1, Relaxed);
            tracing::info!(%peer, "refused: {} already (--max-clients)", listeners(max));
            let mut r = text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Auralis is full: {} already (--max-clients); try again later\n",
                    listeners(max)
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            return Err(r);
        }
        app.metrics.connections_total.fetch_add(1, Relaxed);
        Ok(Slot(Arc::clone(app)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.metrics.active.fetch_sub(1, Relaxed);
        self.0.metrics.disconnects.fetch_add(1, Relaxed);
    }
}

fn websocket(
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
        stations::websocket_listener(app, station, options.format, on_upgrade, peer, open);
        return switching_protocols(&key);
    }
    let slot = match Slot::take(&app, peer) {
        Ok(slot) => slot,
        Err(refusal) => return refusal,
    };
    let n = app.ids.fetch_add(1, Relaxed);
    let seed = options.seed.unwrap_or_else(|| app.random(n));
    let format = options.format;
    let client_id = format!("{:016x}", app.random(!n));
    let on_upgrade = hyper::upgrade::on(&mut req);
    let cfg = SessionConfig {
        client_id,
        seed,
        // Opus is always 48 kHz, whatever the server's PCM rate.
        sample_rate: if format.is_opus() {
            crate::opus::RATE
        } else {
            app.config.sample_rate
        },
        format,
        font: app.font,
        context: options.context,
        pacing: app.pacing,
        paused: options.paused,
    };
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(%peer, "upgrade failed: {e}");
                drop(slot);
                return;
            }
        };
        let ws = server_websocket(upgraded).await;
        tracing::info!(%peer, client = %cfg.client_id, seed = cfg.seed, format = cfg.format.name(), "listener connected");
        let id = cfg.client_id.clone();
        let end = session::run(
            ws,
            cfg,
            app.pool.clone(),
            Arc::clone(&app.metrics),
            app.shutdown.clone(),
        )
        .await;
        tracing::info!(%peer, client = %id, "listener left: {end:?}");
        drop(slot);
        drop(open);
    });
    switching_protocols(&key)
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

/// The server's side of an upgraded connection, with the client message
/// size limit.
async fn server_websocket(
    upgraded: hyper::upgrade::Upgraded,
) -> WebSocketStream<TokioIo<hyper::upgrade::Upgraded>> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await
}

/// "1 listener", "2 listeners".
fn listeners(n: u64) -> String {
    if n == 1 {
        "1 listener".into()
    } else {
        format!("{n} listeners")
    }
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

/// Now as ISO 8601 UTC with milliseconds, e.g. `2026-11-28T18:02:42.123Z`.
pub fn iso8601_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    iso8601(now.as_secs() as i64, now.subsec_millis())
}

/// Unix seconds as ISO 8601 UTC (days to civil date after H. Hinnant's
/// public-domain algorithm).
fn iso8601(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(iso8601(1_795_887_762, 123), "2026-11-28T17:42:42.123Z");
    }

    #[test]
    fn stream_options_parse_and_refuse() {
        let o = stream_options(None).unwrap();
        assert_eq!(
            (o.seed, o.format, o.paused),
            (None, AudioFormat::Json, false)
        );
        let o = stream_options(Some("seed=42&format=binary&x=1")).unwrap();
        assert_eq!((o.seed, o.format), (Some(42), AudioFormat::Binary));
        let o = stream_options(Some("codec=opus&paused=1&preset=sleep&key=62")).unwrap();
        assert_eq!((o.format, o.paused), (AudioFormat::Opus, true));
        assert_eq!((o.context.key(), o.context.mode().name()), (62, "phrygian"));
        let o = stream_options(Some("mode=dorian&bpm=72&intensity=0.25")).unwrap();
        assert_eq!(
            (
                o.context.mode().name(),
                o.context.bpm(),
                o.context.intensity()
            ),
            ("dorian", 72.0, 0.25)
        );
        for (query, says) in [
            ("seed=-1", "seed"),
            ("format=xml", "json or binary"),
            ("codec=mp3", "pcm or opus"),
            ("format=json&codec=opus", "binary frames"),
            ("preset=party", "focus, meditation"),
            ("key=59", "60–71"),
            ("bpm=fast", "not a number"),
            ("mode=locrian", "aeolian"),
            ("paused=maybe", "1 or 0"),
        ] {
            let e = stream_options(Some(query)).unwrap_err();
            assert!(e.contains(says), "{query}: {e}");
        }
    }
}
