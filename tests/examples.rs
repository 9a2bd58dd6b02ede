//! The examples' own code, run with a fixed seed, checked on the span trees and metrics
//! it exports (through the test kit, the production pipeline with an in-memory exporter),
//! so the examples cannot rot. One test also runs the compiled `booking_flow` binary.
//!
//! The example's modules are compiled into this test as they are: `#[path]` below.

mod support;
use support::example_binary::example_binary;

#[allow(dead_code)]
#[path = "../examples/booking_flow/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../examples/booking_flow/flow.rs"]
mod flow;
#[allow(dead_code)]
#[path = "../examples/booking_flow/services.rs"]
mod services;
#[allow(dead_code)]
#[path = "../examples/booking_flow/summary.rs"]
mod summary;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use booking_otel::conventions::{ALL, ConventionKind, attribute, event, metric, span, standard};
use booking_otel::metrics::BookingMetrics;
use booking_otel::testing::{SpanDataExt, TestTelemetry, children, tree};
use booking_otel::{Step, StepError, Telemetry};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::flow::{BookingError, Confirmation};
use crate::summary::{Histogram, Summary};

/// The seed every test runs with.
const SEED: u64 = 7;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .expect("a runtime")
}

/// One booking, as `booking_flow ARGS` runs it, captured by a fresh test telemetry.
struct Run {
    telemetry: TestTelemetry,
    result: Result<Confirmation, BookingError>,
    spans: Vec<SpanData>,
}

impl Run {
    fn new(args: &[&str]) -> Run {
        let options = cli::parse(args).expect("valid arguments");
        assert_eq!(options.bookings, None);
        let telemetry = TestTelemetry::install();
        let metrics = telemetry.booking_metrics();
        let result = runtime().block_on(flow::run_one(SEED, 0, &options.scenario, &metrics));
        let spans = telemetry.spans();
        Run {
            telemetry,
            result,
            spans,
        }
    }

    fn root(&self) -> &SpanData {
        let roots: Vec<&SpanData> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id == SpanId::INVALID)
            .collect();
        assert_eq!(roots.len(), 1, "one trace:\n{}", self.tree());
        assert_eq!(roots[0].name, span::CREATE);
        roots[0]
    }

    /// The root's children, in start order.
    fn steps(&self) -> Vec<&SpanData> {
        let mut steps = children(&self.spans, self.root());
        steps.sort_by_key(|s| s.start_time);
        steps
    }

    fn step_names(&self) -> Vec<&str> {
        self.steps().iter().map(|s| s.name.as_ref()).collect()
    }

    fn span(&self, name: &str) -> &SpanData {
        let found: Vec<&SpanData> = self.spans.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "one {name}:\n{}", self.tree());
        found[0]
    }

    fn tree(&self) -> String {
        tree(&self.spans)
    }

    fn counter(&self, name: &str, attributes: &[KeyValue]) -> i64 {
        self.telemetry.counter_sum(name, attributes)
    }
}

fn string(value: &str) -> Value {
    Value::from(value.to_owned())
}

const FORWARD: [&str; 6] = [
    span::CHECK_AVAILABILITY,
    span::PRICE,
    span::ACQUIRE_LOCK,
    span::PROCESS_PAYMENT,
    span::CONFIRM,
    span::NOTIFY,
];

/// Checks what every booking's trace must satisfy: one tree under `booking.create`, only
/// documented `booking.*`/`payment.*` names, and never the card's digits.
fn check_common(run: &Run) {
    let root = run.root();
    assert_eq!(root.span_kind, SpanKind::Server);
    assert!(
        run.spans
            .iter()
            .all(|s| s.span_context.trace_id() == root.span_context.trace_id())
    );
    let documented =
        |name: &str, kind: ConventionKind| ALL.iter().any(|c| c.name == name && c.kind == kind);
    let (request, _) = services::simulated_booking(SEED, 0, &services::Scenario::default());
    let digits = request.card.expose_digits();
    for s in &run.spans {
        assert!(
            documented(&s.name, ConventionKind::Span),
            "{} is not a documented span",
            s.name
        );
        let event_attributes = s.events.events.iter().flat_map(|e| e.attributes.iter());
        for kv in s.attributes.iter().chain(event_attributes) {
            let key = kv.key.as_str();
            if key.starts_with("booking.") || key.starts_with("payment.") {
                assert!(
                    documented(key, ConventionKind::Attribute),
                    "{key} on {} is not a documented attribute (a typo in fields(..)?)",
                    s.name
                );
            }
            assert!(
                !kv.value.to_string().contains(digits),
                "the card number leaked into {key} on {}",
                s.name
            );
        }
        if let Status::Error { description } = &s.status {
            assert!(!description.contains(digits));
        }
    }
}

