//! The engine's sequencing, tested against a renderer that records what
//! it is told instead of making sound.

use std::vec::Vec;

use super::*;
use crate::music::Mode;
use crate::synth::{FontId, SoundFontRenderer};

/// One thing the engine asked of the renderer.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    /// An event to play at a frame of the renderer's clock, and the
    /// renderer's clock when it was handed over.
    Scheduled {
        at: u64,
        when: u64,
        event: MidiEvent,
    },
    /// An event played at once, at the renderer's clock.
    Now { when: u64, event: MidiEvent },
    /// Frames `start..end` rendered.
    Render { start: u64, end: u64 },
}

/// A renderer that keeps a log and renders silence.
struct Recorder {
    rate: SampleRate,
    frame: u64,
    calls: Vec<Call>,
    reverb: (f32, f32, f32),
    chorus: f32,
    gain: f32,
    /// Its queue holds this many scheduled events at most (then refuses).
    capacity: usize,
}

impl Recorder {
    fn new(rate: SampleRate) -> Self {
        Self {
            rate,
            frame: 0,
            calls: Vec::new(),
            reverb: (0.0, 0.0, 0.0),
            chorus: 0.0,
            gain: 0.0,
            capacity: usize::MAX,
        }
    }

    fn now(&mut self, event: MidiEvent) -> Result<(), SynthError> {
        self.calls.push(Call::Now {
            when: self.frame,
            event,
        });
        Ok(())
    }
}

impl SoundFontRenderer<'static> for Recorder {
    fn load_soundfont(&mut self, _bytes: &'static [u8]) -> Result<FontId, SynthError> {
        Ok(FontId(0))
    }
    fn select_preset(&mut self, _: u8, _: FontId, _: u16, _: u8) -> Result<(), SynthError> {
        Ok(())
    }
    fn note_on(&mut self, channel: u8, key: u8, velocity: u8) -> Result<(), SynthError> {
        self.now(MidiEvent::NoteOn {
            channel,
            key,
            velocity,
        })
    }
    fn note_off(&mut self, channel: u8, key: u8) -> Result<(), SynthError> {
        self.now(MidiEvent::NoteOff { channel, key })
    }
    fn control_change(&mut self, channel: u8, controller: u8, value: u8) -> Result<(), SynthError> {
        self.now(MidiEvent::ControlChange {
            channel,
            controller,
            value,
        })
    }
    fn program_change(&mut self, channel: u8, program: u8) -> Result<(), SynthError> {
        self.now(MidiEvent::ProgramChange { channel, program })
    }
    fn pitch_bend(&mut self, channel: u8, value: u16) -> Result<(), SynthError> {
        self.now(MidiEvent::PitchBend { channel, value })
    }
    fn all_notes_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.control_change(channel, cc::ALL_NOTES_OFF, 0)
    }
    fn all_sound_off(&mut self, channel: u8) -> Result<(), SynthError> {
        self.control_change(channel, cc::ALL_SOUND_OFF, 0)
    }
    fn reset(&mut self) {}
    fn render(&mut self, left: &mut [f32], right: &mut [f32]) {
        let n = left.len().min(right.len()) as u64;
        left.fill(0.0);
        right.fill(0.0);
        self.calls.push(Call::Render {
            start: self.frame,
            end: self.frame + n,
        });
        self.frame += n;
    }
    fn configure_reverb(&mut self, room_size: f32, damping: f32, wet_level: f32) {
        self.reverb = (room_size, damping, wet_level);
    }
}

impl StreamRenderer<'static> for Recorder {
    fn sample_rate(&self) -> SampleRate {
        self.rate
    }
    fn frame(&self) -> u64 {
        self.frame
    }
    fn schedule(&mut self, frame: u64, event: MidiEvent) -> Result<(), SynthError> {
        let queued = self
            .calls
            .iter()
            .filter(|c| matches!(c, Call::Scheduled { at, .. } if *at >= self.frame))
            .count();
        if queued >= self.capacity {
            return Err(SynthError::QueueFull);
        }
        self.calls.push(Call::Scheduled {
            at: frame,
            when: self.frame,
            event,
        });
        Ok(())
    }
    fn set_gain(&mut self, gain: f32) {
        self.gain = gain;
    }
    fn set_chorus(&mut self, level: f32) {
        self.chorus = level;
    }
}

const RATE: u32 = 44_100;
const HZ: SampleRate = SampleRate::HZ_44100;

