//! The lanes on x86-64: SSE2 (every x86-64 CPU has it) as two 128-bit
//! halves, and AVX2 as one 256-bit register (its gathers are eight loads).
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::Lanes;

/// SSE2, the x86-64 baseline: always available.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sse2;

/// AVX2. Only [`Avx2::new`] makes one, for a `Simd` level that is known
/// to be AVX2, so holding one proves the CPU has AVX2.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    pub(crate) const unsafe fn new() -> Avx2 {
        Avx2(())
    }
}

/// The two 16-bit weights of a multiply-add, as the 32-bit pattern that
/// `pmaddwd` pairs with each lane's halves.
#[inline(always)]
const fn weights(lo: i16, hi: i16) -> i32 {
    ((hi as u16 as u32) << 16 | lo as u16 as u32) as i32
}

/// The four 32-bit lanes of the low (or high) half of `v`.
#[inline(always)]
fn lanes_i32(v: __m256i, high: bool) -> [i32; 4] {
    // SAFETY: `Avx2` methods call this only on an AVX2 CPU; the
    // extractions are AVX2 and SSE4.1 instructions, which it implies.
    unsafe {
        let h = if high {
            _mm256_extracti128_si256::<1>(v)
        } else {
            _mm256_castsi256_si128(v)
        };
        [
            _mm_cvtsi128_si32(h),
            _mm_extract_epi32::<1>(h),
            _mm_extract_epi32::<2>(h),
            _mm_extract_epi32::<3>(h),
        ]
    }
}

#[inline(always)]
fn halves(a: &[f32; 8]) -> (&[f32; 4], &[f32; 4]) {
    let (lo, hi) = a.split_at(4);
    (
        lo.try_into().unwrap_or(&[0.0; 4]),
        hi.try_into().unwrap_or(&[0.0; 4]),
    )
}

/// A 4 × 4 transpose of SSE rows.
#[inline(always)]
fn transpose4(r: [__m128; 4]) -> [__m128; 4] {
    let [a, b, c, d] = r;
    // SAFETY: SSE2 is part of the x86-64 baseline.
    unsafe {
        let (t0, t1) = (_mm_unpacklo_ps(a, b), _mm_unpacklo_ps(c, d));
        let (t2, t3) = (_mm_unpackhi_ps(a, b), _mm_unpackhi_ps(c, d));
        [
            _mm_movelh_ps(t0, t1),
            _mm_movehl_ps(t1, t0),
            _mm_movelh_ps(t2, t3),
            _mm_movehl_ps(t3, t2),
        ]
    }
}

impl Lanes for Sse2 {
    type F = (__m128, __m128);
    type U = (__m128i, __m128i);

