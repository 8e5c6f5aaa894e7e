//! Why a byte slice is not a usable SoundFont.

use core::fmt;

/// What is wrong with a sample header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleProblem {
    /// The sample has no frames (start equals end) or ends before it starts.
    Empty {
        /// First frame.
        start: u32,
        /// One past the last frame.
        end: u32,
    },
    /// The sample runs past the end of the sample data.
    PastEnd {
        /// One past the sample's last frame.
        end: u32,
        /// Frames in the `smpl` chunk.
        frames: u32,
    },
    /// The loop does not lie inside the sample.
    LoopOutside {
        /// Loop start.
        loop_start: u32,
        /// Loop end.
        loop_end: u32,
    },
    /// The sample rate is zero or absurd.
    Rate(u32),
}

/// Why a byte slice is not a usable SoundFont. Each error names the chunk
/// and, where there is one, the record at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sf2Error {
    /// The data does not start with a RIFF header.
    NotRiff,
    /// The RIFF form is not `sfbk`.
    NotSoundFont([u8; 4]),
    /// A chunk header is cut off.
    ShortHeader {
        /// Byte offset of the header.
        offset: usize,
    },
    /// A chunk claims more bytes than the file holds.
    Truncated {
        /// The chunk id.
        chunk: [u8; 4],
        /// Bytes it claims.
        size: u32,
        /// Bytes that remain.
        available: usize,
    },
    /// A required chunk is absent.
    Missing(&'static str),
    /// A chunk's size is not a whole number of records.
    RecordSize {
        /// The chunk, e.g. `pdta/igen`.
        chunk: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The record size.
        record: usize,
    },
    /// A record list lacks its terminal record (or, for `phdr`, any preset).
    TooFew {
        /// The chunk.
        chunk: &'static str,
        /// Records present.
        count: usize,
    },
    /// A record refers to a record that does not exist.
    Index {
        /// The chunk holding the bad reference.
        chunk: &'static str,
        /// What owns the reference: `preset`, `instrument` or `zone`.
        owner: &'static str,
        /// Which one.
        owner_index: u32,
        /// The zone within the owner, for generator references.
        zone: Option<u32>,
        /// What is referred to: `zone`, `generator`, `modulator`,
        /// `instrument`, `sample`.
        target: &'static str,
        /// The bad index.
        index: u32,
        /// How many there are.
        count: u32,
    },
    /// Zone or generator indices go backwards.
    Order {
        /// The chunk.
        chunk: &'static str,
        /// The record whose index is smaller than its predecessor's.
        record: u32,
    },
    /// A sample header is unusable.
    Sample {
        /// The sample's index in `shdr`.
        index: u32,
        /// What is wrong.
        problem: SampleProblem,
    },
}

impl fmt::Display for Sf2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = |c: &[u8; 4]| {
            let mut s = [b'?'; 4];
            for (d, b) in s.iter_mut().zip(c) {
                if b.is_ascii_graphic() || *b == b' ' {
                    *d = *b;
                }
            }
            s
        };
        match self {
            Sf2Error::NotRiff => {
                f.write_str("not a SoundFont: the file does not start with a RIFF header")
            }
            Sf2Error::NotSoundFont(form) => {
                let s = id(form);
                write!(
                    f,
                    "not a SoundFont: the RIFF form is '{}', not 'sfbk'",
                    core::str::from_utf8(&s).unwrap_or("????")
                )
            }
            Sf2Error::ShortHeader { offset } => write!(
                f,
                "truncated SoundFont: a chunk header at byte {offset} is cut off"
            ),
            Sf2Error::Truncated {
                chunk,
                size,
                available,
            } => {
                let s = id(chunk);
                write!(
                    f,
                    "truncated SoundFont: chunk '{}' claims {size} bytes but only {available} remain",
                    core::str::from_utf8(&s).unwrap_or("????")
                )
            }
            Sf2Error::Missing(c) => write!(f, "not a usable SoundFont: the {c} chunk is missing"),
            Sf2Error::RecordSize {
                chunk,
                size,
                record,
            } => {
                write!(
                    f,
                    "{chunk}: {size} bytes is not a whole number of {record}-byte records"
                )
            }
            Sf2Error::TooFew { chunk, count } => write!(f, "{chunk}: {count} records is too few"),
            Sf2Error::Index {
                chunk,
                owner,
                owner_index,
                zone,
                target,
                index,
                count,
            } => {
                write!(f, "{chunk}: {owner} {owner_index}")?;
                if let Some(z) = zone {
                    write!(f, " zone {z}")?;
                }
                write!(f, " refers to {target} {index}, but there are {count}")
            }
            Sf2Error::Order { chunk, record } => {
                write!(
                    f,
                    "{chunk}: record {record} starts before the record before it"
                )
            }
            Sf2Error::Sample { index, problem } => {
                write!(f, "pdta/shdr: sample {index} ")?;
                match problem {
                    SampleProblem::Empty { start, end } => {
                        write!(f, "is empty (start {start}, end {end})")
                    }
                    SampleProblem::PastEnd { end, frames } => {
                        write!(
                            f,
                            "ends at frame {end}, past the {frames} frames of sample data"
                        )
                    }
                    SampleProblem::LoopOutside {
                        loop_start,
                        loop_end,
                    } => {
                        write!(
                            f,
                            "loops from {loop_start} to {loop_end}, outside the sample"
                        )
                    }
                    SampleProblem::Rate(r) => write!(f, "has an unusable sample rate of {r} Hz"),
                }
            }
        }
    }
}

impl core::error::Error for Sf2Error {}
