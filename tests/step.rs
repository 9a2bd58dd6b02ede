//! The Step runtime, asserted on exported spans: nesting, statuses, error.type, the
//! exception event and its source chain, rejection vs failure, panics and cancellation.

use std::time::Duration;

use booking_otel::conventions::{attribute, event, span, standard};
use booking_otel::testing::{SpanDataExt, TestTelemetry, children};
use booking_otel::{Outcome, Step, StepError, events};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Value};

#[derive(Debug, thiserror::Error, StepError)]
enum PaymentError {
    #[error("card declined: {reason}")]
    #[step_error(rejection)]
    Declined { reason: String },
    #[error("payment gateway unavailable")]
    GatewayUnavailable(#[source] GatewayError),
}

#[derive(Debug, thiserror::Error)]
#[error("upstream returned 503")]
struct GatewayError(#[source] std::io::Error);

fn charge(outcome: &str) -> Result<&'static str, PaymentError> {
    Step::new(span::PROCESS_PAYMENT)
        .kind(SpanKind::Client)
        .attributes(|a| {
            a.set(attribute::PAYMENT_METHOD, "card");
            a.set(attribute::PAYMENT_CURRENCY, "EUR");
        })
        .run(|| match outcome {
            "declined" => {
                events::payment_declined("insufficient_funds");
                Err(PaymentError::Declined {
                    reason: "insufficient_funds".into(),
                })
            }
            "down" => Err(PaymentError::GatewayUnavailable(GatewayError(
                std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                ),
            ))),
            _ => Ok("txn_1"),
        })
}

#[test]
fn steps_nest_and_success_leaves_status_unset() {
    let telemetry = TestTelemetry::install();
    let result = Step::new(span::CREATE).run(|| {
        let rooms = Step::new(span::CHECK_AVAILABILITY).run(|| Some(3));
        assert_eq!(rooms, Some(3));
        charge("ok")
    });
    assert_eq!(result.unwrap(), "txn_1");

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 3, "{}", booking_otel::testing::tree(&spans));
    let create = telemetry.span(span::CREATE);
    let kids: Vec<&str> = children(&spans, &create)
        .iter()
        .map(|s| s.name.as_ref())
        .collect();
    assert_eq!(kids, [span::CHECK_AVAILABILITY, span::PROCESS_PAYMENT]);
    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert_eq!(payment.span_kind, SpanKind::Client);
    assert_eq!(payment.status, Status::Unset);
    assert_eq!(
        payment.attribute(attribute::PAYMENT_CURRENCY),
        Some(&Value::from("EUR"))
    );
    assert_eq!(payment.attribute(standard::ERROR_TYPE), None);
    assert_eq!(create.status, Status::Unset);
    assert_eq!(create.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}

#[test]
fn ok_status_only_when_the_application_opts_in() {
    let telemetry = TestTelemetry::builder().ok_on_success(true).install();
    charge("ok").unwrap();
    assert_eq!(telemetry.span(span::PROCESS_PAYMENT).status, Status::Ok);
}

#[test]
fn failure_sets_error_status_error_type_and_one_exception_event_with_the_chain() {
    let telemetry = TestTelemetry::install();
    assert!(charge("down").is_err());
    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert_eq!(
        payment.status,
        Status::error("payment gateway unavailable"),
        "the description is the error's Display"
    );
    assert_eq!(
        payment.attribute(standard::ERROR_TYPE),
        Some(&Value::from("gateway_unavailable"))
    );
    assert_eq!(
        payment.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("error"))
    );
    let exceptions: Vec<_> = payment
        .events
        .events
        .iter()
        .filter(|e| e.name == event::EXCEPTION)
        .collect();
    assert_eq!(exceptions.len(), 1);
    let exception_type = payment
        .event_attribute(event::EXCEPTION, standard::EXCEPTION_TYPE)
        .unwrap();
    assert!(
        exception_type.as_str().ends_with("PaymentError"),
        "{exception_type}"
    );
    assert_eq!(
        payment.event_attribute(event::EXCEPTION, standard::EXCEPTION_MESSAGE),
        Some(&Value::from("payment gateway unavailable"))
    );
    assert_eq!(
        payment.event_attribute(event::EXCEPTION, attribute::BOOKING_ERROR_CAUSES),
        Some(&Value::Array(Array::String(vec![
            "upstream returned 503".into(),
            "connection reset by peer".into()
        ])))
    );
}

#[test]
fn rejection_is_recorded_but_not_as_a_failure() {
    let telemetry = TestTelemetry::install();
    assert!(charge("declined").is_err());
    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert_eq!(payment.status, Status::Unset);
    assert_eq!(payment.attribute(standard::ERROR_TYPE), None);
    assert_eq!(
        payment.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("rejected"))
    );
    assert_eq!(
        payment.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&Value::from("declined"))
    );
    assert!(payment.event(event::EXCEPTION).is_none());
    assert_eq!(
        payment.event_attribute(event::REJECTION, attribute::BOOKING_REJECTION_REASON),
        Some(&Value::from("card declined: insufficient_funds"))
    );
    assert_eq!(
        payment.event_attribute(event::PAYMENT_DECLINED, attribute::PAYMENT_DECLINE_REASON),
        Some(&Value::from("insufficient_funds"))
    );
}

