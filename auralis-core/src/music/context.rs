//! Musical parameters: key, mode, tempo and intensity, with validation and
//! the four named presets.

use core::fmt;
use core::str::FromStr;

/// A set of pitch classes (0 = C … 11 = B) as a 12-bit mask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PitchClassSet(u16);

impl PitchClassSet {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// The set with one more pitch class (taken modulo 12).
    #[must_use]
    pub const fn with(self, pc: u8) -> Self {
        Self(self.0 | 1 << (pc % 12))
    }

    /// The set without `pc` (taken modulo 12).
    #[must_use]
    pub const fn without(self, pc: u8) -> Self {
        Self(self.0 & !(1 << (pc % 12)))
    }

    /// The pitch classes in `self` but not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether the pitch class of `pitch` (any MIDI pitch) is in the set.
    pub const fn contains(self, pitch: u8) -> bool {
        self.0 & (1 << (pitch % 12)) != 0
    }

    /// How many pitch classes the set holds.
    pub const fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The pitch classes in ascending order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0u8..12).filter(move |&pc| self.contains(pc))
    }
}

/// A church mode. The original system offered aeolian, dorian, lydian and
/// phrygian; Auralis adds ionian and mixolydian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Natural minor.
    Aeolian,
    /// Minor with a raised sixth.
    Dorian,
    /// Major with a raised fourth.
    Lydian,
    /// Minor with a lowered second.
    Phrygian,
    /// Major.
    Ionian,
    /// Major with a lowered seventh.
    Mixolydian,
}

impl Mode {
    /// Every mode, in the order the original listed them.
    pub const ALL: [Mode; 6] = [
        Mode::Aeolian,
        Mode::Dorian,
        Mode::Lydian,
        Mode::Phrygian,
        Mode::Ionian,
        Mode::Mixolydian,
    ];

    /// Semitones above the tonic of the seven scale degrees.
    pub const fn intervals(self) -> [u8; 7] {
        match self {
            Mode::Ionian => [0, 2, 4, 5, 7, 9, 11],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
            Mode::Aeolian => [0, 2, 3, 5, 7, 8, 10],
        }
    }

    /// Semitones from the tonic of the relative major (ionian) down to this
    /// mode's tonic: D dorian is C major's scale from 2 semitones up.
    pub const fn offset_from_major(self) -> u8 {
        match self {
            Mode::Ionian => 0,
            Mode::Dorian => 2,
            Mode::Phrygian => 4,
            Mode::Lydian => 5,
            Mode::Mixolydian => 7,
            Mode::Aeolian => 9,
        }
    }

    /// Semitones above the tonic of scale degree `degree` (taken modulo 7).
    pub fn degree_interval(self, degree: u8) -> u8 {
        let i = self.intervals();
        i.get(usize::from(degree % 7)).copied().unwrap_or(0)
    }

    /// The lower-case name, as used by the protocol.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Aeolian => "aeolian",
            Mode::Dorian => "dorian",
            Mode::Lydian => "lydian",
            Mode::Phrygian => "phrygian",
            Mode::Ionian => "ionian",
            Mode::Mixolydian => "mixolydian",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = ContextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or(ContextError::UnknownMode)
    }
}

/// How to spell the five black-key pitch classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// C#, D#, F#, G#, A#.
    Sharps,
    /// Db, Eb, Gb, Ab, Bb.
    Flats,
}

impl Spelling {
    /// The name of pitch class `pc` (taken modulo 12).
    pub fn name(self, pc: u8) -> &'static str {
        const SHARPS: [&str; 12] = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        const FLATS: [&str; 12] = [
            "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
        ];
        let table = match self {
            Spelling::Sharps => SHARPS,
            Spelling::Flats => FLATS,
        };
        // `pc % 12` is always a valid index; the fallback is unreachable.
        match table.get(pc as usize % 12) {
            Some(name) => name,
            None => "?",
        }
    }
}

/// Lowest allowed key (MIDI 60, middle C).
pub const KEY_MIN: u8 = 60;
/// Highest allowed key (MIDI 71, B above middle C).
pub const KEY_MAX: u8 = 71;
/// Slowest allowed tempo in beats per minute.
pub const BPM_MIN: f32 = 40.0;
/// Fastest allowed tempo in beats per minute.
pub const BPM_MAX: f32 = 90.0;

