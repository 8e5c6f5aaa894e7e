//! The SPSC ring across two real threads, and a leak check.

use std::sync::atomic::{AtomicUsize, Ordering};

use auralis_core::buffer::RingBuffer;

#[test]
fn a_million_items_cross_threads_in_order_without_loss_or_duplicates() {
    const ITEMS: u64 = 1_000_000;
    let mut ring: RingBuffer<u64, 21> = RingBuffer::new();
    let (mut w, mut r) = ring.split();
    let (sum, count, full_hits) = std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut full = 0u64;
            for i in 0..ITEMS {
                let mut item = i;
                // A full ring hands the item back; try again.
                while let Err(back) = w.write(item) {
                    item = back;
                    full += 1;
                    std::hint::spin_loop();
                }
            }
            full
        });
        let consumer = s.spawn(move || {
            let (mut expect, mut sum) = (0u64, 0u64);
            while expect < ITEMS {
                if let Some(v) = r.read() {
                    assert_eq!(v, expect, "out of order, lost or duplicated");
                    sum += v;
                    expect += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
            assert!(r.read().is_none(), "an extra item appeared");
            (sum, expect)
        });
        let full = producer.join().unwrap();
        let (sum, count) = consumer.join().unwrap();
        (sum, count, full)
    });
    assert_eq!(count, ITEMS);
    assert_eq!(sum, ITEMS * (ITEMS - 1) / 2);
    println!("producer found the ring full {full_hits} times");
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counted(u32);

impl Counted {
    fn new(v: u32) -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        Counted(v)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn nothing_leaks_or_drops_twice() {
    {
        let mut ring: RingBuffer<Counted, 8> = RingBuffer::new();
        {
            let (mut w, mut r) = ring.split();
            for i in 0..7 {
                assert!(w.write(Counted::new(i)).is_ok());
            }
            // A refused item comes back to the caller, who drops it.
            let back = w.write(Counted::new(99)).err().unwrap();
            assert_eq!(back.0, 99);
            drop(back);
            assert_eq!(LIVE.load(Ordering::SeqCst), 7);
            assert_eq!(r.read().map(|c| c.0), Some(0));
            r.clear();
            assert_eq!(LIVE.load(Ordering::SeqCst), 0);
            for i in 0..5 {
                assert!(w.write(Counted::new(i)).is_ok());
            }
        }
        // Five items still inside when the ring itself is dropped.
        assert_eq!(LIVE.load(Ordering::SeqCst), 5);
    }
    assert_eq!(LIVE.load(Ordering::SeqCst), 0);
}
