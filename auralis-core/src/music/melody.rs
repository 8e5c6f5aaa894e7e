//! The melody line: sparse notes held to the chords, shaped by an arch
//! contour, broken into sub-phrases that end with a breath.

use super::chord::Chord;
use super::context::{MusicalContext, PitchClassSet};
use super::harmony::pick_weighted;
use super::PULSES_PER_BEAT;
use crate::rng::Rng;

/// Lowest melody pitch (C3).
pub const MELODY_LOW: u8 = 48;
/// Highest melody pitch (C7).
pub const MELODY_HIGH: u8 = 96;
/// Longest a melody note is held, in beats, before the line rests.
const MAX_HOLD_BEATS: u32 = 3;

/// One melody note, in pulses from the start of its phrase (the composer
/// turns pulses into samples).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawNote {
    pub(crate) on: u32,
    pub(crate) off: u32,
    pub(crate) pitch: u8,
    pub(crate) velocity: u8,
}

/// Which kind of tone a melody note is over its chord.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tone {
    Chord,
    Scale,
    Chromatic,
}

/// The melody's memory across phrases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MelodyState {
    pub(crate) last_pitch: u8,
}

/// Everything one 8-bar segment needs to know.
pub(crate) struct Segment<'a> {
    pub(crate) ctx: &'a MusicalContext,
    /// Chords of the phrase as (first bar, chord), in bar order.
    pub(crate) chords: &'a [(u8, Chord)],
    /// First bar of the segment within its phrase.
    pub(crate) first_bar: u8,
    /// Bars in the whole phrase (for the contour).
    pub(crate) phrase_bars: u8,
}

/// Sub-phrase layouts of an 8-bar segment, in bars, with their weights.
const LAYOUTS: [([u8; 4], u32); 4] = [
    ([4, 4, 0, 0], 4),
    ([2, 2, 4, 0], 3),
    ([4, 2, 2, 0], 3),
    ([2, 2, 2, 2], 2),
];

