//! Which instruction set the voice renderer runs on.

/// Whether this is a WebAssembly build with its 128-bit SIMD (then the
/// baseline level is [`Wasm128`]).
const WASM_SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// The instruction set the voice renderer runs on: the target's baseline
/// (SSE2 on x86-64, WebAssembly's SIMD in a `simd128` build, the scalar
/// FPU on a Cortex-M4F), or AVX2 where the CPU has it. Every level computes the same samples, bit for bit.
///
/// A `Simd` can say AVX2 only when the CPU has it: `Simd::detect` asks
/// the CPU (with the `std` feature), and [`Simd::avx2_unchecked`] takes
/// the caller's word for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Simd(Level);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
enum Level {
    #[default]
    Baseline,
    Avx2,
}

impl Simd {
    /// The target's baseline, right on every CPU of the target.
    pub const BASELINE: Simd = Simd(Level::Baseline);

    /// The widest level this CPU runs, found at run time.
    #[cfg(feature = "std")]
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Simd(Level::Avx2);
        }
        Simd::BASELINE
    }

    /// What a synthesizer starts with: with the `std` feature the widest
    /// level this CPU runs (`Simd::detect`), without it the baseline.
    pub fn best() -> Simd {
        #[cfg(feature = "std")]
        return Simd::detect();
        #[cfg(not(feature = "std"))]
        return Simd::BASELINE;
    }

    /// What [`crate::engine::Engine::device`] reports for this level:
    /// "CPU (AVX2)", "CPU (SSE2)" or "CPU (scalar)".
    pub const fn device(self) -> &'static str {
        match self.0 {
            Level::Avx2 => "CPU (AVX2)",
            Level::Baseline if cfg!(target_arch = "x86_64") => "CPU (SSE2)",
            Level::Baseline if WASM_SIMD => "CPU (WebAssembly SIMD)",
            Level::Baseline => "CPU (scalar)",
        }
    }

    /// AVX2, for a host that knows its CPU has it but cannot ask (a
    /// `no_std` build on x86-64).
    ///
    /// # Safety
    /// The CPU that renders must support AVX2: rendering with this on one
    /// that does not is undefined behaviour.
    #[allow(unsafe_code)]
    pub const unsafe fn avx2_unchecked() -> Simd {
        Simd(Level::Avx2)
    }

    /// Whether this is the AVX2 level.
    pub const fn is_avx2(self) -> bool {
        matches!(self.0, Level::Avx2)
    }

    /// The level's name: "AVX2", "SSE2" or "scalar".
    pub const fn name(self) -> &'static str {
        match self.0 {
            Level::Avx2 => "AVX2",
            Level::Baseline if cfg!(target_arch = "x86_64") => "SSE2",
            Level::Baseline if WASM_SIMD => "simd128",
            Level::Baseline => "scalar",
        }
    }
}

/// An 8 × 8 transpose of rows kept as two 4-lane halves, by four 4 × 4
/// transposes: the low halves of rows 0–3 give the low halves of columns
/// 0–3, the low halves of rows 4–7 their high halves, and the high halves
/// of the rows columns 4–7 alike. For the two-register levels (SSE2,
/// WebAssembly SIMD), each with its own `transpose4`.
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "wasm32", target_feature = "simd128")
))]
#[inline(always)]
fn transpose8_by_halves<V: Copy>(
    rows: [(V, V); 8],
    transpose4: impl Fn([V; 4]) -> [V; 4],
) -> [(V, V); 8] {
    let [r0, r1, r2, r3, r4, r5, r6, r7] = rows;
    let (a, b) = (
        transpose4([r0.0, r1.0, r2.0, r3.0]),
        transpose4([r4.0, r5.0, r6.0, r7.0]),
    );
    let (c, d) = (
        transpose4([r0.1, r1.1, r2.1, r3.1]),
        transpose4([r4.1, r5.1, r6.1, r7.1]),
    );
    [
        (a[0], b[0]),
        (a[1], b[1]),
        (a[2], b[2]),
        (a[3], b[3]),
        (c[0], d[0]),
        (c[1], d[1]),
        (c[2], d[2]),
        (c[3], d[3]),
    ]
}

mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

pub(crate) use portable::Portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) use wasm::Wasm128;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Sse2};

/// Eight lanes of `f32` and of `u32`, and the operations the voice
/// renderer needs on them. Each operation is one IEEE-754 (or integer)
/// operation per lane, so every implementation computes the same bits.
///
/// Implementations are zero-sized tokens; one that uses instructions
/// beyond the target's baseline can only be made where the CPU has them.
/// The butterfly, the row sums and the gathers have defaults that go
/// through arrays and [`Portable`]; a level overrides them where it has
/// something faster (AVX2), and [`Portable`] must (the defaults call it).
pub(crate) trait Lanes: Copy {
    /// Eight `f32`.
    type F: Copy;
    /// Eight `u32`.
    type U: Copy;