#[test]
fn the_happy_path_is_the_guides_six_steps_under_booking_create() {
    let run = Run::new(&[]);
    check_common(&run);
    let confirmation = run.result.as_ref().expect("the booking is confirmed");
    assert!(confirmation.notified);
    assert_eq!(run.step_names(), FORWARD, "\n{}", run.tree());
    for s in &run.spans {
        assert_eq!(s.status, Status::Unset, "{}:\n{}", s.name, run.tree());
        assert_eq!(s.attribute(attribute::BOOKING_ROLLBACK), None);
    }

    let root = run.root();
    assert_eq!(
        root.attribute(attribute::BOOKING_STATUS),
        Some(&string("success"))
    );
    assert_eq!(
        root.attribute(attribute::BOOKING_CONFIRMATION_CODE),
        Some(&string(&confirmation.code))
    );
    assert!(
        root.attribute(attribute::BOOKING_USER_ID)
            .is_some_and(|u| u.to_string().starts_with("usr-"))
    );
    assert!(root.attribute(attribute::BOOKING_SOURCE).is_some());

    let availability = run.span(span::CHECK_AVAILABILITY);
    for key in [
        attribute::BOOKING_PROPERTY_ID,
        attribute::BOOKING_CHECK_IN,
        attribute::BOOKING_CHECK_OUT,
        attribute::BOOKING_GUESTS,
        attribute::BOOKING_AVAILABLE_COUNT,
    ] {
        assert!(availability.attribute(key).is_some(), "{key} missing");
    }

    let lock = run.span(span::ACQUIRE_LOCK);
    assert_eq!(
        lock.attribute(attribute::BOOKING_LOCK_TYPE),
        Some(&string("pessimistic"))
    );
    assert_eq!(
        lock.attribute(attribute::BOOKING_LOCK_ACQUIRED),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        lock.attribute(attribute::BOOKING_LOCK_TTL_MS),
        Some(&Value::I64(flow::LOCK_TTL_MS))
    );
    assert_eq!(
        lock.attribute(attribute::BOOKING_RESERVATION_ID),
        Some(&string(&confirmation.reservation_id))
    );

    let payment = run.span(span::PROCESS_PAYMENT);
    assert_eq!(payment.span_kind, SpanKind::Client);
    assert_eq!(
        payment.attribute(attribute::PAYMENT_STATUS),
        Some(&string("approved"))
    );
    assert_eq!(
        payment.attribute(attribute::PAYMENT_TRANSACTION_ID),
        Some(&string(&confirmation.transaction_id))
    );
    assert_eq!(
        payment.attribute(attribute::PAYMENT_METHOD),
        Some(&string("card"))
    );
    let last_four = payment
        .attribute(attribute::PAYMENT_CARD_LAST_FOUR)
        .expect("last four")
        .to_string();
    assert!(last_four.len() == 4 && last_four.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        payment
            .attribute(attribute::PAYMENT_GATEWAY_LATENCY_MS)
            .is_some()
    );
    assert_eq!(run.span(span::NOTIFY).span_kind, SpanKind::Producer);

    // The booking metrics, and one step duration per step.
    let success = [KeyValue::new(attribute::BOOKING_STATUS, "success")];
    assert_eq!(run.counter(metric::BOOKING_ATTEMPTS, &success), 1);
    assert_eq!(
        run.counter(
            metric::PAYMENT_ATTEMPTS,
            &[KeyValue::new(attribute::PAYMENT_STATUS, "approved")]
        ),
        1
    );
    assert_eq!(run.counter(metric::BOOKING_ACTIVE, &[]), 0);
    for step in FORWARD.iter().chain([&span::CREATE]) {
        let labels = [
            KeyValue::new(attribute::BOOKING_STEP, *step),
            KeyValue::new(attribute::BOOKING_OUTCOME, "ok"),
        ];
        assert_eq!(
            run.telemetry
                .histogram_count(metric::BOOKING_STEP_DURATION, &labels),
            1,
            "{step}"
        );
    }
    assert_eq!(run.counter(metric::BOOKING_ROLLBACKS, &[]), 0);
}