impl Segment<'_> {
    fn chord_at(&self, bar: u8) -> Option<&Chord> {
        self.chords
            .iter()
            .rev()
            .find(|(b, _)| *b <= bar)
            .or(self.chords.first())
            .map(|(_, c)| c)
    }

    /// Writes the notes of 8 bars into `out` (in pulses from the phrase
    /// start). Returns the number of notes that did not fit.
    pub(crate) fn compose<const N: usize>(
        &self,
        rng: &mut Rng,
        state: &mut MelodyState,
        out: &mut heapless::Vec<RawNote, N>,
    ) -> u32 {
        let intensity = self.ctx.intensity();
        let p_note = 0.5 + 0.3 * intensity;
        let p_split = 0.1 + 0.3 * intensity;
        let layout = pick_weighted(rng, &LAYOUTS.map(|(_, w)| w))
            .and_then(|i| LAYOUTS.get(i))
            .map_or([4, 4, 0, 0], |(l, _)| *l);
        let mut dropped = 0;
        let mut bar = self.first_bar;
        for len in layout.into_iter().filter(|&l| l > 0) {
            dropped += self.sub_phrase(rng, state, bar, len, p_note, p_split, out);
            bar += len;
        }
        dropped
    }

    /// One sub-phrase of `len` bars from `bar`: onsets on beats (some
    /// split into eighths), a long last note, and a breath on the last beat.
    #[allow(clippy::too_many_arguments)]
    fn sub_phrase<const N: usize>(
        &self,
        rng: &mut Rng,
        state: &mut MelodyState,
        bar: u8,
        len: u8,
        p_note: f32,
        p_split: f32,
        out: &mut heapless::Vec<RawNote, N>,
    ) -> u32 {
        let beats = u32::from(len) * 4;
        let start = u32::from(bar) * 4 * PULSES_PER_BEAT;
        let breath = start + (beats - 1) * PULSES_PER_BEAT;
        let first = out.len();
        let mut dropped = 0;
        // Onsets: one per beat with probability p_note; at least two per
        // sub-phrase so that it says something.
        let mut onsets = 0u32;
        let mut mask = 0u32;
        for beat in 0..beats - 1 {
            if rng.chance(p_note) {
                mask |= 1 << beat;
                onsets += 1;
            }
        }
        if onsets < 2 {
            mask |= 1 | 1 << 2;
        }
        let last_beat = 31 - mask.leading_zeros();
        let eighth = PULSES_PER_BEAT / 2;
        for beat in (0..beats - 1).filter(|b| mask & (1 << b) != 0) {
            let on = start + beat * PULSES_PER_BEAT;
            let is_last = beat == last_beat;
            let chromatic_ok = !is_last;
            let tone = if is_last {
                Tone::Chord
            } else {
                self.roll_tone(rng, chromatic_ok)
            };
            let x = self.position(on);
            if tone == Tone::Chromatic {
                let (c, resolution) = self.chromatic_pair(rng, state.last_pitch, on);
                dropped += push(out, on, on + eighth, c, self.velocity(rng, x, on) - 6);
                dropped += push(
                    out,
                    on + eighth,
                    on + 2 * eighth,
                    resolution,
                    self.velocity(rng, x, on + eighth),
                );
                state.last_pitch = resolution;
                continue;
            }
            let pitch = self.choose(rng, state.last_pitch, on, tone);
            let vel = self.velocity(rng, x, on);
            state.last_pitch = pitch;
            if !is_last && rng.chance(p_split) {
                dropped += push(out, on, on + eighth, pitch, vel);
                let second = match self.roll_tone(rng, false) {
                    Tone::Scale => Tone::Scale,
                    _ => Tone::Chord,
                };
                let p2 = self.choose(rng, pitch, on + eighth, second);
                let v2 = self.velocity(rng, x, on + eighth).saturating_sub(6);
                dropped += push(out, on + eighth, on + 2 * eighth, p2, v2);
                state.last_pitch = p2;
            } else {
                dropped += push(out, on, on + PULSES_PER_BEAT, pitch, vel);
            }
        }
        // Hold each plain note until the next onset, at most three beats,
        // never past the breath.
        let mut next_on = breath;
        for note in out.iter_mut().skip(first).rev() {
            if note.off - note.on == PULSES_PER_BEAT {
                note.off = next_on.min(note.on + MAX_HOLD_BEATS * PULSES_PER_BEAT);
            }
            next_on = note.on;
        }
        dropped
    }

    fn roll_tone(&self, rng: &mut Rng, chromatic_ok: bool) -> Tone {
        let r = rng.unit();
        if chromatic_ok && r < 0.065 {
            Tone::Chromatic
        } else if r < 0.70 {
            Tone::Chord
        } else {
            Tone::Scale
        }
    }

    /// Position of `pulse` within the phrase, 0.0 to 1.0.
    fn position(&self, pulse: u32) -> f32 {
        let total = u32::from(self.phrase_bars) * 4 * PULSES_PER_BEAT;
        pulse as f32 / total.max(1) as f32
    }

    /// Where the contour wants the line at `pulse`: an arch over the
    /// phrase, higher and wider with intensity.
    fn target(&self, pulse: u32) -> i32 {
        let x = self.position(pulse);
        let arch = 4.0 * x * (1.0 - x);
        let centre = i32::from(self.ctx.key()) + 5;
        let amp = 4.0 + 5.0 * self.ctx.intensity();
        centre + ((arch - 0.4) * 2.0 * amp) as i32
    }

    /// Velocity from intensity, the arch, the downbeat and a little chance.
    fn velocity(&self, rng: &mut Rng, x: f32, pulse: u32) -> u8 {
        let arch = 4.0 * x * (1.0 - x);
        let mut v = 30.0 + 50.0 * self.ctx.intensity() + 12.0 * arch;
        if pulse % (4 * PULSES_PER_BEAT) == 0 {
            v += 5.0;
        }
        v += rng.range(0, 10) as f32 - 5.0;
        v.clamp(26.0, 100.0) as u8
    }

    /// The set of pitch classes a tone category may use at `pulse`.
    fn allowed(&self, pulse: u32, tone: Tone) -> PitchClassSet {
        let bar = (pulse / (4 * PULSES_PER_BEAT)) as u8;
        let chord = self
            .chord_at(bar)
            .map_or(PitchClassSet::EMPTY, Chord::pitch_classes);
        match tone {
            Tone::Chord => chord,
            Tone::Scale => self.ctx.scale().difference(chord),
            Tone::Chromatic => PitchClassSet::EMPTY,
        }
    }

    /// Picks a pitch of category `tone` near `prev`, pulled towards the
    /// contour: steps are likelier than leaps, repeats less likely.
    fn choose(&self, rng: &mut Rng, prev: u8, pulse: u32, tone: Tone) -> u8 {
        let allowed = self.allowed(pulse, tone);
        let target = self.target(pulse);
        let lo = prev.saturating_sub(7).max(MELODY_LOW);
        let hi = prev.saturating_add(7).min(MELODY_HIGH);
        let mut weights = [0u32; 15];
        for (w, p) in weights.iter_mut().zip(lo..=hi) {
            if !allowed.contains(p) {
                continue;
            }
            let step = 8 - u32::from(p.abs_diff(prev)).min(7);
            let pull = 8 - (i32::from(p) - target).unsigned_abs().min(7);
            *w = step * pull * if p == prev { 1 } else { 3 };
        }
        match pick_weighted(rng, &weights) {
            Some(i) => lo + i as u8,
            None => nearest_in(allowed, prev),
        }
    }

    /// A chromatic neighbour and the chord tone it resolves to by a
    /// semitone, approached from the side the line comes from.
    fn chromatic_pair(&self, rng: &mut Rng, prev: u8, pulse: u32) -> (u8, u8) {
        let target = self.choose(rng, prev, pulse + PULSES_PER_BEAT / 2, Tone::Chord);
        let scale = self.ctx.scale();
        let from_below = prev <= target;
        let (first, second) = if from_below {
            (target.wrapping_sub(1), target + 1)
        } else {
            (target + 1, target.wrapping_sub(1))
        };
        // In a seven-note mode every scale tone has a non-scale neighbour
        // on at least one side.
        let c = [first, second]
            .into_iter()
            .find(|&c| (MELODY_LOW..=MELODY_HIGH).contains(&c) && !scale.contains(c));
        match c {
            Some(c) => (c, target),
            None => (target, target),
        }
    }
}

