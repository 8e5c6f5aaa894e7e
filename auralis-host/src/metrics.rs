//! The server's metrics: atomic counters written by the render threads and
//! socket tasks, latency histograms from the core, and two read-outs — the
//! JSON of `/api/metrics` and the Prometheus text of `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use auralis_core::metrics::Histogram;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{json, Value};

use crate::alloc_count;

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

fn hist_json(h: &Histogram) -> Value {
    json!({
        "avg": round(h.average()),
        "p50": round(h.quantile(0.50)),
        "p95": round(h.quantile(0.95)),
        "p99": round(h.quantile(0.99)),
        "samples": h.count(),
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
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

    /// The `/api/metrics` document.
    pub fn json(&self) -> Value {
        let a = alloc_count::stats();
        json!({
            "synthesis_latency_ms": hist_json(&self.synthesis.snapshot()),
            "network_latency_ms": hist_json(&self.network.snapshot()),
            "send_latency_ms": hist_json(&self.send.snapshot()),
            "end_to_end_latency_ms": hist_json(&self.end_to_end.snapshot()),
            "opus_encode_ms": hist_json(&self.encode.snapshot()),
            "audio_bytes_sent": self.bytes_out.load(Relaxed),
            "max_chunks_ahead": self.max_ahead.load(Relaxed),
            "paused_streams": self.paused.load(Relaxed),
            "http_listeners": self.http_listeners.load(Relaxed),
            "buffer_underruns": self.underruns.load(Relaxed),
            "buffer_overflows": self.overflows.load(Relaxed),
            "disconnects": self.disconnects.load(Relaxed),
            "slow_client_disconnects": self.slow_disconnects.load(Relaxed),
            "connections_total": self.connections_total.load(Relaxed),
            "connections_refused": self.refused.load(Relaxed),
            "active_connections": self.active.load(Relaxed),
            "buffer_depth": self.buffer_depth(),
            "chunks_sent": self.chunks_sent.load(Relaxed),
            "invalid_messages": self.invalid_messages.load(Relaxed),
            "open_tcp_connections": self.open_connections.load(Relaxed),
            "tcp_connections_capped": self.connections_capped.load(Relaxed),
            "render_panics": self.render_panics.load(Relaxed),
            "render_threads_alive": self.render_threads_alive.load(Relaxed),
            "memory_usage_mb": round(resident_bytes() as f64 / (1024.0 * 1024.0)),
            "allocator": {
                "allocations": a.allocations,
                "deallocations": a.deallocations,
                "live_bytes": a.live_bytes,
                "counting": a.counting,
            },
            "uptime_sec": round(self.uptime()),
            "timestamp": crate::server::iso8601_now(),
        })
    }

    /// The Prometheus text exposition of the same figures.
    pub fn prometheus(&self) -> String {
        let mut registry = Registry::with_prefix("auralis");
        let quantiles = [(0.5, "0.5"), (0.95, "0.95"), (0.99, "0.99")];
        let mut quantile_lines = Vec::new();
        for (name, help, lat) in [
            (
                "synthesis_latency_ms",
                "Time to render one 100 ms chunk",
                &self.synthesis,
            ),
            (
                "network_latency_ms",
                "WebSocket ping round trip",
                &self.network,
            ),
            (
                "send_latency_ms",
                "Time to hand one audio frame to the socket",
                &self.send,
            ),
            (
                "end_to_end_latency_ms",
                "Render to playback, as clients report it",
                &self.end_to_end,
            ),
            (
                "opus_encode_ms",
                "Time to encode one chunk as Opus",
                &self.encode,
            ),
        ] {
            let h = lat.snapshot();
            // Quantile lines are written by hand after the registry's, in
            // a fixed order (a labelled family would come out in hash
            // order).
            quantile_lines.push((name, help, quantiles.map(|(q, l)| (l, h.quantile(q)))));
            let count = Counter::<u64>::default();
            count.inc_by(h.count());
            registry.register(
                format!("{name}_samples"),
                format!("{help}: values recorded"),
                count,
            );
            let avg = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
            avg.set(h.average());
            registry.register(format!("{name}_avg"), format!("{help}: mean"), avg);
        }
        let counters = [
            (
                "buffer_underruns",
                "Chunks due but not ready",
                &self.underruns,
            ),
            (
                "buffer_overflows",
                "Chunks rendered with nowhere to go",
                &self.overflows,
            ),
            (
                "disconnects",
                "WebSocket connections ended",
                &self.disconnects,
            ),
            (
                "slow_client_disconnects",
                "Connections closed because the client fell behind",
                &self.slow_disconnects,
            ),
            (
                "connections",
                "WebSocket connections accepted",
                &self.connections_total,
            ),
            (
                "connections_refused",
                "Connections refused by --max-clients",
                &self.refused,
            ),
            ("chunks_sent", "Audio chunks sent", &self.chunks_sent),
            (
                "invalid_messages",
                "Client messages answered with an error",
                &self.invalid_messages,
            ),
            (
                "tcp_connections_capped",
                "TCP connections closed at once by --max-connections",
                &self.connections_capped,
            ),
            (
                "render_panics",
                "Streams closed because rendering them panicked",
                &self.render_panics,
            ),
            (
                "audio_bytes_sent",
                "Audio bytes sent to listeners",
                &self.bytes_out,
            ),
        ];
        for (name, help, value) in counters {
            let c = Counter::<u64>::default();
            c.inc_by(value.load(Relaxed));
            registry.register(name, help, c);
        }
        let a = alloc_count::stats();
        let gauges = [
            (
                "active_connections",
                "WebSocket connections open now",
                self.active.load(Relaxed) as i64,
            ),
            (
                "resident_memory_bytes",
                "Resident memory of the server",
                resident_bytes() as i64,
            ),
            (
                "allocator_live_bytes",
                "Heap bytes allocated and not yet freed",
                a.live_bytes as i64,
            ),
            (
                "paused_streams",
                "Streams paused by their listener",
                self.paused.load(Relaxed),
            ),
            (
                "http_listeners",
                "Ogg Opus listeners on /listen",
                self.http_listeners.load(Relaxed),
            ),
            (
                "max_chunks_ahead",
                "Most chunks one stream has had rendered and unsent",
                self.max_ahead.load(Relaxed) as i64,
            ),
            (
                "uptime_seconds",
                "Seconds since the server started",
                self.uptime() as i64,
            ),
        ];
        for (name, help, value) in gauges {
            let g = Gauge::<i64>::default();
            g.set(value);
            registry.register(name, help, g);
        }
        let allocs = Counter::<u64>::default();
        allocs.inc_by(a.allocations);
        registry.register("allocations", "Heap allocations since start", allocs);
        let gauge = Gauge::<i64>::default();
        gauge.set(self.render_threads_alive.load(Relaxed));
        registry.register("render_threads_alive", "Render threads running", gauge);
        let gauge = Gauge::<i64>::default();
        gauge.set(self.open_connections.load(Relaxed));
        registry.register("open_tcp_connections", "TCP connections open", gauge);
        let mut out = String::new();
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        // The quantiles, before the end marker, in a fixed order.
        let body = out.strip_suffix("# EOF\n").unwrap_or(&out).to_string();
        let mut out = body;
        for (name, help, values) in quantile_lines {
            let _ = writeln!(out, "# HELP auralis_{name} {help}.");
            let _ = writeln!(out, "# TYPE auralis_{name} gauge");
            for (label, v) in values {
                let _ = writeln!(out, "auralis_{name}{{quantile=\"{label}\"}} {v}");
            }
        }
        out.push_str("# EOF\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_from_many_threads_merge_into_one_histogram() {
        let lat = std::sync::Arc::new(Latency::default());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let lat = std::sync::Arc::clone(&lat);
                std::thread::spawn(move || {
                    for i in 0..100 {
                        lat.record(f64::from(t * 100 + i) / 10.0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let h = lat.snapshot();
        assert_eq!(h.count(), 800);
        assert!((h.average() - 39.95).abs() < 0.01, "{}", h.average());
        let used = lat
            .0
            .iter()
            .filter(|s| s.lock().unwrap().count() > 0)
            .count();
        assert!(used > 1, "threads record into shards of their own");
    }
}
