//! MIDI channel messages, the queue of events waiting for their frame,
//! and what can go wrong asking the synthesizer for something.

use core::fmt;

use heapless::binary_heap::{BinaryHeap, Min};

use super::sf2::Sf2Error;
use super::{CHANNELS, MAX_FONTS};

/// A loaded SoundFont's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FontId(pub u8);

/// A MIDI channel message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MidiEvent {
    /// Start a note (velocity 0 means note-off).
    NoteOn {
        /// Channel 0–15.
        channel: u8,
        /// Key 0–127.
        key: u8,
        /// Velocity 0–127.
        velocity: u8,
    },
    /// Release a note.
    NoteOff {
        /// Channel 0–15.
        channel: u8,
        /// Key 0–127.
        key: u8,
    },
    /// A controller change.
    ControlChange {
        /// Channel 0–15.
        channel: u8,
        /// Controller 0–127.
        controller: u8,
        /// Value 0–127.
        value: u8,
    },
    /// Choose a program (in the channel's bank).
    ProgramChange {
        /// Channel 0–15.
        channel: u8,
        /// Program 0–127.
        program: u8,
    },
    /// Pitch wheel, 0–16383 with 8192 at rest.
    PitchBend {
        /// Channel 0–15.
        channel: u8,
        /// 14-bit value.
        value: u16,
    },
    /// Channel (after-touch) pressure.
    ChannelPressure {
        /// Channel 0–15.
        channel: u8,
        /// Value 0–127.
        value: u8,
    },
}

impl MidiEvent {
    /// The message in MIDI's own bytes (a status byte and up to two data
    /// bytes, as a file or a port delivers them; unused data bytes are
    /// ignored), or `None` for anything this synthesizer does not play
    /// (system messages, polyphonic pressure, a data byte above 127, a
    /// byte that is no status). Note-on with velocity 0 stays a note-on,
    /// which [`MidiEvent::NoteOn`] plays as a note-off.
    pub const fn from_bytes(status: u8, data1: u8, data2: u8) -> Option<MidiEvent> {
        if data1 > 127 || data2 > 127 {
            return None;
        }
        let channel = status & 0x0F;
        Some(match status & 0xF0 {
            0x80 => MidiEvent::NoteOff {
                channel,
                key: data1,
            },
            0x90 => MidiEvent::NoteOn {
                channel,
                key: data1,
                velocity: data2,
            },
            0xB0 => MidiEvent::ControlChange {
                channel,
                controller: data1,
                value: data2,
            },
            0xC0 => MidiEvent::ProgramChange {
                channel,
                program: data1,
            },
            0xD0 => MidiEvent::ChannelPressure {
                channel,
                value: data1,
            },
            0xE0 => MidiEvent::PitchBend {
                channel,
                value: (data2 as u16) << 7 | data1 as u16,
            },
            _ => return None,
        })
    }

    /// The channel the message is for.
    pub fn channel(&self) -> u8 {
        match *self {
            MidiEvent::NoteOn { channel, .. }
            | MidiEvent::NoteOff { channel, .. }
            | MidiEvent::ControlChange { channel, .. }
            | MidiEvent::ProgramChange { channel, .. }
            | MidiEvent::PitchBend { channel, .. }
            | MidiEvent::ChannelPressure { channel, .. } => channel,
        }
    }

    /// Checks channel and data ranges.
    pub(crate) fn validate(&self) -> Result<(), SynthError> {
        let ch = self.channel();
        if usize::from(ch) >= CHANNELS {
            return Err(SynthError::Channel(ch));
        }
        let ok = match *self {
            MidiEvent::NoteOn { key, velocity, .. } => key < 128 && velocity < 128,
            MidiEvent::NoteOff { key, .. } => key < 128,
            MidiEvent::ControlChange {
                controller, value, ..
            } => controller < 128 && value < 128,
            MidiEvent::ProgramChange { program, .. } => program < 128,
            MidiEvent::PitchBend { value, .. } => value < 16_384,
            MidiEvent::ChannelPressure { value, .. } => value < 128,
        };
        if ok {
            Ok(())
        } else {
            Err(SynthError::Value(*self))
        }
    }
}

/// Scheduled events waiting at most (256 with the `compact` feature).
#[cfg(not(feature = "compact"))]
pub const EVENT_CAPACITY: usize = 1024;
/// Scheduled events waiting at most (1024 without the `compact` feature).
#[cfg(feature = "compact")]
pub const EVENT_CAPACITY: usize = 256;

/// An event waiting for its frame; ordered by frame, then by arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scheduled {
    frame: u64,
    seq: u64,
    event: MidiEvent,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.frame, self.seq).cmp(&(other.frame, other.seq))
    }
}

/// Events waiting for their frame, in frame order and, at one frame, in
/// the order they were scheduled.
pub(crate) struct EventQueue {
    heap: BinaryHeap<Scheduled, Min, EVENT_CAPACITY>,
    seq: u64,
}

