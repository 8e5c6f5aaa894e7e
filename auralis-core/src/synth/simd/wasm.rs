//! The lanes in WebAssembly's 128-bit SIMD (`simd128`): two `v128`
//! halves, as SSE2 on x86-64, one instruction per operation and half. Only
//! in a build for `wasm32` with the `simd128` target feature, which every
//! engine that loads the module then has (a browser without it refuses the
//! module), so the level needs no detection. Each operation is the same
//! IEEE-754 or integer operation per lane as [`super::Portable`]'s, so the
//! bits are the same (`tests/tests/wasm.rs` compares them with the native
//! engine's).
#![allow(unsafe_code)]

use core::arch::wasm32::*;

use super::Lanes;

/// WebAssembly SIMD, present in every build that compiles this module.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wasm128;

/// The two 16-bit weights of a multiply-add, as the 32-bit pattern that
/// `i32x4.dot_i16x8_s` pairs with each lane's halves.
#[inline(always)]
const fn weights(lo: i16, hi: i16) -> i32 {
    ((hi as u16 as u32) << 16 | lo as u16 as u32) as i32
}

/// A 4 × 4 transpose of rows: lane `j` of output `i` is lane `i` of
/// input `j`.
#[inline(always)]
fn transpose4(r: [v128; 4]) -> [v128; 4] {
    let [a, b, c, d] = r;
    let (t0, t1) = (
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let (t2, t3) = (
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    [
        i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
        i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
        i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
    ]
}

impl Lanes for Wasm128 {
    type F = (v128, v128);
    type U = (v128, v128);

    #[inline(always)]
    fn splat(self, x: f32) -> Self::F {
        (f32x4_splat(x), f32x4_splat(x))
    }
    #[inline(always)]
    fn load(self, a: &[f32; 8]) -> Self::F {
        let p = a.as_ptr().cast::<v128>();
        // SAFETY: 32 readable bytes; v128.load has no alignment
        // requirement.
        unsafe { (v128_load(p), v128_load(p.add(1))) }
    }
    #[inline(always)]
    fn store(self, v: Self::F, a: &mut [f32; 8]) {
        let p = a.as_mut_ptr().cast::<v128>();
        // SAFETY: 32 writable bytes; v128.store has no alignment
        // requirement.
        unsafe {
            v128_store(p, v.0);
            v128_store(p.add(1), v.1);
        }
    }
    #[inline(always)]
    fn add(self, a: Self::F, b: Self::F) -> Self::F {
        (f32x4_add(a.0, b.0), f32x4_add(a.1, b.1))
    }
    #[inline(always)]
    fn sub(self, a: Self::F, b: Self::F) -> Self::F {
        (f32x4_sub(a.0, b.0), f32x4_sub(a.1, b.1))
    }
    #[inline(always)]
    fn mul(self, a: Self::F, b: Self::F) -> Self::F {
        (f32x4_mul(a.0, b.0), f32x4_mul(a.1, b.1))
    }
    #[inline(always)]
    fn select(self, mask: Self::U, a: Self::F, b: Self::F) -> Self::F {
        (
            v128_bitselect(a.0, b.0, mask.0),
            v128_bitselect(a.1, b.1, mask.1),
        )
    }
    #[inline(always)]
    fn min(self, a: Self::F, b: Self::F) -> Self::F {
        // `pmin(y, x)` is `x < y ? x : y`: the portable choice, also for
        // equal zeros of opposite sign.
        (f32x4_pmin(b.0, a.0), f32x4_pmin(b.1, a.1))
    }
    #[inline(always)]
    fn max(self, a: Self::F, b: Self::F) -> Self::F {
        // `pmax(y, x)` is `x > y ? x : y`.
        (f32x4_pmax(b.0, a.0), f32x4_pmax(b.1, a.1))
    }
    #[inline(always)]
    fn lt(self, a: Self::F, b: Self::F) -> Self::U {
        (f32x4_lt(a.0, b.0), f32x4_lt(a.1, b.1))
    }
    #[inline(always)]
    fn trunc(self, a: Self::F) -> Self::U {
        (i32x4_trunc_sat_f32x4(a.0), i32x4_trunc_sat_f32x4(a.1))
    }
    #[inline(always)]
    fn flush(self, a: Self::F, tiny: f32) -> Self::F {
        let t = f32x4_splat(tiny);
        let f = |x: v128| v128_andnot(x, f32x4_lt(f32x4_abs(x), t));
        (f(a.0), f(a.1))
    }
    #[inline(always)]
    fn outside(self, a: Self::F, t: f32) -> Self::U {
        let t = f32x4_splat(t);
        // Not "≤": true for NaN too.
        let f = |x: v128| v128_not(f32x4_le(f32x4_abs(x), t));
        (f(a.0), f(a.1))
    }
    #[inline(always)]
    fn transpose8(self, rows: [Self::F; 8]) -> [Self::F; 8] {
        super::transpose8_by_halves(rows, transpose4)
    }

    #[inline(always)]
    fn usplat(self, x: u32) -> Self::U {
        (u32x4_splat(x), u32x4_splat(x))
    }
    #[inline(always)]
    fn uload(self, a: &[u32; 8]) -> Self::U {
        let p = a.as_ptr().cast::<v128>();
        // SAFETY: 32 readable bytes; no alignment requirement.
        unsafe { (v128_load(p), v128_load(p.add(1))) }
    }
    #[inline(always)]
    fn ustore(self, v: Self::U, a: &mut [u32; 8]) {
        let p = a.as_mut_ptr().cast::<v128>();
        // SAFETY: 32 writable bytes; no alignment requirement.
        unsafe {
            v128_store(p, v.0);
            v128_store(p.add(1), v.1);
        }
    }
    #[inline(always)]
    fn uadd(self, a: Self::U, b: Self::U) -> Self::U {
        (i32x4_add(a.0, b.0), i32x4_add(a.1, b.1))
    }
    #[inline(always)]
    fn usub(self, a: Self::U, b: Self::U) -> Self::U {
        (i32x4_sub(a.0, b.0), i32x4_sub(a.1, b.1))
    }
    #[inline(always)]
    fn and(self, a: Self::U, b: Self::U) -> Self::U {
        (v128_and(a.0, b.0), v128_and(a.1, b.1))
    }
    #[inline(always)]
    fn uge(self, a: Self::U, b: Self::U) -> Self::U {
        (u32x4_ge(a.0, b.0), u32x4_ge(a.1, b.1))
    }
    #[inline(always)]
    fn any(self, mask: Self::U) -> bool {
        v128_any_true(v128_or(mask.0, mask.1))
    }
    #[inline(always)]
    fn lane0(self, a: Self::U) -> u32 {
        u32x4_extract_lane::<0>(a.0)
    }
    #[inline(always)]
    fn all_eq(self, a: Self::U, x: u32) -> bool {
        let x = u32x4_splat(x);
        i32x4_all_true(v128_and(i32x4_eq(a.0, x), i32x4_eq(a.1, x)))
    }
    #[inline(always)]
    fn shr8(self, a: Self::U) -> Self::U {
        (u32x4_shr(a.0, 8), u32x4_shr(a.1, 8))
    }
    #[inline(always)]
    fn to_f32(self, a: Self::U) -> Self::F {
        (f32x4_convert_i32x4(a.0), f32x4_convert_i32x4(a.1))
    }
    #[inline(always)]
    fn madd16(self, a: Self::U, lo: i16, hi: i16) -> Self::U {
        let w = i32x4_splat(weights(lo, hi));
        (i32x4_dot_i16x8(a.0, w), i32x4_dot_i16x8(a.1, w))
    }
    #[inline(always)]
    fn lo16(self, a: Self::U) -> Self::F {
        let f = |x: v128| f32x4_convert_i32x4(i32x4_shr(i32x4_shl(x, 16), 16));
        (f(a.0), f(a.1))
    }
    #[inline(always)]
    fn hi16(self, a: Self::U) -> Self::F {
        let f = |x: v128| f32x4_convert_i32x4(i32x4_shr(x, 16));
        (f(a.0), f(a.1))
    }
}
