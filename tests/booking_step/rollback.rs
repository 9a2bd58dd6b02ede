//! `rollback`: a compensating step, named `booking.rollback.<fn name>`, marked
//! `booking.rollback = true` and counted in `booking.rollbacks`.

use booking_otel::conventions::{attribute, metric};
use booking_otel::testing::{SpanDataExt, TestTelemetry, children};
use booking_otel::{StepError, booking_step};
use opentelemetry::{KeyValue, Value};

#[derive(Debug, thiserror::Error, StepError)]
enum RefundError {
    #[error("refund rejected by the gateway")]
    Rejected,
}

#[booking_step(rollback)]
fn release_lock(lock_id: &str) -> bool {
    !lock_id.is_empty()
}

#[booking_step(rollback, name = "booking.rollback.refund")]
fn refund_payment(amount_cents: u64) -> Result<(), RefundError> {
    if amount_cents > 0 {
        Err(RefundError::Rejected)
    } else {
        Ok(())
    }
}

#[booking_step(name = "booking.create")]
fn create_booking() -> Result<(), RefundError> {
    release_lock("lock-7");
    refund_payment(12_900)
}

#[test]
fn rollback_steps_are_named_marked_and_counted() {
    let telemetry = TestTelemetry::install();
    assert!(create_booking().is_err());

    let spans = telemetry.spans();
    let create = telemetry.span("booking.create");
    let kids: Vec<&str> = children(&spans, &create)
        .iter()
        .map(|s| s.name.as_ref())
        .collect();
    assert_eq!(
        kids,
        ["booking.rollback.release_lock", "booking.rollback.refund"]
    );
    for name in kids {
        let span = telemetry.span(name);
        assert_eq!(
            span.attribute(attribute::BOOKING_ROLLBACK),
            Some(&Value::Bool(true))
        );
    }
    assert_eq!(create.attribute(attribute::BOOKING_ROLLBACK), None);

    let counted = |step: &'static str, outcome: &'static str| {
        telemetry.counter_sum(
            metric::BOOKING_ROLLBACKS,
            &[
                KeyValue::new(attribute::BOOKING_ROLLBACK_STEP, step),
                KeyValue::new(attribute::BOOKING_OUTCOME, outcome),
            ],
        )
    };
    assert_eq!(counted("booking.rollback.release_lock", "ok"), 1);
    assert_eq!(counted("booking.rollback.refund", "error"), 1);
    assert_eq!(telemetry.counter_sum(metric::BOOKING_ROLLBACKS, &[]), 2);
}