    #[inline(always)]
    fn min(self, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_min_ps(a.0, b.0), _mm_min_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn max(self, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_max_ps(a.0, b.0), _mm_max_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn lt(self, a: Self::F, b: Self::F) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            (
                _mm_castps_si128(_mm_cmplt_ps(a.0, b.0)),
                _mm_castps_si128(_mm_cmplt_ps(a.1, b.1)),
            )
        }
    }
    #[inline(always)]
    fn trunc(self, a: Self::F) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_cvttps_epi32(a.0), _mm_cvttps_epi32(a.1)) }
    }
    #[inline(always)]
    fn flush(self, a: Self::F, tiny: f32) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let abs = _mm_castsi128_ps(_mm_set1_epi32(i32::MAX));
            let t = _mm_set1_ps(tiny);
            let f = |x: __m128| _mm_andnot_ps(_mm_cmplt_ps(_mm_and_ps(x, abs), t), x);
            (f(a.0), f(a.1))
        }
    }
    #[inline(always)]
    fn outside(self, a: Self::F, t: f32) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let abs = _mm_castsi128_ps(_mm_set1_epi32(i32::MAX));
            let t = _mm_set1_ps(t);
            // "Not less or equal" is true for NaN too.
            let f = |x: __m128| _mm_castps_si128(_mm_cmpnle_ps(_mm_and_ps(x, abs), t));
            (f(a.0), f(a.1))
        }
    }
    #[inline(always)]
    fn transpose8(self, rows: [Self::F; 8]) -> [Self::F; 8] {
        super::transpose8_by_halves(rows, transpose4)
    }

    #[inline(always)]
    fn splat(self, x: f32) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_set1_ps(x), _mm_set1_ps(x)) }
    }
    #[inline(always)]
    fn load(self, a: &[f32; 8]) -> Self::F {
        let (lo, hi) = halves(a);
        // SAFETY: each half is four readable f32; loadu has no alignment
        // requirement.
        unsafe { (_mm_loadu_ps(lo.as_ptr()), _mm_loadu_ps(hi.as_ptr())) }
    }
    #[inline(always)]
    fn store(self, v: Self::F, a: &mut [f32; 8]) {
        let (lo, hi) = a.split_at_mut(4);
        if lo.len() == 4 && hi.len() == 4 {
            // SAFETY: each half is four writable f32; storeu has no
            // alignment requirement.
            unsafe {
                _mm_storeu_ps(lo.as_mut_ptr(), v.0);
                _mm_storeu_ps(hi.as_mut_ptr(), v.1);
            }
        }
    }
    #[inline(always)]
    fn add(self, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_add_ps(a.0, b.0), _mm_add_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn sub(self, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_sub_ps(a.0, b.0), _mm_sub_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn mul(self, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_mul_ps(a.0, b.0), _mm_mul_ps(a.1, b.1)) }
    }
    #[inline(always)]
    fn select(self, mask: Self::U, a: Self::F, b: Self::F) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let pick = |m: __m128i, x: __m128, y: __m128| {
                let m = _mm_castsi128_ps(m);
                _mm_or_ps(_mm_and_ps(m, x), _mm_andnot_ps(m, y))
            };
            (pick(mask.0, a.0, b.0), pick(mask.1, a.1, b.1))
        }
    }
    #[inline(always)]
    fn usplat(self, x: u32) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_set1_epi32(x as i32), _mm_set1_epi32(x as i32)) }
    }
    #[inline(always)]
    fn uload(self, a: &[u32; 8]) -> Self::U {
        let (lo, hi) = a.split_at(4);
        // SAFETY: each half is 16 readable bytes; loadu has no alignment
        // requirement.
        unsafe {
            (
                _mm_loadu_si128(lo.as_ptr().cast()),
                _mm_loadu_si128(hi.as_ptr().cast()),
            )
        }
    }
    #[inline(always)]
    fn ustore(self, v: Self::U, a: &mut [u32; 8]) {
        let (lo, hi) = a.split_at_mut(4);
        // SAFETY: each half is 16 writable bytes; storeu has no alignment
        // requirement.
        unsafe {
            _mm_storeu_si128(lo.as_mut_ptr().cast(), v.0);
            _mm_storeu_si128(hi.as_mut_ptr().cast(), v.1);
        }
    }
    #[inline(always)]
    fn uadd(self, a: Self::U, b: Self::U) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_add_epi32(a.0, b.0), _mm_add_epi32(a.1, b.1)) }
    }
    #[inline(always)]
    fn usub(self, a: Self::U, b: Self::U) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_sub_epi32(a.0, b.0), _mm_sub_epi32(a.1, b.1)) }
    }
    #[inline(always)]
    fn and(self, a: Self::U, b: Self::U) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_and_si128(a.0, b.0), _mm_and_si128(a.1, b.1)) }
    }
    #[inline(always)]
    fn uge(self, a: Self::U, b: Self::U) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            // Unsigned a ≥ b is not (b > a) once both are shifted into the
            // signed range.
            let ge = |x: __m128i, y: __m128i| {
                let bias = _mm_set1_epi32(i32::MIN);
                let lt = _mm_cmpgt_epi32(_mm_xor_si128(y, bias), _mm_xor_si128(x, bias));
                _mm_xor_si128(lt, _mm_set1_epi32(-1))
            };
            (ge(a.0, b.0), ge(a.1, b.1))
        }
    }
    #[inline(always)]
    fn any(self, mask: Self::U) -> bool {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_movemask_epi8(_mm_or_si128(mask.0, mask.1)) != 0 }
    }
    #[inline(always)]
    fn lane0(self, a: Self::U) -> u32 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_cvtsi128_si32(a.0) as u32 }
    }
    #[inline(always)]
    fn all_eq(self, a: Self::U, x: u32) -> bool {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let x = _mm_set1_epi32(x as i32);
            let eq = _mm_and_si128(_mm_cmpeq_epi32(a.0, x), _mm_cmpeq_epi32(a.1, x));
            _mm_movemask_epi8(eq) == 0xffff
        }
    }
    #[inline(always)]
    fn shr8(self, a: Self::U) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_srli_epi32::<8>(a.0), _mm_srli_epi32::<8>(a.1)) }
    }
    #[inline(always)]
    fn to_f32(self, a: Self::U) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { (_mm_cvtepi32_ps(a.0), _mm_cvtepi32_ps(a.1)) }
    }
    #[inline(always)]
    fn madd16(self, a: Self::U, lo: i16, hi: i16) -> Self::U {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let w = _mm_set1_epi32(weights(lo, hi));
            (_mm_madd_epi16(a.0, w), _mm_madd_epi16(a.1, w))
        }
    }
    #[inline(always)]
    fn lo16(self, a: Self::U) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let f = |x: __m128i| _mm_cvtepi32_ps(_mm_srai_epi32::<16>(_mm_slli_epi32::<16>(x)));
            (f(a.0), f(a.1))
        }
    }
    #[inline(always)]
    fn hi16(self, a: Self::U) -> Self::F {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe {
            let f = |x: __m128i| _mm_cvtepi32_ps(_mm_srai_epi32::<16>(x));
            (f(a.0), f(a.1))
        }
    }
}