/// `--fail FLAG`: `failing` ends with status Error and `error_type`, then `rollbacks` run
/// in that order, each a child of `booking.create` started after the failure.
fn check_failure(flag: &str, failing: &str, error_type: &str, rollbacks: &[&'static str]) {
    let run = Run::new(&["--fail", flag]);
    check_common(&run);

    let failed = run.span(failing);
    assert!(
        matches!(failed.status, Status::Error { .. }),
        "{failing} should have failed:\n{}",
        run.tree()
    );
    assert_eq!(
        failed.attribute(standard::ERROR_TYPE),
        Some(&string(error_type))
    );
    assert_eq!(
        failed.attribute(attribute::BOOKING_OUTCOME),
        Some(&string("error"))
    );
    assert!(failed.event(event::EXCEPTION).is_some());

    // The forward path stops at the failing step; the compensations follow, newest first.
    let reached = FORWARD.iter().position(|s| *s == failing).expect("a step") + 1;
    let mut expected: Vec<&str> = FORWARD[..reached].to_vec();
    expected.extend(rollbacks);
    assert_eq!(run.step_names(), expected, "\n{}", run.tree());
    for name in rollbacks {
        let rollback = run.span(name);
        assert_eq!(
            rollback.attribute(attribute::BOOKING_ROLLBACK),
            Some(&Value::Bool(true))
        );
        assert_eq!(rollback.status, Status::Unset);
        assert!(rollback.start_time >= failed.end_time);
        assert_eq!(
            run.counter(
                metric::BOOKING_ROLLBACKS,
                &[KeyValue::new(attribute::BOOKING_ROLLBACK_STEP, *name)]
            ),
            1,
            "{name} counted in booking.rollbacks"
        );
    }
    assert_eq!(
        run.counter(metric::BOOKING_ROLLBACKS, &[]),
        rollbacks.len() as i64
    );

    let root = run.root();
    if failing == span::NOTIFY {
        // Confirmed before the notification: the booking stands, nothing is undone.
        let confirmation = run.result.as_ref().expect("the booking stands");
        assert!(!confirmation.notified);
        assert_eq!(root.status, Status::Unset);
        assert_eq!(
            root.attribute(attribute::BOOKING_STATUS),
            Some(&string("success"))
        );
    } else {
        let error = run.result.as_ref().expect_err("the booking failed");
        assert_eq!(error.error_type(), error_type);
        assert!(!error.is_rejection());
        assert!(matches!(root.status, Status::Error { .. }));
        assert_eq!(
            root.attribute(standard::ERROR_TYPE),
            Some(&string(error_type))
        );
        assert_eq!(
            root.attribute(attribute::BOOKING_STATUS),
            Some(&string("failed"))
        );
        assert_eq!(
            run.counter(
                metric::BOOKING_ATTEMPTS,
                &[KeyValue::new(attribute::BOOKING_STATUS, "failed")]
            ),
            1
        );
    }
}

#[test]
fn fail_availability_rolls_nothing_back() {
    check_failure(
        "availability",
        span::CHECK_AVAILABILITY,
        "inventory_unavailable",
        &[],
    );
}

#[test]
fn fail_price_restores_the_inventory() {
    check_failure(
        "price",
        span::PRICE,
        "pricing_unavailable",
        &[span::ROLLBACK_RESTORE_INVENTORY],
    );
}

#[test]
fn fail_lock_restores_the_inventory() {
    check_failure(
        "lock",
        span::ACQUIRE_LOCK,
        "lock_service_timeout",
        &[span::ROLLBACK_RESTORE_INVENTORY],
    );
}

#[test]
fn fail_payment_releases_the_lock_then_restores_the_inventory() {
    check_failure(
        "payment",
        span::PROCESS_PAYMENT,
        "gateway_timeout",
        &[
            span::ROLLBACK_RELEASE_LOCK,
            span::ROLLBACK_RESTORE_INVENTORY,
        ],
    );
}

#[test]
fn fail_confirm_refunds_releases_and_restores_newest_first() {
    check_failure(
        "confirm",
        span::CONFIRM,
        "confirmation_failed",
        &[
            span::ROLLBACK_REFUND_PAYMENT,
            span::ROLLBACK_RELEASE_LOCK,
            span::ROLLBACK_RESTORE_INVENTORY,
        ],
    );
}

#[test]
fn fail_notify_leaves_the_confirmed_booking_alone() {
    check_failure("notify", span::NOTIFY, "notification_failed", &[]);
}

#[test]
fn every_fail_value_is_covered_above() {
    let covered = [
        "availability",
        "price",
        "lock",
        "payment",
        "confirm",
        "notify",
    ];
    let values: Vec<&str> = services::FailAt::ALL.iter().map(|(n, _)| *n).collect();
    assert_eq!(values, covered);
}

/// No span of the trace has status Error: a rejection is not a failure.
fn assert_no_error(run: &Run) {
    for s in &run.spans {
        assert!(
            !matches!(s.status, Status::Error { .. }),
            "{} is an error:\n{}",
            s.name,
            run.tree()
        );
    }
}

#[test]
fn decline_is_a_rejection_with_a_payment_declined_event_not_a_failure() {
    let run = Run::new(&["--decline"]);
    check_common(&run);
    assert_no_error(&run);
    let error = run.result.as_ref().expect_err("declined");
    assert!(error.is_rejection());
    assert_eq!(error.error_type(), "card_declined");

    let payment = run.span(span::PROCESS_PAYMENT);
    assert_eq!(
        payment.attribute(attribute::BOOKING_OUTCOME),
        Some(&string("rejected"))
    );
    assert_eq!(
        payment.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&string("card_declined"))
    );
    assert_eq!(
        payment.attribute(attribute::PAYMENT_STATUS),
        Some(&string("declined"))
    );
    assert!(
        payment
            .event_attribute(event::PAYMENT_DECLINED, attribute::PAYMENT_DECLINE_REASON)
            .is_some()
    );
    assert!(payment.event(event::EXCEPTION).is_none());
    assert_eq!(payment.attribute(standard::ERROR_TYPE), None);

    let root = run.root();
    assert_eq!(
        root.attribute(attribute::BOOKING_STATUS),
        Some(&string("rejected"))
    );
    assert_eq!(
        root.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&string("card_declined"))
    );
    assert_eq!(
        run.step_names(),
        [
            span::CHECK_AVAILABILITY,
            span::PRICE,
            span::ACQUIRE_LOCK,
            span::PROCESS_PAYMENT,
            span::ROLLBACK_RELEASE_LOCK,
            span::ROLLBACK_RESTORE_INVENTORY,
        ]
    );
    assert_eq!(
        run.counter(
            metric::BOOKING_ATTEMPTS,
            &[KeyValue::new(attribute::BOOKING_STATUS, "rejected")]
        ),
        1
    );
    assert_eq!(
        run.counter(
            metric::PAYMENT_ATTEMPTS,
            &[KeyValue::new(attribute::PAYMENT_STATUS, "declined")]
        ),
        1
    );
    // Rejected steps count as `rejected`, not `error`, in the step metrics.
    let labels = [
        KeyValue::new(attribute::BOOKING_STEP, span::PROCESS_PAYMENT),
        KeyValue::new(attribute::BOOKING_OUTCOME, "rejected"),
    ];
    assert_eq!(
        run.telemetry
            .histogram_count(metric::BOOKING_STEP_DURATION, &labels),
        1
    );
}

