//! The engine's figures: chunks rendered and rendering time.

use crate::boundary::{check, with_engine_ref, Out};
use crate::state::AuralisEngine;
use crate::types::{AuralisMetrics, AuralisStatus};

/// Stores a snapshot of the engine's figures in `*out`.
///
/// - Ownership: `*out` is the caller's; written only on success.
/// - Threads: read-only: any number of `const` calls may run on one engine at
///   once, from any threads, never beside a call that changes it.
/// - Real-time safe: yes.
/// - Errors: NULL_POINTER.
///
/// # Safety
/// `engine` is NULL or a live handle from `auralis_engine_new` or
/// `auralis_engine_init`, not yet freed, and no call through a non-`const`
/// handle uses it during this one.
/// `out` is NULL or points to a writable `AuralisMetrics`.
#[no_mangle]
pub unsafe extern "C" fn auralis_engine_metrics(
    engine: *const AuralisEngine,
    out: *mut AuralisMetrics,
) -> AuralisStatus {
    with_engine_ref(engine, |e| {
        // SAFETY: NULL or writable, per the contract.
        let out = check!(unsafe { Out::new(out) });
        let t = &e.timing;
        let m = AuralisMetrics {
            frames: e.engine.frame(),
            chunks: e.chunks,
            renders: t.count(),
            active_voices: e.engine.active_voices() as u32,
            polyphony: e.engine.polyphony() as u32,
            render_ms_per_100ms_avg: t.average(),
            render_ms_per_100ms_p50: t.quantile(0.5),
            render_ms_per_100ms_p95: t.quantile(0.95),
            render_ms_per_100ms_p99: t.quantile(0.99),
        };
        out.set(m);
        AuralisStatus::Ok
    })
}
