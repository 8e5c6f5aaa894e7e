//! The engine with the built-in bank and reverb on: one 8-bar phrase at
//! 60 BPM (32 s of audio), and the steady-state cost of one 100 ms chunk,
//! from which follows how many real-time streams one core sustains.

use std::hint::black_box;

use auralis_core::engine::{AudioChunk, Engine};
use auralis_core::music::{Mode, MusicalContext};
use auralis_core::SampleRate;
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
    let mut e: Box<Engine<'static>> =
        Box::new(Engine::new(7, SampleRate::HZ_44100, ctx).expect("engine"));
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

/// One 100 ms chunk through the C ABI (`auralis_engine_next_chunk`, the
/// exported function itself) against the Rust API, alternating in one
/// run: the boundary's cost (a panic guard, two checks, a copy of 17 KB,
/// the timing of the call) next to the render.
fn c_abi(c: &mut Criterion) {
    use auralis::{
        auralis_config_default, auralis_engine_free, auralis_engine_new, auralis_engine_next_chunk,
        AuralisStatus, AURALIS_CHUNK_MAX_SAMPLES,
    };
    let mut group = c.benchmark_group("chunk_100ms_boundary");
    group.sample_size(100);
    group.throughput(Throughput::Elements(4410));

    let mut config = auralis_config_default();
    config.seed = 7;
    let mut ffi = std::ptr::null_mut();
    // SAFETY: valid config and out-pointer; the engine is freed below.
    let status = unsafe { auralis_engine_new(&config, &mut ffi) };
    assert_eq!(status, AuralisStatus::Ok);
    let mut pcm = vec![0i16; AURALIS_CHUNK_MAX_SAMPLES as usize];
    let mut rust: Box<Engine<'static>> =
        Box::new(Engine::new(7, SampleRate::HZ_44100, MusicalContext::DEFAULT).expect("engine"));
    let mut chunk = Box::new(AudioChunk::new());
    // A minute of warm-up for both, so the music is in full flow.
    for _ in 0..600 {
        rust.next_chunk(&mut chunk);
        // SAFETY: a live engine and a buffer of the length given.
        unsafe {
            auralis_engine_next_chunk(ffi, pcm.as_mut_ptr(), pcm.len(), std::ptr::null_mut())
        };
    }
    group.bench_function("rust_engine_next_chunk", |b| {
        b.iter(|| black_box(rust.next_chunk(&mut chunk)))
    });
    group.bench_function("c_auralis_engine_next_chunk", |b| {
        b.iter(|| {
            // SAFETY: as above.
            black_box(unsafe {
                auralis_engine_next_chunk(ffi, pcm.as_mut_ptr(), pcm.len(), std::ptr::null_mut())
            })
        })
    });
    group.finish();
    // SAFETY: made by auralis_engine_new, freed once.
    unsafe { auralis_engine_free(ffi) };
}

/// Starting a stream: an engine made in place from the font's bytes
/// (`Engine::init`, which parses and checks the whole font) against one
/// made from a font parsed once for every stream (`Engine::init_with_font`,
/// what the server does), with the built-in bank and, where installed,
/// FluidR3 (141 MB).
fn start(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_start");
    group.sample_size(20);
    let fluid = std::fs::read("/usr/share/sounds/sf2/FluidR3_GM.sf2").ok();
    let mut fonts: Vec<(&str, &[u8])> = vec![("builtin", auralis_core::bank::DEFAULT_SF2)];
    if let Some(f) = &fluid {
        fonts.push(("fluidr3", f));
    }
    let mut e: Box<Engine<'_>> = Box::new(Engine::idle());
    let ctx = MusicalContext::DEFAULT;
    let rate = SampleRate::HZ_44100;
    for (name, bytes) in fonts {
        let parsed = auralis_core::synth::SoundFont::parse(bytes).expect("font");
        group.bench_function(format!("{name}/parse_each_stream"), |b| {
            b.iter(|| e.init(7, rate, ctx, black_box(bytes)).expect("engine"))
        });
        group.bench_function(format!("{name}/parsed_once"), |b| {
            b.iter(|| {
                e.init_with_font(7, rate, ctx, black_box(parsed))
                    .expect("engine")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine, c_abi, start);
criterion_main!(benches);
