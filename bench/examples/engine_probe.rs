//! The engine's stream with parts switched off, to see where its time
//! goes: `FX=0` turns the reverb and chorus off, `MUTE=1` stops
//! composing (no voices: what is left is the effects and the mix),
//! `CHUNKS=N` renders N chunks of 100 ms (3000 unless told). Prints a
//! checksum and the average number of voices. For instruction counts:
//! `FX=1 MUTE=1 valgrind --tool=callgrind target/release/examples/engine_probe`.

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext};
use auralis_core::SampleRate;

fn main() {
    let ctx = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5).expect("context");
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(7, SampleRate::HZ_44100, ctx).expect("engine"));
    if std::env::var("FX").as_deref() == Ok("0") {
        e.set_effects(false);
    }
    if std::env::var("MUTE").as_deref() == Ok("1") {
        e.set_composing(false);
    }
    let chunks: usize = std::env::var("CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut chunk = Box::new(AudioChunk::new());
    let (mut sum, mut voices) = (0i64, 0usize);
    for _ in 0..chunks {
        e.next_chunk(&mut chunk);
        sum += chunk.pcm.iter().map(|&s| i64::from(s)).sum::<i64>();
        voices += e.active_voices();
    }
    println!(
        "checksum {sum}, voices {:.2}",
        voices as f64 / chunks.max(1) as f64
    );
}
