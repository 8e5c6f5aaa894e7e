//! Chords built from the scale: qualities, pitch classes and Harte names.

use core::fmt;

use super::context::{MusicalContext, PitchClassSet, Spelling};

/// A chord quality. Every quality the composer uses is built by stacking
/// scale tones, so its tones always belong to the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    /// Root, major third, fifth.
    Major,
    /// Root, minor third, fifth.
    Minor,
    /// Root, major second, fifth.
    Sus2,
    /// Root, perfect fourth, fifth.
    Sus4,
    /// Major triad with an added ninth.
    MajorAdd9,
    /// Minor triad with an added ninth.
    MinorAdd9,
    /// Major triad with a major seventh.
    Major7,
    /// Minor triad with a minor seventh.
    Minor7,
    /// Major triad with a minor seventh.
    Dominant7,
}

impl Quality {
    /// Every quality.
    pub const ALL: [Quality; 9] = [
        Quality::Major,
        Quality::Minor,
        Quality::Sus2,
        Quality::Sus4,
        Quality::MajorAdd9,
        Quality::MinorAdd9,
        Quality::Major7,
        Quality::Minor7,
        Quality::Dominant7,
    ];

    /// Semitones above the root, lowest first (ninths as 14).
    pub const fn intervals(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 4, 7],
            Quality::Minor => &[0, 3, 7],
            Quality::Sus2 => &[0, 2, 7],
            Quality::Sus4 => &[0, 5, 7],
            Quality::MajorAdd9 => &[0, 4, 7, 14],
            Quality::MinorAdd9 => &[0, 3, 7, 14],
            Quality::Major7 => &[0, 4, 7, 11],
            Quality::Minor7 => &[0, 3, 7, 10],
            Quality::Dominant7 => &[0, 4, 7, 10],
        }
    }

    /// The shorthand after the colon in Harte notation (`maj`, `min7`, …).
    pub const fn harte(self) -> &'static str {
        match self {
            Quality::Major => "maj",
            Quality::Minor => "min",
            Quality::Sus2 => "sus2",
            Quality::Sus4 => "sus4",
            Quality::MajorAdd9 => "maj(9)",
            Quality::MinorAdd9 => "min(9)",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "min7",
            Quality::Dominant7 => "7",
        }
    }

    /// Whether the chord has a major third (what makes a dominant sound).
    pub const fn is_major(self) -> bool {
        matches!(
            self,
            Quality::Major | Quality::MajorAdd9 | Quality::Major7 | Quality::Dominant7
        )
    }

    /// The interval of the chord's third above the root, if it has one.
    pub const fn third(self) -> Option<u8> {
        match self {
            Quality::Sus2 | Quality::Sus4 => None,
            q if q.is_major() => Some(4),
            _ => Some(3),
        }
    }
}

/// A chord on a scale degree of the current key and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    root: u8,
    degree: u8,
    quality: Quality,
}

impl Chord {
    /// The chord of `quality` on scale `degree` (0 = tonic) of `ctx`.
    pub fn on_degree(ctx: &MusicalContext, degree: u8, quality: Quality) -> Self {
        Self {
            root: ctx.degree_pc(degree),
            degree: degree % 7,
            quality,
        }
    }

    /// The root's pitch class, 0–11.
    pub const fn root(&self) -> u8 {
        self.root
    }

    /// The scale degree of the root, 0 (tonic) to 6.
    pub const fn degree(&self) -> u8 {
        self.degree
    }

    /// The quality.
    pub const fn quality(&self) -> Quality {
        self.quality
    }

    /// The chord's pitch classes.
    pub fn pitch_classes(&self) -> PitchClassSet {
        self.quality
            .intervals()
            .iter()
            .fold(PitchClassSet::EMPTY, |s, &i| s.with(self.root + i))
    }

    /// The chord in Harte notation (`A:min`, `C:maj(9)`), roots spelled
    /// with `spelling`.
    pub fn harte(&self, spelling: Spelling) -> Harte {
        Harte {
            chord: *self,
            spelling,
        }
    }
}

/// A chord's Harte-notation name; see [`Chord::harte`].
#[derive(Clone, Copy, Debug)]
pub struct Harte {
    chord: Chord,
    spelling: Spelling,
}

impl fmt::Display for Harte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}",
            self.spelling.name(self.chord.root),
            self.chord.quality.harte()
        )
    }
}