#[test]
fn contention_records_a_lock_contention_event_and_restores_the_inventory() {
    let run = Run::new(&["--contention"]);
    check_common(&run);
    assert_no_error(&run);
    let lock = run.span(span::ACQUIRE_LOCK);
    assert_eq!(
        lock.event_attribute(event::LOCK_CONTENTION, attribute::BOOKING_CONTENTION_REASON),
        Some(&string("held"))
    );
    assert!(
        lock.event_attribute(
            event::LOCK_CONTENTION,
            attribute::BOOKING_COMPETING_RESERVATION
        )
        .is_some_and(|r| r.to_string().starts_with("res-"))
    );
    assert_eq!(
        lock.attribute(attribute::BOOKING_LOCK_ACQUIRED),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        lock.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&string("lock_contention"))
    );
    assert_eq!(
        run.step_names(),
        [
            span::CHECK_AVAILABILITY,
            span::PRICE,
            span::ACQUIRE_LOCK,
            span::ROLLBACK_RESTORE_INVENTORY,
        ]
    );
    assert_eq!(
        run.counter(
            metric::BOOKING_LOCK_CONTENTION,
            &[KeyValue::new(attribute::BOOKING_CONTENTION_REASON, "held")]
        ),
        1
    );
}

#[test]
fn sold_out_is_a_rejection_with_nothing_to_roll_back() {
    let run = Run::new(&["--sold-out"]);
    check_common(&run);
    assert_no_error(&run);
    let availability = run.span(span::CHECK_AVAILABILITY);
    assert_eq!(
        availability.attribute(attribute::BOOKING_AVAILABLE_COUNT),
        Some(&Value::I64(0))
    );
    assert_eq!(
        availability.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&string("sold_out"))
    );
    assert_eq!(run.step_names(), [span::CHECK_AVAILABILITY]);
}

