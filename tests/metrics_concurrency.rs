//! Booking metrics the way applications record them: on many threads at once, from
//! steps in spawned tasks, with instruments dropped before the next collection, and
//! with a telemetry built per request. Asserted on the exported data: every value
//! recorded before a collection is in it, exactly once (the bound series are shared
//! between threads and outlive the handles that bound them).

use std::time::Duration;

use booking_otel::conventions::{attribute, metric};
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::testing::TestTelemetry;
use booking_otel::{Step, StepError, Telemetry};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

fn success() -> [KeyValue; 1] {
    [KeyValue::new(attribute::BOOKING_STATUS, "success")]
}

/// The duration of booking `i`: a multiple of 1/8 s, so sums are exact in any order.
fn duration_of(i: u64) -> Duration {
    Duration::from_millis(125 * (i % 16 + 1))
}

#[test]
fn every_booking_recorded_on_many_threads_before_a_collection_is_in_it() {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 5_000;
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let metrics = metrics.clone();
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    let n = thread * PER_THREAD + i;
                    metrics.record_booking(BookingStatus::Success, duration_of(n), "web");
                }
            });
        }
    });
    let expected_sum: f64 = (0..THREADS * PER_THREAD)
        .map(|n| duration_of(n).as_secs_f64())
        .sum();

    let histogram = telemetry
        .histogram(metric::BOOKING_DURATION, &success())
        .expect("booking.duration exported");
    assert_eq!(histogram.count, THREADS * PER_THREAD);
    assert_eq!(histogram.sum, expected_sum);
    assert_eq!(histogram.bucket_counts.iter().sum::<u64>(), histogram.count);
    assert_eq!(
        telemetry.counter_sum(metric::BOOKING_ATTEMPTS, &success()),
        (THREADS * PER_THREAD) as i64
    );
}

#[derive(Debug, thiserror::Error, StepError)]
enum HoldError {
    #[error("sold out")]
    #[step_error(rejection)]
    SoldOut,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_in_spawned_tasks_are_all_counted_at_the_next_collection() {
    let telemetry = TestTelemetry::install();
    let handle = telemetry.telemetry().clone();
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            Step::new("booking.hold_inventory")
                .telemetry(&handle)
                .instrument(async move {
                    tokio::task::yield_now().await;
                    if i % 4 == 0 {
                        Err(HoldError::SoldOut)
                    } else {
                        Ok(i)
                    }
                })
                .await
        }));
    }
    for task in tasks {
        let _ = task.await.expect("task ran");
    }

    let step = KeyValue::new(attribute::BOOKING_STEP, "booking.hold_inventory");
    let ok = KeyValue::new(attribute::BOOKING_OUTCOME, "ok");
    let rejected = KeyValue::new(attribute::BOOKING_OUTCOME, "rejected");
    assert_eq!(
        telemetry.histogram_count(metric::BOOKING_STEP_DURATION, &[step.clone(), ok]),
        150
    );
    assert_eq!(
        telemetry.histogram_count(metric::BOOKING_STEP_DURATION, &[step, rejected]),
        50
    );
}

#[test]
fn values_of_instruments_dropped_before_the_collection_are_still_exported() {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    {
        let metrics = BookingMetrics::new(&provider.meter("app"));
        for i in 0..100 {
            metrics.record_booking(BookingStatus::Success, duration_of(i), "api");
        }
        // `metrics` and its meter are dropped here, before any collection.
    }
    provider.force_flush().expect("collected");

    let exported = exporter.get_finished_metrics().expect("exported");
    assert_eq!(histogram_count(&exported, metric::BOOKING_DURATION), 100);
    provider.shutdown().expect("shut down");
}

#[test]
fn a_telemetry_built_per_request_still_records_every_step() {
    // What a newcomer might write: build the telemetry (and its instruments) in the
    // handler, not once. Each new set binds the series again; nothing is lost.
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    const REQUESTS: u64 = 1_500;
    for i in 0..REQUESTS {
        let telemetry = Telemetry::from_tracer_provider(&tracer_provider)
            .with_meter(&provider.meter("handler"));
        let _ = Step::new("booking.confirm")
            .telemetry(&telemetry)
            .run(|| Ok::<_, std::io::Error>(i));
    }
    provider.force_flush().expect("collected");
    let exported = exporter.get_finished_metrics().expect("exported");
    assert_eq!(
        histogram_count(&exported, metric::BOOKING_STEP_DURATION),
        REQUESTS
    );
    provider.shutdown().expect("shut down");
}

/// The total count of histogram `name` in the latest export.
fn histogram_count(
    exported: &[opentelemetry_sdk::metrics::data::ResourceMetrics],
    name: &str,
) -> u64 {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    let latest = exported.last().expect("one export");
    let mut count = 0;
    for scope in latest.scope_metrics() {
        for m in scope.metrics().filter(|m| m.name() == name) {
            if let AggregatedMetrics::F64(MetricData::Histogram(h)) = m.data() {
                count += h.data_points().map(|p| p.count()).sum::<u64>();
            }
        }
    }
    count
}
