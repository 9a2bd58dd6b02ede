//! Booking metric instruments.

/// Explicit histogram bucket boundaries, in seconds, for booking latencies from 5 ms to
/// 30 s: fine-grained where step latencies live, coarse where only timeouts do.
pub const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 30.0,
];