#[test]
fn lock_contention_event_carries_reason_and_holder() {
    let telemetry = TestTelemetry::install();
    Step::new(span::ACQUIRE_LOCK).run(|| events::lock_contention("held", "res-1b2c3d"));
    let lock = telemetry.span(span::ACQUIRE_LOCK);
    assert_eq!(
        lock.event_attribute(event::LOCK_CONTENTION, attribute::BOOKING_CONTENTION_REASON),
        Some(&Value::from("held"))
    );
    assert_eq!(
        lock.event_attribute(
            event::LOCK_CONTENTION,
            attribute::BOOKING_COMPETING_RESERVATION
        ),
        Some(&Value::from("res-1b2c3d"))
    );
}

#[test]
fn panic_ends_the_span_with_error_and_keeps_unwinding() {
    let telemetry = TestTelemetry::install();
    let unwound = std::panic::catch_unwind(|| {
        Step::new(span::CONFIRM).run(|| -> Option<()> { panic!("confirmation store corrupted") })
    });
    assert!(unwound.is_err(), "the panic must reach the caller");
    let confirm = telemetry.span(span::CONFIRM);
    assert_eq!(
        confirm.status,
        Status::error("panicked: confirmation store corrupted")
    );
    assert_eq!(
        confirm.attribute(standard::ERROR_TYPE),
        Some(&Value::from("panic"))
    );
    assert_eq!(
        confirm.event_attribute(event::EXCEPTION, standard::EXCEPTION_TYPE),
        Some(&Value::from("panic"))
    );
}