/// The qualities that scale degree `degree` supports in `ctx`'s mode, each
/// with a weight for how often the composer picks it. Degrees whose fifth
/// is not perfect (diminished triads) support none.
pub(crate) fn diatonic_qualities(ctx: &MusicalContext, degree: u8) -> [(Quality, u32); 5] {
    let mode = ctx.mode();
    let step = |n: u8| (mode.degree_interval(degree + n) + 12 - mode.degree_interval(degree)) % 12;
    let (second, third, fourth, fifth, seventh) = (step(1), step(2), step(3), step(4), step(6));
    let none = (Quality::Major, 0);
    if fifth != 7 {
        return [none; 5];
    }
    let major = third == 4;
    let triad = if major {
        Quality::Major
    } else {
        Quality::Minor
    };
    let add9 = match (major, second) {
        (true, 2) => (Quality::MajorAdd9, 2),
        (false, 2) => (Quality::MinorAdd9, 2),
        _ => none,
    };
    let seventh = match (major, seventh) {
        (true, 11) => (Quality::Major7, 2),
        (true, 10) => (Quality::Dominant7, 1),
        (false, 10) => (Quality::Minor7, 2),
        _ => none,
    };
    let sus2 = if second == 2 {
        (Quality::Sus2, 1)
    } else {
        none
    };
    let sus4 = if fourth == 5 {
        (Quality::Sus4, 1)
    } else {
        none
    };
    [(triad, 4), add9, seventh, sus2, sus4]
}

/// The triad quality (major or minor) of a degree, or `None` for a degree
/// whose fifth is not perfect.
pub(crate) fn diatonic_triad(ctx: &MusicalContext, degree: u8) -> Option<Quality> {
    let [(q, w), ..] = diatonic_qualities(ctx, degree);
    (w > 0).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::music::context::Mode;

    fn ctx(key: u8, mode: Mode) -> MusicalContext {
        MusicalContext::new(key, mode, 60.0, 0.5).unwrap()
    }

    #[test]
    fn harte_names() {
        let c = ctx(60, Mode::Ionian);
        assert_eq!(
            format!(
                "{}",
                Chord::on_degree(&c, 5, Quality::Minor).harte(c.spelling())
            ),
            "A:min"
        );
        assert_eq!(
            format!(
                "{}",
                Chord::on_degree(&c, 3, Quality::Major7).harte(c.spelling())
            ),
            "F:maj7"
        );
        assert_eq!(
            format!(
                "{}",
                Chord::on_degree(&c, 0, Quality::MajorAdd9).harte(c.spelling())
            ),
            "C:maj(9)"
        );
        assert_eq!(
            format!(
                "{}",
                Chord::on_degree(&c, 1, Quality::Sus4).harte(c.spelling())
            ),
            "D:sus4"
        );
        assert_eq!(
            format!(
                "{}",
                Chord::on_degree(&c, 2, Quality::Minor7).harte(c.spelling())
            ),
            "E:min7"
        );
    }

    #[test]
    fn pitch_classes_of_c_maj7_and_a_min_add9() {
        let c = ctx(60, Mode::Ionian);
        let cmaj7 = Chord::on_degree(&c, 0, Quality::Major7).pitch_classes();
        assert_eq!(
            cmaj7.iter().collect::<heapless::Vec<u8, 12>>(),
            [0, 4, 7, 11]
        );
        let amin9 = Chord::on_degree(&c, 5, Quality::MinorAdd9).pitch_classes();
        assert_eq!(
            amin9.iter().collect::<heapless::Vec<u8, 12>>(),
            [0, 4, 9, 11]
        );
    }

    #[test]
    fn every_offered_quality_stays_in_the_mode() {
        for key in 60..=71 {
            for mode in Mode::ALL {
                let c = ctx(key, mode);
                let scale = c.scale();
                for degree in 0..7 {
                    for (q, w) in diatonic_qualities(&c, degree) {
                        if w == 0 {
                            continue;
                        }
                        let chord = Chord::on_degree(&c, degree, q);
                        for pc in chord.pitch_classes().iter() {
                            assert!(scale.contains(pc), "{key} {mode} degree {degree} {q:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn diminished_degrees_offer_nothing() {
        // B in C ionian, B in A aeolian, F# in C lydian.
        assert_eq!(diatonic_triad(&ctx(60, Mode::Ionian), 6), None);
        assert_eq!(diatonic_triad(&ctx(69, Mode::Aeolian), 1), None);
        assert_eq!(diatonic_triad(&ctx(60, Mode::Lydian), 3), None);
        assert_eq!(
            diatonic_triad(&ctx(62, Mode::Dorian), 3),
            Some(Quality::Major)
        );
    }
}
