//! `BookingMetrics`, asserted on what the in-memory metric exporter received: exact
//! counter sums, histogram counts and bucket placement, attribute sets, and
//! `booking.active` returning to zero on every path (success, failure, rejection,
//! panic, cancellation).

use std::time::Duration;

use booking_otel::conventions::{attribute, metric, span};
use booking_otel::metrics::{
    BookingSource, BookingStatus, ContentionReason, Currency, DURATION_BUCKETS_SECONDS,
    PaymentMethod, PaymentStatus,
};
use booking_otel::testing::TestTelemetry;
use booking_otel::{Outcome, StepError};
use opentelemetry::KeyValue;

fn kv(key: &'static str, value: &'static str) -> KeyValue {
    KeyValue::new(key, value)
}

fn sorted(mut sets: Vec<Vec<KeyValue>>) -> Vec<Vec<KeyValue>> {
    for set in &mut sets {
        set.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    }
    sets.sort_by_key(|set| format!("{set:?}"));
    sets
}

#[test]
fn record_booking_counts_attempts_and_places_durations_in_buckets() {
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();
    metrics.record_booking(BookingStatus::Success, Duration::from_millis(840), "web");
    metrics.record_booking(
        BookingStatus::Success,
        Duration::from_millis(3),
        BookingSource::Mobile,
    );
    metrics.record_booking(BookingStatus::Timeout, Duration::from_secs(31), "api");

    let success = [kv(attribute::BOOKING_STATUS, "success")];
    assert_eq!(telemetry.counter_sum(metric::BOOKING_ATTEMPTS, &success), 2);
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_ATTEMPTS,
            &[
                kv(attribute::BOOKING_STATUS, "timeout"),
                kv(attribute::BOOKING_SOURCE, "api")
            ]
        ),
        1
    );

    let histogram = telemetry
        .histogram(metric::BOOKING_DURATION, &success)
        .expect("booking.duration recorded");
    assert_eq!(histogram.count, 2);
    assert_eq!(histogram.bounds, DURATION_BUCKETS_SECONDS);
    // 3 ms falls in the first bucket (<= 5 ms); 840 ms in (0.75, 1.0].
    let one_second = DURATION_BUCKETS_SECONDS
        .iter()
        .position(|b| *b == 1.0)
        .unwrap();
    let mut expected = vec![0; DURATION_BUCKETS_SECONDS.len() + 1];
    expected[0] = 1;
    expected[one_second] = 1;
    assert_eq!(histogram.bucket_counts, expected);
    assert!((histogram.sum - 0.843).abs() < 1e-9);

    let timeout = telemetry
        .histogram(
            metric::BOOKING_DURATION,
            &[kv(attribute::BOOKING_STATUS, "timeout")],
        )
        .unwrap();
    assert_eq!(
        timeout.bucket_counts.last(),
        Some(&1),
        "31 s lands in the overflow bucket"
    );

    assert_eq!(
        sorted(telemetry.metric_attribute_sets(metric::BOOKING_ATTEMPTS)),
        sorted(vec![
            vec![
                kv(attribute::BOOKING_STATUS, "success"),
                kv(attribute::BOOKING_SOURCE, "web")
            ],
            vec![
                kv(attribute::BOOKING_STATUS, "success"),
                kv(attribute::BOOKING_SOURCE, "mobile")
            ],
            vec![
                kv(attribute::BOOKING_STATUS, "timeout"),
                kv(attribute::BOOKING_SOURCE, "api")
            ],
        ])
    );
    assert_eq!(
        telemetry
            .metric_attribute_sets(metric::BOOKING_DURATION)
            .len(),
        2,
        "booking.duration carries booking.status only"
    );
}

#[test]
fn an_unexpected_source_is_recorded_as_other() {
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();
    metrics.record_booking(
        BookingStatus::Success,
        Duration::from_millis(10),
        "partner-4711",
    );
    metrics.record_booking(BookingStatus::Failed, Duration::from_millis(10), "<script>");
    let sources: Vec<String> = telemetry
        .metric_attribute_sets(metric::BOOKING_ATTEMPTS)
        .iter()
        .flat_map(|set| set.iter())
        .filter(|kv| kv.key.as_str() == attribute::BOOKING_SOURCE)
        .map(|kv| kv.value.to_string())
        .collect();
    assert_eq!(sources, ["other", "other"]);
}

#[derive(Debug, thiserror::Error, StepError)]
enum BookingError {
    #[error("sold out")]
    #[step_error(rejection)]
    SoldOut,
    #[error("database unavailable")]
    DatabaseDown,
}

fn book(metrics: &booking_otel::metrics::BookingMetrics, path: &str) -> Result<(), BookingError> {
    let booking = metrics.start_booking("web");
    let result = match path {
        "ok" => Ok(()),
        "sold_out" => Err(BookingError::SoldOut),
        "early_return" => return Err(BookingError::DatabaseDown),
        _ => Err(BookingError::DatabaseDown),
    };
    booking.finish_with(&result);
    result
}

