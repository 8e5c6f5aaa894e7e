//! Composed phrases as a Standard MIDI File (format 1, 480 ticks per
//! quarter note): a conductor track, the `chords` track (pad, markers) and
//! the `melody` track.

use auralis_core::engine;
use auralis_core::music::{NoteAction, Phrase, Voicing, PULSES_PER_BEAT};
use auralis_core::synth::cc;
use midly::num::{u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

/// Ticks per quarter note; the composer's pulse grid is the same.
pub(crate) const TICKS_PER_QUARTER: u16 = PULSES_PER_BEAT as u16;
/// MIDI channel and GM program of the pad (the engine's channel; each
/// phrase sets the program for its mode).
const PAD: (u8, u8) = (engine::PAD_CHANNEL, 89);
/// MIDI channel and GM program of the keys.
const KEYS: (u8, u8) = (engine::KEYS_CHANNEL, 0);

/// One event of a track at an absolute tick, owning its text.
#[derive(Debug)]
enum Ev {
    Name(&'static str),
    Tempo(u32),
    FourFour,
    Text(String),
    Marker(String),
    Program(u8, u8),
    Cc(u8, u8, u8),
    On(u8, u8, u8),
    Off(u8, u8),
}

/// Encodes `phrases` (consecutive, from one composer whose event times
/// count `sample_rate` samples per second) as a format 1 SMF, cut at
/// sample `end`: nothing starts after it, every note still sounding is
/// released there, and the file ends there. `sounding` is the pad voicing
/// still sounding after the last phrase; it is released at the end.
pub(crate) fn write(
    phrases: &[Phrase],
    sample_rate: u32,
    sounding: Option<Voicing>,
    end: u64,
) -> std::io::Result<Vec<u8>> {
    let mut conductor: Vec<(u64, Ev)> = vec![(0, Ev::Name("auralis")), (0, Ev::FourFour)];
    let mut chords: Vec<(u64, Ev)> = vec![(0, Ev::Name("chords")), (0, Ev::Program(PAD.0, PAD.1))];
    let mut melody: Vec<(u64, Ev)> =
        vec![(0, Ev::Name("melody")), (0, Ev::Program(KEYS.0, KEYS.1))];
    // The engine's mix, so that the file sounds like the stream.
    for (channel, controller, value) in engine::MIX {
        let track = if channel == PAD.0 {
            &mut chords
        } else {
            &mut melody
        };
        track.push((0, Ev::Cc(channel, controller, value)));
    }

    let mut tick = 0u64;
    let mut last_tempo = None;
    let mut last_key = None;
    let mut end_tick = None;
    for p in phrases {
        let ctx = p.context;
        let tempo = (60_000_000.0 / f64::from(ctx.bpm())).round() as u32;
        if last_tempo != Some(tempo) {
            conductor.push((tick, Ev::Tempo(tempo)));
            last_tempo = Some(tempo);
        }
        // Each phrase sets its loudness and the pad's colour, as the
        // engine does.
        let expression = engine::expression_for(ctx.intensity());
        chords.push((tick, Ev::Cc(PAD.0, cc::EXPRESSION, expression)));
        melody.push((tick, Ev::Cc(KEYS.0, cc::EXPRESSION, expression)));
        chords.push((tick, Ev::Program(PAD.0, engine::pad_program(ctx.mode()))));
        if last_key != Some((ctx.key(), ctx.mode())) {
            let name = ctx.spelling().name(ctx.key_pc());
            chords.push((tick, Ev::Text(format!("key {name} {}", ctx.mode()))));
            last_key = Some((ctx.key(), ctx.mode()));
        }
        let sr = f64::from(sample_rate);
        // Samples back to ticks: the composer placed every event on its
        // pulse grid, so rounding recovers the pulse exactly.
        let to_tick = |t: u64| {
            let secs = (t - p.start) as f64 / sr;
            tick + (secs * f64::from(ctx.bpm()) / 60.0 * f64::from(TICKS_PER_QUARTER)).round()
                as u64
        };
        for s in p.chords.spans().iter().filter(|s| s.changed) {
            chords.push((
                to_tick(s.start),
                Ev::Marker(s.chord.harte(ctx.spelling()).to_string()),
            ));
        }
        for e in p.chords.pad() {
            let ev = match e.action {
                NoteAction::On { velocity } => Ev::On(PAD.0, e.pitch, velocity),
                NoteAction::Off => Ev::Off(PAD.0, e.pitch),
            };
            chords.push((to_tick(e.time), ev));
        }
        for n in p.melody.notes() {
            melody.push((to_tick(n.start), Ev::On(KEYS.0, n.pitch, n.velocity)));
            melody.push((to_tick(n.end), Ev::Off(KEYS.0, n.pitch)));
        }
        if end_tick.is_none() && (p.start..p.end).contains(&end) {
            end_tick = Some(to_tick(end));
        }
        tick += u64::from(p.bars.get()) * 4 * u64::from(TICKS_PER_QUARTER);
    }
    for pitch in sounding.map(|v| v.0).unwrap_or_default() {
        chords.push((tick, Ev::Off(PAD.0, pitch)));
    }
    // Cut at the end: later events go, notes sounding there end there.
    let tick = end_tick.unwrap_or(tick).min(tick);
    for events in [&mut chords, &mut melody] {
        cut(events, tick);
    }
    // A pad voicing never doubles a pitch, but a doubled release would be
    // harmless; drop exact duplicates all the same.
    chords.dedup_by(|a, b| {
        a.0 == b.0 && matches!((&a.1, &b.1), (Ev::Off(_, x), Ev::Off(_, y)) if x == y)
    });

    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(TICKS_PER_QUARTER.into()),
    ));
    for events in [&mut conductor, &mut chords, &mut melody] {
        // Offs before ons at the same tick, so a repeated pitch restarts.
        events.sort_by_key(|(t, e)| (*t, !matches!(e, Ev::Off(..))));
    }
    let tracks: Vec<Vec<TrackEvent<'_>>> = [&conductor, &chords, &melody]
        .iter()
        .map(|evs| track(evs, tick))
        .collect();
    smf.tracks = tracks;
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)?;
    Ok(bytes)
}

