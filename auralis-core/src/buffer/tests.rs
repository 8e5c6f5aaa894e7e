//! The ring against a model, its tiers, and two real threads (also run
//! under Miri: `cargo +nightly miri test -p auralis-core --lib buffer`).

use std::collections::VecDeque;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;

#[test]
fn writes_whole_chunks_or_nothing_and_counts_what_it_refuses() {
    let mut ring = Ring::<8>::new();
    let (mut p, mut c) = ring.split();
    assert!(c.is_empty() && !c.is_full());
    assert_eq!(c.read(&mut [0; 4]), None, "empty");
    assert!(p.write(&[1, 2, 3, 4, 5, 6]));
    assert!(!p.write(&[7, 8, 9, 10]), "only two samples free");
    assert!(!p.write(&[7]), "half a frame");
    assert_eq!(p.monitor().overflows(), 2);
    assert!(p.write(&[7, 8]));
    assert!(c.is_full());
    let mut out = [0; 3];
    assert_eq!(c.read(&mut out), Some(2), "whole frames only");
    assert_eq!(out, [1, 2, 0]);
    // Across the end of the slots.
    assert!(p.write(&[9, 10]));
    let mut out = [0; 8];
    assert_eq!(c.read(&mut out), Some(8));
    assert_eq!(out, [3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(c.monitor().underruns(), 0, "read never counts");
}

#[test]
fn fill_plays_silence_for_what_is_missing_and_counts_it() {
    let mut ring = Ring::<8>::new();
    let (mut p, mut c) = ring.split();
    assert!(p.write(&[5, 5, 5, 5]));
    let mut out = [9; 6];
    assert_eq!(c.fill(&mut out), 4);
    assert_eq!(out, [5, 5, 5, 5, 0, 0]);
    assert_eq!(c.monitor().underruns(), 1);
    assert_eq!(c.fill(&mut out), 0);
    assert_eq!(out, [0; 6]);
    assert_eq!(c.monitor().underruns(), 2);
    assert!(p.write(&[1, 1, 2, 2]));
    assert_eq!(c.fill(&mut out[..4]), 4);
    assert_eq!(c.monitor().underruns(), 2, "a full read is no underrun");
}

#[test]
fn clear_empties_from_the_consumer_side() {
    let mut ring = Ring::<8>::new();
    let (mut p, mut c) = ring.split();
    assert!(p.write(&[1, 2, 3, 4]));
    c.clear();
    assert!(c.is_empty());
    assert_eq!(p.space(), 8);
    assert!(p.write(&[5, 6]));
    let mut out = [0; 2];
    assert_eq!(c.read(&mut out), Some(2));
    assert_eq!(out, [5, 6]);
}

#[test]
#[allow(unsafe_code)]
fn a_static_ring_serves_a_producer_and_a_consumer() {
    static RING: Ring<16> = Ring::new();
    // SAFETY: this test is the only user of RING, and makes one of each.
    let (mut p, mut c) = unsafe { (RING.producer(), RING.consumer()) };
    assert!(p.write(&[1, 2, 3, 4]));
    assert_eq!(RING.monitor().depth(), 4);
    let mut out = [0; 4];
    assert_eq!(c.read(&mut out), Some(4));
    assert_eq!(RING.monitor().depth(), 0);
}

#[test]
fn the_seed_tiers_for_five_chunks_and_scaled_for_other_sizes() {
    let chunk = 10;
    let five = BufferManager::new(chunk, 5 * chunk);
    let tiers: Vec<_> = (0..=5).map(|n| five.health(n * chunk)).collect();
    assert_eq!(
        tiers,
        [
            Health::Emergency,
            Health::Low,
            Health::Low,
            Health::Healthy,
            Health::Healthy,
            Health::Full
        ]
    );
    assert_eq!(five.health(chunk - 1), Health::Emergency);
    assert_eq!(
        five.health(4 * chunk + 1),
        Health::Full,
        "no room for a chunk"
    );
    // Ten chunks: the same fifths.
    let ten = BufferManager::new(chunk, 10 * chunk);
    assert_eq!(ten.health(chunk), Health::Emergency);
    assert_eq!(ten.health(2 * chunk), Health::Low);
    assert_eq!(ten.health(6 * chunk), Health::Healthy);
    assert_eq!(ten.health(9 * chunk), Health::Healthy);
    assert_eq!(ten.health(9 * chunk + 1), Health::Full);
    let names: Vec<_> = Health::ALL.iter().map(|h| h.name()).collect();
    assert_eq!(names, ["emergency", "low", "healthy", "full"]);
}

#[test]
fn wait_for_space_waits_until_a_chunk_fits_or_time_is_up() {
    let mut ring = Ring::<8>::new();
    let (mut p, mut c) = ring.split();
    let m = BufferManager::new(4, 8);
    assert!(p.write(&[0; 8]));
    let mut waits = 0;
    assert!(!m.wait_for_space(&p, || {
        waits += 1;
        waits < 3
    }));
    assert_eq!(waits, 3, "waited until told to stop");
    assert_eq!(c.read(&mut [0; 4]), Some(4));
    assert!(m.wait_for_space(&p, || unreachable!("a chunk fits")));
    assert!(m.has_space(&p));
}

/// One step of a single-threaded run against the model.
#[derive(Clone, Debug)]
enum Op {
    Write(usize),
    Read(usize),
    Fill(usize),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0usize..40).prop_map(Op::Write),
        4 => (0usize..40).prop_map(Op::Read),
        1 => (0usize..40).prop_map(Op::Fill),
        1 => Just(Op::Clear),
    ]
}

