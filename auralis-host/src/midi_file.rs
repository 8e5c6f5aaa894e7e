//! Standard MIDI Files (formats 0 and 1) as a timeline of channel events
//! at sample frames, with tempo changes applied.

use std::fmt;

use auralis_core::synth::MidiEvent;
use midly::{Format, MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};

/// Every channel event of a file, at its frame, in playing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// (frame, event), ordered by frame; ties keep file order.
    pub events: Vec<(u64, MidiEvent)>,
    /// Frame of the last channel event: after it nothing changes what
    /// sounds, whatever meta events (an end of track days later) follow.
    pub end: u64,
    /// Frame of the file's last event of any kind (end of track included).
    pub last_meta: u64,
}

/// Why a MIDI file cannot be played.
#[derive(Debug)]
pub enum MidiFileError {
    /// The bytes are not a valid Standard MIDI File.
    Parse(midly::Error),
    /// Format 2 (independent sequences) is not supported.
    Sequential,
}

impl fmt::Display for MidiFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MidiFileError::Parse(e) => write!(f, "not a valid Standard MIDI File: {e}"),
            MidiFileError::Sequential => f.write_str(
                "format 2 MIDI files (independent sequences) are not supported: use format 0 or 1",
            ),
        }
    }
}

impl std::error::Error for MidiFileError {}

