//! The chord chain: a first-order Markov chain over the mode's scale
//! degrees, with weights that favour each mode's characteristic chords and
//! never allow a major dominant to fall to the tonic.

use super::chord::{diatonic_qualities, diatonic_triad, Chord, Quality};
use super::context::{Mode, MusicalContext};
use crate::rng::Rng;

/// Weight of moving by `n` scale degrees up (index `n`, modulo 7). Staying
/// put is 0: a chord already holds for 30–90 s, so it never repeats.
const MOTION: [u32; 7] = [0, 3, 2, 4, 3, 3, 3];

/// How strongly each mode leans on each degree: the tonic and the chord
/// that gives the mode its colour (dorian's IV, phrygian's bII, lydian's
/// II, mixolydian's bVII, aeolian's bVI) weigh most. Diminished degrees get
/// 0 and are never chosen.
const fn colour(mode: Mode) -> [u32; 7] {
    match mode {
        Mode::Ionian => [4, 3, 2, 4, 2, 3, 0],
        Mode::Dorian => [4, 3, 2, 5, 2, 0, 3],
        Mode::Phrygian => [4, 5, 3, 2, 0, 2, 3],
        Mode::Lydian => [4, 5, 2, 0, 2, 3, 2],
        Mode::Mixolydian => [4, 2, 0, 3, 2, 2, 5],
        Mode::Aeolian => [4, 0, 3, 3, 2, 5, 3],
    }
}

/// The weight of moving from degree `from` to degree `to` in `ctx`'s mode.
///
/// Zero for staying on a degree, for degrees without a perfect fifth, and
/// for V → I whenever the fifth degree's triad is major (no authentic
/// cadence, the sound ambient music avoids).
pub fn transition_weight(ctx: &MusicalContext, from: u8, to: u8) -> u32 {
    let (from, to) = (from % 7, to % 7);
    if diatonic_triad(ctx, to).is_none() {
        return 0;
    }
    if from == 4 && to == 0 && diatonic_triad(ctx, 4).is_some_and(Quality::is_major) {
        return 0;
    }
    let motion = MOTION.get(usize::from((to + 7 - from) % 7)).copied();
    let colour = colour(ctx.mode()).get(usize::from(to)).copied();
    motion.unwrap_or(0) * colour.unwrap_or(0)
}

/// Draws the chord that follows `current` in `ctx`: first the degree from
/// the chain, then a quality the scale supports on it.
pub(crate) fn next_chord(ctx: &MusicalContext, current: &Chord, rng: &mut Rng) -> Chord {
    let weights: [u32; 7] =
        core::array::from_fn(|to| transition_weight(ctx, current.degree(), to as u8));
    // Every mode has at least four usable degrees, so some weight is
    // non-zero; the tonic is a safe fallback all the same.
    let degree = pick_weighted(rng, &weights).map_or(0, |d| d as u8);
    let qualities = diatonic_qualities(ctx, degree);
    let quality = pick_weighted(rng, &qualities.map(|(_, w)| w))
        .and_then(|i| qualities.get(i))
        .map_or(Quality::Major, |&(q, _)| q);
    Chord::on_degree(ctx, degree, quality)
}

/// The chord a stream opens on: the tonic, as a plain triad.
pub(crate) fn opening_chord(ctx: &MusicalContext) -> Chord {
    let quality = diatonic_triad(ctx, 0).unwrap_or(Quality::Minor);
    Chord::on_degree(ctx, 0, quality)
}

/// Picks an index with probability proportional to its weight; `None`
/// when every weight is zero.
pub(crate) fn pick_weighted(rng: &mut Rng, weights: &[u32]) -> Option<usize> {
    let total: u32 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.below(total);
    for (i, &w) in weights.iter().enumerate() {
        if r < w {
            return Some(i);
        }
        r -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_major_dominant_to_tonic_in_any_mode() {
        for mode in Mode::ALL {
            let ctx = MusicalContext::new(60, mode, 60.0, 0.5).unwrap();
            let v_major = diatonic_triad(&ctx, 4).is_some_and(Quality::is_major);
            assert_eq!(transition_weight(&ctx, 4, 0) == 0, v_major, "{mode}");
        }
    }

    #[test]
    fn weights_differ_between_modes() {
        let a = MusicalContext::new(60, Mode::Dorian, 60.0, 0.5).unwrap();
        let b = a.with_mode(Mode::Lydian);
        let table = |c: &MusicalContext| -> [[u32; 7]; 7] {
            core::array::from_fn(|f| {
                core::array::from_fn(|t| transition_weight(c, f as u8, t as u8))
            })
        };
        assert_ne!(table(&a), table(&b));
    }

    #[test]
    fn pick_weighted_respects_zero_weights() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            let i = pick_weighted(&mut rng, &[0, 5, 0, 1]).unwrap();
            assert!(i == 1 || i == 3);
        }
        assert_eq!(pick_weighted(&mut rng, &[0, 0]), None);
    }
}
