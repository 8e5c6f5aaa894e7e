//! The read-only calls (those taking `const AuralisEngine *`) on one
//! engine from several threads at once, as the header allows. Run under
//! Miri, which reports any data race and any `&mut` made from the shared
//! pointer (the undefined behaviour the `const` calls once had):
//!
//! ```sh
//! cargo +nightly miri test -p auralis-ffi --test concurrent_reads
//! ```
//!
//! `.ci/run` does; under plain `cargo test` it runs as well, longer.

use auralis::*;

/// An engine's handle, to hand to other threads (the header's rules, not
/// Rust's, say what they may do with it).
struct Shared<T>(*mut T);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
impl<T> Shared<T> {
    /// The handle as the `const` calls take it.
    fn get(self) -> *const T {
        self.0.cast_const()
    }
}
// SAFETY: the handle is only used for the header's read-only calls, which
// it allows from any number of threads at once.
unsafe impl<T> Send for Shared<T> {}

#[test]
fn const_calls_from_many_threads_at_once() {
    let config = auralis_config_default();
    let mut engine = std::ptr::null_mut();
    // SAFETY: a valid config and out-pointer.
    let status = unsafe { auralis_engine_new(&config, &mut engine) };
    assert_eq!(status, AuralisStatus::Ok);
    let want = {
        let mut p = AuralisParams {
            key: 0,
            mode: 0,
            bpm: 0.0,
            intensity: 0.0,
        };
        // SAFETY: a live engine and a writable out-pointer.
        let status = unsafe { auralis_engine_get_params(engine, &mut p) };
        assert_eq!(status, AuralisStatus::Ok);
        (p.key, p.mode, p.bpm.to_bits())
    };
    let rounds = if cfg!(miri) { 3 } else { 2_000 };
    let shared = Shared(engine);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(move || {
                let e = shared.get();
                for _ in 0..rounds {
                    let mut p = AuralisParams {
                        key: 0,
                        mode: 0,
                        bpm: 0.0,
                        intensity: 0.0,
                    };
                    // SAFETY: a live engine that only `const` calls use
                    // meanwhile, and writable out-pointers.
                    unsafe {
                        assert_eq!(auralis_engine_get_params(e, &mut p), AuralisStatus::Ok);
                        let mut m = std::mem::zeroed::<AuralisMetrics>();
                        assert_eq!(auralis_engine_metrics(e, &mut m), AuralisStatus::Ok);
                        let mut buf = [0 as std::ffi::c_char; AURALIS_ERROR_MAX as usize];
                        let mut n = usize::MAX;
                        assert_eq!(
                            auralis_engine_error(e, buf.as_mut_ptr(), buf.len(), &mut n),
                            AuralisStatus::Ok
                        );
                        assert_eq!(n, 0, "no error since the last success");
                    }
                    assert_eq!((p.key, p.mode, p.bpm.to_bits()), want);
                }
            });
        }
    });
    // SAFETY: the threads are done; the engine is freed once.
    unsafe { auralis_engine_free(engine) };
}
