//! The server's metrics: atomic counters written by the render threads and
//! socket tasks, latency histograms from the core, and two read-outs — the
//! JSON of `/api/metrics` and the Prometheus text of `/metrics` — both
//! written from one table (`FIGURES`, `LATENCIES`), so neither can
//! carry a figure the other lacks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use auralis_core::metrics::Histogram;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use serde_json::{json, Value};

use crate::alloc_count;
use crate::station::Station;

/// Shards of a [`Latency`]: more than the threads that record at once.
const SHARDS: usize = 16;

/// One latency histogram, recorded from many threads: each thread records
/// into a shard of its own (locked for a moment, by nobody else in
/// practice), and the shards are merged when the figures are read. No
/// lock is shared by all render threads on the per-chunk path.
#[derive(Debug, Default)]
pub struct Latency([Mutex<Histogram>; SHARDS]);

/// This thread's shard: threads take shards in turn as they first record.
fn shard() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

impl Latency {
    /// Records `ms` milliseconds.
    pub fn record(&self, ms: f64) {
        if let Some(Ok(mut h)) = self.0.get(shard()).map(Mutex::lock) {
            h.record(ms);
        }
    }

    /// The histogram now: every shard merged.
    pub fn snapshot(&self) -> Histogram {
        let mut all = Histogram::default();
        for shard in &self.0 {
            if let Ok(h) = shard.lock() {
                all.merge(&h);
            }
        }
        all
    }
}

