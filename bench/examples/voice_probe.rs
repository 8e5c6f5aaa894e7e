//! The per-voice benchmark's workload without criterion, for instruction
//! counts: `N` voices (16 unless told) of TimGM6mb's organ (program 19),
//! effects off, cubic, `BLOCKS` renders of 4,410 frames (100 unless
//! told). `valgrind --tool=callgrind target/release/examples/voice_probe`.

use auralis_bench::{held_organ, read, BLOCK, TIMGM6MB};
use auralis_core::synth::{Interpolation, SoundFontRenderer};

fn main() {
    let var = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, blocks) = (var("N", 16), var("BLOCKS", 100));
    let font = read(TIMGM6MB);
    let (mut s, _) = held_organ(&font, n, Interpolation::Cubic);
    let (mut l, mut r) = (vec![0f32; BLOCK], vec![0f32; BLOCK]);
    let mut sum = 0f64;
    for _ in 0..blocks {
        s.render(&mut l, &mut r);
        sum += l.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    println!("voices {}, sum {sum}", s.active_voices());
}
