//! The seed's `IBufferManager`: how healthy a ring is, in the seed's
//! tiers, and back-pressure for its producer.

use super::ring::Producer;

/// How full a ring is, in the seed's tiers (for a ring of five chunks:
/// emergency under one chunk, low one to two, healthy three to four,
/// full when no further chunk fits). A ring of another size keeps the
/// same proportions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Under a fifth of the ring: an underrun is near.
    Emergency,
    /// A fifth to three fifths.
    Low,
    /// Three fifths and more, with room for another chunk.
    Healthy,
    /// No room for another chunk: the producer waits.
    Full,
}

impl Health {
    /// Every tier, emptiest first.
    pub const ALL: [Health; 4] = [
        Health::Emergency,
        Health::Low,
        Health::Healthy,
        Health::Full,
    ];

    /// Its name in status messages and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Health::Emergency => "emergency",
            Health::Low => "low",
            Health::Healthy => "healthy",
            Health::Full => "full",
        }
    }
}

/// The policy over one ring: chunks of `chunk` samples into a ring of
/// `capacity` samples.
///
/// Methods: [`BufferManager::new`], [`BufferManager::health`] (of a
/// depth, from [`super::Monitor::depth`] or either half),
/// [`BufferManager::has_space`], [`BufferManager::wait_for_space`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferManager {
    chunk: usize,
    capacity: usize,
}

impl BufferManager {
    /// A manager for chunks of `chunk` samples (8,820 for 100 ms of
    /// stereo at 44.1 kHz) in a ring of `capacity` samples.
    pub const fn new(chunk: usize, capacity: usize) -> Self {
        Self { chunk, capacity }
    }

    /// Samples in one chunk.
    pub const fn chunk(&self) -> usize {
        self.chunk
    }

    /// The tier of a ring holding `depth` samples.
    pub const fn health(&self, depth: usize) -> Health {
        if self.capacity.saturating_sub(depth) < self.chunk {
            return Health::Full;
        }
        // The seed's tiers are in fifths of a five-chunk ring.
        let fifths = depth.saturating_mul(5);
        if fifths < self.capacity {
            Health::Emergency
        } else if fifths < 3 * self.capacity {
            Health::Low
        } else {
            Health::Healthy
        }
    }

    /// Whether another chunk fits.
    pub fn has_space(&self, producer: &Producer<'_>) -> bool {
        producer.space() >= self.chunk
    }

    /// Back-pressure: returns `true` as soon as another chunk fits,
    /// calling `wait` while it does not; `wait` returns `false` when the
    /// caller's time is up (then so does this). On a device `wait` sleeps
    /// until the next interrupt (`wfi`); with an operating system it
    /// sleeps a little and checks a deadline.
    pub fn wait_for_space(&self, producer: &Producer<'_>, mut wait: impl FnMut() -> bool) -> bool {
        while !self.has_space(producer) {
            if !wait() {
                return false;
            }
        }
        true
    }
}