/// Every figure the server reports.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// Time to render one 100 ms chunk, ms.
    pub synthesis: Latency,
    /// WebSocket ping round trip, ms.
    pub network: Latency,
    /// Time to hand one audio frame to the socket, ms.
    pub send: Latency,
    /// Render to playback as the client reports it, ms.
    pub end_to_end: Latency,
    /// Chunks due but not ready.
    pub underruns: AtomicU64,
    /// Chunks rendered with nowhere to go.
    pub overflows: AtomicU64,
    /// Connections that ended (any reason).
    pub disconnects: AtomicU64,
    /// Connections ended because the client could not keep up.
    pub slow_disconnects: AtomicU64,
    /// WebSocket connections accepted.
    pub connections_total: AtomicU64,
    /// Connections refused by `--max-clients`.
    pub refused: AtomicU64,
    /// Connections open now.
    pub active: AtomicU64,
    /// Audio chunks sent.
    pub chunks_sent: AtomicU64,
    /// Client messages refused with an `error`.
    pub invalid_messages: AtomicU64,
    /// Rendered chunks waiting in every stream's ring, in all.
    pub buffered: AtomicI64,
    /// TCP connections closed at once because `--max-connections` were open.
    pub connections_capped: AtomicU64,
    /// Open TCP connections (HTTP and WebSocket).
    pub open_connections: AtomicI64,
    /// Streams ended because rendering them panicked (each closed with
    /// 1011; the render thread lives on).
    pub render_panics: AtomicU64,
    /// Render threads running.
    pub render_threads_alive: AtomicI64,
    /// Time to encode one chunk as Opus, ms.
    pub encode: Latency,
    /// Audio bytes sent to listeners (every codec and route).
    pub bytes_out: AtomicU64,
    /// The most chunks one stream has had rendered and not yet sent.
    pub max_ahead: AtomicU64,
    /// Streams whose listener paused (nothing renders for them).
    pub paused: AtomicI64,
    /// `/listen` (Ogg Opus over HTTP) listeners now; counted in `active` too.
    pub http_listeners: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            synthesis: Latency::default(),
            network: Latency::default(),
            send: Latency::default(),
            end_to_end: Latency::default(),
            underruns: AtomicU64::new(0),
            overflows: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            slow_disconnects: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            active: AtomicU64::new(0),
            chunks_sent: AtomicU64::new(0),
            invalid_messages: AtomicU64::new(0),
            buffered: AtomicI64::new(0),
            connections_capped: AtomicU64::new(0),
            open_connections: AtomicI64::new(0),
            render_panics: AtomicU64::new(0),
            render_threads_alive: AtomicI64::new(0),
            encode: Latency::default(),
            bytes_out: AtomicU64::new(0),
            max_ahead: AtomicU64::new(0),
            paused: AtomicI64::new(0),
            http_listeners: AtomicI64::new(0),
        }
    }
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`;
/// 0 where that is unavailable).
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

impl Metrics {
    /// Chunks rendered ahead per open stream, on average (0 with none).
    pub fn buffer_depth(&self) -> f64 {
        let active = self.active.load(Relaxed);
        if active == 0 {
            return 0.0;
        }
        let waiting = self.buffered.load(Relaxed).max(0) as f64;
        (waiting / active as f64 * 10.0).round() / 10.0
    }

    /// A stream has `waiting` chunks rendered and not sent.
    pub fn note_ahead(&self, waiting: u64) {
        self.max_ahead.fetch_max(waiting, Relaxed);
    }

    /// Milliseconds since start.
    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Seconds since start.
    pub fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The `/api/metrics` document: every figure of `FIGURES` and
    /// `LATENCIES` under its JSON key.
    pub fn json(&self) -> Value {
        let reading = Reading::now(self);
        let mut doc = serde_json::Map::new();
        for (name, _, latency) in LATENCIES {
            let h = latency(self).snapshot();
            let v = json!({
                "avg": round(h.average()),
                "p50": round(h.quantile(0.50)),
                "p95": round(h.quantile(0.95)),
                "p99": round(h.quantile(0.99)),
                "samples": h.count(),
            });
            doc.insert(name.to_string(), v);
        }
        for f in FIGURES {
            let v = match ((f.read)(&reading), f.json_unit) {
                (Num::Count(n), 1) => json!(n),
                (Num::Level(n), 1) => json!(n),
                (Num::Real(x), 1) => json!(round(x)),
                (Num::Flag(b), _) => json!(b),
                (n, unit) => json!(round(n.real() / unit as f64)),
            };
            // `a.b` nests: `allocator.live_bytes`.
            match f.json.split_once('.') {
                Some((outer, inner)) => {
                    let o = doc.entry(outer).or_insert_with(|| json!({}));
                    o[inner] = v;
                }
                None => {
                    doc.insert(f.json.to_string(), v);
                }
            }
        }
        doc.insert("timestamp".into(), json!(crate::time::iso8601_now()));
        Value::Object(doc)
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A figure's value.
#[derive(Clone, Copy, Debug)]
enum Num {
    /// A count (counters, and gauges that cannot go below zero).
    Count(u64),
    /// A level that a race may briefly take below zero.
    Level(i64),
    /// A measurement.
    Real(f64),
    /// Yes or no (JSON `true`/`false`, Prometheus 1/0).
    Flag(bool),
}

impl Num {
    fn real(self) -> f64 {
        match self {
            Num::Count(n) => n as f64,
            Num::Level(n) => n as f64,
            Num::Real(x) => x,
            Num::Flag(b) => f64::from(u8::from(b)),
        }
    }
}

/// What Prometheus is told a figure is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Only goes up (`_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// What one read-out of the figures needs, read once.
struct Reading<'a> {
    m: &'a Metrics,
    alloc: alloc_count::AllocStats,
    resident: u64,
}

impl<'a> Reading<'a> {
    fn now(m: &'a Metrics) -> Self {
        Self {
            m,
            alloc: alloc_count::stats(),
            resident: resident_bytes(),
        }
    }
}