/// Runs `ops` on a ring of `N` samples and on a `VecDeque`, checking
/// every answer and every sample.
fn against_model<const N: usize>(ops: &[Op]) {
    let mut ring = Ring::<N>::new();
    let (mut p, mut c) = ring.split();
    let mut model = VecDeque::new();
    let mut next = 0i16;
    let (mut overflows, mut underruns) = (0, 0);
    for op in ops {
        match *op {
            Op::Write(n) => {
                let chunk: Vec<i16> = (0..n)
                    .map(|_| {
                        next = next.wrapping_add(1);
                        next
                    })
                    .collect();
                let fits = n % 2 == 0 && model.len() + n <= N;
                assert_eq!(p.write(&chunk), fits, "write {n} into {}", model.len());
                if fits {
                    model.extend(chunk);
                } else {
                    overflows += 1;
                }
            }
            Op::Read(n) => {
                let mut out = vec![0; n];
                let want = model.len().min(n & !1);
                let got = c.read(&mut out);
                if want == 0 && n >= 2 {
                    assert_eq!(got, None);
                } else {
                    assert_eq!(got, Some(want));
                }
                let expected: Vec<i16> = model.drain(..want).collect();
                assert_eq!(&out[..want], &expected[..]);
            }
            Op::Fill(n) => {
                let mut out = vec![7; n];
                let want = model.len().min(n & !1);
                assert_eq!(c.fill(&mut out), want);
                let expected: Vec<i16> = model.drain(..want).collect();
                assert_eq!(&out[..want], &expected[..]);
                assert!(out[want..].iter().all(|&s| s == 0));
                if want < n {
                    underruns += 1;
                }
            }
            Op::Clear => {
                c.clear();
                model.clear();
            }
        }
        assert_eq!(c.depth(), model.len());
        assert_eq!(p.space(), N - model.len());
        assert_eq!(c.monitor().overflows(), overflows);
        assert_eq!(c.monitor().underruns(), underruns);
    }
}

proptest! {
    #[test]
    fn nothing_lost_duplicated_or_reordered_at_any_size(ops in prop::collection::vec(op(), 1..200)) {
        against_model::<2>(&ops);
        against_model::<8>(&ops);
        against_model::<10>(&ops);
        against_model::<64>(&ops);
    }
}

/// A producer and a consumer on two threads: the producer writes runs of
/// a counter in chunks of varying size as space allows, the consumer
/// reads varying sizes; every sample arrives once, in order.
#[test]
fn two_threads_pass_every_sample_once_in_order() {
    let total: usize = if cfg!(miri) { 2_000 } else { 2_000_000 };
    let mut ring = Ring::<64>::new();
    let (mut p, mut c) = ring.split();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut next = 0usize;
            let mut size = 2;
            let mut chunk = Vec::with_capacity(40);
            while next < total {
                // Whole frames: 2, 4, … 38 samples.
                size = size % 38 + 2;
                let n = size.min(total - next);
                chunk.clear();
                chunk.extend((next..next + n).map(|v| v as i16));
                if p.write(&chunk) {
                    next += n;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        s.spawn(move || {
            let mut expected = 0usize;
            let mut size = 3;
            let mut out = [0i16; 48];
            while expected < total {
                size = size % 47 + 1;
                match c.read(&mut out[..size]) {
                    Some(n) => {
                        for &v in &out[..n] {
                            assert_eq!(v, expected as i16, "sample {expected}");
                            expected += 1;
                        }
                    }
                    None => std::thread::yield_now(),
                }
            }
            assert!(c.is_empty());
        });
    });
    assert_eq!(ring.monitor().depth(), 0);
}

/// A ring sized at run time: whole frames, and halves that outlive the
/// function that made them (a thread, an audio callback).
#[cfg(feature = "std")]
#[test]
#[cfg_attr(miri, ignore = "leaks on purpose")]
fn a_leaked_ring_is_sized_in_whole_frames_and_its_halves_are_static() {
    let (mut p, mut c) = super::leak(5);
    assert_eq!(p.space(), 6);
    assert_eq!(super::leak(0).0.space(), 2);
    std::thread::spawn(move || assert!(p.write(&[1, 2, 3, 4, 5, 6])))
        .join()
        .unwrap();
    let mut out = [0; 6];
    assert_eq!(c.read(&mut out), Some(6));
    assert_eq!(out, [1, 2, 3, 4, 5, 6]);
}
