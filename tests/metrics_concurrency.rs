//! Booking metrics the way applications record them: on many threads at once, from
//! steps in spawned tasks, with instruments dropped before the next collection, and
//! with a telemetry built per request. Asserted on the exported data: every value
//! recorded before a collection is in it, exactly once (the bound series are shared
//! between threads and outlive the handles that bound them).

use std::time::Duration;

use booking_otel::conventions::{attribute, metric};
use booking_otel::metrics::{BookingMetrics, BookingStatus, DURATION_BUCKETS_SECONDS};
use booking_otel::testing::TestTelemetry;
use booking_otel::{Step, StepError, Telemetry};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider;

mod support;
use support::metrics::{histogram_count, in_memory_provider};

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
    // Each value in its bucket: bucket i counts the values in (bound[i-1], bound[i]].
    let mut expected = vec![0u64; DURATION_BUCKETS_SECONDS.len() + 1];
    for n in 0..THREADS * PER_THREAD {
        let seconds = duration_of(n).as_secs_f64();
        expected[DURATION_BUCKETS_SECONDS.partition_point(|bound| *bound < seconds)] += 1;
    }
    assert_eq!(histogram.bucket_counts, expected);
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
    let (provider, exporter) = in_memory_provider();
    {
        let metrics = BookingMetrics::new(&provider.meter("app"));
        for i in 0..100 {
            metrics.record_booking(BookingStatus::Success, duration_of(i), "api");
        }
        // `metrics` and its meter are dropped here, before any collection.
    }
    assert_eq!(
        histogram_count(&provider, &exporter, metric::BOOKING_DURATION, None),
        100
    );
    provider.shutdown().expect("shut down");
}

#[test]
fn a_telemetry_built_per_request_still_records_every_step() {
    // What a newcomer might write: build the telemetry (and its instruments) in the
    // handler, not once. Each new set binds the series again; nothing is lost.
    let (provider, exporter) = in_memory_provider();
    let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    const REQUESTS: u64 = 1_500;
    for i in 0..REQUESTS {
        let telemetry = Telemetry::from_tracer_provider(&tracer_provider)
            .with_meter(&provider.meter("handler"));
        let _ = Step::new("booking.confirm")
            .telemetry(&telemetry)
            .run(|| Ok::<_, std::io::Error>(i));
    }
    assert_eq!(
        histogram_count(&provider, &exporter, metric::BOOKING_STEP_DURATION, None),
        REQUESTS
    );
    provider.shutdown().expect("shut down");
}