#[test]
fn a_started_step_dropped_while_unwinding_records_a_panic() {
    let telemetry = TestTelemetry::install();
    let _ = std::panic::catch_unwind(|| {
        let _step = Step::new(span::NOTIFY).start();
        panic!("smtp down");
    });
    let notify = telemetry.span(span::NOTIFY);
    assert_eq!(
        notify.attribute(standard::ERROR_TYPE),
        Some(&Value::from("panic"))
    );
    assert!(matches!(notify.status, Status::Error { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_steps_stay_current_across_awaits_and_spawns() {
    let telemetry = TestTelemetry::install();
    Step::new(span::CREATE)
        .instrument(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let spawned = tokio::spawn(booking_otel::propagation::in_current_trace(async {
                Step::new(span::NOTIFY).instrument(async { Some(()) }).await
            }));
            spawned.await.unwrap();
            Step::new(span::CONFIRM).run(|| Some(()))
        })
        .await;
    let spans = telemetry.spans();
    let create = telemetry.span(span::CREATE);
    let mut kids: Vec<&str> = children(&spans, &create)
        .iter()
        .map(|s| s.name.as_ref())
        .collect();
    kids.sort();
    assert_eq!(
        kids,
        [span::CONFIRM, span::NOTIFY],
        "{}",
        booking_otel::testing::tree(&spans)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_dropped_before_completion_is_recorded_as_cancelled() {
    let telemetry = TestTelemetry::install();
    let slow = Step::new(span::PROCESS_PAYMENT).instrument(async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Some(())
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(10), slow).await;
    assert!(timed_out.is_err());
    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert_eq!(payment.status, Status::error("cancelled"));
    assert_eq!(
        payment.attribute(standard::ERROR_TYPE),
        Some(&Value::from("cancelled"))
    );
    assert_eq!(
        payment.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("cancelled"))
    );
}

#[test]
fn rollback_steps_are_marked() {
    let telemetry = TestTelemetry::install();
    Step::new(span::ROLLBACK_RELEASE_LOCK).rollback().run(|| ());
    let release = telemetry.span(span::ROLLBACK_RELEASE_LOCK);
    assert_eq!(
        release.attribute(attribute::BOOKING_ROLLBACK),
        Some(&Value::from(true))
    );
}

#[test]
fn attributes_are_not_computed_for_unsampled_spans() {
    use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider};
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .with_simple_exporter(exporter.clone())
        .build();
    let telemetry = booking_otel::Telemetry::from_tracer_provider(&provider);
    let mut computed = false;
    Step::new(span::PRICE)
        .telemetry(&telemetry)
        .attributes(|_| computed = true)
        .run(|| ());
    assert!(!computed);
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}

#[test]
fn manual_finish_with_custom_outcome() {
    let telemetry = TestTelemetry::install();
    let step = Step::new(span::CHECK_AVAILABILITY).start();
    assert!(step.is_recording());
    step.finish(Outcome::Rejected {
        rejection_type: "sold_out",
        reason: &"no rooms left",
    });
    let check = telemetry.span(span::CHECK_AVAILABILITY);
    assert_eq!(
        check.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&Value::from("sold_out"))
    );
}

#[test]
fn parallel_handles_do_not_see_each_other() {
    let a = std::thread::spawn(|| {
        let t = TestTelemetry::install();
        Step::new("booking.thread_a").run(|| ());
        t.span_names()
    });
    let b = std::thread::spawn(|| {
        let t = TestTelemetry::install();
        Step::new("booking.thread_b").run(|| ());
        t.span_names()
    });
    assert_eq!(a.join().unwrap(), ["booking.thread_a"]);
    assert_eq!(b.join().unwrap(), ["booking.thread_b"]);
}

#[test]
fn step_duration_is_recorded_per_outcome_through_the_test_kit() {
    use booking_otel::conventions::metric;
    use opentelemetry::KeyValue;
    let telemetry = TestTelemetry::install();
    charge("ok").unwrap();
    charge("ok").unwrap();
    let _ = charge("declined");
    let _ = charge("down");
    Step::new(span::ROLLBACK_REFUND_PAYMENT)
        .rollback()
        .run(|| ());

    let step = KeyValue::new(attribute::BOOKING_STEP, span::PROCESS_PAYMENT);
    let ok = telemetry
        .histogram(
            metric::BOOKING_STEP_DURATION,
            &[
                step.clone(),
                KeyValue::new(attribute::BOOKING_OUTCOME, "ok"),
            ],
        )
        .unwrap();
    assert_eq!(ok.count, 2);
    assert_eq!(ok.bounds, booking_otel::metrics::DURATION_BUCKETS_SECONDS);
    assert_eq!(
        ok.bucket_counts[0], 2,
        "sub-5 ms steps land in the first bucket"
    );
    assert_eq!(
        telemetry.histogram_count(
            metric::BOOKING_STEP_DURATION,
            &[
                step.clone(),
                KeyValue::new(attribute::BOOKING_OUTCOME, "rejected"),
                KeyValue::new(standard::ERROR_TYPE, "declined")
            ]
        ),
        1
    );
    assert_eq!(
        telemetry.histogram_count(
            metric::BOOKING_STEP_DURATION,
            &[
                step,
                KeyValue::new(attribute::BOOKING_OUTCOME, "error"),
                KeyValue::new(standard::ERROR_TYPE, "gateway_unavailable")
            ]
        ),
        1
    );
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_ROLLBACKS,
            &[KeyValue::new(
                attribute::BOOKING_ROLLBACK_STEP,
                span::ROLLBACK_REFUND_PAYMENT
            )]
        ),
        1
    );
    // Success points carry no error.type.
    for set in telemetry.metric_attribute_sets(metric::BOOKING_STEP_DURATION) {
        let outcome = set
            .iter()
            .find(|kv| kv.key.as_str() == attribute::BOOKING_OUTCOME)
            .unwrap();
        let has_error_type = set.iter().any(|kv| kv.key.as_str() == standard::ERROR_TYPE);
        assert_eq!(has_error_type, outcome.value.as_str() != "ok", "{set:?}");
    }
}

mod hostile_errors {
    use super::*;

    #[derive(Debug)]
    struct PanickyDisplay;
    impl std::fmt::Display for PanickyDisplay {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("Display is broken")
        }
    }
    impl std::error::Error for PanickyDisplay {}
    impl StepError for PanickyDisplay {}

    #[derive(Debug)]
    struct Huge(String);
    impl std::fmt::Display for Huge {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Huge {}
    impl StepError for Huge {}

    #[test]
    fn an_error_whose_display_panics_is_returned_not_raised() {
        let telemetry = TestTelemetry::install();
        let result = Step::new("booking.confirm").run(|| Err::<(), _>(PanickyDisplay));
        assert!(result.is_err(), "the Err reaches the caller");
        let span = telemetry.span("booking.confirm");
        assert_eq!(
            span.status,
            Status::error("<Display implementation panicked>")
        );
    }

    #[test]
    fn a_one_megabyte_message_is_cut_to_the_documented_limit() {
        let telemetry = TestTelemetry::install();
        let _ = Step::new("booking.confirm").run(|| Err::<(), _>(Huge("x".repeat(1 << 20))));
        let span = telemetry.span("booking.confirm");
        let Status::Error { description } = &span.status else {
            panic!("status {:?}", span.status)
        };
        let limit = booking_otel::outcome::MAX_ERROR_MESSAGE_LEN + '…'.len_utf8();
        assert_eq!(description.len(), limit);
        let event = &span.events[0];
        let message = event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "exception.message")
            .map(|kv| kv.value.as_str().len());
        assert_eq!(message, Some(limit));
    }
}
