//! Pad voicings: four voices that move to each new chord by the smallest
//! total motion, holding common tones.

use super::context::PitchClassSet;

/// Number of pad voices. Triads double one tone; four-note chords use all.
pub const PAD_VOICES: usize = 4;
/// Lowest pitch a pad voice may take (A2).
pub const PAD_LOW: u8 = 45;
/// Highest pitch a pad voice may take (E5).
pub const PAD_HIGH: u8 = 76;
/// Where the middle of the voicing likes to sit (G#3 to A3).
const PAD_CENTRE: i32 = 57;

/// Four sounding pad pitches, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Voicing(pub [u8; PAD_VOICES]);

impl Voicing {
    /// A close voicing of `pcs` around the pad's centre, root (`root_pc`)
    /// in the bass: the voicing a stream opens with.
    pub fn close(root_pc: u8, pcs: PitchClassSet) -> Self {
        let bass = 48 + root_pc % 12;
        let mut v = [bass; PAD_VOICES];
        let mut pitch = bass;
        let mut slot = 1;
        // Stack the other tones upward within the octave, then double the root
        // an octave up when a triad leaves a voice free.
        for _ in 0..11 {
            if slot >= PAD_VOICES {
                break;
            }
            pitch += 1;
            if pcs.contains(pitch) && pitch % 12 != root_pc % 12 {
                if let Some(s) = v.get_mut(slot) {
                    *s = pitch;
                }
                slot += 1;
            }
        }
        if slot < PAD_VOICES {
            if let Some(s) = v.get_mut(slot) {
                *s = bass + 12;
            }
        }
        v.sort_unstable();
        Voicing(v)
    }

    /// Whether `pitch` sounds in this voicing.
    pub fn contains(&self, pitch: u8) -> bool {
        self.0.contains(&pitch)
    }

    /// The voicing of `target` nearest to this one: every pitch class of
    /// `target` sounds (at most four of them are used), common tones stay
    /// where they are, and the other voices move by the smallest steps.
    ///
    /// # Real-time
    /// No allocation, no division; at most 4⁴ = 256 candidate assignments
    /// are tried, and only those that could win are scored fully.
    pub fn lead_to(&self, target: PitchClassSet) -> Voicing {
        let mut pcs = [0u8; PAD_VOICES];
        let mut k = 0;
        for pc in target.iter() {
            if let Some(slot) = pcs.get_mut(k) {
                *slot = pc;
                k += 1;
            }
        }
        if k == 0 {
            return *self;
        }
        // Where each voice would go for each target pitch class, and how far.
        let moves: [[u8; PAD_VOICES]; PAD_VOICES] = core::array::from_fn(|v| {
            core::array::from_fn(|i| {
                nearest_with_pc(
                    self.0.get(v).copied().unwrap_or(0),
                    pcs.get(i).copied().unwrap_or(0),
                )
            })
        });
        let mut best = *self;
        let mut best_cost = u32::MAX;
        // Each voice's choice of pitch class is a 2-bit digit of `code`;
        // codes with a digit beyond the chord's size are skipped.
        let all = (1u32 << k) - 1;
        for code in 0u32..1 << (2 * PAD_VOICES) {
            let mut used = 0u32;
            let mut cand = [0u8; PAD_VOICES];
            let mut moved = 0u32;
            for (v, ((voice, out), row)) in self
                .0
                .iter()
                .zip(cand.iter_mut())
                .zip(moves.iter())
                .enumerate()
            {
                let choice = (code >> (2 * v) & 3) as usize;
                used |= 1 << choice;
                let p = row.get(choice).copied().unwrap_or(*voice);
                moved += u32::from(p.abs_diff(*voice));
                *out = p;
            }
            // Only voicings that sound every pitch class, and only those
            // whose motion alone does not already lose, are scored fully.
            if used != all || moved >= best_cost {
                continue;
            }
            let cost = moved + self.penalty(&cand, target);
            if cost < best_cost {
                best_cost = cost;
                best = Voicing(cand);
            }
        }
        best.0.sort_unstable();
        best
    }

    /// Extra cost of a candidate beyond its motion: a common tone that no
    /// longer sounds at its pitch, unisons, drifting from the centre, and
    /// spreading wider than an octave and a bit.
    fn penalty(&self, cand: &[u8; PAD_VOICES], target: PitchClassSet) -> u32 {
        let mut pen = 0;
        for &p in &self.0 {
            if target.contains(p) && !cand.contains(&p) {
                pen += 24;
            }
        }
        for (i, a) in cand.iter().enumerate() {
            if cand.iter().skip(i + 1).any(|b| b == a) {
                pen += 40;
            }
        }
        let mean = cand.iter().map(|&p| i32::from(p)).sum::<i32>() / PAD_VOICES as i32;
        let (lo, hi) = cand
            .iter()
            .fold((u8::MAX, 0), |(l, h), &p| (l.min(p), h.max(p)));
        pen + (mean - PAD_CENTRE).unsigned_abs().saturating_sub(5)
            + 2 * u32::from(hi.saturating_sub(lo).saturating_sub(14))
    }