/// Drops what happens after `end` and releases, at `end`, every note
/// still sounding then.
fn cut(events: &mut Vec<(u64, Ev)>, end: u64) {
    events.sort_by_key(|(t, e)| (*t, !matches!(e, Ev::Off(..))));
    let mut sounding: Vec<(u8, u8)> = Vec::new();
    events.retain(|(t, e)| {
        let keep = *t < end || (*t == end && matches!(e, Ev::Off(..)));
        if keep {
            match e {
                Ev::On(ch, key, _) => sounding.push((*ch, *key)),
                Ev::Off(ch, key) => sounding.retain(|&n| n != (*ch, *key)),
                _ => {}
            }
        }
        keep
    });
    for (ch, key) in sounding {
        events.push((end, Ev::Off(ch, key)));
    }
}

fn track(events: &[(u64, Ev)], end: u64) -> Vec<TrackEvent<'_>> {
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut now = 0u64;
    for (t, ev) in events {
        let kind = match ev {
            Ev::Name(n) => TrackEventKind::Meta(MetaMessage::TrackName(n.as_bytes())),
            Ev::Tempo(us) => TrackEventKind::Meta(MetaMessage::Tempo(u24::new(*us))),
            Ev::FourFour => TrackEventKind::Meta(MetaMessage::TimeSignature(4, 2, 24, 8)),
            Ev::Text(s) => TrackEventKind::Meta(MetaMessage::Text(s.as_bytes())),
            Ev::Marker(s) => TrackEventKind::Meta(MetaMessage::Marker(s.as_bytes())),
            Ev::Program(ch, program) => midi(
                *ch,
                MidiMessage::ProgramChange {
                    program: u7::new(*program),
                },
            ),
            Ev::Cc(ch, controller, value) => midi(
                *ch,
                MidiMessage::Controller {
                    controller: u7::new(*controller),
                    value: u7::new(*value),
                },
            ),
            Ev::On(ch, key, vel) => midi(
                *ch,
                MidiMessage::NoteOn {
                    key: u7::new(*key),
                    vel: u7::new(*vel),
                },
            ),
            Ev::Off(ch, key) => midi(
                *ch,
                MidiMessage::NoteOff {
                    key: u7::new(*key),
                    vel: u7::new(64),
                },
            ),
        };
        out.push(TrackEvent {
            delta: delta(*t - now),
            kind,
        });
        now = *t;
    }
    out.push(TrackEvent {
        delta: delta(end.saturating_sub(now)),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

fn midi(channel: u8, message: MidiMessage) -> TrackEventKind<'static> {
    TrackEventKind::Midi {
        channel: u4::new(channel),
        message,
    }
}

/// A delta time; a day of music at 90 BPM is 62 million ticks, far below
/// the 28-bit limit of 268 million.
fn delta(ticks: u64) -> u28 {
    u28::new(ticks.min(u64::from(u28::max_value().as_int())) as u32)
}