/// The summary from the test kit's metrics (the example reads the same instruments from
/// its own in-memory reader: `Summary::from_metrics`, tested below).
fn summary_from(telemetry: &TestTelemetry) -> Summary {
    let mut summary = Summary::default();
    for status in ["success", "rejected", "failed", "timeout"] {
        let n = telemetry.counter_sum(
            metric::BOOKING_ATTEMPTS,
            &[KeyValue::new(attribute::BOOKING_STATUS, status)],
        );
        if n > 0 {
            summary.add_status(status, n as u64);
        }
    }
    let histogram = |name: &str, labels: &[KeyValue]| {
        telemetry
            .histogram(name, labels)
            .map(|h| Histogram {
                bounds: h.bounds,
                bucket_counts: h.bucket_counts,
                count: h.count,
                min: None,
                max: None,
            })
            .unwrap_or_default()
    };
    summary.bookings = histogram(metric::BOOKING_DURATION, &[]);
    let mut steps: Vec<String> = telemetry
        .metric_attribute_sets(metric::BOOKING_STEP_DURATION)
        .iter()
        .flatten()
        .filter(|kv| kv.key.as_str() == attribute::BOOKING_STEP)
        .map(|kv| kv.value.to_string())
        .collect();
    steps.dedup();
    steps.sort();
    steps.dedup();
    for step in steps {
        let labels = [KeyValue::new(attribute::BOOKING_STEP, step.clone())];
        summary.add_step(&step, &histogram(metric::BOOKING_STEP_DURATION, &labels));
    }
    summary
}