fn engine(seed: u64, context: MusicalContext) -> Engine<'static, Recorder> {
    Engine::with_renderer(Recorder::new(HZ), seed, context).unwrap()
}

/// Renders `chunks` chunks; returns the chunks that carried new
/// parameters, by number.
fn run(e: &mut Engine<'static, Recorder>, chunks: usize) -> Vec<(u64, MusicalContext)> {
    let mut pcm = [0i16; MAX_CHUNK_SAMPLES];
    let mut changed = Vec::new();
    for _ in 0..chunks {
        let info = e.next_chunk_into(&mut pcm).unwrap();
        if let Some(ctx) = info.params {
            changed.push((info.seq, ctx));
        }
    }
    changed
}

/// The scheduled events, as (frame, event).
fn scheduled(e: &Engine<'static, Recorder>) -> Vec<(u64, MidiEvent)> {
    e.synth()
        .calls
        .iter()
        .filter_map(|c| match *c {
            Call::Scheduled { at, event, .. } => Some((at, event)),
            _ => None,
        })
        .collect()
}

fn is_cut(event: &MidiEvent, channel: u8) -> bool {
    *event
        == MidiEvent::ControlChange {
            channel,
            controller: cc::ALL_NOTES_OFF,
            value: 0,
        }
}

#[test]
fn setting_up_chooses_the_programs_and_the_mix() {
    let e = engine(1, MusicalContext::DEFAULT);
    let r = e.synth();
    let now: Vec<MidiEvent> = r
        .calls
        .iter()
        .filter_map(|c| match *c {
            Call::Now { when: 0, event } => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(
        now.len(),
        r.calls.len(),
        "only set-up calls before a render"
    );
    for (channel, program) in [
        (KEYS_CHANNEL, PROGRAM_KEYS),
        (PAD_CHANNEL, PROGRAM_WARM_PAD),
        (DRONE_CHANNEL, PROGRAM_WARM_PAD),
    ] {
        assert!(now.contains(&MidiEvent::ProgramChange { channel, program }));
    }
    for (channel, controller, value) in MIX {
        assert!(now.contains(&MidiEvent::ControlChange {
            channel,
            controller,
            value
        }));
    }
    assert_eq!(r.gain, GAIN);
    assert!(r.chorus > 0.0 && r.reverb.2 > 0.0, "effects on by default");
}

#[test]
fn chunks_are_numbered_and_render_the_timeline_without_gaps() {
    let mut e = engine(2, MusicalContext::DEFAULT);
    let mut pcm = [0i16; MAX_CHUNK_SAMPLES];
    for n in 0..25u64 {
        let info = e.next_chunk_into(&mut pcm).unwrap();
        assert_eq!(info.seq, n);
        assert_eq!(e.frame(), (n + 1) * 4410);
    }
    let mut at = 0;
    for c in &e.synth().calls {
        if let Call::Render { start, end } = *c {
            assert_eq!(start, at, "renders follow each other");
            assert!(end > start);
            at = end;
        }
    }
    assert_eq!(at, 25 * 4410);
    // A buffer too short for a chunk renders nothing and numbers nothing.
    assert!(e.next_chunk_into(&mut pcm[..100]).is_none());
    assert_eq!(e.next_chunk_into(&mut pcm).unwrap().seq, 25);
}

#[test]
fn the_renderer_gets_each_event_just_before_the_render_that_plays_it() {
    // Two phrases and a bit (8 bars at 60 BPM are 32 s).
    let mut e = engine(3, MusicalContext::DEFAULT);
    run(&mut e, 700);
    let calls = &e.synth().calls;
    let mut last = 0;
    let (mut keys, mut pad) = (0, 0);
    for (i, c) in calls.iter().enumerate() {
        let Call::Scheduled { at, when, event } = *c else {
            continue;
        };
        // In time order, and never for a frame already played…
        assert!(at >= last, "events in time order");
        assert!(at >= when, "{event:?} at {at} handed over at {when}: late");
        last = at;
        // …and for the render that follows: the renderer never holds a
        // phrase's future, so a cut needs no cancelling in it.
        let next = calls[i..].iter().find_map(|c| match *c {
            Call::Render { start, end } => Some((start, end)),
            _ => None,
        });
        let (start, end) = next.expect("a render follows");
        assert!(
            start <= at && at < end,
            "{event:?} for frame {at} handed over before rendering {start}..{end}"
        );
        if let MidiEvent::NoteOn { channel, .. } = event {
            keys += usize::from(channel == KEYS_CHANNEL);
            pad += usize::from(channel == PAD_CHANNEL);
        }
    }
    assert!(
        keys > 10 && pad > 4,
        "melody ({keys}) and pad ({pad}) notes"
    );
    // Phrases follow each other with no gap: the third began at 64 s.
    assert_eq!(e.phrase().start, 2 * 32 * u64::from(RATE));
}

#[test]
fn new_parameters_cut_the_phrase_at_the_next_beat() {
    let mut e = engine(4, MusicalContext::DEFAULT);
    // 4.5 s in; at 60 BPM the beats fall on whole seconds.
    assert!(run(&mut e, 45).is_empty(), "nothing changes by itself");
    let asked = MusicalContext::new(67, Mode::Dorian, 72.0, 0.8).unwrap();
    e.set_context(asked);
    assert_eq!(e.context(), asked, "the context waiting is reported");
    let before = scheduled(&e).len();
    let changed = run(&mut e, 20);
    let beat = 5 * u64::from(RATE);
    // Exactly one chunk says so: the one holding the beat.
    assert_eq!(changed, [(beat / 4410, asked)]);
    assert_eq!(e.phrase().start, beat);
    assert_eq!(e.phrase().context, asked);
    let after = &scheduled(&e)[before..];
    // Both composed channels are released on the beat, before anything
    // of the new phrase starts…
    let cut = |ch| {
        after
            .iter()
            .position(|(t, ev)| *t == beat && is_cut(ev, ch))
    };
    let (Some(k), Some(p)) = (cut(KEYS_CHANNEL), cut(PAD_CHANNEL)) else {
        panic!("no release on the beat: {after:?}");
    };
    // …nothing of the old phrase comes after the beat…
    for (t, ev) in &after[..k.min(p)] {
        assert!(*t < beat, "{ev:?} at {t} survived the cut");
    }
    // …and the new phrase's first notes start on it, in the new key.
    let first_on = after[k.max(p)..]
        .iter()
        .find(|(_, ev)| matches!(ev, MidiEvent::NoteOn { .. }))
        .expect("the new phrase plays");
    assert!(first_on.0 >= beat);
    let pitch_classes = e.phrase().chords.pad().iter().map(|n| n.pitch % 12);
    let dorian_g = [7, 9, 10, 0, 2, 4, 5];
    for pc in pitch_classes {
        assert!(
            dorian_g.contains(&pc),
            "pad pitch class {pc} not in G dorian"
        );
    }
}

#[test]
fn changes_before_the_beat_replace_each_other() {
    let mut e = engine(5, MusicalContext::DEFAULT);
    run(&mut e, 12);
    let first = MusicalContext::new(62, Mode::Lydian, 60.0, 0.5).unwrap();
    let second = MusicalContext::new(65, Mode::Ionian, 60.0, 0.3).unwrap();
    e.set_context(first);
    e.set_context(second);
    let changed = run(&mut e, 20);
    assert_eq!(changed, [(2 * u64::from(RATE) / 4410, second)]);
}

#[test]
fn composing_off_releases_at_once_and_schedules_nothing_until_on() {
    let mut e = engine(6, MusicalContext::DEFAULT);
    run(&mut e, 30);
    let frame = e.frame();
    e.set_composing(false);
    let calls = e.synth().calls.len();
    for ch in [KEYS_CHANNEL, PAD_CHANNEL] {
        assert!(e.synth().calls[calls - 2..].contains(&Call::Now {
            when: frame,
            event: MidiEvent::ControlChange {
                channel: ch,
                controller: cc::ALL_NOTES_OFF,
                value: 0
            }
        }));
    }
    run(&mut e, 30);
    assert!(e.synth().calls[calls..]
        .iter()
        .all(|c| matches!(c, Call::Render { .. })));
    // The host's own notes still go straight through.
    let note = MidiEvent::NoteOn {
        channel: KEYS_CHANNEL,
        key: 64,
        velocity: 90,
    };
    e.play(note).unwrap();
    assert_eq!(
        e.synth().calls.last(),
        Some(&Call::Now {
            when: e.frame(),
            event: note
        })
    );
    // On again: a new phrase from the next frame rendered.
    let resumed = e.frame();
    e.set_composing(true);
    run(&mut e, 1);
    assert_eq!(e.phrase().start, resumed);
}

#[test]
fn the_drone_follows_the_key_from_phrase_to_phrase() {
    let mut e = engine(7, MusicalContext::DEFAULT);
    e.set_drone(true);
    run(&mut e, 10);
    assert_eq!(e.drone_note(), Some(60 - 24));
    let d = MusicalContext::DEFAULT.with_key(62).unwrap();
    e.set_context(d);
    run(&mut e, 20);
    let s = scheduled(&e);
    let ch = DRONE_CHANNEL;
    let on = |key| {
        s.iter().position(|(_, ev)| {
            *ev == MidiEvent::NoteOn {
                channel: ch,
                key,
                velocity: DRONE_VELOCITY,
            }
        })
    };
    let off = s.iter().position(|(_, ev)| {
        *ev == MidiEvent::NoteOff {
            channel: ch,
            key: 36,
        }
    });
    let (Some(c), Some(d_on), Some(c_off)) = (on(36), on(38), off) else {
        panic!("drone events missing: {s:?}");
    };
    assert!(
        c < c_off && c_off < d_on,
        "old drone off before the new one"
    );
    assert_eq!(s[d_on].0, e.phrase().start);
    e.set_drone(false);
    assert_eq!(
        e.synth().calls.last(),
        Some(&Call::Now {
            when: e.frame(),
            event: MidiEvent::NoteOff {
                channel: ch,
                key: 38
            }
        })
    );
    assert_eq!(e.drone_note(), None);
}

#[test]
fn effects_off_and_on_reach_the_renderer() {
    let mut e = engine(8, MusicalContext::DEFAULT);
    e.set_effects(false);
    assert_eq!((e.synth().reverb.2, e.synth().chorus), (0.0, 0.0));
    e.set_effects(true);
    assert!(e.synth().reverb.2 > 0.0 && e.synth().chorus > 0.0);
}

#[test]
fn a_renderer_at_a_rate_chunks_cannot_use_is_refused() {
    let r = Recorder::new(SampleRate::new(44_105).unwrap());
    assert!(matches!(
        Engine::with_renderer(r, 1, MusicalContext::DEFAULT),
        Err(EngineError::ChunkRate(44_105))
    ));
}

#[test]
fn the_seed_interface_schedules_on_the_renderers_clock() {
    let mut rec = Recorder::new(HZ);
    rec.frame = 5_000; // a renderer that has played before
    let mut e = PhraseEngine::with_renderer(rec, 9, MusicalContext::DEFAULT).unwrap();
    // Set up like a streaming engine: the same programs and mix.
    assert_eq!(e.synth().reverb, REVERB);
    assert_eq!(e.synth().chorus, CHORUS);
    let phrase = e.generate_phrase(MusicalContext::DEFAULT, PhraseBars::Eight);
    let (mut l, mut r) = (std::vec![0f32; 1000], std::vec![0f32; 1000]);
    assert_eq!(e.render_phrase(&phrase, &mut l, &mut r), 1000);
    let s: Vec<(u64, MidiEvent)> = e
        .synth()
        .calls
        .iter()
        .filter_map(|c| match *c {
            Call::Scheduled { at, event, .. } => Some((at, event)),
            _ => None,
        })
        .collect();
    assert!(!s.is_empty());
    // The phrase starts at the renderer's clock, whatever its own says.
    assert!(s.iter().all(|(t, _)| *t >= 5_000));
    assert_eq!(s.iter().map(|(t, _)| *t).min(), Some(5_000));
    assert_eq!(e.synth().frame, 6_000);
    assert_eq!(e.events_dropped(), 0);
}

#[test]
fn events_a_renderer_refuses_are_counted_not_lost_silently() {
    let mut e = engine(5, MusicalContext::DEFAULT);
    run(&mut e, 100);
    assert_eq!(e.events_dropped(), 0, "an ample queue takes everything");
    let mut small = Recorder::new(HZ);
    small.capacity = 2;
    let mut e = Engine::with_renderer(small, 5, MusicalContext::DEFAULT).unwrap();
    // One long render call: a whole phrase's events at once.
    let (mut l, mut r) = (vec![0.0; 44_100 * 30], vec![0.0; 44_100 * 30]);
    e.render(&mut l, &mut r);
    assert!(e.events_dropped() > 0, "refused events are counted");
    let kept = scheduled(&e).len() as u64;
    assert!(kept > 0);
}