    fn splat(self, x: f32) -> Self::F;
    fn load(self, a: &[f32; 8]) -> Self::F;
    fn store(self, v: Self::F, a: &mut [f32; 8]);
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a` where `mask` is all ones, `b` where it is zero.
    fn select(self, mask: Self::U, a: Self::F, b: Self::F) -> Self::F;

    fn usplat(self, x: u32) -> Self::U;
    fn uload(self, a: &[u32; 8]) -> Self::U;
    fn ustore(self, v: Self::U, a: &mut [u32; 8]);
    fn uadd(self, a: Self::U, b: Self::U) -> Self::U;
    fn usub(self, a: Self::U, b: Self::U) -> Self::U;
    fn and(self, a: Self::U, b: Self::U) -> Self::U;
    /// All ones where `a >= b` (unsigned), else zero.
    fn uge(self, a: Self::U, b: Self::U) -> Self::U;
    /// Whether any lane of `mask` is all ones.
    fn any(self, mask: Self::U) -> bool;
    /// Lane 0.
    fn lane0(self, a: Self::U) -> u32;
    /// Whether every lane of `a` is `x`.
    fn all_eq(self, a: Self::U, x: u32) -> bool;
    /// Shift right by 8, logically.
    fn shr8(self, a: Self::U) -> Self::U;
    /// Lanes (signed, each of magnitude under 2^24) as `f32`, exactly.
    fn to_f32(self, a: Self::U) -> Self::F;
    /// Each lane's two signed 16-bit halves weighted and summed as a
    /// signed 32-bit integer: `low × lo + high × hi` (exact: the
    /// renderer's weights keep it far from overflow).
    fn madd16(self, a: Self::U, lo: i16, hi: i16) -> Self::U;
    /// The low 16 bits of each lane as a signed number, as `f32`.
    fn lo16(self, a: Self::U) -> Self::F;
    /// The high 16 bits of each lane as a signed number, as `f32`.
    fn hi16(self, a: Self::U) -> Self::F;
    /// The smaller of each pair (neither is NaN).
    fn min(self, a: Self::F, b: Self::F) -> Self::F;
    /// The larger of each pair (neither is NaN).
    fn max(self, a: Self::F, b: Self::F) -> Self::F;
    /// All ones where `a < b`, else zero.
    fn lt(self, a: Self::F, b: Self::F) -> Self::U;
    /// Each lane (0 ≤ a < 2^31) truncated to an integer.
    fn trunc(self, a: Self::F) -> Self::U;
    /// Zero where `|a| < tiny`, `a` elsewhere (keeps feedback loops that
    /// decay in silence out of denormal numbers).
    fn flush(self, a: Self::F, tiny: f32) -> Self::F;
    /// All ones where `|a| ≤ t` does not hold (above it, or NaN).
    fn outside(self, a: Self::F, t: f32) -> Self::U;
    /// The eight-lane Hadamard butterfly's three stages (unnormalised):
    /// `out[k] = Σ_j (−1)^popcount(j & k) a[j]`, computed as
    /// `effects::hadamard8` does.
    #[inline(always)]
    fn hadamard8(self, a: Self::F) -> Self::F {
        // Through arrays: a level without a faster way runs the portable
        // butterfly.
        let mut x = [0f32; 8];
        self.store(a, &mut x);
        self.load(&Portable.hadamard8(x))
    }
    /// Each of eight rows summed across its lanes in the order
    /// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`.
    #[inline(always)]
    fn sum_rows(self, rows: &[[f32; 8]; 8]) -> [f32; 8] {
        Portable.sum_rows(rows)
    }
    /// The 8 × 8 matrix whose rows are `rows`, transposed: lane `j` of
    /// output `i` is lane `i` of input `j`.
    fn transpose8(self, rows: [Self::F; 8]) -> [Self::F; 8];
    /// The `f32` at each lane's index of `data`.
    ///
    /// # Safety
    /// For every lane, `index < data.len()`.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather_f32(self, data: &[f32], index: Self::U) -> Self::F {
        let mut idx = [0u32; 8];
        self.ustore(index, &mut idx);
        // SAFETY: the portable gather checks every read.
        let v = unsafe { Portable.gather_f32(data, idx) };
        self.load(&v)
    }
    /// Four bytes of `data` at each lane's frame index (byte offset
    /// `2 × index`), little-endian.
    ///
    /// # Safety
    /// For every lane, `2 × index + 4 <= data.len()`.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather(self, data: &[u8], frame: Self::U) -> Self::U {
        let mut idx = [0u32; 8];
        self.ustore(frame, &mut idx);
        // SAFETY: the portable gather checks every read.
        let words = unsafe { Portable.gather(data, idx) };
        self.uload(&words)
    }
    /// Eight bytes of `data` at each lane's frame index (byte offset
    /// `2 × index`), little-endian: their first four bytes, and their last
    /// four (what [`Lanes::gather`] gives at `index` and at `index + 2`).
    ///
    /// # Safety
    /// For every lane, `2 × index + 8 <= data.len()`.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather_pair(self, data: &[u8], frame: Self::U) -> (Self::U, Self::U) {
        let mut idx = [0u32; 8];
        self.ustore(frame, &mut idx);
        // SAFETY: the portable gather checks every read.
        let (lo, hi) = unsafe { Portable.gather_pair(data, idx) };
        (self.uload(&lo), self.uload(&hi))
    }
}