#[test]
fn bookings_200_summary_adds_up() {
    let options = cli::parse(["--bookings", "200"]).expect("valid");
    assert!(
        options.scenario.random,
        "--bookings alone draws a realistic mix"
    );
    let telemetry = TestTelemetry::install();
    let metrics = telemetry.booking_metrics();
    let started = Instant::now();
    let results = runtime().block_on(flow::run_many(200, SEED, &options.scenario, &metrics));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bookings run concurrently"
    );
    assert_eq!(results.len(), 200);
    let spans = telemetry.spans();
    let summary = summary_from(&telemetry);

    // Outcomes: the metrics, the results and the root spans tell the same story.
    assert_eq!(summary.total(), 200);
    let confirmed = results.iter().filter(|r| r.is_ok()).count() as u64;
    let rejected = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(|e| e.is_rejection()))
        .count() as u64;
    let status = |name: &str| {
        summary
            .statuses
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(status("success"), confirmed);
    assert_eq!(status("rejected"), rejected);
    assert_eq!(status("failed"), 200 - confirmed - rejected);
    assert!(
        confirmed > 150 && rejected > 0,
        "a realistic mix: {:?}",
        summary.statuses
    );

    let roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == SpanId::INVALID)
        .collect();
    assert_eq!(roots.len(), 200, "one trace per booking");
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for root in &roots {
        assert_eq!(root.name, span::CREATE);
        let s = root.attribute(attribute::BOOKING_STATUS).expect("status");
        *by_status.entry(s.to_string()).or_default() += 1;
    }
    for (s, n) in &summary.statuses {
        assert_eq!(by_status.get(s), Some(n), "{s}");
    }

    // Steps: each histogram counts exactly the spans of that step; every booking checked
    // availability; the rollbacks are the non-confirmed bookings that held a room.
    assert_eq!(summary.bookings.count, 200);
    for (step, histogram) in &summary.steps {
        let spans_of_step = spans.iter().filter(|s| s.name == step.as_str()).count();
        assert_eq!(histogram.count, spans_of_step as u64, "{step}");
        assert!(histogram.quantile(0.5) <= histogram.quantile(0.99));
    }
    let count = |name: &str| {
        summary
            .steps
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, h)| h.count)
    };
    assert_eq!(count(span::CREATE), 200);
    assert_eq!(count(span::CHECK_AVAILABILITY), 200);
    let held_a_room = roots
        .iter()
        .filter(|root| {
            root.attribute(attribute::BOOKING_STATUS) != Some(&string("success"))
                && children(&spans, root).iter().any(|s| {
                    s.name == span::CHECK_AVAILABILITY
                        && s.attribute(attribute::BOOKING_OUTCOME).is_none()
                })
        })
        .count() as u64;
    assert_eq!(count(span::ROLLBACK_RESTORE_INVENTORY), held_a_room);
    assert_eq!(
        count(span::NOTIFY),
        confirmed,
        "every confirmed booking notified (or tried to)"
    );

    let text = summary.render();
    assert!(has_line(&text, &["total", "200"]), "{text}");
    for (step, _) in summary.steps.iter().filter(|(s, _)| s != span::CREATE) {
        assert!(text.contains(step.as_str()), "{step} missing:\n{text}");
    }
}

/// Whether a line of `text` is these words, whatever the spacing.
fn has_line(text: &str, words: &[&str]) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().eq(words.iter().copied()))
}