/// One figure, declared once for both read-outs.
struct Figure {
    /// Its Prometheus name after `auralis_` (a counter's gains `_total`).
    name: &'static str,
    /// Its key in `/api/metrics` (`outer.inner` nests).
    json: &'static str,
    /// The JSON shows the value divided by this (memory in MB).
    json_unit: u64,
    help: &'static str,
    kind: Kind,
    read: fn(&Reading<'_>) -> Num,
}

/// A figure named the same in both read-outs.
const fn figure(
    name: &'static str,
    help: &'static str,
    kind: Kind,
    read: fn(&Reading<'_>) -> Num,
) -> Figure {
    Figure {
        name,
        json: name,
        json_unit: 1,
        help,
        kind,
        read,
    }
}

use Kind::{Counter, Gauge};

/// Every figure but the latencies, in the order `/metrics` lists them.
const FIGURES: &[Figure] = &[
    figure(
        "buffer_underruns",
        "Chunks due but not ready",
        Counter,
        |r| Num::Count(r.m.underruns.load(Relaxed)),
    ),
    figure(
        "buffer_overflows",
        "Chunks rendered with nowhere to go",
        Counter,
        |r| Num::Count(r.m.overflows.load(Relaxed)),
    ),
    figure("disconnects", "Listener connections ended", Counter, |r| {
        Num::Count(r.m.disconnects.load(Relaxed))
    }),
    Figure {
        json: "slow_client_disconnects",
        ..figure(
            "slow_client_disconnects",
            "Listeners closed because they fell behind",
            Counter,
            |r| Num::Count(r.m.slow_disconnects.load(Relaxed)),
        )
    },
    Figure {
        json: "connections_total",
        ..figure(
            "connections",
            "Listener connections accepted",
            Counter,
            |r| Num::Count(r.m.connections_total.load(Relaxed)),
        )
    },
    figure(
        "connections_refused",
        "Listeners refused by --max-clients",
        Counter,
        |r| Num::Count(r.m.refused.load(Relaxed)),
    ),
    figure("chunks_sent", "Audio chunks sent", Counter, |r| {
        Num::Count(r.m.chunks_sent.load(Relaxed))
    }),
    figure(
        "invalid_messages",
        "Client messages answered with an error",
        Counter,
        |r| Num::Count(r.m.invalid_messages.load(Relaxed)),
    ),
    figure(
        "tcp_connections_capped",
        "TCP connections closed at once by --max-connections",
        Counter,
        |r| Num::Count(r.m.connections_capped.load(Relaxed)),
    ),
    figure(
        "render_panics",
        "Streams closed because rendering them panicked",
        Counter,
        |r| Num::Count(r.m.render_panics.load(Relaxed)),
    ),
    figure(
        "audio_bytes_sent",
        "Audio bytes sent to listeners",
        Counter,
        |r| Num::Count(r.m.bytes_out.load(Relaxed)),
    ),
    figure("active_connections", "Personal listeners now", Gauge, |r| {
        Num::Count(r.m.active.load(Relaxed))
    }),
    figure("open_tcp_connections", "TCP connections open", Gauge, |r| {
        Num::Level(r.m.open_connections.load(Relaxed))
    }),
    figure(
        "http_listeners",
        "Ogg Opus listeners on /listen",
        Gauge,
        |r| Num::Level(r.m.http_listeners.load(Relaxed)),
    ),
    figure(
        "paused_streams",
        "Streams paused by their listener",
        Gauge,
        |r| Num::Level(r.m.paused.load(Relaxed)),
    ),
    figure(
        "buffer_depth",
        "Chunks rendered and waiting per personal stream, on average",
        Gauge,
        |r| Num::Real(r.m.buffer_depth()),
    ),
    figure(
        "max_chunks_ahead",
        "Most chunks one stream has had rendered and unsent",
        Gauge,
        |r| Num::Count(r.m.max_ahead.load(Relaxed)),
    ),
    figure(
        "render_threads_alive",
        "Render threads running",
        Gauge,
        |r| Num::Level(r.m.render_threads_alive.load(Relaxed)),
    ),
    Figure {
        json: "memory_usage_mb",
        json_unit: 1 << 20,
        ..figure(
            "resident_memory_bytes",
            "Resident memory of the server",
            Gauge,
            |r| Num::Count(r.resident),
        )
    },
    Figure {
        json: "allocator.allocations",
        ..figure(
            "allocations",
            "Heap allocations since start",
            Counter,
            |r| Num::Count(r.alloc.allocations),
        )
    },
    Figure {
        json: "allocator.deallocations",
        ..figure("deallocations", "Heap frees since start", Counter, |r| {
            Num::Count(r.alloc.deallocations)
        })
    },
    Figure {
        json: "allocator.live_bytes",
        ..figure(
            "allocator_live_bytes",
            "Heap bytes allocated and not yet freed",
            Gauge,
            |r| Num::Count(r.alloc.live_bytes),
        )
    },
    Figure {
        json: "allocator.counting",
        ..figure(
            "allocator_counting",
            "1 when the counting allocator is installed (else the allocator figures are 0)",
            Gauge,
            |r| Num::Flag(r.alloc.counting),
        )
    },
    Figure {
        json: "uptime_sec",
        ..figure(
            "uptime_seconds",
            "Seconds since the server started",
            Gauge,
            |r| Num::Real(r.m.uptime()),
        )
    },
];

/// A latency's name, help and where it is kept.
type LatencyRow = (&'static str, &'static str, fn(&Metrics) -> &Latency);

/// The latency histograms: each is `{avg, p50, p95, p99, samples}` in
/// the JSON, and `NAME{quantile}`, `NAME_avg`, `NAME_samples` in
/// `/metrics`.
const LATENCIES: [LatencyRow; 5] = [
    (
        "synthesis_latency_ms",
        "Time to render one 100 ms chunk",
        |m| &m.synthesis,
    ),
    ("network_latency_ms", "WebSocket ping round trip", |m| {
        &m.network
    }),
    (
        "send_latency_ms",
        "Time to hand one audio frame to the socket",
        |m| &m.send,
    ),
    (
        "end_to_end_latency_ms",
        "Render to playback, as clients report it",
        |m| &m.end_to_end,
    ),
    ("opus_encode_ms", "Time to encode one chunk as Opus", |m| {
        &m.encode
    }),
];

/// The quantiles `/metrics` gives of each latency, with their labels.
const QUANTILES: [(f64, &str); 3] = [(0.5, "0.5"), (0.95, "0.95"), (0.99, "0.99")];

/// A station figure's name, help, kind and reading.
type StationRow = (&'static str, &'static str, Kind, fn(&Station) -> Num);

/// A station's figures in `/metrics`, labelled with its name.
const STATION_FIGURES: [StationRow; 3] = [
    (
        "station_listeners",
        "Listeners of each station",
        Gauge,
        |s| Num::Level(s.listeners.load(Relaxed)),
    ),
    (
        "station_dropped_listeners",
        "Station listeners dropped for falling behind",
        Counter,
        |s| Num::Count(s.dropped.load(Relaxed)),
    ),
    (
        "station_chunks",
        "Chunks each station has rendered",
        Counter,
        |s| Num::Count(s.chunks.load(Relaxed)),
    ),
];

/// Writes one value as `kind` says.
fn encode_value(m: &mut MetricEncoder<'_>, kind: Kind, n: Num) -> std::fmt::Result {
    match (kind, n) {
        (Kind::Counter, Num::Count(c)) => m.encode_counter::<NoLabelSet, _, u64>(&c, None),
        (Kind::Counter, n) => m.encode_counter::<NoLabelSet, _, u64>(&n.real(), None),
        (Kind::Gauge, Num::Count(c)) => m.encode_gauge(&c),
        (Kind::Gauge, Num::Level(l)) => m.encode_gauge(&l),
        (Kind::Gauge, Num::Flag(b)) => m.encode_gauge(&u64::from(b)),
        (Kind::Gauge, n) => m.encode_gauge(&n.real()),
    }
}

const fn metric_type(kind: Kind) -> MetricType {
    match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
    }
}

/// The server's figures as one Prometheus collector, registered once:
/// each scrape reads the atomics as they are.
#[derive(Debug)]
struct Exporter {
    metrics: Arc<Metrics>,
    stations: Vec<Arc<Station>>,
}

impl Collector for Exporter {
    fn encode(&self, mut out: DescriptorEncoder<'_>) -> std::fmt::Result {
        for (name, help, latency) in LATENCIES {
            let h = latency(&self.metrics).snapshot();
            let mut family =
                out.encode_descriptor(name, &format!("{help}."), None, MetricType::Gauge)?;
            for (q, label) in QUANTILES {
                let labels = [("quantile", label)];
                family
                    .encode_family(&labels)?
                    .encode_gauge(&h.quantile(q))?;
            }
            let avg = format!("{name}_avg");
            out.encode_descriptor(&avg, &format!("{help}: mean."), None, MetricType::Gauge)?
                .encode_gauge(&h.average())?;
            let samples = format!("{name}_samples");
            out.encode_descriptor(
                &samples,
                &format!("{help}: values recorded."),
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&h.count(), None)?;
        }
        let reading = Reading::now(&self.metrics);
        for f in FIGURES {
            let mut m =
                out.encode_descriptor(f.name, &format!("{}.", f.help), None, metric_type(f.kind))?;
            encode_value(&mut m, f.kind, (f.read)(&reading))?;
        }
        if !self.stations.is_empty() {
            for (name, help, kind, read) in STATION_FIGURES {
                let mut family =
                    out.encode_descriptor(name, &format!("{help}."), None, metric_type(kind))?;
                for s in &self.stations {
                    let labels = [("station", s.name.as_str())];
                    encode_value(&mut family.encode_family(&labels)?, kind, read(s))?;
                }
            }
        }
        Ok(())
    }
}

/// The registry `/metrics` is written from: every figure and every
/// station's, registered once when the server starts.
pub fn registry(metrics: Arc<Metrics>, stations: Vec<Arc<Station>>) -> Registry {
    let mut registry = Registry::with_prefix("auralis");
    registry.register_collector(Box::new(Exporter { metrics, stations }));
    registry
}

/// The OpenMetrics text of `registry`.
pub fn prometheus(registry: &Registry) -> String {
    let mut out = String::new();
    if encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The figure families `/metrics` declares (`# TYPE` lines), without
    /// the prefix.
    fn families(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE auralis_"))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn both_read_outs_carry_the_same_figures() {
        let m = Arc::new(Metrics::default());
        m.underruns.fetch_add(3, Relaxed);
        m.synthesis.record(2.0);
        let json = m.json();
        let text = prometheus(&registry(Arc::clone(&m), Vec::new()));
        let declared = families(&text);
        // Every figure, in both.
        let mut expected = BTreeSet::new();
        for f in FIGURES {
            let (outer, inner) = f.json.split_once('.').unwrap_or((f.json, ""));
            let v = if inner.is_empty() {
                &json[outer]
            } else {
                &json[outer][inner]
            };
            assert!(!v.is_null(), "{} is missing from the JSON: {json}", f.json);
            expected.insert(f.name.to_string());
        }
        for (name, _, _) in LATENCIES {
            assert!(json[name]["p99"].is_number(), "{name} in the JSON");
            for family in [
                name.to_string(),
                format!("{name}_avg"),
                format!("{name}_samples"),
            ] {
                expected.insert(family);
            }
        }
        assert_eq!(declared, expected, "/metrics declares exactly the table");
        // And the JSON holds nothing the table does not.
        let keys: BTreeSet<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let known: BTreeSet<&str> = FIGURES
            .iter()
            .map(|f| f.json.split('.').next().unwrap_or(""))
            .chain(LATENCIES.iter().map(|(n, _, _)| *n))
            .chain(["timestamp"])
            .collect();
        assert_eq!(keys, known);
        // The values agree.
        assert_eq!(json["buffer_underruns"], 3);
        assert!(
            text.contains("auralis_buffer_underruns_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("auralis_synthesis_latency_ms_samples_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("auralis_synthesis_latency_ms{quantile=\"0.5\"}"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn one_registry_reads_the_figures_as_they_are_now() {
        let m = Arc::new(Metrics::default());
        let r = registry(Arc::clone(&m), Vec::new());
        assert!(prometheus(&r).contains("auralis_chunks_sent_total 0\n"));
        m.chunks_sent.fetch_add(5, Relaxed);
        assert!(prometheus(&r).contains("auralis_chunks_sent_total 5\n"));
    }
}
