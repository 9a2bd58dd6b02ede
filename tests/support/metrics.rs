//! A meter provider whose exports a test reads back, and what they hold.

#![allow(dead_code)]

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

/// A meter provider exporting to memory only when asked (`force_flush`, `shutdown`).
pub fn in_memory_provider() -> (SdkMeterProvider, InMemoryMetricExporter) {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    (provider, exporter)
}

/// Collects now and returns the total count of histogram `name` over the data points
/// that carry `attribute` (every point when `None`); 0 when nothing was exported.
pub fn histogram_count(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
    name: &str,
    attribute: Option<&KeyValue>,
) -> u64 {
    let mut count = 0;
    for_each_metric(provider, exporter, name, |data| {
        if let AggregatedMetrics::F64(MetricData::Histogram(h)) = data {
            count += h
                .data_points()
                .filter(|p| attribute.is_none_or(|a| p.attributes().any(|kv| kv == a)))
                .map(|p| p.count())
                .sum::<u64>();
        }
    });
    count
}

/// Collects now and returns the sum of the `u64` counter `name` over every data point.
pub fn counter_sum(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
    name: &str,
) -> u64 {
    let mut sum = 0;
    for_each_metric(provider, exporter, name, |data| {
        if let AggregatedMetrics::U64(MetricData::Sum(points)) = data {
            sum += points.data_points().map(|p| p.value()).sum::<u64>();
        }
    });
    sum
}

/// Collects now and calls `f` with the data of each metric `name` in that collection.
fn for_each_metric(
    provider: &SdkMeterProvider,
    exporter: &InMemoryMetricExporter,
    name: &str,
    mut f: impl FnMut(&AggregatedMetrics),
) {
    provider.force_flush().expect("collected");
    let Some(latest) = exporter.get_finished_metrics().expect("read").pop() else {
        return;
    };
    for scope in latest.scope_metrics() {
        for m in scope.metrics().filter(|m| m.name() == name) {
            f(m.data());
        }
    }
}
