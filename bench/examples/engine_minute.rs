//! Renders 20 s of the engine's stream (or `AURALIS_CHUNKS` chunks of
//! 100 ms), for instruction counting:
//! `valgrind --tool=callgrind target/release/examples/engine_minute`
//! gives the same total every run, unlike wall time on a shared machine.

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext};
use auralis_core::SampleRate;

fn main() {
    let ctx = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5).expect("context");
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(7, SampleRate::HZ_44100, ctx).expect("engine"));
    let mut chunk = Box::new(AudioChunk::new());
    let mut sum = 0i64;
    let chunks: u32 = std::env::var("AURALIS_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for _ in 0..chunks {
        e.next_chunk(&mut chunk);
        sum += i64::from(chunk.pcm[0]);
    }
    println!("{sum}");
}
