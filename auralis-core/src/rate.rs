//! [`SampleRate`]: an output rate checked once, where it enters (a
//! config file, a command line, the C API), and trusted everywhere after.

use core::fmt;
use core::str::FromStr;

/// A sample rate the core can play at: 8 kHz to 192 kHz.
///
/// The composer, the synthesizer and the engine take a `SampleRate`, so
/// none of them checks a rate again. The streaming engine asks one thing
/// more (its 100 ms chunks need a multiple of 10 Hz, at most 48 kHz; see
/// [`crate::engine::EngineError::ChunkRate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleRate(u32);

impl SampleRate {
    /// The lowest rate accepted, Hz.
    pub const MIN_HZ: u32 = 8_000;
    /// The highest rate accepted, Hz.
    pub const MAX_HZ: u32 = 192_000;
    /// 44.1 kHz, the default.
    pub const HZ_44100: Self = Self(44_100);
    /// 48 kHz (Opus plays only at this rate).
    pub const HZ_48000: Self = Self(48_000);

    /// `hz` if the core can play at it.
    ///
    /// # Errors
    /// [`SampleRateError`] when `hz` is outside 8,000–192,000.
    pub const fn new(hz: u32) -> Result<Self, SampleRateError> {
        if hz < Self::MIN_HZ || hz > Self::MAX_HZ {
            return Err(SampleRateError(hz));
        }
        Ok(Self(hz))
    }

    /// The rate in Hz.
    pub const fn hz(self) -> u32 {
        self.0
    }
}

impl Default for SampleRate {
    fn default() -> Self {
        Self::HZ_44100
    }
}

impl fmt::Display for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Hz", self.0)
    }
}

impl TryFrom<u32> for SampleRate {
    type Error = SampleRateError;

    fn try_from(hz: u32) -> Result<Self, Self::Error> {
        Self::new(hz)
    }
}

impl From<SampleRate> for u32 {
    fn from(rate: SampleRate) -> Self {
        rate.0
    }
}

impl FromStr for SampleRate {
    type Err = SampleRateError;

    /// Parses a rate in Hz, such as `48000`; anything else (text, a
    /// negative or fractional number) is refused as rate 0.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u32>()
            .map_err(|_| SampleRateError(0))
            .and_then(Self::new)
    }
}

/// A sample rate the core cannot play at (the rate asked for, in Hz; 0
/// when it was not a number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleRateError(pub u32);

impl fmt::Display for SampleRateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = (SampleRate::MIN_HZ, SampleRate::MAX_HZ);
        if self.0 == 0 {
            return write!(
                f,
                "the sample rate must be a whole number of Hz from {lo} to {hi} \
                 (44100 and 48000 are usual)"
            );
        }
        write!(
            f,
            "sample rate {} Hz is not supported: use {lo} to {hi} (44100 and 48000 are usual)",
            self.0
        )
    }
}

impl core::error::Error for SampleRateError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accepted_range_is_8_to_192_khz() {
        for hz in [8_000, 22_050, 44_100, 48_000, 96_000, 192_000] {
            assert_eq!(SampleRate::new(hz).map(SampleRate::hz), Ok(hz));
        }
        for hz in [0, 7_999, 192_001, u32::MAX] {
            assert_eq!(SampleRate::new(hz), Err(SampleRateError(hz)));
        }
    }

    #[test]
    fn text_parses_to_a_checked_rate() {
        assert_eq!("48000".parse(), Ok(SampleRate::HZ_48000));
        assert_eq!(" 44100 ".parse(), Ok(SampleRate::HZ_44100));
        assert_eq!("4000".parse::<SampleRate>(), Err(SampleRateError(4_000)));
        assert_eq!("fast".parse::<SampleRate>(), Err(SampleRateError(0)));
        assert_eq!("-1".parse::<SampleRate>(), Err(SampleRateError(0)));
    }
}