/// Why a musical parameter was refused. One variant per field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ContextError {
    /// The key is not a MIDI root pitch from 60 to 71.
    Key(u8),
    /// The mode name is not one Auralis knows.
    UnknownMode,
    /// The tempo is not a number from 40 to 90.
    Bpm(f32),
    /// The intensity is not a number from 0.0 to 1.0.
    Intensity(f32),
    /// The preset name is not focus, meditation, sleep or bright.
    UnknownPreset,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::Key(k) => write!(
                f,
                "key {k} is out of range: use a MIDI root pitch from 60 (C) to 71 (B)"
            ),
            ContextError::UnknownMode => f.write_str(
                "unknown mode: use aeolian, dorian, lydian, phrygian, ionian or mixolydian",
            ),
            ContextError::Bpm(b) => {
                write!(f, "bpm {b} is out of range: use a tempo from 40 to 90")
            }
            ContextError::Intensity(i) => {
                write!(
                    f,
                    "intensity {i} is out of range: use a number from 0.0 to 1.0"
                )
            }
            ContextError::UnknownPreset => {
                f.write_str("unknown preset: use focus, meditation, sleep or bright")
            }
        }
    }
}

impl core::error::Error for ContextError {}

/// The parameters the composer follows: key, mode, tempo and intensity.
///
/// Always valid: the only ways to make one check every field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MusicalContext {
    key: u8,
    mode: Mode,
    bpm: f32,
    intensity: f32,
}

impl Default for MusicalContext {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl MusicalContext {
    /// C aeolian, 60 BPM, intensity 0.5: the original system's defaults.
    pub const DEFAULT: Self = Self {
        key: 60,
        mode: Mode::Aeolian,
        bpm: 60.0,
        intensity: 0.5,
    };

    /// Builds a context, refusing the first field that is out of range
    /// (key, then bpm, then intensity). NaN is never in range.
    pub fn new(key: u8, mode: Mode, bpm: f32, intensity: f32) -> Result<Self, ContextError> {
        if !(KEY_MIN..=KEY_MAX).contains(&key) {
            return Err(ContextError::Key(key));
        }
        if !(BPM_MIN..=BPM_MAX).contains(&bpm) {
            return Err(ContextError::Bpm(bpm));
        }
        if !(0.0..=1.0).contains(&intensity) {
            return Err(ContextError::Intensity(intensity));
        }
        Ok(Self {
            key,
            mode,
            bpm,
            intensity,
        })
    }

    /// This context with another key (validated).
    pub fn with_key(self, key: u8) -> Result<Self, ContextError> {
        Self::new(key, self.mode, self.bpm, self.intensity)
    }

    /// This context with another mode.
    #[must_use]
    pub fn with_mode(self, mode: Mode) -> Self {
        Self { mode, ..self }
    }

    /// This context with another tempo (validated).
    pub fn with_bpm(self, bpm: f32) -> Result<Self, ContextError> {
        Self::new(self.key, self.mode, bpm, self.intensity)
    }

    /// This context with another intensity (validated).
    pub fn with_intensity(self, intensity: f32) -> Result<Self, ContextError> {
        Self::new(self.key, self.mode, self.bpm, intensity)
    }

    /// The tonic as a MIDI pitch, 60–71.
    pub const fn key(&self) -> u8 {
        self.key
    }

    /// The tonic's pitch class, 0–11.
    pub const fn key_pc(&self) -> u8 {
        self.key % 12
    }

    /// The mode.
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The tempo in beats (quarter notes) per minute, 40–90.
    pub const fn bpm(&self) -> f32 {
        self.bpm
    }

    /// Note density and loudness, 0.0–1.0.
    pub const fn intensity(&self) -> f32 {
        self.intensity
    }

    /// The pitch classes of the key's scale in this mode.
    pub fn scale(&self) -> PitchClassSet {
        self.mode
            .intervals()
            .into_iter()
            .fold(PitchClassSet::EMPTY, |s, i| s.with(self.key_pc() + i))
    }

    /// The pitch class of scale degree `degree` (0 = tonic, modulo 7).
    pub fn degree_pc(&self, degree: u8) -> u8 {
        (self.key_pc() + self.mode.degree_interval(degree)) % 12
    }

    /// Sharps or flats, after the key signature of the relative major.
    pub const fn spelling(&self) -> Spelling {
        let major = (self.key_pc() + 12 - self.mode.offset_from_major()) % 12;
        match major {
            // F, Bb, Eb, Ab, Db, Gb major are written with flats.
            5 | 10 | 3 | 8 | 1 | 6 => Spelling::Flats,
            _ => Spelling::Sharps,
        }
    }

