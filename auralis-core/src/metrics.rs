//! Metrics primitives after the seed's `IMetricsCollector`: fixed-bucket
//! latency histograms and counters, with no heap.

/// Ratio between consecutive bucket bounds: a value is reported as its
/// bucket's geometric midpoint, within √1.1 − 1 ≈ 4.9 % of the truth.
const RATIO: f64 = 1.1;
/// Smallest value with its own bucket (in the histogram's unit).
const LOWEST: f64 = 0.001;
/// Buckets: from 0.001 to about 0.001 × 1.1²⁴⁰ ≈ 8.8 × 10⁶.
pub const BUCKETS: usize = 240;

/// A latency histogram with logarithmic buckets (unit chosen by the user,
/// milliseconds in Auralis).
///
/// Methods: [`Histogram::new`], [`Histogram::record`],
/// [`Histogram::count`], [`Histogram::average`], [`Histogram::quantile`],
/// [`Histogram::merge`], [`Histogram::reset`].
///
/// # Real-time
/// Recording is O(1) (one logarithm), allocation- and lock-free.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    buckets: [u64; BUCKETS],
    count: u64,
    sum: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub const fn new() -> Self {
        Self {
            buckets: [0; BUCKETS],
            count: 0,
            sum: 0.0,
        }
    }

    /// Records one value; negative or NaN values count as zero.
    pub fn record(&mut self, value: f64) {
        let v = if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        };
        let i = if v <= LOWEST {
            0
        } else {
            ((libm::log(v / LOWEST) / libm::log(RATIO)) as usize + 1).min(BUCKETS - 1)
        };
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.count += 1;
        self.sum += v;
    }

    /// Values recorded.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean of the values recorded (0 when empty).
    pub fn average(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `q` quantile (0–1), as the geometric midpoint of its bucket:
    /// within 5 % of the true value. 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = libm::ceil(q.clamp(0.0, 1.0) * self.count as f64).max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return midpoint(i);
            }
        }
        midpoint(BUCKETS - 1)
    }

    /// Adds another histogram's values to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// The value reported for bucket `i`.
fn midpoint(i: usize) -> f64 {
    if i == 0 {
        return LOWEST / 2.0;
    }
    // Bucket i covers [LOWEST·RATIO^(i−1), LOWEST·RATIO^i).
    LOWEST * libm::pow(RATIO, i as f64 - 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_five_percent() {
        let mut h = Histogram::new();
        // 1..=10_000 microseconds, in milliseconds.
        for i in 1..=10_000u32 {
            h.record(f64::from(i) / 1000.0);
        }
        for (q, truth) in [(0.5, 5.0), (0.95, 9.5), (0.99, 9.9)] {
            let got = h.quantile(q);
            assert!((got / truth - 1.0).abs() <= 0.05, "p{q}: {got} vs {truth}");
        }
        assert!((h.average() - 5.0005).abs() < 1e-9);
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn merge_and_odd_values() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(1.0);
        b.record(100.0);
        b.record(f64::NAN);
        b.record(-5.0);
        b.record(1e12);
        a.merge(&b);
        assert_eq!(a.count(), 5);
        assert!(a.quantile(1.0) > 1e6);
        a.reset();
        assert_eq!((a.count(), a.quantile(0.5)), (0, 0.0));
    }
}
