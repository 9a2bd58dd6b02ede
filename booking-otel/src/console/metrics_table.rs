//! [`MetricsTableExporter`]: the metric exporter that prints a compact table.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{Stdout, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;

use super::waterfall::{BOLD, DIM, Paint, RenderOptions, cut, format_duration};

/// The quantiles of each histogram row.
const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// The narrowest attribute column, when the values leave little room.
const MIN_ATTRIBUTE_CHARS: usize = 16;

/// Estimates quantile `q` (0 to 1) of a histogram from its buckets: `bounds` are the
/// upper bounds of the buckets (inclusive), `counts` has one more entry than `bounds`
/// (the last bucket is open above).
///
/// The estimate finds the bucket that holds the `q × count`-th value and interpolates
/// linearly within it, as if its values were spread evenly between its bounds. The
/// first bucket starts at the recorded minimum (else at 0, or at its upper bound when
/// that is negative); the last one ends at the recorded maximum (else at its lower
/// bound), and every estimate is clamped to the recorded minimum and maximum when they
/// are known. So an estimate is exact at the bucket bounds and off by at most a
/// bucket's width: read p99 of `[0.1, 0.25, 0.5, 1]`-second buckets as "between 0.5
/// and 1 s, about here". `None` when the histogram is empty or the counts do not match
/// the bounds.
///
/// ```
/// use booking_otel::console::estimate_quantile;
///
/// // Ten values in (0, 10], ten in (10, 20]: the median is at the bucket bound.
/// let bounds = [10.0, 20.0];
/// let counts = [10, 10, 0];
/// assert_eq!(estimate_quantile(&bounds, &counts, None, None, 0.5), Some(10.0));
/// assert_eq!(estimate_quantile(&bounds, &counts, None, None, 0.75), Some(15.0));
/// // Clamped to what was recorded.
/// assert_eq!(estimate_quantile(&bounds, &counts, Some(2.0), Some(18.0), 1.0), Some(18.0));
/// ```
pub fn estimate_quantile(
    bounds: &[f64],
    counts: &[u64],
    min: Option<f64>,
    max: Option<f64>,
    q: f64,
) -> Option<f64> {
    if counts.len() != bounds.len() + 1 || q.is_nan() {
        return None;
    }
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total as f64;
    let mut before = 0_u64;
    let (index, count) = counts.iter().copied().enumerate().find(|&(_, c)| {
        let found = c > 0 && (before + c) as f64 >= target;
        if !found {
            before += c;
        }
        found
    })?;
    let mut lower = match index {
        0 => match (min, bounds.first()) {
            (Some(min), _) => min,
            (None, Some(&b)) if b > 0.0 => 0.0,
            (None, Some(&b)) => b,
            (None, None) => max.unwrap_or(0.0),
        },
        i => bounds[i - 1],
    };
    let mut upper = match bounds.get(index) {
        Some(&b) => b,
        None => max.unwrap_or(lower),
    };
    if let Some(min) = min {
        lower = lower.max(min);
    }
    if let Some(max) = max {
        upper = upper.min(max);
    }
    if upper < lower {
        upper = lower;
    }
    let fraction = ((target - before as f64) / count as f64).clamp(0.0, 1.0);
    let mut estimate = lower + (upper - lower) * fraction;
    if let Some(min) = min {
        estimate = estimate.max(min);
    }
    if let Some(max) = max {
        estimate = estimate.min(max);
    }
    Some(estimate)
}

/// What one data point shows: a value (sums, gauges), or count, sum and quantiles.
#[derive(Debug, PartialEq, PartialOrd)]
enum Values {
    Value(String),
    Distribution {
        count: String,
        sum: String,
        quantiles: [String; 3],
    },
}

impl Values {
    /// The cells, left to right, in a table of `columns` value columns: a single value
    /// goes in the last column, so that the attributes before it have more room.
    fn cells(&self, columns: usize) -> Vec<&str> {
        match self {
            Values::Value(v) => {
                let mut cells = vec![""; columns.saturating_sub(1)];
                cells.push(v);
                cells
            }
            Values::Distribution {
                count,
                sum,
                quantiles,
            } => {
                let mut cells = vec![count.as_str(), sum.as_str()];
                cells.extend(quantiles.iter().map(String::as_str));
                cells
            }
        }
    }
}

