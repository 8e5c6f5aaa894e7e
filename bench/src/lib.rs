//! Criterion benchmarks for Auralis; see `benches/`.
