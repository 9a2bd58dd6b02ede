//! The `--bookings N` summary: outcomes by status and per-step latency percentiles, read
//! back from the library's own metrics (`booking.attempts`, `booking.duration`,
//! `booking.step.duration`), as a dashboard would compute them.
//!
//! # How the percentiles are estimated
//!
//! A histogram keeps counts per bucket, not the measurements: booking-otel's buckets
//! end at 5, 10, 25, 50, 75, 100, 250, 500 and 750 ms, then 1, 2.5, 5 s and up. To
//! estimate p95, find the bucket that holds the 95th percent of the measurements and
//! interpolate linearly between its bounds (the smallest and the largest measurement
//! close the outer buckets). The estimate is as precise as its bucket is narrow: a p95
//! shown as 380 ms lies somewhere between 250 and 500 ms. It is what a backend's
//! `histogram_quantile` gets from the same exported data.

use std::fmt::Write as _;

use booking_otel::conventions::{ALL, ConventionKind, attribute, metric, span};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics,
};

/// One latency histogram: explicit bucket bounds (seconds) and the count in each bucket.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Upper bounds of the buckets, in seconds; a last, unbounded bucket follows.
    pub bounds: Vec<f64>,
    /// Measurements per bucket: `bounds.len() + 1` of them.
    pub bucket_counts: Vec<u64>,
    /// Measurements in all.
    pub count: u64,
    /// The smallest measurement, when the exporter kept it.
    pub min: Option<f64>,
    /// The largest measurement, when the exporter kept it.
    pub max: Option<f64>,
}

impl Histogram {
    fn from_point(point: &HistogramDataPoint<f64>) -> Self {
        Histogram {
            bounds: point.bounds().collect(),
            bucket_counts: point.bucket_counts().collect(),
            count: point.count(),
            min: point.min(),
            max: point.max(),
        }
    }

    /// Adds `other`'s measurements (same buckets: booking-otel's histograms share them).
    pub fn merge(&mut self, other: &Histogram) {
        if self.bucket_counts.is_empty() {
            *self = other.clone();
            return;
        }
        for (total, n) in self.bucket_counts.iter_mut().zip(&other.bucket_counts) {
            *total += n;
        }
        self.count += other.count;
        self.min = combine(self.min, other.min, f64::min);
        self.max = combine(self.max, other.max, f64::max);
    }

    /// The estimated `q`-quantile (`0.95` for p95), in seconds; `None` when empty. See
    /// the [module docs](self) for how.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.bucket_counts.iter().enumerate() {
            if n == 0 || ((below + n) as f64) < rank {
                below += n;
                continue;
            }
            let mut lower = if i == 0 { 0.0 } else { self.bounds[i - 1] };
            let mut upper = self.bounds.get(i).copied().or(self.max).unwrap_or(lower);
            // What the exporter saw narrows the outer buckets.
            if let Some(min) = self.min {
                lower = lower.max(min);
            }
            if let Some(max) = self.max {
                upper = upper.min(max);
            }
            let fraction = (rank - below as f64) / n as f64;
            return Some(lower + (upper - lower).max(0.0) * fraction);
        }
        self.max
    }
}

fn combine(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

/// What the summary prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Bookings by `booking.status` (`booking.attempts`), in the order success,
    /// rejected, failed, timeout.
    pub statuses: Vec<(String, u64)>,
    /// Whole-booking latency (`booking.duration`).
    pub bookings: Histogram,
    /// Latency per step (`booking.step.duration` by `booking.step`), in the flow's order.
    pub steps: Vec<(String, Histogram)>,
}

impl Summary {
    /// Reads the summary from one collection of the meter provider's metrics.
    pub fn from_metrics(metrics: &ResourceMetrics) -> Self {
        let mut summary = Summary::default();
        for m in metrics.scope_metrics().flat_map(|scope| scope.metrics()) {
            match (m.name(), m.data()) {
                (metric::BOOKING_ATTEMPTS, AggregatedMetrics::U64(MetricData::Sum(sum))) => {
                    for point in sum.data_points() {
                        let status = value_of(point.attributes(), attribute::BOOKING_STATUS);
                        summary.add_status(&status, point.value());
                    }
                }
                (metric::BOOKING_DURATION, AggregatedMetrics::F64(MetricData::Histogram(h))) => {
                    for point in h.data_points() {
                        summary.bookings.merge(&Histogram::from_point(point));
                    }
                }
                (
                    metric::BOOKING_STEP_DURATION,
                    AggregatedMetrics::F64(MetricData::Histogram(h)),
                ) => {
                    for point in h.data_points() {
                        let step = value_of(point.attributes(), attribute::BOOKING_STEP);
                        summary.add_step(&step, &Histogram::from_point(point));
                    }
                }
                _ => {}
            }
        }
        summary
    }