/// Column headings of a histogram's rows (a sum's or gauge's one column is `value`).
const HEADINGS: [&str; 5] = ["count", "sum", "p50", "p95", "p99"];

/// One instrument and its data points, sorted by attributes.
struct Instrument {
    title: String,
    is_distribution: bool,
    points: Vec<(String, Values)>,
}

/// Renders one collection as a table: a header line, then for each instrument (sorted
/// by name) a line with its name and unit, and one indented line per data point: its
/// attributes (`k=v`, sorted by key) and the value (sums, gauges), or count, sum and
/// p50/p95/p99 (histograms, estimated by [`estimate_quantile`]; exponential histograms
/// show count and sum). Values whose unit is `s` or `ms` read as durations. Histogram
/// points that counted nothing are left out; a collection with no data point renders as
/// the empty string. Attributes are cut with `…` to keep lines within the width.
///
/// The values are cumulative (what [`MetricsTableExporter`] asks the SDK for): totals
/// since the process started, not since the last table.
pub fn render_metrics(metrics: &ResourceMetrics, options: &RenderOptions) -> String {
    let paint = Paint(options.get_colour());
    let width = options.effective_width();
    let mut instruments: Vec<Instrument> = Vec::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let mut points = data_points(metric.data(), metric.unit());
            if points.is_empty() {
                continue;
            }
            points.sort_by(|a, b| a.0.cmp(&b.0));
            let (name, unit) = (clean(metric.name()), clean(metric.unit()));
            instruments.push(Instrument {
                title: if unit.is_empty() {
                    name
                } else {
                    format!("{name} ({unit})")
                },
                is_distribution: points
                    .iter()
                    .any(|(_, v)| matches!(v, Values::Distribution { .. })),
                points,
            });
        }
    }
    if instruments.is_empty() {
        return String::new();
    }
    instruments.sort_by(|a, b| a.title.cmp(&b.title));

    // Value columns: as wide as their widest cell or heading, two spaces apart; five
    // when a histogram is shown, else one.
    let used_columns = if instruments.iter().any(|i| i.is_distribution) {
        HEADINGS.len()
    } else {
        1
    };
    let mut columns: Vec<usize> = if used_columns == 1 {
        vec!["value".len()]
    } else {
        HEADINGS.iter().map(|h| h.len()).collect()
    };
    for instrument in &instruments {
        for (_, values) in &instrument.points {
            for (n, cell) in values.cells(used_columns).into_iter().enumerate() {
                columns[n] = columns[n].max(cell.chars().count());
            }
        }
    }
    let values_width: usize = columns.iter().map(|w| w + 2).sum();
    let natural = instruments
        .iter()
        .flat_map(|i| i.points.iter())
        .map(|(a, _)| a.chars().count().max(NO_ATTRIBUTES.len()))
        .max()
        .unwrap_or(0);
    let attribute_width = natural.min(
        width
            .saturating_sub(INDENT + values_width)
            .max(MIN_ATTRIBUTE_CHARS),
    );

    let mut out = String::new();
    let service = metrics
        .resource()
        .get(&opentelemetry::Key::from_static_str(
            opentelemetry_semantic_conventions::resource::SERVICE_NAME,
        ))
        .map(|v| clean(&v.as_str()));
    let mut header = String::from("metrics");
    if let Some(service) = service {
        let _ = write!(header, " of {service}");
    }
    header.push_str(" (cumulative since start)");
    paint.push(&mut out, BOLD, &cut(&header, width));
    out.push('\n');
    for instrument in instruments {
        let cells: Vec<(&str, Vec<&str>)> = instrument
            .points
            .iter()
            .map(|(a, v)| (a.as_str(), v.cells(used_columns)))
            .collect();
        // The title, with the column headings of its rows when it fits beside them.
        let mut line = String::new();
        let title = cut(&instrument.title, width);
        paint.push(&mut line, BOLD, &title);
        let headings: Vec<&str> = if instrument.is_distribution {
            HEADINGS.to_vec()
        } else {
            let mut headings = vec![""; used_columns - 1];
            headings.push("value");
            headings
        };
        let blank = headings.iter().take_while(|h| h.is_empty()).count();
        let lead = INDENT + attribute_width + columns[..blank].iter().map(|w| w + 2).sum::<usize>();
        if title.chars().count() + 2 <= lead {
            pad_to(&mut line, title.chars().count(), lead);
            let mut text = String::new();
            for (heading, column) in headings.iter().zip(&columns).skip(blank) {
                pad_to(&mut text, 0, (column + 2).saturating_sub(heading.len()));
                text.push_str(heading);
            }
            paint.push(&mut line, DIM, &text);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for (attributes, cells) in cells {
            // Empty leading cells (a single value) give their room to the attributes.
            let blank = cells.iter().take_while(|c| c.is_empty()).count();
            let room = attribute_width + columns[..blank].iter().map(|w| w + 2).sum::<usize>();
            let mut line = " ".repeat(INDENT);
            let attributes = if attributes.is_empty() {
                Cow::Borrowed(NO_ATTRIBUTES)
            } else {
                cut(attributes, room)
            };
            paint.push(&mut line, DIM, &attributes);
            pad_to(&mut line, attributes.chars().count(), room);
            for (cell, column) in cells.iter().zip(&columns).skip(blank) {
                pad_to(&mut line, cell.chars().count(), column + 2);
                line.push_str(cell);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// What a data point without attributes shows in the attribute column.
const NO_ATTRIBUTES: &str = "(no attributes)";
/// The indent of data point lines.
const INDENT: usize = 2;

fn pad_to(line: &mut String, used: usize, width: usize) {
    for _ in used..width {
        line.push(' ');
    }
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

fn attributes_text<'a>(attributes: impl Iterator<Item = &'a KeyValue>) -> String {
    let mut pairs: Vec<(&str, String)> = attributes
        .map(|kv| (kv.key.as_str(), kv.value.as_str().into_owned()))
        .collect();
    pairs.sort();
    let mut text = String::new();
    for (n, (key, value)) in pairs.into_iter().enumerate() {
        if n > 0 {
            text.push(' ');
        }
        let _ = write!(text, "{key}={value}");
    }
    text
}

/// A number the way the table shows it: durations for `s` and `ms`; else integers
/// whole, and other numbers to four significant digits (every integer digit from
/// 1,000 up), trailing zeros trimmed.
fn format_value(value: f64, unit: &str) -> String {
    let scale = match unit {
        "s" => Some(1.0),
        "ms" => Some(1e-3),
        _ => None,
    };
    if let Some(scale) = scale
        && let Ok(duration) = Duration::try_from_secs_f64(value * scale)
    {
        return format_duration(duration);
    }
    format_number(value)
}

fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 12) as usize;
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    text
}

trait AsF64: Copy {
    fn as_f64(self) -> f64;
}
impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}
impl AsF64 for u64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}
impl AsF64 for i64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

