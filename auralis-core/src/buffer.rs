//! Fixed-size audio buffering after the seed's `IRingBuffer` and
//! `IBufferManager`: a lock-free single-producer/single-consumer ring of
//! chunks, and the health and back-pressure policy around it.

use heapless::spsc::{Consumer, Producer, Queue};

/// A bounded, lock-free single-producer/single-consumer ring
/// (`heapless::spsc`). It holds `N - 1` items: `RingBuffer<T, 21>` holds
/// 20.
///
/// Methods: [`RingBuffer::new`], [`RingBuffer::split`],
/// [`RingBuffer::capacity`]; the halves have `write`/`read`, `depth`,
/// `is_full`, `is_empty`, and the reader `clear`.
///
/// # Real-time
/// Writing and reading are O(1), never allocate, never lock, never block:
/// a full ring hands the item back, an empty one returns `None`.
pub struct RingBuffer<T, const N: usize> {
    queue: Queue<T, N>,
}

impl<T, const N: usize> Default for RingBuffer<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> RingBuffer<T, N> {
    const SIZE_OK: () = assert!(N >= 2, "a ring needs at least two slots (one item)");

    /// An empty ring.
    pub const fn new() -> Self {
        let () = Self::SIZE_OK;
        Self {
            queue: Queue::new(),
        }
    }

    /// Items the ring holds when full: `N - 1`.
    pub const fn capacity(&self) -> usize {
        N - 1
    }

    /// The writing and reading halves; each may move to its own thread.
    pub fn split(&mut self) -> (RingWriter<'_, T>, RingReader<'_, T>) {
        let (p, c) = self.queue.split();
        (RingWriter { p }, RingReader { c })
    }
}

/// The producer half of a [`RingBuffer`].
pub struct RingWriter<'a, T> {
    p: Producer<'a, T>,
}

impl<T> RingWriter<'_, T> {
    /// Adds `item`, or hands it back when the ring is full.
    pub fn write(&mut self, item: T) -> Result<(), T> {
        self.p.enqueue(item)
    }

    /// Items waiting to be read.
    pub fn depth(&self) -> usize {
        self.p.len()
    }

    /// Whether a write would fail now.
    pub fn is_full(&self) -> bool {
        !self.p.ready()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.p.len() == 0
    }
}

/// The consumer half of a [`RingBuffer`].
pub struct RingReader<'a, T> {
    c: Consumer<'a, T>,
}

impl<T> RingReader<'_, T> {
    /// Takes the oldest item, if any.
    pub fn read(&mut self) -> Option<T> {
        self.c.dequeue()
    }

    /// Items waiting to be read.
    pub fn depth(&self) -> usize {
        self.c.len()
    }

    /// Whether a write would fail now (as far as the reader can tell).
    pub fn is_full(&self) -> bool {
        self.c.len() == self.c.capacity()
    }

    /// Whether a read would return `None` now.
    pub fn is_empty(&self) -> bool {
        !self.c.ready()
    }

    /// Drops every waiting item (bounded by the capacity).
    pub fn clear(&mut self) {
        for _ in 0..self.c.capacity() {
            if self.c.dequeue().is_none() {
                break;
            }
        }
    }
}

/// How full a stream's buffer is, after the seed's tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Nothing buffered: the listener is about to hear a gap.
    Emergency,
    /// One or two chunks.
    Low,
    /// Three or four chunks: where a stream should sit.
    Healthy,
    /// Five or more.
    Full,
}

impl Health {
    /// The tier of `depth` buffered chunks.
    pub const fn of(depth: usize) -> Self {
        match depth {
            0 => Health::Emergency,
            1 | 2 => Health::Low,
            3 | 4 => Health::Healthy,
            _ => Health::Full,
        }
    }

    /// The lower-case name used in status messages and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Health::Emergency => "emergency",
            Health::Low => "low",
            Health::Healthy => "healthy",
            Health::Full => "full",
        }
    }
}

/// Buffer policy for one stream: when to produce more, and counts of the
/// two ways a stream goes wrong.
///
/// Methods: [`BufferManager::new`], [`BufferManager::should_produce`],
/// [`BufferManager::health`], [`BufferManager::record_underrun`],
/// [`BufferManager::record_overflow`], [`BufferManager::underruns`],
/// [`BufferManager::overflows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferManager {
    target: usize,
    underruns: u64,
    overflows: u64,
}

impl BufferManager {
    /// A manager that keeps `target` chunks buffered (4 keeps a stream
    /// healthy; clamped to at least 1).
    pub const fn new(target: usize) -> Self {
        Self {
            target: if target == 0 { 1 } else { target },
            underruns: 0,
            overflows: 0,
        }
    }

    /// Back-pressure: whether the producer should render another chunk
    /// with `depth` already waiting.
    pub const fn should_produce(&self, depth: usize) -> bool {
        depth < self.target
    }

    /// The health tier of `depth`.
    pub const fn health(&self, depth: usize) -> Health {
        Health::of(depth)
    }

    /// A chunk was due but none was ready.
    pub fn record_underrun(&mut self) {
        self.underruns += 1;
    }

    /// A chunk was produced with nowhere to go.
    pub fn record_overflow(&mut self) {
        self.overflows += 1;
    }

    /// Underruns so far.
    pub const fn underruns(&self) -> u64 {
        self.underruns
    }

    /// Overflows so far.
    pub const fn overflows(&self) -> u64 {
        self.overflows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_holds_n_minus_one_and_hands_back_when_full() {
        let mut ring: RingBuffer<u32, 4> = RingBuffer::new();
        assert_eq!(ring.capacity(), 3);
        let (mut w, mut r) = ring.split();
        assert!(w.is_empty() && r.is_empty());
        for i in 0..3 {
            w.write(i).unwrap();
        }
        assert!(w.is_full() && r.is_full());
        assert_eq!(w.write(9), Err(9));
        assert_eq!(r.depth(), 3);
        assert_eq!(r.read(), Some(0));
        r.clear();
        assert!(r.is_empty());
        assert_eq!(r.read(), None);
    }

    #[test]
    fn health_tiers_and_back_pressure() {
        let tiers = [0, 1, 2, 3, 4, 5, 20].map(Health::of);
        use Health::*;
        assert_eq!(tiers, [Emergency, Low, Low, Healthy, Healthy, Full, Full]);
        let mut m = BufferManager::new(4);
        assert!(m.should_produce(3));
        assert!(!m.should_produce(4));
        m.record_underrun();
        m.record_overflow();
        m.record_overflow();
        assert_eq!((m.underruns(), m.overflows()), (1, 2));
        assert_eq!(m.health(0).name(), "emergency");
    }
}