/// The pitch in the melody range nearest to `from` whose class is in
/// `set`; `from` itself when the set is empty.
fn nearest_in(set: PitchClassSet, from: u8) -> u8 {
    (0..=MELODY_HIGH - MELODY_LOW)
        .flat_map(|d| [from.saturating_sub(d), from.saturating_add(d)])
        .find(|&p| (MELODY_LOW..=MELODY_HIGH).contains(&p) && set.contains(p))
        .unwrap_or(from.clamp(MELODY_LOW, MELODY_HIGH))
}

fn push<const N: usize>(
    out: &mut heapless::Vec<RawNote, N>,
    on: u32,
    off: u32,
    pitch: u8,
    velocity: u8,
) -> u32 {
    let note = RawNote {
        on,
        off,
        pitch,
        velocity: velocity.clamp(20, 100),
    };
    u32::from(out.push(note).is_err())
}

/// A 64-bit FNV-1a hash of a pitch sequence: the melody's fingerprint for
/// the long-form variety check.
pub(crate) fn fingerprint<'a>(pitches: impl Iterator<Item = &'a RawNote>) -> u64 {
    pitches.fold(0xcbf2_9ce4_8422_2325, |h, n| {
        (h ^ u64::from(n.pitch)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::{Mode, Quality};

    #[test]
    fn a_full_buffer_counts_dropped_notes_instead_of_panicking() {
        let ctx = MusicalContext::new(60, Mode::Dorian, 60.0, 1.0).unwrap();
        let chords = [(0, Chord::on_degree(&ctx, 0, Quality::Minor))];
        let seg = Segment {
            ctx: &ctx,
            chords: &chords,
            first_bar: 0,
            phrase_bars: 8,
        };
        let mut rng = Rng::new(1);
        let mut state = MelodyState { last_pitch: 67 };
        let mut tiny: heapless::Vec<RawNote, 4> = heapless::Vec::new();
        let dropped = seg.compose(&mut rng, &mut state, &mut tiny);
        assert_eq!(tiny.len(), 4);
        assert!(dropped > 0);
    }
}
