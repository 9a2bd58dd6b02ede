//! Faults inside instrumented code and hostile input: panics, cancellations (`select!`,
//! timeout, aborted `JoinHandle`) under concurrency, error source chains thousands deep
//! or endless, odd attribute values and too many attributes. Every span ends exactly
//! once with the documented status, nothing panics into the booking, and every record is
//! bounded by a documented limit.

use std::collections::HashSet;
use std::time::Duration;

use booking_otel::conventions::{attribute, standard};
use booking_otel::outcome::MAX_ERROR_CAUSES;
use booking_otel::testing::{SpanDataExt, TestTelemetry};
use booking_otel::{Step, StepError};
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, Value};

/// An error whose `source()` chain is `depth` long.
#[derive(Debug)]
struct Deep {
    depth: usize,
    next: Option<Box<Deep>>,
}

impl Deep {
    fn chain(depth: usize) -> Deep {
        let mut error = Deep {
            depth: 0,
            next: None,
        };
        for depth in 1..depth {
            error = Deep {
                depth,
                next: Some(Box::new(error)),
            };
        }
        error
    }
}

impl std::fmt::Display for Deep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "layer {}", self.depth)
    }
}

impl std::error::Error for Deep {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next.as_deref().map(|e| e as _)
    }
}

impl StepError for Deep {}

/// An error that is its own cause: `source()` never ends.
#[derive(Debug)]
struct Endless;

static ENDLESS: Endless = Endless;

impl std::fmt::Display for Endless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("retrying")
    }
}

impl std::error::Error for Endless {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&ENDLESS)
    }
}

impl StepError for Endless {}

fn causes(span: &opentelemetry_sdk::trace::SpanData) -> Vec<String> {
    let event = span.events.iter().next().expect("the exception event");
    match event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == attribute::BOOKING_ERROR_CAUSES)
        .map(|kv| &kv.value)
    {
        Some(Value::Array(Array::String(causes))) => {
            causes.iter().map(|c| c.as_str().to_owned()).collect()
        }
        other => panic!("causes: {other:?}"),
    }
}

#[test]
fn a_source_chain_ten_thousand_deep_is_cut_to_the_documented_limit() {
    let telemetry = TestTelemetry::install();
    let result = Step::new("booking.confirm").run(|| Err::<(), _>(Deep::chain(10_000)));
    assert!(result.is_err());
    let span = telemetry.span("booking.confirm");
    assert_eq!(span.status, Status::error("layer 9999"));
    let causes = causes(&span);
    assert_eq!(causes.len(), MAX_ERROR_CAUSES);
    assert_eq!(causes[0], "layer 9998");
}

#[test]
fn an_endless_source_chain_ends_at_the_documented_limit() {
    let telemetry = TestTelemetry::install();
    let result = Step::new("booking.confirm").run(|| Err::<(), _>(Endless));
    assert!(result.is_err());
    let span = telemetry.span("booking.confirm");
    assert_eq!(causes(&span).len(), MAX_ERROR_CAUSES);
}

/// What each of the concurrent bookings does.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Succeeds,
    Panics,
    LosesASelect,
    TimesOut,
    IsAborted,
}

const FATES: [Fate; 5] = [
    Fate::Succeeds,
    Fate::Panics,
    Fate::LosesASelect,
    Fate::TimesOut,
    Fate::IsAborted,
];

async fn slow_step(i: usize) -> Option<usize> {
    Step::new("booking.process_payment")
        .instrument(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Some(i)
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_concurrency_every_span_ends_exactly_once_with_its_documented_status() {
    let telemetry = TestTelemetry::install();
    let mut tasks = Vec::new();
    for i in 0..250 {
        let fate = FATES[i % FATES.len()];
        let task = tokio::spawn(booking_otel::propagation::in_current_trace(async move {
            match fate {
                Fate::Succeeds => {
                    Step::new("booking.confirm")
                        .instrument(async move {
                            tokio::task::yield_now().await;
                            Some(i)
                        })
                        .await;
                }
                Fate::Panics => {
                    Step::new("booking.acquire_lock")
                        .instrument(async move {
                            tokio::task::yield_now().await;
                            if i < usize::MAX {
                                panic!("lock table corrupted");
                            }
                            Some(i)
                        })
                        .await;
                }
                Fate::LosesASelect => {
                    tokio::select! {
                        _ = slow_step(i) => unreachable!("the slow step never wins"),
                        _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                    }
                }
                Fate::TimesOut => {
                    let _ = tokio::time::timeout(Duration::from_millis(5), slow_step(i)).await;
                }
                Fate::IsAborted => {
                    let handle =
                        tokio::spawn(booking_otel::propagation::in_current_trace(slow_step(i)));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    handle.abort();
                    let _ = handle.await;
                }
            }
        }));
        tasks.push((fate, task));
    }
    for (fate, task) in tasks {
        let joined = task.await;
        assert_eq!(
            joined.is_err(),
            matches!(fate, Fate::Panics),
            "only the panicking bookings panic, and their panic reaches the caller"
        );
    }

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 250, "one span per booking, no more, no less");
    let ids: HashSet<_> = spans.iter().map(|s| s.span_context.span_id()).collect();
    assert_eq!(ids.len(), 250, "every span ended exactly once");
    let count = |name: &str, error_type: Option<&str>| {
        spans
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                s.attribute(standard::ERROR_TYPE)
                    .map(|v| v.as_str().into_owned())
                    .as_deref()
                    == error_type
            })
            .count()
    };
    assert_eq!(count("booking.confirm", None), 50);
    assert_eq!(count("booking.acquire_lock", Some("panic")), 50);
    assert_eq!(
        count("booking.process_payment", Some("cancelled")),
        150,
        "select!, timeout and abort all end the step as cancelled"
    );
    for span in spans.iter().filter(|s| s.name != "booking.confirm") {
        assert!(matches!(span.status, Status::Error { .. }), "{span:?}");
    }
}

#[test]
fn odd_attribute_values_are_exported_as_given() {
    let telemetry = TestTelemetry::install();
    let odd = [
        ("booking.note.empty", ""),
        (
            "booking.note.control",
            "line1\nline2\t\u{0}\u{7f}\u{1b}[31m",
        ),
        ("booking.note.unicode", "Zürich → 東京 🏨"),
        ("booking.note.rtl", "\u{202e}gnikoob"),
    ];
    let step = Step::new("booking.create").start();
    for (key, value) in odd {
        step.set_attribute(KeyValue::new(key, value));
    }
    step.finish_ok();
    let span = telemetry.span("booking.create");
    for (key, value) in odd {
        assert_eq!(
            span.attribute(key),
            Some(&Value::from(value)),
            "{key} arrives unchanged"
        );
    }
}

#[test]
fn attributes_past_the_sdk_count_limit_are_dropped_and_counted() {
    let telemetry = TestTelemetry::install();
    let step = Step::new("booking.create").start();
    for i in 0..1_000 {
        step.set_attribute(KeyValue::new(format!("booking.extra.{i}"), i64::from(i)));
    }
    step.finish_ok();
    let span = telemetry.span("booking.create");
    // The SDK's default limit (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT) is 128.
    assert_eq!(span.attributes.len(), 128);
    assert_eq!(
        span.dropped_attributes_count,
        1_000 - 128,
        "every attribute past the limit is counted"
    );
}