    /// This voicing turned over: the bass moved above the top voice, or
    /// the top voice below the bass, whichever keeps the voices nearer the
    /// centre and in range. A voice whose pitch class also sounds elsewhere
    /// may move to the nearest chord tone instead of its octave, so no
    /// pitch class is lost and no unison is made. Returns `self` when
    /// neither fits.
    pub fn inverted(&self) -> Voicing {
        let [lo, mid @ .., hi] = self.0;
        let pcs = self.0.iter().fold(PitchClassSet::EMPTY, |s, &p| s.with(p));
        // Pitch classes the moving voice may take: its own, or any chord
        // tone when another voice keeps its pitch class.
        let allowed = |moving: u8, rest: &[u8]| {
            if rest.iter().any(|&p| p % 12 == moving % 12) {
                pcs
            } else {
                PitchClassSet::EMPTY.with(moving)
            }
        };
        let up = (1..=12)
            .map(|d| hi + d)
            .find(|&p| allowed(lo, &[mid[0], mid[1], hi]).contains(p))
            .map(|p| [mid[0], mid[1], hi, p]);
        let down = (1..=12)
            .filter_map(|d| lo.checked_sub(d))
            .find(|&p| allowed(hi, &[lo, mid[0], mid[1]]).contains(p))
            .map(|p| [p, lo, mid[0], mid[1]]);
        let in_range = |v: &Option<[u8; PAD_VOICES]>| {
            v.filter(|v| v.iter().all(|&p| (PAD_LOW..=PAD_HIGH).contains(&p)))
        };
        let off_centre = |v: &[u8; PAD_VOICES]| {
            (v.iter().map(|&p| i32::from(p)).sum::<i32>() / PAD_VOICES as i32 - PAD_CENTRE).abs()
        };
        match (in_range(&up), in_range(&down)) {
            (Some(u), Some(d)) if off_centre(&u) < off_centre(&d) => Voicing(u),
            (_, Some(d)) => Voicing(d),
            (Some(u), None) => Voicing(u),
            (None, None) => *self,
        }
    }
}

/// The pitch with pitch class `pc` nearest to `from` inside the pad's
/// range (ties go down, towards warmth).
fn nearest_with_pc(from: u8, pc: u8) -> u8 {
    let up = (pc % 12 + 12 - from % 12) % 12;
    let down = (12 - up) % 12;
    let above = from.saturating_add(up);
    let below = from.saturating_sub(down);
    let below_ok = below >= PAD_LOW && below % 12 == pc % 12;
    let above_ok = above <= PAD_HIGH;
    match (below_ok, above_ok) {
        (true, true) if down <= up => below,
        (_, true) => above,
        (true, false) => below,
        // Out of range both ways cannot happen for a range wider than an
        // octave; fold into range all the same.
        (false, false) => PAD_LOW + (pc % 12 + 12 - PAD_LOW % 12) % 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pcs: &[u8]) -> PitchClassSet {
        pcs.iter().fold(PitchClassSet::EMPTY, |s, &p| s.with(p))
    }

    #[test]
    fn close_voicing_covers_the_chord() {
        let v = Voicing::close(9, set(&[9, 0, 4]));
        assert_eq!(v.0, [57, 60, 64, 69]);
        let v = Voicing::close(5, set(&[5, 9, 0, 4]));
        assert_eq!(v.0, [53, 57, 60, 64]);
    }

    #[test]
    fn leading_holds_common_tones_and_moves_little() {
        // C major to A minor: C and E stay, G goes up to A.
        let c = Voicing([48, 52, 55, 60]);
        let am = c.lead_to(set(&[9, 0, 4]));
        assert!(
            am.contains(48) && am.contains(52) && am.contains(60),
            "{am:?}"
        );
        assert!(am.contains(57), "{am:?}");
        // C major to F major 7: every chord tone sounds.
        let f7 = c.lead_to(set(&[5, 9, 0, 4]));
        for pc in [5, 9, 0, 4] {
            assert!(f7.0.iter().any(|p| p % 12 == pc), "{f7:?}");
        }
        let moved: u32 =
            c.0.iter()
                .zip(f7.0.iter())
                .map(|(a, b)| u32::from(a.abs_diff(*b)))
                .sum();
        assert!(moved <= 6, "{f7:?}");
    }

    #[test]
    fn inversion_keeps_every_pitch_class_in_range_without_unisons() {
        for v in [
            [48, 52, 55, 60],
            [53, 57, 60, 64],
            [45, 48, 52, 57],
            [64, 67, 71, 76],
        ] {
            let before = Voicing(v);
            let after = before.inverted();
            assert_ne!(after, before, "{v:?}");
            assert!(after.0.windows(2).all(|w| w[0] < w[1]), "{after:?}");
            assert!(after.0.iter().all(|&p| (PAD_LOW..=PAD_HIGH).contains(&p)));
            for p in v {
                assert!(
                    after.0.iter().any(|q| q % 12 == p % 12),
                    "{v:?} -> {after:?}"
                );
            }
        }
    }

    #[test]
    fn nearest_pitch_is_in_range_and_right_class() {
        for from in PAD_LOW..=PAD_HIGH {
            for pc in 0..12 {
                let p = nearest_with_pc(from, pc);
                assert_eq!(p % 12, pc);
                assert!((PAD_LOW..=PAD_HIGH).contains(&p));
                assert!(p.abs_diff(from) <= 11);
            }
        }
    }
}