impl EventQueue {
    pub(crate) const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Queues `event` for `frame`; hands it back when the queue is full.
    pub(crate) fn push(&mut self, frame: u64, event: MidiEvent) -> Result<(), MidiEvent> {
        let seq = self.seq;
        self.heap
            .push(Scheduled { frame, seq, event })
            .map_err(|s| s.event)?;
        self.seq += 1;
        Ok(())
    }

    /// The next event due at or before `frame`, taken off the queue.
    pub(crate) fn pop_due(&mut self, frame: u64) -> Option<MidiEvent> {
        match self.heap.peek() {
            Some(next) if next.frame <= frame => self.heap.pop().map(|s| s.event),
            _ => None,
        }
    }

    /// The frame of the next event, if any.
    pub(crate) fn next_frame(&self) -> Option<u64> {
        self.heap.peek().map(|s| s.frame)
    }

    /// Drops every waiting event.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.seq = 0;
    }
}

/// What went wrong asking the synthesizer for something.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SynthError {
    /// The SoundFont failed validation.
    Font(Sf2Error),
    /// All font slots are in use.
    TooManyFonts,
    /// No font has this id.
    UnknownFont(FontId),
    /// The font has no preset with this bank and program.
    NoSuchPreset {
        /// Bank.
        bank: u16,
        /// Program.
        program: u8,
    },
    /// Channels are 0–15.
    Channel(u8),
    /// A data byte is out of range.
    Value(MidiEvent),
    /// The sample rate is outside 8–192 kHz.
    SampleRate(u32),
    /// The event queue is full; the event was not scheduled.
    QueueFull,
    /// The renderer cannot do this (another renderer than the built-in
    /// one, with limits of its own).
    Unsupported(&'static str),
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::Font(e) => write!(f, "{e}"),
            SynthError::TooManyFonts => write!(
                f,
                "no room for another SoundFont: at most {MAX_FONTS} can be loaded"
            ),
            SynthError::UnknownFont(id) => write!(f, "no SoundFont is loaded with id {}", id.0),
            SynthError::NoSuchPreset { bank, program } => {
                write!(
                    f,
                    "the SoundFont has no preset for bank {bank}, program {program}"
                )
            }
            SynthError::Channel(c) => write!(f, "channel {c} is out of range: use 0 to 15"),
            SynthError::Value(e) => write!(f, "a value in {e:?} is out of range"),
            SynthError::SampleRate(r) => {
                write!(f, "sample rate {r} Hz is not supported: use 8000 to 192000")
            }
            SynthError::QueueFull => write!(f, "the event queue is full ({EVENT_CAPACITY} events)"),
            SynthError::Unsupported(why) => write!(f, "{why}"),
        }
    }
}

impl core::error::Error for SynthError {}

impl From<Sf2Error> for SynthError {
    fn from(e: Sf2Error) -> Self {
        SynthError::Font(e)
    }
}

#[cfg(test)]
mod bytes_tests {
    use super::MidiEvent;

    #[test]
    fn midi_bytes_become_events_and_the_rest_is_refused() {
        assert_eq!(
            MidiEvent::from_bytes(0x93, 60, 100),
            Some(MidiEvent::NoteOn {
                channel: 3,
                key: 60,
                velocity: 100
            })
        );
        assert_eq!(
            MidiEvent::from_bytes(0x80, 60, 64),
            Some(MidiEvent::NoteOff {
                channel: 0,
                key: 60
            })
        );
        assert_eq!(
            MidiEvent::from_bytes(0xBF, 7, 90),
            Some(MidiEvent::ControlChange {
                channel: 15,
                controller: 7,
                value: 90
            })
        );
        assert_eq!(
            MidiEvent::from_bytes(0xC1, 89, 0),
            Some(MidiEvent::ProgramChange {
                channel: 1,
                program: 89
            })
        );
        assert_eq!(
            MidiEvent::from_bytes(0xD2, 50, 0),
            Some(MidiEvent::ChannelPressure {
                channel: 2,
                value: 50
            })
        );
        // 14 bits, least significant byte first: 0x40 0x00 is 8192.
        assert_eq!(
            MidiEvent::from_bytes(0xE0, 0x00, 0x40),
            Some(MidiEvent::PitchBend {
                channel: 0,
                value: 8192
            })
        );
        assert_eq!(
            MidiEvent::from_bytes(0xE0, 0x7F, 0x7F),
            Some(MidiEvent::PitchBend {
                channel: 0,
                value: 16383
            })
        );
        for (s, a, b) in [
            (0xA0, 60, 10),
            (0xF0, 0, 0),
            (0xFF, 0x2F, 0),
            (0x40, 1, 1),
            (0x90, 128, 1),
            (0x90, 1, 200),
        ] {
            assert_eq!(MidiEvent::from_bytes(s, a, b), None, "{s:#x} {a} {b}");
        }
    }
}