fn data_points(data: &AggregatedMetrics, unit: &str) -> Vec<(String, Values)> {
    match data {
        AggregatedMetrics::F64(data) => typed_points(data, unit),
        AggregatedMetrics::U64(data) => typed_points(data, unit),
        AggregatedMetrics::I64(data) => typed_points(data, unit),
    }
}

fn typed_points<T: AsF64>(data: &MetricData<T>, unit: &str) -> Vec<(String, Values)> {
    let value = |v: T| Values::Value(format_value(v.as_f64(), unit));
    match data {
        MetricData::Sum(sum) => sum
            .data_points()
            .map(|p| (attributes_text(p.attributes()), value(p.value())))
            .collect(),
        MetricData::Gauge(gauge) => gauge
            .data_points()
            .map(|p| (attributes_text(p.attributes()), value(p.value())))
            .collect(),
        MetricData::Histogram(histogram) => histogram
            .data_points()
            .filter(|p| p.count() > 0)
            .map(|p| {
                let bounds: Vec<f64> = p.bounds().collect();
                let counts: Vec<u64> = p.bucket_counts().collect();
                let (min, max) = (p.min().map(AsF64::as_f64), p.max().map(AsF64::as_f64));
                let quantiles = QUANTILES.map(|q| {
                    estimate_quantile(&bounds, &counts, min, max, q)
                        .map(|v| format_value(v, unit))
                        .unwrap_or_default()
                });
                (
                    attributes_text(p.attributes()),
                    Values::Distribution {
                        count: p.count().to_string(),
                        sum: format_value(p.sum().as_f64(), unit),
                        quantiles,
                    },
                )
            })
            .collect(),
        MetricData::ExponentialHistogram(histogram) => histogram
            .data_points()
            .filter(|p| p.count() > 0)
            .map(|p| {
                (
                    attributes_text(p.attributes()),
                    Values::Distribution {
                        count: p.count().to_string(),
                        sum: format_value(p.sum().as_f64(), unit),
                        quantiles: Default::default(),
                    },
                )
            })
            .collect(),
    }
}

