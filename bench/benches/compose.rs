//! Composing one phrase: the composer's steady-state cost per 8-bar and
//! 16-bar phrase (chords, pad voice leading, melody with its variety
//! check). Throughput is in samples of music composed at 44.1 kHz.

use auralis_core::music::{Composer, Mode, MusicalContext, Phrase, PhraseBars};
use auralis_core::SampleRate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn compose(c: &mut Criterion) {
    let mut group = c.benchmark_group("compose_phrase");
    for (bars, intensity) in [
        (PhraseBars::Eight, 0.5),
        (PhraseBars::Sixteen, 0.5),
        (PhraseBars::Eight, 1.0),
    ] {
        let ctx = MusicalContext::new(62, Mode::Dorian, 60.0, intensity).expect("valid context");
        let mut composer = Composer::new(7, SampleRate::HZ_44100, ctx);
        // Warm the variety memory with an hour of music, as in a long stream.
        let mut phrase = Phrase::empty();
        while composer.position() < 3600 * 44_100 {
            composer.compose_into(bars, &mut phrase);
        }
        let samples = phrase.end - phrase.start;
        group.throughput(Throughput::Elements(samples));
        let id = BenchmarkId::new(
            format!("{}_bars", bars.get()),
            format!("intensity_{intensity}"),
        );
        group.bench_function(id, |b| {
            b.iter(|| {
                composer.compose_into(black_box(bars), &mut phrase);
                black_box(phrase.melody.notes().len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compose);
criterion_main!(benches);
