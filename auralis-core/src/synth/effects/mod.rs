//! Effects after the voices: a stereo reverb (`reverb.rs`) and a chorus
//! (`chorus.rs`) on their send buses, and a soft limiter (`limiter.rs`)
//! that keeps every output sample inside [-1, 1]. All delay lines are
//! fixed arrays: nothing allocates.

use super::simd::Lanes;

mod chorus;
mod limiter;
mod reverb;

pub(crate) use chorus::Chorus;
pub(crate) use limiter::Limiter;
pub(crate) use reverb::Reverb;
pub use reverb::ReverbSize;

/// Values under this are flushed to zero in the feedback loops.
const TINY: f32 = 1e-15;

/// Zero for values too small to hear, so feedback loops decaying in
/// silence never reach denormal numbers (slow on some CPUs).
#[inline(always)]
fn flush(x: f32) -> f32 {
    if x.abs() < 1e-15 {
        0.0
    } else {
        x
    }
}

/// Adds the lanes of `v` to `out` (eight frames, or the fewer left).
#[inline(always)]
fn add_into<S: Lanes>(s: S, out: &mut [f32], v: S::F) {
    if let Ok(out) = <&mut [f32; 8]>::try_from(&mut *out) {
        s.store(s.add(s.load(out), v), out);
    } else {
        let mut lanes = [0f32; 8];
        s.store(v, &mut lanes);
        for (o, x) in out.iter_mut().zip(lanes) {
            *o += x;
        }
    }
}
