//! The server side of stations: `GET /station/NAME` (Ogg Opus over HTTP),
//! `/ws/stream?station=NAME` (JSON, binary PCM or Opus frames), the admin
//! endpoint `POST /api/stations/NAME` (a bearer token from the config),
//! and their figures for status and metrics.
//!
//! A listener is a [`Subscription`] to the station's broadcast, played
//! by the same transports as a personal stream; one that falls behind is
//! dropped and counted, and nobody else notices.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::app::{App, Open};
use super::http::{json_response, text, Body};
use crate::source::station::Subscription;
use crate::station::Station;
use crate::transport::{http, End};
use crate::wire::protocol;

/// Counts a station listener for as long as it lives.
pub(super) struct Listening {
    station: Arc<Station>,
    app: Arc<App>,
}

impl Listening {
    pub(super) fn new(app: &Arc<App>, station: &Arc<Station>) -> Self {
        station.listeners.fetch_add(1, Relaxed);
        app.metrics.connections_total.fetch_add(1, Relaxed);
        Self {
            station: Arc::clone(station),
            app: Arc::clone(app),
        }
    }

    /// The listener was dropped for falling behind (the transport has
    /// counted it server-wide).
    pub(super) fn dropped_as_slow(&self) {
        self.station.dropped.fetch_add(1, Relaxed);
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
    let (tx, rx) = mpsc::channel::<Bytes>(http::BODY_QUEUE);
    let source = Subscription::new(station, false);
    let task_open = Arc::clone(&open);
    tokio::spawn(async move {
        let end = http::run(
            source,
            &tx,
            app.pacing.send_timeout,
            &app.metrics,
            app.shutdown.clone(),
        )
        .await;
        if end == End::TooSlow {
            listening.dropped_as_slow();
        }
        // As for `/listen`: a stalled connection is cut, not left waiting.
        http::finish(end, tx, || task_open.close_now()).await;
        drop(listening);
    });
    let mut r = Response::new(http::body(rx, open));
    headers(&mut r);
    r
}

/// `POST /api/stations/NAME`: new parameters for a station, for the holder
/// of the admin token only. The body is `{"params":{…}}` (as
/// `update_params`), `{"preset":"sleep"}`, or `{"seed":N}` (a new
/// composition, crossfaded in over three seconds).
pub(super) async fn admin(
    app: Arc<App>,
    req: Request<Incoming>,
    name: String,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    let Some(expected) = app.config.admin_token.clone() else {
        return text(
            StatusCode::FORBIDDEN,
            "no admin token is configured (admin_token in the config, or --admin-token)\n".into(),
        );
    };
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` too.
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    if !same(given.as_bytes(), expected.as_bytes()) {
        tracing::warn!(%peer, station = %name, "admin request refused: wrong or missing token");
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
    const SHAPES: &str = r#"{"seed":N}, {"preset":"sleep"} or {"params":{"key":62,"mode":"dorian","bpm":60,"intensity":0.5}}"#;
    let bad = |why: String| text(StatusCode::BAD_REQUEST, format!("{why}\n"));
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return bad(format!(
            "the body is not a JSON object: send one of {SHAPES}"
        ));
    };
    let mut fields = body.iter();
    let (Some((field, value)), None) = (fields.next(), fields.next()) else {
        let given: Vec<&str> = body.keys().map(String::as_str).collect();
        return bad(format!(
            "give exactly one of seed, preset or params (given: {}): {SHAPES}",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        ));
    };
    let current = station.context();
    let ctx = match field.as_str() {
        "seed" => {
            let Some(seed) = value.as_u64() else {
                return bad(format!("seed {value} is not a whole number from 0"));
            };
            station.reseed(seed);
            tracing::info!(%peer, station = %name, seed, "a new composition, asked by the admin");
            return json_response(&json!({"station": name, "seed": seed}));
        }
        "preset" => {
            let preset = value
                .as_str()
                .and_then(|p| p.parse::<auralis_core::music::Preset>().ok());
            let Some(preset) = preset else {
                return bad(format!(
                    "preset {value} is not focus, meditation, sleep or bright"
                ));
            };
            current.with_preset(preset)
        }
        "params" => {
            let Some(params) = value.as_object() else {
                return bad(format!(
                    "params must be an object of key, mode, bpm and intensity, not {value}"
                ));
            };
            match protocol::parse_params(params, &current) {
                Ok(ctx) => ctx,
                Err(refusal) => return bad(refusal.message),
            }
        }
        other => {
            return bad(format!(
                "{other:?} is not something a station takes: send one of {SHAPES}"
            ))
        }
    };
    station.set_context(ctx);
    tracing::info!(%peer, station = %name, "parameters changed by the admin");
    json_response(&json!({"station": name, "params": protocol::params_json(&ctx)}))
}

/// Constant-time comparison of two byte strings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
