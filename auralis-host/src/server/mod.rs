//! The streaming server: every listener who connects to `/ws/stream` (or
//! `/listen`) hears their own endless composition, and stations play one
//! composition to many; the web player, status and metrics are served
//! beside them.
//!
//! Threads: tokio's I/O workers run HTTP and the sessions; a
//! [`RenderPool`] of plain threads renders every personal stream's
//! chunks just in time (at most `Pacing::ahead` asked for and unsent), and
//! each station renders on a thread of its own.
//!
//! This file holds the server's state ([`App`]), the accept loop, the
//! connection limits and the routing; the routes live in their modules
//! (`upgrade` for `/ws/stream`, `listen`, `stations`, `assets`).

pub mod assets;
pub mod config;
pub mod listen;
mod options;
pub mod stations;
mod time;
mod upgrade;

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

use crate::metrics::Metrics;
use crate::source::personal::Pacing;
use crate::source::pool::RenderPool;
pub use config::ServerConfig;

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
    font: auralis_core::synth::SoundFont<'static>,
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
    /// What `/metrics` is written from, registered once.
    registry: prometheus_client::registry::Registry,
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
        // Check the font and the rate once, so that sessions cannot fail:
        // every stream's engine takes the parsed font as it is.
        let font = auralis_core::synth::SoundFont::parse(font)
            .map_err(|e| format!("cannot play {font_name}: {e}"))?;
        auralis_core::engine::Engine::<auralis_core::synth::Synth<'_, 8>>::with_font(
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
            pool,
            pacing: Pacing::default(),
            shutdown,
            ids: AtomicU64::new(0),
            random: RandomState::new(),
            connections: Arc::new(tokio::sync::Semaphore::new(connection_limit)),
            connection_limit,
            cap_logged: AtomicU64::new(0),
            registry: crate::metrics::registry(Arc::clone(&metrics), stations.clone()),
            metrics,
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
            "sample_rate": self.config.sample_rate.hz(),
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
            match crate::transport::icecast::Target::parse(url) {
                Ok(target) => {
                    tokio::spawn(crate::transport::icecast::push(
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
    /// Told when the connection must close now, whatever hyper is doing:
    /// a streamed body whose player stopped reading leaves hyper blocked
    /// on a full socket, never polling the body (or its slot) again.
    close: tokio::sync::Notify,
}

impl Open {
    fn new(app: &App, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        app.metrics.open_connections.fetch_add(1, Relaxed);
        Self {
            _permit: permit,
            metrics: Arc::clone(&app.metrics),
            close: tokio::sync::Notify::new(),
        }
    }

    /// Closes the connection at once (its socket, its body and what the
    /// body holds: the listener's slot).
    fn close_now(&self) {
        self.close.notify_one();
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
            () = open.close.notified() => {
                tracing::debug!(%peer, "connection closed by its stream");
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
        "/ws/stream" => upgrade::websocket(app, req, peer, open),
        "/listen" => listen::listen(app, &req, peer, open),
        p if p.starts_with("/station/") => {
            let name = p["/station/".len()..].to_string();
            stations::http_listener(app, &req, &name, open)
        }
        "/api/status" => json_response(&app.status_json()),
        "/api/metrics" => json_response(&app.metrics.json()),
        "/metrics" => {
            let mut r = Response::new(full(crate::metrics::prometheus(&app.registry)));
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

pub use options::{stream_options, StreamOptions};
pub use time::iso8601_now;

/// "1 listener", "2 listeners".
fn listeners(n: u64) -> String {
    if n == 1 {
        "1 listener".into()
    } else {
        format!("{n} listeners")
    }
}