impl Lanes for Avx2 {
    type F = __m256;
    type U = __m256i;

    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn lt(self, a: __m256, b: __m256) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LT_OQ>(a, b)) }
    }
    #[inline(always)]
    fn trunc(self, a: __m256) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_cvttps_epi32(a) }
    }
    #[inline(always)]
    fn flush(self, a: __m256, tiny: f32) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            let abs = _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)));
            let small = _mm256_cmp_ps::<_CMP_LT_OQ>(abs, _mm256_set1_ps(tiny));
            _mm256_andnot_ps(small, a)
        }
    }
    #[inline(always)]
    fn outside(self, a: __m256, t: f32) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            let abs = _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX)));
            // Unordered "not less or equal": true for NaN too.
            _mm256_castps_si256(_mm256_cmp_ps::<_CMP_NLE_UQ>(abs, _mm256_set1_ps(t)))
        }
    }
    #[inline(always)]
    fn hadamard8(self, a: __m256) -> __m256 {
        // Each stage: s = the partner lanes; the lower of each pair takes
        // x + partner, the upper partner − x (the same operands, in the
        // same order, as the portable butterfly).
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            let s = _mm256_permute_ps::<0b10_11_00_01>(a);
            let b = _mm256_blend_ps::<0b1010_1010>(_mm256_add_ps(a, s), _mm256_sub_ps(s, a));
            let s = _mm256_permute_ps::<0b01_00_11_10>(b);
            let c = _mm256_blend_ps::<0b1100_1100>(_mm256_add_ps(b, s), _mm256_sub_ps(s, b));
            let s = _mm256_permute2f128_ps::<0x01>(c, c);
            _mm256_blend_ps::<0b1111_0000>(_mm256_add_ps(c, s), _mm256_sub_ps(s, c))
        }
    }
    #[inline(always)]
    fn sum_rows(self, rows: &[[f32; 8]; 8]) -> [f32; 8] {
        // hadd pairs lanes within each 128-bit half: two rounds give
        // (r0+r1)+(r2+r3) and (r4+r5)+(r6+r7) of four rows per half, and
        // one add of the halves finishes each row in the portable order.
        let r = |i: usize| self.load(rows.get(i).unwrap_or(&[0.0; 8]));
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            let h01 = _mm256_hadd_ps(r(0), r(1));
            let h23 = _mm256_hadd_ps(r(2), r(3));
            let h45 = _mm256_hadd_ps(r(4), r(5));
            let h67 = _mm256_hadd_ps(r(6), r(7));
            let q0 = _mm256_hadd_ps(h01, h23);
            let q1 = _mm256_hadd_ps(h45, h67);
            // q0 = [r0, r1, r2, r3 (low halves) | r0, r1, r2, r3 (high)].
            let lo = _mm256_permute2f128_ps::<0x20>(q0, q1);
            let hi = _mm256_permute2f128_ps::<0x31>(q0, q1);
            let mut out = [0f32; 8];
            self.store(_mm256_add_ps(lo, hi), &mut out);
            out
        }
    }
    #[inline(always)]
    fn transpose8(self, rows: [__m256; 8]) -> [__m256; 8] {
        let [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            // Pairs of rows interleaved, then pairs of pairs: each 128-bit
            // half of `q` holds four rows of one column (columns c and
            // c + 4 in the two halves); the halves are then regrouped.
            let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
            let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
            let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
            let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
            let q0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let q1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let q2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let q3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let q4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let q5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let q6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let q7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            [
                _mm256_permute2f128_ps::<0x20>(q0, q4),
                _mm256_permute2f128_ps::<0x20>(q1, q5),
                _mm256_permute2f128_ps::<0x20>(q2, q6),
                _mm256_permute2f128_ps::<0x20>(q3, q7),
                _mm256_permute2f128_ps::<0x31>(q0, q4),
                _mm256_permute2f128_ps::<0x31>(q1, q5),
                _mm256_permute2f128_ps::<0x31>(q2, q6),
                _mm256_permute2f128_ps::<0x31>(q3, q7),
            ]
        }
    }
    #[inline(always)]
    unsafe fn gather_f32(self, data: &[f32], index: __m256i) -> __m256 {
        #[cfg(debug_assertions)]
        {
            let mut idx = [0u32; 8];
            self.ustore(index, &mut idx);
            debug_assert!(idx.iter().all(|&i| (i as usize) < data.len()));
        }
        // Eight loads rather than `vgatherdps` (see `gather`).
        let p = data.as_ptr();
        // SAFETY: the caller promised every index is inside `data`.
        let at = |i: i32| unsafe { *p.add(i as u32 as usize) };
        let (lo, hi) = (lanes_i32(index, false), lanes_i32(index, true));
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            _mm256_setr_ps(
                at(lo[0]),
                at(lo[1]),
                at(lo[2]),
                at(lo[3]),
                at(hi[0]),
                at(hi[1]),
                at(hi[2]),
                at(hi[3]),
            )
        }
    }

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, a: &[f32; 8]) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU; The array is 32 readable bytes; loadu needs no alignment.
        unsafe { _mm256_loadu_ps(a.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, v: __m256, a: &mut [f32; 8]) {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU; The array is 32 writable bytes; storeu needs no alignment.
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn select(self, mask: __m256i, a: __m256, b: __m256) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_blendv_ps(b, a, _mm256_castsi256_ps(mask)) }
    }
    #[inline(always)]
    fn usplat(self, x: u32) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_set1_epi32(x as i32) }
    }
    #[inline(always)]
    fn uload(self, a: &[u32; 8]) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU; The array is 32 readable bytes; loadu needs no alignment.
        unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
    }
    #[inline(always)]
    fn ustore(self, v: __m256i, a: &mut [u32; 8]) {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU; The array is 32 writable bytes; storeu needs no alignment.
        unsafe { _mm256_storeu_si256(a.as_mut_ptr().cast(), v) }
    }
    #[inline(always)]
    fn uadd(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_add_epi32(a, b) }
    }
    #[inline(always)]
    fn usub(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_sub_epi32(a, b) }
    }
    #[inline(always)]
    fn and(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_and_si256(a, b) }
    }
    #[inline(always)]
    fn uge(self, a: __m256i, b: __m256i) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU; a ≥ b exactly when max(a, b) is a.
        unsafe { _mm256_cmpeq_epi32(_mm256_max_epu32(a, b), a) }
    }
    #[inline(always)]
    fn any(self, mask: __m256i) -> bool {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_testz_si256(mask, mask) == 0 }
    }
    #[inline(always)]
    fn lane0(self, a: __m256i) -> u32 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_cvtsi256_si32(a) as u32 }
    }
    #[inline(always)]
    fn all_eq(self, a: __m256i, x: u32) -> bool {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_movemask_epi8(_mm256_cmpeq_epi32(a, _mm256_set1_epi32(x as i32))) == -1 }
    }
    #[inline(always)]
    fn shr8(self, a: __m256i) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_srli_epi32::<8>(a) }
    }
    #[inline(always)]
    fn to_f32(self, a: __m256i) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_cvtepi32_ps(a) }
    }
    #[inline(always)]
    fn madd16(self, a: __m256i, lo: i16, hi: i16) -> __m256i {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_madd_epi16(a, _mm256_set1_epi32(weights(lo, hi))) }
    }
    #[inline(always)]
    fn lo16(self, a: __m256i) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_cvtepi32_ps(_mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(a))) }
    }
    #[inline(always)]
    fn hi16(self, a: __m256i) -> __m256 {
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe { _mm256_cvtepi32_ps(_mm256_srai_epi32::<16>(a)) }
    }
    #[inline(always)]
    unsafe fn gather(self, data: &[u8], frame: __m256i) -> __m256i {
        #[cfg(debug_assertions)]
        {
            let mut idx = [0u32; 8];
            self.ustore(frame, &mut idx);
            debug_assert!(
                idx.iter().all(|&f| 2 * f as usize + 4 <= data.len()),
                "gather out of range: {idx:?} in {} bytes",
                data.len()
            );
        }
        // Eight loads rather than `vpgatherdd`: on AMD's Zen cores the
        // gather is microcoded and slower than the loads it stands for
        // (the engine renders 12 % faster this way on a Zen 3).
        let p = data.as_ptr();
        // SAFETY: each read is the four bytes at data + 2 × frame, and the
        // caller promised 2 × frame + 4 ≤ data.len() for every lane;
        // unaligned reads of plain bytes are fine.
        let at = |f: i32| unsafe { p.add(2 * f as u32 as usize).cast::<i32>().read_unaligned() };
        let (lo, hi) = (lanes_i32(frame, false), lanes_i32(frame, true));
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            _mm256_setr_epi32(
                at(lo[0]),
                at(lo[1]),
                at(lo[2]),
                at(lo[3]),
                at(hi[0]),
                at(hi[1]),
                at(hi[2]),
                at(hi[3]),
            )
        }
    }
    #[inline(always)]
    unsafe fn gather_pair(self, data: &[u8], frame: __m256i) -> (__m256i, __m256i) {
        #[cfg(debug_assertions)]
        {
            let mut idx = [0u32; 8];
            self.ustore(frame, &mut idx);
            debug_assert!(
                idx.iter().all(|&f| 2 * f as usize + 8 <= data.len()),
                "gather out of range: {idx:?} in {} bytes",
                data.len()
            );
        }
        let p = data.as_ptr();
        // SAFETY: each read is the eight bytes at data + 2 × frame, and
        // the caller promised 2 × frame + 8 ≤ data.len() for every lane;
        // unaligned reads of plain bytes are fine.
        let at = |f: i32| unsafe { p.add(2 * f as u32 as usize).cast::<i64>().read_unaligned() };
        let (lo, hi) = (lanes_i32(frame, false), lanes_i32(frame, true));
        // SAFETY: an `Avx2` exists only on an AVX2 CPU (`Avx2::new`).
        unsafe {
            // Lanes 0, 1, 4, 5 and 2, 3, 6, 7 as 64-bit lanes, so that
            // picking the low (high) halves pairwise within each 128-bit
            // half gives lanes 0–3 | 4–7 in order, with no permute.
            let a = _mm256_castsi256_ps(_mm256_setr_epi64x(
                at(lo[0]),
                at(lo[1]),
                at(hi[0]),
                at(hi[1]),
            ));
            let b = _mm256_castsi256_ps(_mm256_setr_epi64x(
                at(lo[2]),
                at(lo[3]),
                at(hi[2]),
                at(hi[3]),
            ));
            (
                _mm256_castps_si256(_mm256_shuffle_ps::<0b10_00_10_00>(a, b)),
                _mm256_castps_si256(_mm256_shuffle_ps::<0b11_01_11_01>(a, b)),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Lanes, Portable};
    use super::*;

    /// Rows 0..8 of distinct numbers, through `s`'s transpose and back to
    /// arrays.
    fn transposed<S: Lanes>(s: S) -> [[f32; 8]; 8] {
        let mut rows = [[0f32; 8]; 8];
        for (i, row) in rows.iter_mut().enumerate() {
            for (j, x) in row.iter_mut().enumerate() {
                *x = (10 * i + j) as f32;
            }
        }
        let out = s.transpose8(rows.map(|r| s.load(&r)));
        out.map(|v| {
            let mut a = [0f32; 8];
            s.store(v, &mut a);
            a
        })
    }

    #[test]
    fn every_level_transposes_alike() {
        let want = transposed(Portable);
        for (i, row) in want.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                assert_eq!(*x, (10 * j + i) as f32, "portable at {i},{j}");
            }
        }
        assert_eq!(transposed(Sse2), want, "SSE2");
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            let avx2 = unsafe { Avx2::new() };
            assert_eq!(transposed(avx2), want, "AVX2");
        }
    }

    /// `gather_pair` is two gathers, two frames apart, at every level.
    #[test]
    #[allow(unsafe_code)]
    fn a_pair_of_gathers_reads_alike_everywhere() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let frames = [0u32, 1, 7, 50, 95, 3, 64, 96];
        // SAFETY: 2 × 96 + 8 = 200 bytes: every read is inside `data`.
        let want = unsafe { Portable.gather_pair(&data, frames) };
        let two = frames.map(|f| f + 2);
        // SAFETY: as above.
        assert_eq!(want, unsafe {
            (Portable.gather(&data, frames), Portable.gather(&data, two))
        });
        let read = |(a, b): (__m128i, __m128i)| {
            let mut out = [0u32; 8];
            Sse2.ustore((a, b), &mut out);
            out
        };
        // SAFETY: as above.
        let (lo, hi) = unsafe { Sse2.gather_pair(&data, Sse2.uload(&frames)) };
        assert_eq!((read(lo), read(hi)), want, "SSE2");
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            let avx2 = unsafe { Avx2::new() };
            // SAFETY: as above.
            let (lo, hi) = unsafe { avx2.gather_pair(&data, avx2.uload(&frames)) };
            let (mut a, mut b) = ([0u32; 8], [0u32; 8]);
            avx2.ustore(lo, &mut a);
            avx2.ustore(hi, &mut b);
            assert_eq!((a, b), want, "AVX2");
        }
    }

    #[test]
    fn outside_is_true_above_the_bound_and_for_nan() {
        let x = [0.5, -0.875, 0.876, -2.0, f32::NAN, f32::INFINITY, 0.0, -0.0];
        let want = Portable.outside(x, 0.875);
        assert_eq!(want, [0, 0, !0, !0, !0, !0, 0, 0]);
        let mut got = [0u32; 8];
        Sse2.ustore(Sse2.outside(Sse2.load(&x), 0.875), &mut got);
        assert_eq!(got, want, "SSE2");
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            let avx2 = unsafe { Avx2::new() };
            avx2.ustore(avx2.outside(avx2.load(&x), 0.875), &mut got);
            assert_eq!(got, want, "AVX2");
        }
    }
}