/// Reads a Standard MIDI File and times its events at `sample_rate`.
pub fn read(bytes: &[u8], sample_rate: u32) -> Result<Timeline, MidiFileError> {
    let smf = Smf::parse(bytes).map_err(MidiFileError::Parse)?;
    if smf.header.format == Format::Sequential {
        return Err(MidiFileError::Sequential);
    }
    // Merge the tracks: (tick, track, index) keeps file order for ties.
    let mut merged: Vec<(u64, usize, usize, TrackEventKind<'_>)> = Vec::new();
    for (t, track) in smf.tracks.iter().enumerate() {
        let mut tick = 0u64;
        for (i, ev) in track.iter().enumerate() {
            tick += u64::from(ev.delta.as_int());
            merged.push((tick, t, i, ev.kind));
        }
    }
    merged.sort_by_key(|&(tick, t, i, _)| (tick, t, i));

    let sr = f64::from(sample_rate);
    // Seconds per tick at the current tempo.
    let per_tick = |tempo_us: u32| match smf.header.timing {
        Timing::Metrical(tpq) => f64::from(tempo_us) / 1e6 / f64::from(tpq.as_int().max(1)),
        Timing::Timecode(fps, sub) => 1.0 / (f64::from(fps.as_f32()) * f64::from(sub.max(1))),
    };
    let mut tempo = 500_000u32;
    let (mut last_tick, mut secs) = (0u64, 0.0f64);
    let mut events = Vec::with_capacity(merged.len());
    let mut last_meta = 0u64;
    for (tick, _, _, kind) in merged {
        secs += (tick - last_tick) as f64 * per_tick(tempo);
        last_tick = tick;
        let frame = (secs * sr).round() as u64;
        last_meta = last_meta.max(frame);
        match kind {
            TrackEventKind::Meta(MetaMessage::Tempo(t)) => tempo = t.as_int().max(1),
            TrackEventKind::Midi { channel, message } => {
                let channel = channel.as_int();
                let ev = match message {
                    MidiMessage::NoteOn { key, vel } => MidiEvent::NoteOn {
                        channel,
                        key: key.as_int(),
                        velocity: vel.as_int(),
                    },
                    MidiMessage::NoteOff { key, .. } => MidiEvent::NoteOff {
                        channel,
                        key: key.as_int(),
                    },
                    MidiMessage::Controller { controller, value } => MidiEvent::ControlChange {
                        channel,
                        controller: controller.as_int(),
                        value: value.as_int(),
                    },
                    MidiMessage::ProgramChange { program } => MidiEvent::ProgramChange {
                        channel,
                        program: program.as_int(),
                    },
                    MidiMessage::PitchBend { bend } => MidiEvent::PitchBend {
                        channel,
                        value: bend.0.as_int(),
                    },
                    MidiMessage::ChannelAftertouch { vel } => MidiEvent::ChannelPressure {
                        channel,
                        value: vel.as_int(),
                    },
                    // Polyphonic pressure has no SF2 default modulator.
                    MidiMessage::Aftertouch { .. } => continue,
                };
                events.push((frame, ev));
            }
            _ => {}
        }
    }
    let end = events.last().map_or(0, |(f, _)| *f);
    Ok(Timeline {
        events,
        end,
        last_meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format 1 file: a conductor track with a tempo change after one
    /// quarter note, and a note track.
    fn two_tempi() -> Vec<u8> {
        let conductor = [
            &[0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20][..], // 500 000 µs/quarter
            &[0x83, 0x60, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40], // at 480: 1 000 000
            &[0x00, 0xFF, 0x2F, 0x00],
        ]
        .concat();
        let notes = [
            &[0x00, 0xC1, 5][..],
            &[0x00, 0x91, 60, 100],
            &[0x83, 0x60, 0x81, 60, 0],  // tick 480
            &[0x83, 0x60, 0x91, 62, 90], // tick 960
            &[0x00, 0xE1, 0x00, 0x40],
            &[0x00, 0xFF, 0x2F, 0x00],
        ]
        .concat();
        let mut f = b"MThd\0\0\0\x06\0\x01\0\x02\x01\xe0".to_vec();
        for t in [conductor, notes] {
            f.extend_from_slice(b"MTrk");
            f.extend_from_slice(&(t.len() as u32).to_be_bytes());
            f.extend_from_slice(&t);
        }
        f
    }

    #[test]
    fn tempo_changes_move_later_events() {
        let tl = read(&two_tempi(), 48_000).unwrap();
        let frames: Vec<u64> = tl.events.iter().map(|(f, _)| *f).collect();
        // 480 ticks at 0.5 s per quarter, then 480 at 1 s per quarter.
        assert_eq!(frames, [0, 0, 24_000, 72_000, 72_000]);
        assert_eq!(
            tl.events[1].1,
            MidiEvent::NoteOn {
                channel: 1,
                key: 60,
                velocity: 100
            }
        );
        assert_eq!(
            tl.events[4].1,
            MidiEvent::PitchBend {
                channel: 1,
                value: 8192
            }
        );
        assert_eq!(tl.end, 72_000);
    }

    #[test]
    fn an_end_of_track_days_later_is_not_the_end() {
        // A note, then an end of track 2^28 − 1 ticks later (three days at
        // 120 BPM): 38 bytes that used to render for days.
        let track = [
            &[0x00, 0x90, 60, 100][..],
            &[0x83, 0x60, 0x80, 60, 0],
            &[0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x2F, 0x00],
        ]
        .concat();
        let mut f = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0".to_vec();
        f.extend_from_slice(b"MTrk");
        f.extend_from_slice(&(track.len() as u32).to_be_bytes());
        f.extend_from_slice(&track);
        let tl = read(&f, 44_100).unwrap();
        assert_eq!(tl.end, 22_050, "the note-off half a second in");
        assert!(tl.last_meta > 44_100 * 86_400, "{}", tl.last_meta);
    }

    #[test]
    fn garbage_and_format_2_are_refused() {
        assert!(read(b"not midi at all", 44_100)
            .unwrap_err()
            .to_string()
            .contains("not a valid"));
        let mut f = two_tempi();
        f[9] = 2;
        assert!(read(&f, 44_100)
            .unwrap_err()
            .to_string()
            .contains("format 2"));
        // A file cut short is either refused or read as far as it goes
        // (midly recovers truncated tracks, as FluidSynth does).
        let full = read(&two_tempi(), 44_100).unwrap();
        let whole = two_tempi();
        for cut in 0..whole.len() {
            if let Ok(tl) = read(&whole[..cut], 44_100) {
                assert!(tl.events.len() <= full.events.len());
            }
        }
    }
}