#[test]
fn the_guard_records_every_path_and_active_returns_to_zero() {
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();

    assert!(book(&metrics, "ok").is_ok());
    assert!(book(&metrics, "sold_out").is_err());
    assert!(book(&metrics, "db_down").is_err());
    assert!(book(&metrics, "early_return").is_err());

    // A panic while the booking is in flight.
    let panicking = metrics.clone();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _booking = panicking.start_booking(BookingSource::Api);
        panic!("bug in pricing");
    }));
    assert!(caught.is_err());

    // A cancelled future: the timeout drops the booking before it finishes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let cancelled = metrics.clone();
    let timed_out = runtime.block_on(async move {
        let in_flight = async move {
            let booking = cancelled.start_booking("mobile");
            std::future::pending::<()>().await;
            booking.finish(BookingStatus::Success);
        };
        tokio::time::timeout(Duration::from_millis(5), in_flight).await
    });
    assert!(timed_out.is_err());

    // In flight right now: one booking, then none.
    let in_flight = metrics.start_booking("web");
    assert_eq!(telemetry.counter_sum(metric::BOOKING_ACTIVE, &[]), 1);
    in_flight.finish(BookingStatus::Success);
    assert_eq!(telemetry.counter_sum(metric::BOOKING_ACTIVE, &[]), 0);

    let attempts = |status: &'static str| {
        telemetry.counter_sum(
            metric::BOOKING_ATTEMPTS,
            &[kv(attribute::BOOKING_STATUS, status)],
        )
    };
    assert_eq!(attempts("success"), 2);
    assert_eq!(attempts("rejected"), 1);
    // db_down, early return, panic, cancellation.
    assert_eq!(attempts("failed"), 4);
    assert_eq!(telemetry.histogram_count(metric::BOOKING_DURATION, &[]), 7);
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_ATTEMPTS,
            &[
                kv(attribute::BOOKING_STATUS, "failed"),
                kv(attribute::BOOKING_SOURCE, "api")
            ]
        ),
        1,
        "the panicked booking keeps its source"
    );
}

#[test]
fn payments_contention_and_rollbacks() {
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();
    metrics.record_payment(
        PaymentStatus::Approved,
        PaymentMethod::Card,
        Currency::parse("eur"),
        Duration::from_millis(410),
    );
    metrics.record_payment(
        PaymentStatus::Declined,
        PaymentMethod::parse("wallet"),
        Currency::parse("XYZ"),
        Duration::from_millis(90),
    );
    metrics.record_lock_contention(ContentionReason::Held);
    metrics.record_lock_contention(ContentionReason::parse("holder=res-99"));
    metrics.record_rollback(span::ROLLBACK_REFUND_PAYMENT, &Outcome::Ok);

    assert_eq!(
        telemetry.counter_sum(
            metric::PAYMENT_ATTEMPTS,
            &[
                kv(attribute::PAYMENT_STATUS, "approved"),
                kv(attribute::PAYMENT_METHOD, "card"),
                kv(attribute::PAYMENT_CURRENCY, "EUR"),
            ]
        ),
        1
    );
    assert_eq!(
        telemetry.counter_sum(
            metric::PAYMENT_ATTEMPTS,
            &[
                kv(attribute::PAYMENT_CURRENCY, "other"),
                kv(attribute::PAYMENT_METHOD, "wallet")
            ]
        ),
        1
    );
    let declined = telemetry
        .histogram(
            metric::PAYMENT_GATEWAY_DURATION,
            &[kv(attribute::PAYMENT_STATUS, "declined")],
        )
        .unwrap();
    assert_eq!(declined.count, 1);
    let bucket = DURATION_BUCKETS_SECONDS
        .iter()
        .position(|b| *b == 0.1)
        .unwrap();
    assert_eq!(
        declined.bucket_counts[bucket], 1,
        "90 ms lands in (0.075, 0.1]"
    );

    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_LOCK_CONTENTION,
            &[kv(attribute::BOOKING_CONTENTION_REASON, "held")]
        ),
        1
    );
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_LOCK_CONTENTION,
            &[kv(attribute::BOOKING_CONTENTION_REASON, "other")]
        ),
        1
    );
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_ROLLBACKS,
            &[
                kv(
                    attribute::BOOKING_ROLLBACK_STEP,
                    span::ROLLBACK_REFUND_PAYMENT
                ),
                kv(attribute::BOOKING_OUTCOME, "ok"),
            ]
        ),
        1
    );
}

/// Step series are bound (pre-resolved) on first use, up to `MAX_BOUND_SERIES`
/// combinations; past the cap a combination takes the unbound path. Either way every
/// recording is exported, once, under its own attributes.
#[test]
fn step_durations_past_the_bind_cap_are_recorded_like_the_rest() {
    use booking_otel::Step;
    use booking_otel::metrics::MAX_BOUND_SERIES;

    let telemetry = TestTelemetry::install();
    let steps = MAX_BOUND_SERIES + 40;
    // Step names are `&'static str` by design; a test that needs hundreds leaks them.
    let names: Vec<&'static str> = (0..steps)
        .map(|i| &*Box::leak(format!("booking.step_{i:04}").into_boxed_str()))
        .collect();
    for round in 0..2 {
        for name in &names {
            Step::new(name).run(|| ());
        }
        // The last name fails in the second round: a new combination past the cap.
        if round == 1 {
            let _ = Step::new(names[steps - 1]).run(|| Err::<(), _>(std::io::Error::other("x")));
        }
    }
    for name in [names[0], names[MAX_BOUND_SERIES - 1], names[steps - 1]] {
        let ok = [
            KeyValue::new(attribute::BOOKING_STEP, name),
            kv(attribute::BOOKING_OUTCOME, "ok"),
        ];
        assert_eq!(
            telemetry.histogram_count(metric::BOOKING_STEP_DURATION, &ok),
            2,
            "{name}"
        );
    }
    let failed = [
        KeyValue::new(attribute::BOOKING_STEP, names[steps - 1]),
        kv(attribute::BOOKING_OUTCOME, "error"),
        kv("error.type", "io.other"),
    ];
    assert_eq!(
        telemetry.histogram_count(metric::BOOKING_STEP_DURATION, &failed),
        1
    );
    let sets = telemetry.metric_attribute_sets(metric::BOOKING_STEP_DURATION);
    assert_eq!(
        sets.len(),
        steps + 1,
        "one series per combination, none merged"
    );
}
