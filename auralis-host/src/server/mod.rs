//! The streaming server: every listener who connects to `/ws/stream` (or
//! `/listen`) hears their own endless composition, and stations play one
//! composition to many; the web player, status and metrics are served
//! beside them.
//!
//! Threads: tokio's I/O workers run HTTP and the sessions; a
//! [`RenderPool`](crate::source::pool::RenderPool) of plain threads renders every personal stream's
//! chunks just in time (at most `Pacing::ahead` asked for and unsent), and
//! each station renders on a thread of its own.
//!
//! This file holds the accept loop, each connection's life and the
//! routing; the state and admission are in `app.rs`, the response
//! helpers in `http.rs`, and the routes in their modules (`upgrade` for
//! `/ws/stream`, `listen`, `stations`, `assets`).

mod app;
pub mod assets;
pub mod config;
mod http;
pub mod listen;
mod options;
pub mod stations;
mod upgrade;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use app::App;
use app::Open;
pub use config::ServerConfig;
use http::{accepts_gzip, full, json_response, text, Body};
pub use options::{stream_options, StreamOptions};

/// Largest message a client may send (its messages are small JSON).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Kernel send buffer of each connection: about a second of JSON audio.
pub const SEND_BUFFER: usize = 128 * 1024;

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
    // The drain's guard: each connection holds a receiver (`drained`).
    let (draining, drained) = watch::channel(());
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
                let Some(address) = app.addresses.hold(peer.ip()) else {
                    // This address holds its share already: only it waits.
                    app.metrics.connections_capped.fetch_add(1, Relaxed);
                    app.log_cap(peer, "from one address (--max-connections-per-address)", app.addresses.limit());
                    drop(tcp);
                    continue;
                };
                let Ok(permit) = Arc::clone(&app.connections).try_acquire_owned() else {
                    // Full: close this one at once, log now and then.
                    app.metrics.connections_capped.fetch_add(1, Relaxed);
                    app.log_cap(peer, "(--max-connections)", app.connection_limit);
                    drop(tcp);
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                // A fixed send buffer bounds what a stalled client can make
                // the kernel hold, and lets the session notice it in time.
                let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
                tokio::spawn(connection(Arc::clone(&app), tcp, peer, Arc::new(Open::new(&app, permit, address, drained.clone()))));
            }
        }
    }
    drop(listener);
    tracing::info!(
        "shutting down: closing {} stream(s)",
        app.metrics.active.load(Relaxed)
    );
    let _ = announce.send(true);
    // Every connection holds a receiver of `draining` until it and the
    // streams it became have ended: closed when the last one has.
    drop(drained);
    let _ = tokio::time::timeout(drain, draining.closed()).await;
    for s in &app.stations {
        s.stop();
    }
    Ok(())
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
                    stations::admin(app, req, name, peer).await
                } else {
                    route(app, req, peer, open)
                };
                Ok::<_, Infallible>(response)
            }
        })
    };
    // hyper's header timer runs from the moment it waits for a request,
    // so between two requests of a keep-alive connection it would cut the
    // idle wait at the header deadline: it gets the longer of the two, and
    // the loop below holds a connection's first request to the header
    // deadline and its quiet time to the idle one.
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout.max(idle_timeout))
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut closing = false;
    let mut shutdown = app.shutdown.clone();
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
            _ = shutdown.changed(), if !closing => {
                // The server drains: an idle connection closes now, a
                // response in flight (a stream's body ends on shutdown)
                // finishes first.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tick.tick(), if !closing => {
                // A connection with no request for `idle_timeout` (or no
                // first request within the header deadline) is closed; one
                // that became a stream has left this loop already.
                let quiet = Duration::from_millis(
                    app.metrics.uptime_ms().saturating_sub(last.load(Relaxed)),
                );
                if !served.load(Relaxed) && quiet >= header_timeout {
                    // No whole request yet, so nothing in flight: drop it
                    // (a graceful close would wait for the headers).
                    tracing::debug!(%peer, "no request within the header timeout");
                    break;
                }
                if quiet >= idle_timeout {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
    drop(open);
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
                let gzip = asset.gzip.filter(|_| accepts_gzip(&req));
                let mut r = Response::new(full(Bytes::from_static(gzip.unwrap_or(asset.bytes))));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                );
                if asset.gzip.is_some() {
                    r.headers_mut()
                        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                }
                if gzip.is_some() {
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                r
            }
            None => text(StatusCode::NOT_FOUND, format!("no such page: {path}\n")),
        },
    }
}