    /// This context with a preset's mode, intensity and tempo; the key stays.
    #[must_use]
    pub fn with_preset(self, preset: Preset) -> Self {
        let (mode, intensity, bpm) = preset.settings();
        Self {
            key: self.key,
            mode,
            bpm,
            intensity,
        }
    }
}

/// The four named moods of the original system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Dorian, intensity 0.5, 60 BPM.
    Focus,
    /// Aeolian, intensity 0.3, 50 BPM.
    Meditation,
    /// Phrygian, intensity 0.2, 40 BPM.
    Sleep,
    /// Lydian, intensity 0.6, 70 BPM.
    Bright,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 4] = [
        Preset::Focus,
        Preset::Meditation,
        Preset::Sleep,
        Preset::Bright,
    ];

    /// (mode, intensity, bpm) of the preset.
    pub const fn settings(self) -> (Mode, f32, f32) {
        match self {
            Preset::Focus => (Mode::Dorian, 0.5, 60.0),
            Preset::Meditation => (Mode::Aeolian, 0.3, 50.0),
            Preset::Sleep => (Mode::Phrygian, 0.2, 40.0),
            Preset::Bright => (Mode::Lydian, 0.6, 70.0),
        }
    }

    /// The lower-case name, as used by the protocol.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::Focus => "focus",
            Preset::Meditation => "meditation",
            Preset::Sleep => "sleep",
            Preset::Bright => "bright",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = ContextError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or(ContextError::UnknownPreset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_field_has_its_own_error() {
        assert_eq!(
            MusicalContext::new(59, Mode::Dorian, 60.0, 0.5),
            Err(ContextError::Key(59))
        );
        assert_eq!(
            MusicalContext::new(72, Mode::Dorian, 60.0, 0.5),
            Err(ContextError::Key(72))
        );
        assert_eq!(
            MusicalContext::new(60, Mode::Dorian, 39.9, 0.5),
            Err(ContextError::Bpm(39.9))
        );
        assert_eq!(
            MusicalContext::new(60, Mode::Dorian, 90.5, 0.5),
            Err(ContextError::Bpm(90.5))
        );
        assert!(matches!(
            MusicalContext::new(60, Mode::Dorian, f32::NAN, 0.5),
            Err(ContextError::Bpm(_))
        ));
        assert_eq!(
            MusicalContext::new(60, Mode::Dorian, 60.0, -0.1),
            Err(ContextError::Intensity(-0.1))
        );
        assert!(matches!(
            MusicalContext::new(60, Mode::Dorian, 60.0, f32::NAN),
            Err(ContextError::Intensity(_))
        ));
        assert_eq!("locrian".parse::<Mode>(), Err(ContextError::UnknownMode));
        assert_eq!("party".parse::<Preset>(), Err(ContextError::UnknownPreset));
    }

    #[test]
    fn bounds_are_inclusive() {
        for key in 60..=71 {
            assert!(MusicalContext::new(key, Mode::Lydian, 40.0, 0.0).is_ok());
            assert!(MusicalContext::new(key, Mode::Lydian, 90.0, 1.0).is_ok());
        }
    }

    #[test]
    fn presets_match_the_contract_and_keep_the_key() {
        let base = MusicalContext::new(62, Mode::Ionian, 85.0, 0.9).unwrap();
        let expect = [
            (Preset::Focus, Mode::Dorian, 0.5, 60.0),
            (Preset::Meditation, Mode::Aeolian, 0.3, 50.0),
            (Preset::Sleep, Mode::Phrygian, 0.2, 40.0),
            (Preset::Bright, Mode::Lydian, 0.6, 70.0),
        ];
        for (p, mode, intensity, bpm) in expect {
            let c = base.with_preset(p);
            assert_eq!(
                (c.key(), c.mode(), c.intensity(), c.bpm()),
                (62, mode, intensity, bpm)
            );
            assert_eq!(p.name().parse::<Preset>(), Ok(p));
        }
    }

    #[test]
    fn scales_and_spelling() {
        let d_dorian = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5).unwrap();
        // D dorian has the white keys only.
        let white: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
        assert_eq!(
            d_dorian.scale().iter().collect::<heapless::Vec<u8, 12>>(),
            white
        );
        assert_eq!(d_dorian.degree_pc(4), 9); // A
                                              // F aeolian is Ab major's scale: flats. E lydian is B major: sharps.
        let f_aeolian = MusicalContext::new(65, Mode::Aeolian, 60.0, 0.5).unwrap();
        assert_eq!(f_aeolian.spelling(), Spelling::Flats);
        assert_eq!(Spelling::Flats.name(f_aeolian.degree_pc(5)), "Db");
        let e_lydian = MusicalContext::new(64, Mode::Lydian, 60.0, 0.5).unwrap();
        assert_eq!(e_lydian.spelling(), Spelling::Sharps);
        assert_eq!(Spelling::Sharps.name(e_lydian.degree_pc(3)), "A#");
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>(), Ok(m));
            assert_eq!(d_dorian.with_mode(m).scale().len(), 7);
        }
    }
}
