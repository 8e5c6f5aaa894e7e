//! The lanes as plain arrays: right on every target, and what a Cortex-M
//! runs.

use super::Lanes;

/// Lanes computed one after another (the compiler may still vectorise).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

#[inline(always)]
fn zip(a: [f32; 8], b: [f32; 8], f: impl Fn(f32, f32) -> f32) -> [f32; 8] {
    let mut out = [0f32; 8];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
    out
}

#[inline(always)]
fn uzip(a: [u32; 8], b: [u32; 8], f: impl Fn(u32, u32) -> u32) -> [u32; 8] {
    let mut out = [0u32; 8];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
    out
}

impl Lanes for Portable {
    type F = [f32; 8];
    type U = [u32; 8];

    #[inline(always)]
    fn splat(self, x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    fn load(self, a: &[f32; 8]) -> [f32; 8] {
        *a
    }
    #[inline(always)]
    fn store(self, v: [f32; 8], a: &mut [f32; 8]) {
        *a = v;
    }
    #[inline(always)]
    fn add(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        zip(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        zip(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        zip(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn select(self, mask: [u32; 8], a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        let mut out = b;
        for ((o, m), x) in out.iter_mut().zip(mask).zip(a) {
            if m != 0 {
                *o = x;
            }
        }
        out
    }
    #[inline(always)]
    fn min(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        zip(a, b, |x, y| if x < y { x } else { y })
    }
    #[inline(always)]
    fn max(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        zip(a, b, |x, y| if x > y { x } else { y })
    }
    #[inline(always)]
    fn lt(self, a: [f32; 8], b: [f32; 8]) -> [u32; 8] {
        let mut out = [0u32; 8];
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = if x < y { u32::MAX } else { 0 };
        }
        out
    }
    #[inline(always)]
    fn trunc(self, a: [f32; 8]) -> [u32; 8] {
        a.map(|x| x as i32 as u32)
    }
    #[inline(always)]
    fn flush(self, a: [f32; 8], tiny: f32) -> [f32; 8] {
        a.map(|x| if x.abs() < tiny { 0.0 } else { x })
    }
    #[inline(always)]
    fn outside(self, a: [f32; 8], t: f32) -> [u32; 8] {
        a.map(|x| if x.abs() <= t { 0 } else { u32::MAX })
    }
    #[inline(always)]
    fn hadamard8(self, a: [f32; 8]) -> [f32; 8] {
        let [a0, a1, a2, a3, a4, a5, a6, a7] = a;
        let (b0, b1, b2, b3) = (a0 + a1, a0 - a1, a2 + a3, a2 - a3);
        let (b4, b5, b6, b7) = (a4 + a5, a4 - a5, a6 + a7, a6 - a7);
        let (c0, c1, c2, c3) = (b0 + b2, b1 + b3, b0 - b2, b1 - b3);
        let (c4, c5, c6, c7) = (b4 + b6, b5 + b7, b4 - b6, b5 - b7);
        [
            c0 + c4,
            c1 + c5,
            c2 + c6,
            c3 + c7,
            c0 - c4,
            c1 - c5,
            c2 - c6,
            c3 - c7,
        ]
    }
    #[inline(always)]
    fn sum_rows(self, rows: &[[f32; 8]; 8]) -> [f32; 8] {
        rows.map(|r| {
            let [a0, a1, a2, a3, a4, a5, a6, a7] = r;
            ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
        })
    }
    #[inline(always)]
    fn transpose8(self, rows: [[f32; 8]; 8]) -> [[f32; 8]; 8] {
        let mut out = [[0f32; 8]; 8];
        for (j, row) in rows.iter().enumerate() {
            for (o, x) in out.iter_mut().zip(row) {
                if let Some(slot) = o.get_mut(j) {
                    *slot = *x;
                }
            }
        }
        out
    }
    // Checked reads: safe whatever the indices (out of range reads 0).
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather_f32(self, data: &[f32], index: [u32; 8]) -> [f32; 8] {
        index.map(|i| data.get(i as usize).copied().unwrap_or(0.0))
    }
    #[inline(always)]
    fn usplat(self, x: u32) -> [u32; 8] {
        [x; 8]
    }
    #[inline(always)]
    fn uload(self, a: &[u32; 8]) -> [u32; 8] {
        *a
    }
    #[inline(always)]
    fn ustore(self, v: [u32; 8], a: &mut [u32; 8]) {
        *a = v;
    }
    #[inline(always)]
    fn uadd(self, a: [u32; 8], b: [u32; 8]) -> [u32; 8] {
        uzip(a, b, u32::wrapping_add)
    }
    #[inline(always)]
    fn usub(self, a: [u32; 8], b: [u32; 8]) -> [u32; 8] {
        uzip(a, b, u32::wrapping_sub)
    }
    #[inline(always)]
    fn and(self, a: [u32; 8], b: [u32; 8]) -> [u32; 8] {
        uzip(a, b, |x, y| x & y)
    }
    #[inline(always)]
    fn uge(self, a: [u32; 8], b: [u32; 8]) -> [u32; 8] {
        uzip(a, b, |x, y| if x >= y { u32::MAX } else { 0 })
    }
    #[inline(always)]
    fn any(self, mask: [u32; 8]) -> bool {
        mask.iter().any(|&m| m != 0)
    }
    #[inline(always)]
    fn lane0(self, a: [u32; 8]) -> u32 {
        a[0]
    }
    #[inline(always)]
    fn all_eq(self, a: [u32; 8], x: u32) -> bool {
        a.iter().all(|&v| v == x)
    }
    #[inline(always)]
    fn shr8(self, a: [u32; 8]) -> [u32; 8] {
        a.map(|x| x >> 8)
    }
    #[inline(always)]
    fn to_f32(self, a: [u32; 8]) -> [f32; 8] {
        a.map(|x| x as i32 as f32)
    }
    #[inline(always)]
    fn madd16(self, a: [u32; 8], lo: i16, hi: i16) -> [u32; 8] {
        a.map(|x| {
            let (l, h) = (
                i32::from(x as u16 as i16),
                i32::from((x >> 16) as u16 as i16),
            );
            l.wrapping_mul(i32::from(lo))
                .wrapping_add(h.wrapping_mul(i32::from(hi))) as u32
        })
    }
    #[inline(always)]
    fn lo16(self, a: [u32; 8]) -> [f32; 8] {
        a.map(|x| f32::from(x as u16 as i16))
    }
    #[inline(always)]
    fn hi16(self, a: [u32; 8]) -> [f32; 8] {
        a.map(|x| f32::from((x >> 16) as u16 as i16))
    }
    // Checked reads: safe whatever the indices (out of range reads 0).
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather(self, data: &[u8], frame: [u32; 8]) -> [u32; 8] {
        frame.map(|i| {
            let at = 2 * i as usize;
            match data.get(at..at + 4) {
                Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
                _ => 0,
            }
        })
    }
    // Checked reads, as `gather`.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn gather_pair(self, data: &[u8], frame: [u32; 8]) -> ([u32; 8], [u32; 8]) {
        // SAFETY: the portable gather checks every read.
        unsafe { (self.gather(data, frame), self.gather(data, uadd2(frame))) }
    }
}

/// Each lane plus two.
#[inline(always)]
fn uadd2(a: [u32; 8]) -> [u32; 8] {
    a.map(|x| x.wrapping_add(2))
}