    /// Adds `count` bookings that ended with `status`.
    pub fn add_status(&mut self, status: &str, count: u64) {
        match self.statuses.iter_mut().find(|(s, _)| s == status) {
            Some((_, total)) => *total += count,
            None => self.statuses.push((status.to_owned(), count)),
        }
        let rank = |s: &str| {
            ["success", "rejected", "failed", "timeout"]
                .iter()
                .position(|known| *known == s)
                .unwrap_or(usize::MAX)
        };
        self.statuses.sort_by_key(|(s, _)| rank(s));
    }

    /// Adds measurements of `step` (several points: one per outcome and error type).
    pub fn add_step(&mut self, step: &str, histogram: &Histogram) {
        match self.steps.iter_mut().find(|(s, _)| s == step) {
            Some((_, total)) => total.merge(histogram),
            None => self.steps.push((step.to_owned(), histogram.clone())),
        }
        // The flow's order: the order of the span conventions, which follow the guide.
        let rank = |s: &str| {
            ALL.iter()
                .filter(|c| c.kind == ConventionKind::Span)
                .position(|c| c.name == s)
                .unwrap_or(usize::MAX)
        };
        self.steps.sort_by_key(|(s, _)| rank(s));
    }

    /// Bookings counted.
    pub fn total(&self) -> u64 {
        self.statuses.iter().map(|(_, n)| n).sum()
    }

    /// The summary as text: an outcome table with bars, then a latency table with a
    /// p50/p95/p99 bar per step.
    pub fn render(&self) -> String {
        const WIDTH: usize = 32;
        let mut out = String::new();
        let total = self.total().max(1);

        let _ = writeln!(out, "outcomes (booking.attempts by booking.status)");
        for (status, n) in &self.statuses {
            let share = *n as f64 / total as f64;
            let bar = "█".repeat(((share * WIDTH as f64).round() as usize).max(1));
            let _ = writeln!(
                out,
                "  {status:<10} {n:>6}  {:>5.1} %  {bar}",
                share * 100.0
            );
        }
        let _ = writeln!(out, "  {:<10} {:>6}", "total", self.total());

        // `booking.duration` first; `booking.create`, the same span seen as a step, is left
        // out to avoid printing the same line twice.
        let mut rows: Vec<(&str, &Histogram)> = vec![("whole booking", &self.bookings)];
        rows.extend(
            self.steps
                .iter()
                .filter(|(s, _)| s != span::CREATE)
                .map(|(s, h)| (s.as_str(), h)),
        );
        let longest = rows
            .iter()
            .filter_map(|(_, h)| h.quantile(0.99))
            .fold(0.0_f64, f64::max);
        let _ = writeln!(
            out,
            "\nlatency (booking.duration, booking.step.duration)   bars: █ p50  ▓ p95  ░ p99"
        );
        let _ = writeln!(
            out,
            "  {:<34} {:>6} {:>9} {:>9} {:>9}",
            "step", "count", "p50", "p95", "p99"
        );
        for (name, h) in rows {
            let [p50, p95, p99] = [0.50, 0.95, 0.99].map(|q| h.quantile(q));
            let cells = |d: Option<f64>| d.map(format_seconds).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "  {name:<34} {:>6} {:>9} {:>9} {:>9}  {}",
                h.count,
                cells(p50),
                cells(p95),
                cells(p99),
                bar([p50, p95, p99], longest, WIDTH),
            );
        }
        let _ = writeln!(
            out,
            "\nPercentiles are estimated from the histogram buckets (5, 10, 25, 50, 75, 100, 250,\n\
             500, 750 ms, 1 s, …): interpolated within the bucket that holds them, so each is\n\
             as precise as its bucket is narrow (a p95 of 380 ms lies between 250 and 500 ms)."
        );
        out
    }
}

/// `█` up to p50, `▓` up to p95, `░` up to p99, scaled so that `longest` fills `width`.
fn bar([p50, p95, p99]: [Option<f64>; 3], longest: f64, width: usize) -> String {
    if longest <= 0.0 {
        return String::new();
    }
    let cells = |d: Option<f64>| (d.unwrap_or(0.0) / longest * width as f64).round() as usize;
    let (a, b, c) = (cells(p50).max(1), cells(p95), cells(p99));
    let b = b.max(a);
    let c = c.max(b);
    format!(
        "{}{}{}",
        "█".repeat(a),
        "▓".repeat(b - a),
        "░".repeat(c - b)
    )
}

/// `3.2 ms`, `412 ms`, `1.25 s`.
pub fn format_seconds(seconds: f64) -> String {
    let ms = seconds * 1_000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{seconds:.2} s")
    }
}

fn value_of<'a>(attributes: impl Iterator<Item = &'a KeyValue>, key: &str) -> String {
    attributes
        .filter(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
        .next()
        .unwrap_or_default()
}
