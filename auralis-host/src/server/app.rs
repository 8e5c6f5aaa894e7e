//! The server's state: the configuration, the parsed SoundFont, the
//! render pool, the stations and the metrics ([`App`]); and what admits a
//! listener: a TCP connection's permit ([`Open`]) and a slot among
//! `--max-clients` ([`Slot`]).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::sync::watch;

use super::config::ServerConfig;
use super::http::{json_response, listeners, text, Body};
use crate::metrics::Metrics;
use crate::source::personal::Pacing;
use crate::source::pool::RenderPool;
use crate::time::iso8601_now;

/// A running server's shared state.
#[derive(Debug)]
pub struct App {
    pub(super) config: ServerConfig,
    pub(super) font: auralis_core::synth::SoundFont<'static>,
    pub(super) font_name: String,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    pub(super) pool: RenderPool,
    pub(super) pacing: Pacing,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) ids: AtomicU64,
    pub(super) random: RandomState,
    /// One permit per open TCP connection (`max_connections`, kept below
    /// the descriptor limit).
    pub(super) connections: Arc<tokio::sync::Semaphore>,
    /// The connection limit in force.
    pub(super) connection_limit: usize,
    /// When the cap last logged (ms since start), so that a flood logs
    /// once every ten seconds, not once a connection.
    pub(super) cap_logged: AtomicU64,
    /// When a `--max-clients` refusal last logged, likewise.
    pub(super) refusal_logged: AtomicU64,
    /// Open connections per peer address, against the per-address limit.
    pub(super) addresses: Arc<Addresses>,
    /// The stations, each rendering on its own thread.
    pub(super) stations: Vec<Arc<crate::station::Station>>,
    /// What `/metrics` is written from, registered once.
    pub(super) registry: prometheus_client::registry::Registry,
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
        // The font is checked once, here, and every stream's engine takes
        // it as it is; the rate was checked where it entered (the
        // configuration): nothing else about an engine can fail.
        let font = auralis_core::synth::SoundFont::parse(font)
            .map_err(|e| format!("cannot play {font_name}: {e}"))?;
        let metrics = Arc::new(Metrics::default());
        let connection_limit = connection_limit(config.max_connections);
        let per_address = config.per_address_limit(connection_limit);
        if connection_limit < config.max_connections {
            tracing::info!(
                "at most {connection_limit} connections: the descriptor limit (ulimit -n) leaves no room for {}",
                config.max_connections
            );
        }
        let pool = RenderPool::start(config.render_threads(), Arc::clone(&metrics))
            .map_err(|e| format!("cannot start the render threads: {e}"))?;
        let count = config.stations.len();
        let mut stations = Vec::with_capacity(count);
        for (i, spec) in config.stations.iter().enumerate() {
            stations.push(crate::station::Station::start(spec, font)?);
            tracing::info!(station = %spec.name, "station {} of {count} started", i + 1);
        }
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
            refusal_logged: AtomicU64::new(0),
            addresses: Arc::new(Addresses::new(per_address)),
            registry: crate::metrics::registry(Arc::clone(&metrics), stations.clone()),
            metrics,
            stations,
        }))
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub(super) fn random(&self, salt: u64) -> u64 {
        self.random.hash_one((salt, std::time::Instant::now()))
    }

    /// `/healthz`: 200 with the render pool's state while every render
    /// thread runs, 503 when one has gone.
    pub(super) fn health(&self) -> Response<Body> {
        let alive = self.metrics.render_threads_alive.load(Relaxed);
        let threads = self.config.render_threads() as i64;
        // A balancer should send new listeners elsewhere when a render
        // thread died, when every listener slot is taken, or while the
        // server shuts down (503 for each, saying which).
        let status = if alive < threads {
            "degraded"
        } else if *self.shutdown.borrow() {
            "draining"
        } else if self.metrics.active.load(Relaxed) >= self.config.max_clients as u64 {
            "full"
        } else {
            "ok"
        };
        let ok = status == "ok";
        let body = json!({
            "status": status,
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

    pub(super) fn status_json(&self) -> serde_json::Value {
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

impl App {
    /// Logs that a connection cap (`which`, of `limit` connections)
    /// refused someone, at most once every ten seconds.
    pub(super) fn log_cap(&self, peer: SocketAddr, which: &str, limit: usize) {
        if self.now_and_then(&self.cap_logged) {
            tracing::warn!(
                %peer,
                "closing new connections: {limit} open {which}; {} closed so far",
                self.metrics.connections_capped.load(Relaxed)
            );
        }
    }

    /// `true` at most once every ten seconds for each `last` (when it
    /// last said so, ms since start): a flood logs a line, not a line
    /// per connection.
    fn now_and_then(&self, last: &AtomicU64) -> bool {
        let now = self.metrics.uptime_ms();
        let before = last.load(Relaxed);
        (now >= before + 10_000 || before == 0)
            && last
                .compare_exchange(before, now.max(1), Relaxed, Relaxed)
                .is_ok()
    }
}

/// `wanted` connections, or fewer if the descriptor limit would run out
/// first (a margin is kept for the listener, files and the runtime).
pub(super) fn connection_limit(wanted: usize) -> usize {
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

/// An open TCP connection's hold on its `max_connections` permit, shared
/// with the WebSocket session it may become.
#[derive(Debug)]
pub(super) struct Open {
    _permit: tokio::sync::OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
    /// Held until the connection and every stream it became have ended:
    /// the server's drain waits for all of these to go.
    _draining: watch::Receiver<()>,
    /// Its place among its address's connections.
    _address: AddressHold,
    /// Told when the connection must close now, whatever hyper is doing:
    /// a streamed body whose player stopped reading leaves hyper blocked
    /// on a full socket, never polling the body (or its slot) again.
    pub(super) close: tokio::sync::Notify,
}

impl Open {
    pub(super) fn new(
        app: &App,
        permit: tokio::sync::OwnedSemaphorePermit,
        address: AddressHold,
        draining: watch::Receiver<()>,
    ) -> Self {
        app.metrics.open_connections.fetch_add(1, Relaxed);
        Self {
            _permit: permit,
            _draining: draining,
            _address: address,
            metrics: Arc::clone(&app.metrics),
            close: tokio::sync::Notify::new(),
        }
    }

    /// Closes the connection at once (its socket, its body and what the
    /// body holds: the listener's slot).
    pub(super) fn close_now(&self) {
        self.close.notify_one();
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.metrics.open_connections.fetch_sub(1, Relaxed);
    }
}

/// A slot among `--max-clients`, given back when dropped.
#[derive(Debug)]
pub(super) struct Slot(Arc<App>);

impl Slot {
    /// Takes a slot for a new listener, or answers why not (shutting
    /// down, or full: 503 with `Retry-After`).
    #[allow(clippy::result_large_err)]
    pub(super) fn take(app: &Arc<App>, peer: SocketAddr) -> Result<Self, Response<Body>> {
        if *app.shutdown.borrow() {
            return Err(shutting_down());
        }
        let max = app.config.max_clients as u64;
        if app.metrics.active.fetch_add(1, Relaxed) >= max {
            app.metrics.active.fetch_sub(1, Relaxed);
            app.metrics.refused.fetch_add(1, Relaxed);
            if app.now_and_then(&app.refusal_logged) {
                tracing::info!(
                    %peer,
                    "refusing listeners: {} already (--max-clients); {} refused so far",
                    listeners(max),
                    app.metrics.refused.load(Relaxed)
                );
            }
            return Err(full(max));
        }
        app.metrics.connections_total.fetch_add(1, Relaxed);
        Ok(Slot(Arc::clone(app)))
    }

    /// What [`Slot::take`] would answer now, without taking a slot (for
    /// `HEAD`): `None` when a listener would be let in.
    pub(super) fn would_refuse(app: &App) -> Option<Response<Body>> {
        let max = app.config.max_clients as u64;
        if *app.shutdown.borrow() {
            Some(shutting_down())
        } else if app.metrics.active.load(Relaxed) >= max {
            Some(full(max))
        } else {
            None
        }
    }
}

/// 503: the server is shutting down.
fn shutting_down() -> Response<Body> {
    text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into())
}

/// 503 with `Retry-After`: every one of `max` slots is taken.
fn full(max: u64) -> Response<Body> {
    let mut r = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "Auralis is full: {} already (--max-clients); try again later\n",
            listeners(max)
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    r
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.metrics.active.fetch_sub(1, Relaxed);
        self.0.metrics.disconnects.fetch_add(1, Relaxed);
    }
}

/// Open connections per peer address: one peer may hold at most `limit`,
/// so that a client keeping every connection it can open locks out only
/// itself.
#[derive(Debug)]
pub(super) struct Addresses {
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    limit: usize,
}

impl Addresses {
    fn new(limit: usize) -> Self {
        Self {
            open: std::sync::Mutex::default(),
            limit,
        }
    }

    /// The connections one address may hold.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// A place for one more connection from `ip`, or `None` when it holds
    /// its limit already.
    pub(super) fn hold(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<AddressHold> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(AddressHold {
            addresses: Arc::clone(self),
            ip,
        })
    }
}

/// One connection's place among its address's, given back when dropped.
#[derive(Debug)]
pub(super) struct AddressHold {
    addresses: Arc<Addresses>,
    ip: std::net::IpAddr,
}

impl Drop for AddressHold {
    fn drop(&mut self) {
        if let Ok(mut open) = self.addresses.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}
