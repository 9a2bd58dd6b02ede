//! A burst of 10,000 concurrent five-step bookings (50,000 spans) through `setup`'s
//! default pipeline into a real OTLP/gRPC receiver on 127.0.0.1: every span arrives
//! exactly once, every trace complete, memory bounded.
//! (With the SDK's default queue of 2,048 spans most of such a burst was dropped.)
//! A watchdog fails the test instead of letting a hang block CI. Globals: own binary.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use booking_otel::conventions::span;
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::setup::{ExporterKind, Setup};
use booking_otel::{Step, booking_step};
use support::receiver::Running;

#[booking_step(name = "booking.check_availability")]
async fn check_availability(guests: u32) -> Option<u32> {
    tokio::task::yield_now().await;
    Some(guests)
}

#[booking_step(name = "booking.process_payment")]
async fn pay(amount: u64) -> Result<u64, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(amount)
}

async fn booking(metrics: BookingMetrics, i: u64) {
    let guard = metrics.start_booking("web");
    Step::new(span::CREATE)
        .instrument(async move {
            check_availability(2).await;
            Step::new(span::ACQUIRE_LOCK).run(|| ());
            pay(100 + i).await?;
            Step::new(span::CONFIRM).run(|| ());
            Ok::<(), std::io::Error>(())
        })
        .await
        .expect("booking");
    guard.finish(BookingStatus::Success);
}

fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn a_burst_of_ten_thousand_bookings_arrives_whole() {
    support::watchdog::abort_after(Duration::from_secs(120), "the burst test");
    let receiver = Running::start();
    let metrics_read_back = opentelemetry_sdk::metrics::InMemoryMetricExporter::default();
    let guard = Setup::new("burst-test")
        .otlp_endpoint(format!("http://{}", receiver.address))
        .metrics_exporter(ExporterKind::None)
        .extra_metric_exporter(metrics_read_back.clone())
        .install()
        .expect("setup");
    let metrics = BookingMetrics::global();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..10_000)
            .map(|i| tokio::spawn(booking(metrics.clone(), i)))
            .collect();
        for task in tasks {
            task.await.expect("booking task");
        }
    });
    let bookings_took = started.elapsed();
    let delivery = guard.delivery();
    guard.shutdown().expect("shutdown with the collector up");
    let total = started.elapsed();

    let spans = receiver.spans();
    let mut per_trace: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for span in &spans {
        *per_trace.entry(span.trace_id.clone()).or_default() += 1;
        assert!(ids.insert(span.span_id.clone()), "a span arrived twice");
    }
    assert_eq!(spans.len(), 50_000, "every span arrived");
    assert_eq!(per_trace.len(), 10_000, "every trace arrived");
    assert!(per_trace.values().all(|&n| n == 5), "every trace complete");
    // Every booking counted, none left active (the last cumulative export, at shutdown).
    let last = metrics_read_back
        .get_finished_metrics()
        .expect("metrics")
        .pop()
        .expect("a metrics export at shutdown");
    let sum = |name: &str| -> i64 {
        use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
        let mut total = 0;
        for metric in last.scope_metrics().flat_map(|s| s.metrics()) {
            if metric.name() != name {
                continue;
            }
            match metric.data() {
                AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                    total += sum.data_points().map(|p| p.value() as i64).sum::<i64>();
                }
                AggregatedMetrics::I64(MetricData::Sum(sum)) => {
                    total += sum.data_points().map(|p| p.value()).sum::<i64>();
                }
                _ => {}
            }
        }
        total
    };
    assert_eq!(sum("booking.attempts"), 10_000);
    assert_eq!(sum("booking.active"), 0, "booking.active ends at 0");
    // The application's own accounts say the same.
    let counts = delivery.counts();
    assert_eq!(
        (
            counts.finished,
            counts.exported,
            counts.dropped.total(),
            counts.in_flight
        ),
        (50_000, 50_000, 0, 0),
        "{counts:?}"
    );
    let rss = peak_rss_kib().unwrap_or(0);
    eprintln!(
        "burst: 10,000 bookings in {bookings_took:?}, all 50,000 spans received by {total:?}; peak RSS {} MiB",
        rss / 1024
    );
    // Bounded: well under what an unbounded buffer of the burst would need twice over.
    assert!(rss < 1024 * 1024, "peak RSS {rss} KiB");
}