#[test]
fn a_seed_replays_the_same_bookings() {
    let scenario = services::Scenario {
        random: true,
        ..Default::default()
    };
    let outcomes = || {
        let metrics = BookingMetrics::global();
        runtime()
            .block_on(flow::run_many(60, SEED, &scenario, &metrics))
            .iter()
            .map(|r| {
                r.as_ref()
                    .map(|c| c.code.clone())
                    .map_err(|e| e.error_type())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(outcomes(), outcomes());
}

#[test]
fn summary_reads_the_library_metrics_from_a_meter_provider() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    let exporter = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let meter = meter_provider.meter("summary-test");
    let tracer_provider = SdkTracerProvider::builder().build();
    // Passed explicitly (not installed), so that other tests are not affected.
    let telemetry = Telemetry::from_tracer_provider(&tracer_provider).with_meter(&meter);
    let metrics = BookingMetrics::new(&meter);
    for (i, status) in ["success", "success", "rejected"].iter().enumerate() {
        Step::new(span::CHECK_AVAILABILITY)
            .telemetry(&telemetry)
            .run(|| std::thread::sleep(Duration::from_millis(6 + i as u64 * 10)));
        metrics.record_booking(
            booking_otel::metrics::BookingStatus::parse(status),
            Duration::from_millis(300),
            "web",
        );
    }
    meter_provider.force_flush().expect("flush");
    let collected = exporter
        .get_finished_metrics()
        .expect("metrics")
        .pop()
        .expect("one collection");
    let summary = Summary::from_metrics(&collected);
    assert_eq!(
        summary.statuses,
        [("success".to_owned(), 2), ("rejected".to_owned(), 1)]
    );
    assert_eq!(summary.bookings.count, 3);
    let (step, histogram) = &summary.steps[0];
    assert_eq!(step, span::CHECK_AVAILABILITY);
    assert_eq!(histogram.count, 3);
    // min and max (6 ms and 26 ms, plus scheduling) bound the estimates.
    let (min, max) = (histogram.min.expect("min"), histogram.max.expect("max"));
    assert!(min >= 0.006 && max >= 0.026);
    for q in [0.5, 0.95, 0.99] {
        let estimate = histogram.quantile(q).expect("an estimate");
        assert!((min..=max).contains(&estimate), "p{q}: {estimate}");
    }
}

#[test]
fn percentiles_interpolate_within_the_bucket_that_holds_them() {
    // Buckets (0, 10 ms], (10, 25 ms], (25, 50 ms], (50 ms, ∞).
    let h = Histogram {
        bounds: vec![0.010, 0.025, 0.050],
        bucket_counts: vec![50, 40, 10, 0],
        count: 100,
        min: None,
        max: None,
    };
    let ms = |q: f64| (h.quantile(q).expect("non-empty") * 1_000.0 * 1_000.0).round() / 1_000.0;
    assert_eq!(ms(0.5), 10.0, "the 50th of 100 ends the first bucket");
    assert_eq!(ms(0.7), 17.5, "20 of the 40 in (10, 25]: halfway");
    assert_eq!(ms(0.95), 37.5, "5 of the 10 in (25, 50]: halfway");
    // Known extremes narrow the outer buckets.
    let narrowed = Histogram {
        min: Some(0.004),
        max: Some(0.045),
        ..h.clone()
    };
    assert_eq!(narrowed.quantile(0.0), Some(0.004));
    assert_eq!(narrowed.quantile(1.0), Some(0.045));
    assert_eq!(Histogram::default().quantile(0.5), None);
    // Merging adds the counts.
    let mut merged = h.clone();
    merged.merge(&h);
    assert_eq!(merged.count, 200);
    assert_eq!(merged.quantile(0.7), h.quantile(0.7));
}

#[test]
fn the_command_line_parses_every_flag_and_refuses_mistakes() {
    use services::FailAt;
    let parse = |args: &[&str]| cli::parse(args);
    let options = parse(&["--fail", "payment", "--seed", "9"]).expect("valid");
    assert_eq!(options.scenario.fail, Some(FailAt::Payment));
    assert_eq!(options.seed, 9);
    assert!(!options.scenario.random);
    assert_eq!(parse(&[]).expect("valid").seed, cli::DEFAULT_SEED);
    let forced = parse(&["--bookings", "5", "--decline"]).expect("valid");
    assert_eq!(forced.bookings, Some(5));
    assert!(forced.scenario.decline && !forced.scenario.random);
    assert!(parse(&["--contention"]).expect("valid").scenario.contention);
    assert_eq!(parse(&["--help"]), Err(cli::CliError::Help));
    for wrong in [
        &["--fail"][..],
        &["--fail", "teleport"],
        &["--bookings", "0"],
        &["--bookings", "many"],
        &["--seed", "-1"],
        &["--verbose"],
    ] {
        assert!(
            matches!(parse(wrong), Err(cli::CliError::Usage(_))),
            "{wrong:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The compiled binary, end to end.

/// Runs `booking_flow ARGS` with no collector configured and colours off.
fn booking_flow(args: &[&str]) -> std::process::Output {
    let mut command = Command::new(example_binary("booking_flow"));
    command.args(args).env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    command.output().expect("booking_flow runs")
}

#[test]
fn the_binary_prints_the_failing_step_and_its_rollbacks_then_a_summary() {
    let out = booking_flow(&["--fail", "payment", "--seed", "7"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    for name in [
        span::CREATE,
        span::PROCESS_PAYMENT,
        span::ROLLBACK_RELEASE_LOCK,
        span::ROLLBACK_RESTORE_INVENTORY,
    ] {
        assert!(stdout.contains(name), "{name} not printed:\n{stdout}");
    }
    assert!(
        stderr.contains("booking failed (gateway_timeout)"),
        "{stderr}"
    );

    let started = Instant::now();
    let out = booking_flow(&["--bookings", "300"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(has_line(&stdout, &["total", "300"]), "{stdout}");
    assert!(stdout.contains("p99"), "{stdout}");

    let help = booking_flow(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--fail STEP"));
    let wrong = booking_flow(&["--fail", "teleport"]);
    assert_eq!(wrong.status.code(), Some(2));
}
