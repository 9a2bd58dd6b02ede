//! The console metrics table: a real `SdkMeterProvider` with a `PeriodicReader` around
//! `MetricsTableExporter`, writing into a buffer; known values recorded through the
//! booking metrics, so the table (and its snapshot in `tests/snapshots/`) is
//! deterministic.

#[path = "support/shared_writer.rs"]
mod shared_writer;

use shared_writer::Shared;
use std::time::Duration;

use booking_otel::Outcome;
use booking_otel::console::{MetricsTableExporter, RenderOptions, estimate_quantile};
use booking_otel::conventions::{attribute, span};
use booking_otel::metrics::{
    BookingMetrics, BookingStatus, ContentionReason, Currency, DURATION_BUCKETS_SECONDS,
    PaymentMethod, PaymentStatus,
};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

/// A meter provider whose only reader exports into `out` when flushed (the interval is
/// an hour: nothing is exported on its own during a test).
fn provider(out: &Shared, options: RenderOptions) -> SdkMeterProvider {
    let reader = PeriodicReader::builder(MetricsTableExporter::new(out.clone(), options))
        .with_interval(Duration::from_secs(3600))
        .build();
    SdkMeterProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("booking-service")
                .build(),
        )
        .with_reader(reader)
        .build()
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Known bookings, payments, contentions and a rollback, plus a gauge.
fn record(provider: &SdkMeterProvider) {
    let meter = provider.meter("booking-otel");
    let metrics = BookingMetrics::new(&meter);
    for millis in [120, 240, 380, 410, 520, 640, 760, 980, 1_400, 2_200] {
        metrics.record_booking(BookingStatus::Success, ms(millis), "web");
    }
    metrics.record_booking(BookingStatus::Failed, ms(412), "api");
    metrics.record_booking(BookingStatus::Rejected, ms(265), "mobile");
    metrics.record_booking(BookingStatus::Rejected, ms(270), "mobile");
    for millis in [180, 300, 310] {
        metrics.record_payment(
            PaymentStatus::Approved,
            PaymentMethod::Card,
            Currency::parse("eur"),
            ms(millis),
        );
    }
    metrics.record_payment(
        PaymentStatus::Declined,
        PaymentMethod::Card,
        Currency::parse("usd"),
        ms(227),
    );
    metrics.record_lock_contention(ContentionReason::Held);
    metrics.record_lock_contention(ContentionReason::Held);
    metrics.record_rollback(span::ROLLBACK_RELEASE_LOCK, &Outcome::Ok);
    let rooms = meter
        .u64_gauge("booking.rooms_available")
        .with_unit("{room}")
        .build();
    rooms.record(
        12,
        &[KeyValue::new(attribute::BOOKING_PROPERTY_ID, "prop-1042")],
    );
    rooms.record(
        3,
        &[KeyValue::new(attribute::BOOKING_PROPERTY_ID, "prop-7")],
    );
}

#[test]
fn the_table_of_known_values() {
    let out = Shared::default();
    let provider = provider(&out, RenderOptions::default().width(100));
    record(&provider);
    provider.force_flush().unwrap();
    let text = out.text();
    // One row per data point, histograms with count, sum and three quantiles.
    assert!(
        text.lines().all(|line| line.chars().count() <= 120),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "{text}");
    insta::assert_snapshot!("metrics_table", text);
    provider.shutdown().unwrap();
}

#[test]
fn the_quantiles_are_the_bucket_interpolation() {
    // The ten successful bookings of `record`, in the booking buckets.
    let values = [0.12, 0.24, 0.38, 0.41, 0.52, 0.64, 0.76, 0.98, 1.4, 2.2];
    let bounds = DURATION_BUCKETS_SECONDS;
    let mut counts = vec![0_u64; bounds.len() + 1];
    for v in values {
        let bucket = bounds.iter().position(|b| v <= *b).unwrap_or(bounds.len());
        counts[bucket] += 1;
    }
    // Two values in each of (0.1, 0.25], (0.25, 0.5], (0.5, 0.75], (0.75, 1], (1, 2.5].
    // p50, the 5th value, is halfway through (0.5, 0.75].
    let q = |q| estimate_quantile(bounds, &counts, Some(0.12), Some(2.2), q).unwrap();
    assert!((q(0.5) - 0.625).abs() < 1e-9, "{}", q(0.5));
    // p95 (9.5 values) is three quarters through the last bucket, which ends at the
    // recorded maximum, 2.2, not at its bound, 2.5.
    assert!((q(0.95) - 1.9).abs() < 1e-9, "{}", q(0.95));
    assert!((q(0.99) - 2.14).abs() < 1e-9, "{}", q(0.99));
    assert!((q(1.0) - 2.2).abs() < 1e-9, "{}", q(1.0));
    assert!((q(0.0) - 0.12).abs() < 1e-9, "{}", q(0.0));

    let out = Shared::default();
    let provider = provider(&out, RenderOptions::default().width(120));
    record(&provider);
    provider.force_flush().unwrap();
    let text = out.text();
    // The rows of booking.duration: the success row reads count, sum, p50, p95, p99.
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("booking.duration (s)"))
        .take(4)
        .collect();
    let success: Vec<&str> = section[3].split_whitespace().collect();
    assert_eq!(
        success,
        [
            "booking.status=success",
            "10",
            "7.65",
            "s",
            "625",
            "ms",
            "1.9",
            "s",
            "2.14",
            "s"
        ],
        "{text}"
    );
    provider.shutdown().unwrap();
}

#[test]
fn colour_only_when_asked() {
    let out = Shared::default();
    let provider = provider(&out, RenderOptions::default().colour(true));
    record(&provider);
    provider.force_flush().unwrap();
    assert!(
        out.text()
            .contains("\x1b[1mbooking.attempts ({attempt})\x1b[0m")
    );
    provider.shutdown().unwrap();
}

#[test]
fn nothing_recorded_prints_nothing() {
    let out = Shared::default();
    let provider = provider(&out, RenderOptions::default());
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();
    assert_eq!(out.text(), "");
}

#[test]
fn cumulative_and_refused_after_shutdown() {
    let exporter = MetricsTableExporter::new(Shared::default(), RenderOptions::default());
    assert_eq!(exporter.temporality(), Temporality::Cumulative);
    exporter.shutdown().unwrap();
    let metrics = opentelemetry_sdk::metrics::data::ResourceMetrics::default();
    let exported = futures_util::FutureExt::now_or_never(exporter.export(&metrics)).unwrap();
    assert!(exported.is_err());
}

/// The module docs show the table as it renders.
#[test]
fn the_module_docs_show_real_output() {
    let out = Shared::default();
    let provider = provider(&out, RenderOptions::default().width(100));
    record(&provider);
    provider.force_flush().unwrap();
    let table = out.text();
    provider.shutdown().unwrap();
    let docs = include_str!("../booking-otel/src/console/mod.rs");
    let block: String = table
        .trim_end()
        .lines()
        .map(|line| format!("//! {line}").trim_end().to_owned() + "\n")
        .collect();
    assert!(
        docs.contains(&format!("//! ```text\n{block}//! ```\n")),
        "update the metrics example in booking-otel/src/console/mod.rs to:\n{block}"
    );
}
