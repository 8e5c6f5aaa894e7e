//! The engine with the built-in bank and reverb on: one 8-bar phrase at
//! 60 BPM (32 s of audio), and the steady-state cost of one 100 ms chunk,
//! from which follows how many real-time streams one core sustains.

use std::hint::black_box;

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn engine(c: &mut Criterion) {
    eprintln!(
        "size_of Engine (64 voices): {} bytes; AudioChunk: {} bytes",
        std::mem::size_of::<Engine<'static>>(),
        std::mem::size_of::<AudioChunk>()
    );
    let ctx = MusicalContext::new(62, Mode::Dorian, 60.0, 0.5).expect("context");
    let mut group = c.benchmark_group("engine");

    // One phrase: 32 s of audio, in 100 ms chunks, after a minute of warm-up
    // so pads, melody and reverb are all going.
    let mut e: Box<Engine<'static>> = Box::new(Engine::new(7, 44_100, ctx).expect("engine"));
    let mut chunk = Box::new(AudioChunk::new());
    let mut voices = 0;
    for _ in 0..600 {
        e.next_chunk(&mut chunk);
        voices += e.active_voices();
    }
    eprintln!(
        "average voices over the first minute: {:.1}",
        voices as f64 / 600.0
    );
    group.sample_size(20);
    group.throughput(Throughput::Elements(32 * 44_100));
    group.bench_function("phrase_8_bars_60bpm", |b| {
        b.iter(|| {
            for _ in 0..320 {
                e.next_chunk(&mut chunk);
            }
            black_box(chunk.pcm[0])
        })
    });

    group.sample_size(100);
    group.throughput(Throughput::Elements(4410));
    group.bench_function("chunk_100ms", |b| {
        b.iter(|| black_box(e.next_chunk(&mut chunk)))
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
