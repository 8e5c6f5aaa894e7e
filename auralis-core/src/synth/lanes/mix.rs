//! The mixing pass: the lanes through their resonant low-passes and gain
//! ramps into the per-lane buses.

use super::{Group, Mix, BLOCK, F8};
use crate::synth::simd::Lanes;

/// Adds every lane into the buses with its gain ramp: a lane's gain at
/// frame k of the segment is `g + (t0 + k)·d`, however the block is
/// split. A lane whose sample ended adds nothing after its last frame.
/// Where some lane's filter is on (`filtered`), each row goes through the
/// lanes' resonant low-passes on the way in.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
pub(super) fn mix<S: Lanes>(
    s: S,
    g: &mut Group,
    src: &[F8; BLOCK],
    buses: Mix<'_>,
    n: usize,
    sends: bool,
    filtered: bool,
) {
    let n = n.min(BLOCK);
    // Mostly every lane either plays the whole segment or nothing of it
    // (parked): then which lanes are silenced is the same on every row.
    let steady = g.live.iter().all(|&l| l == 0 || l as usize >= n);
    match (sends, steady, filtered) {
        (true, true, true) => mix_rows::<S, true, true, true>(s, g, src, buses, n),
        (true, true, false) => mix_rows::<S, true, true, false>(s, g, src, buses, n),
        (true, false, true) => mix_rows::<S, true, false, true>(s, g, src, buses, n),
        (true, false, false) => mix_rows::<S, true, false, false>(s, g, src, buses, n),
        (false, true, true) => mix_rows::<S, false, true, true>(s, g, src, buses, n),
        (false, true, false) => mix_rows::<S, false, true, false>(s, g, src, buses, n),
        (false, false, true) => mix_rows::<S, false, false, true>(s, g, src, buses, n),
        (false, false, false) => mix_rows::<S, false, false, false>(s, g, src, buses, n),
    }
}

/// [`mix`] for the reverb and chorus sends heard or not (`SENDS`), for
/// lanes that play all of the segment or none of it (`STEADY`: the
/// silenced lanes are found once, not on every row), and with the
/// filters or without (`FILTER`).
///
/// The filter's recursion is a chain of a multiply and a subtraction
/// from each row to the next; run inside the mixing loop, its latency
/// hides behind the mixing instead of being a pass of its own.
#[cfg_attr(not(auralis_unoptimised), inline(always))]
fn mix_rows<S: Lanes, const SENDS: bool, const STEADY: bool, const FILTER: bool>(
    s: S,
    g: &mut Group,
    src: &[F8; BLOCK],
    buses: Mix<'_>,
    n: usize,
) {
    let (gl, gr, dl, dr) = (s.load(&g.gl), s.load(&g.gr), s.load(&g.dl), s.load(&g.dr));
    let (rev, cho, t0) = (s.load(&g.rev), s.load(&g.cho), s.load(&g.t0));
    let live = s.uload(&g.live);
    // Silenced on every row: k ≥ live for k = 0, that is live = 0.
    let parked = s.uge(s.usplat(0), live);
    let zero = s.splat(0.0);
    let mut lp = LowPasses::load(s, g);
    let first = buses.first;
    let (Some(src), Some(left), Some(right), Some(reverb), Some(chorus)) = (
        src.get(..n),
        buses.left.get_mut(..n),
        buses.right.get_mut(..n),
        buses.reverb.get_mut(..n),
        buses.chorus.get_mut(..n),
    ) else {
        return;
    };
    let ramp = Ramp {
        gl,
        gr,
        dl,
        dr,
        t0,
        zero,
    };
    // The frame index, as a float and as an integer, counted along.
    let (mut kf, mut ku) = (0f32, 0u32);
    // The first group writes what the others add to (adding to zero would
    // give the same numbers but for the sign of a zero).
    let rows = src.iter().zip(left).zip(right).zip(reverb).zip(chorus);
    for ((((x, l), r), v), c) in rows {
        let x = if FILTER {
            lp.run(s, s.load(x))
        } else {
            s.load(x)
        };
        // Silent while k ≥ live.
        let ended = if STEADY {
            parked
        } else {
            s.uge(s.usplat(ku), live)
        };
        let (xl, xr) = ramp.frame(s, x, kf, ended);
        kf += 1.0;
        ku += 1;
        put(s, first, xl, l);
        put(s, first, xr, r);
        if SENDS {
            let both = s.add(xl, xr);
            put(s, first, s.mul(both, rev), v);
            put(s, first, s.mul(both, cho), c);
        }
    }
    if FILTER {
        lp.store(s, g);
    }
}

/// Writes `x` into a bus row (the segment's first group) or adds it to
/// what the row holds.
#[inline(always)]
fn put<S: Lanes>(s: S, first: bool, x: S::F, row: &mut F8) {
    if first {
        s.store(x, row);
    } else {
        s.store(s.add(s.load(row), x), row);
    }
}

/// The lanes' resonant low-passes in direct form I (as
/// `LowPass::process`); lanes with the filter off pass unchanged.
struct LowPasses<S: Lanes> {
    b0: S::F,
    b1: S::F,
    a1: S::F,
    a2: S::F,
    x1: S::F,
    x2: S::F,
    y1: S::F,
    y2: S::F,
    on: S::U,
}

impl<S: Lanes> LowPasses<S> {
    #[inline(always)]
    fn load(s: S, g: &Group) -> Self {
        LowPasses {
            b0: s.load(&g.b0),
            b1: s.load(&g.b1),
            a1: s.load(&g.a1),
            a2: s.load(&g.a2),
            x1: s.load(&g.x1),
            x2: s.load(&g.x2),
            y1: s.load(&g.y1),
            y2: s.load(&g.y2),
            on: s.uload(&g.filter_on),
        }
    }

    /// One row through the filters.
    #[inline(always)]
    fn run(&mut self, s: S, x: S::F) -> S::F {
        let ahead = s.sub(
            s.add(s.mul(self.b0, s.add(x, self.x2)), s.mul(self.b1, self.x1)),
            s.mul(self.a2, self.y2),
        );
        let y = s.sub(ahead, s.mul(self.a1, self.y1));
        self.x2 = self.x1;
        self.x1 = x;
        self.y2 = self.y1;
        self.y1 = y;
        s.select(self.on, y, x)
    }

    #[inline(always)]
    fn store(&self, s: S, g: &mut Group) {
        s.store(self.x1, &mut g.x1);
        s.store(self.x2, &mut g.x2);
        s.store(self.y1, &mut g.y1);
        s.store(self.y2, &mut g.y2);
    }
}

/// The lanes' gain ramps during [`mix`].
struct Ramp<S: Lanes> {
    gl: S::F,
    gr: S::F,
    dl: S::F,
    dr: S::F,
    t0: S::F,
    zero: S::F,
}

impl<S: Lanes> Ramp<S> {
    /// Frame `k` of `x` through the left and right gains, zero in the
    /// `ended` lanes.
    #[inline(always)]
    fn frame(&self, s: S, x: S::F, kf: f32, ended: S::U) -> (S::F, S::F) {
        let t = s.add(self.t0, s.splat(kf));
        let x = s.select(ended, self.zero, x);
        let xl = s.mul(x, s.add(self.gl, s.mul(t, self.dl)));
        let xr = s.mul(x, s.add(self.gr, s.mul(t, self.dr)));
        (xl, xr)
    }
}