/// A metric exporter that prints each collection as a compact table (see
/// [`render_metrics`]) on stdout or any writer. Cumulative temporality: each table
/// holds the totals since the process started.
///
/// ```
/// use booking_otel::console::MetricsTableExporter;
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
///
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(MetricsTableExporter::stdout()).build())
///     .build();
/// # let _ = provider.shutdown();
/// ```
pub struct MetricsTableExporter<W = Stdout> {
    state: Mutex<State<W>>,
}

struct State<W> {
    out: W,
    options: RenderOptions,
    shut_down: bool,
}

impl<W> std::fmt::Debug for MetricsTableExporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MetricsTableExporter")
            .field("options", &state.options)
            .finish_non_exhaustive()
    }
}

impl MetricsTableExporter<Stdout> {
    /// Prints to stdout, with [`RenderOptions::detect`].
    pub fn stdout() -> Self {
        Self::new(std::io::stdout(), RenderOptions::detect())
    }
}

impl Default for MetricsTableExporter<Stdout> {
    /// [`MetricsTableExporter::stdout`].
    fn default() -> Self {
        Self::stdout()
    }
}

impl<W: Write + Send + 'static> MetricsTableExporter<W> {
    /// Writes into `out` with `options` (colour only if `options` says so).
    pub fn new(out: W, options: RenderOptions) -> Self {
        MetricsTableExporter {
            state: Mutex::new(State {
                out,
                options,
                shut_down: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<W>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let mut text = render_metrics(metrics, &state.options);
        if text.is_empty() {
            return Ok(());
        }
        text.push('\n');
        let written = state
            .out
            .write_all(text.as_bytes())
            .and_then(|()| state.out.flush());
        written.map_err(|e| OTelSdkError::InternalFailure(format!("console metrics: {e}")))
    }
}

impl<W: Write + Send + 'static> PushMetricExporter for MetricsTableExporter<W> {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.write(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut state = self.lock();
        state
            .out
            .flush()
            .map_err(|e| OTelSdkError::InternalFailure(format!("console metrics: {e}")))
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.lock().shut_down = true;
        Ok(())
    }

    /// Cumulative: each table holds the totals since the process started.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        // 100 values: 50 in (0, 0.1], 40 in (0.1, 0.5], 10 in (0.5, 1].
        let bounds = [0.1, 0.5, 1.0];
        let counts = [50, 40, 10, 0];
        let q = |q| estimate_quantile(&bounds, &counts, None, None, q).unwrap();
        assert!((q(0.5) - 0.1).abs() < 1e-12);
        assert!((q(0.7) - 0.3).abs() < 1e-12);
        assert!((q(0.95) - 0.75).abs() < 1e-12);
        // The open last bucket ends at the recorded maximum.
        let counts = [0, 0, 0, 4];
        assert_eq!(
            estimate_quantile(&bounds, &counts, Some(2.0), Some(4.0), 0.5),
            Some(3.0)
        );
        // Without one, at its lower bound.
        assert_eq!(
            estimate_quantile(&bounds, &counts, None, None, 0.5),
            Some(1.0)
        );
        assert_eq!(
            estimate_quantile(&bounds, &[0, 0, 0, 0], None, None, 0.5),
            None
        );
        assert_eq!(estimate_quantile(&bounds, &[1, 2], None, None, 0.5), None);
    }

    #[test]
    fn numbers_read_short() {
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(5.04), "5.04");
        assert_eq!(format_number(0.000123456), "0.0001235");
        assert_eq!(format_number(1234.5678), "1235");
        assert_eq!(format_number(12.345678), "12.35");
        assert_eq!(format_value(0.38, "s"), "380 ms");
        assert_eq!(format_value(412.0, "ms"), "412 ms");
    }
}
