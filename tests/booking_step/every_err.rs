//! Every `Err` is a failure, whatever its type (issue 11.3): `Result<T, ()>`, a generic
//! `E` without bounds, an error that is only `Debug`.

use booking_otel::booking_step;
use booking_otel::conventions::{attribute, event, standard};
use booking_otel::testing::{SpanDataExt, TestTelemetry};
use opentelemetry::Value;
use opentelemetry::trace::Status;

#[booking_step]
fn acquire_lock(held: bool) -> Result<u32, ()> {
    if held { Err(()) } else { Ok(7) }
}

#[booking_step(name = "booking.retry")]
fn retry<E>(attempt: impl FnOnce() -> Result<u32, E>) -> Result<u32, E> {
    attempt()
}

#[derive(Debug)]
#[allow(dead_code)]
enum LockState {
    HeldBy(u32),
}

#[booking_step]
async fn release_lock(ok: bool) -> Result<(), LockState> {
    if ok {
        Ok(())
    } else {
        Err(LockState::HeldBy(3))
    }
}

fn assert_failed(span: &opentelemetry_sdk::trace::SpanData, description: &str) {
    assert_eq!(
        span.status,
        Status::error(description.to_string()),
        "{}",
        span.name
    );
    assert_eq!(
        span.attribute(standard::ERROR_TYPE),
        Some(&Value::from("_OTHER"))
    );
    assert_eq!(
        span.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("error"))
    );
    let exceptions: Vec<_> = span
        .events
        .iter()
        .filter(|e| e.name == event::EXCEPTION)
        .collect();
    assert_eq!(exceptions.len(), 1);
}

#[test]
fn result_with_unit_error_fails() {
    let telemetry = TestTelemetry::install();
    assert_eq!(acquire_lock(false), Ok(7));
    assert_eq!(acquire_lock(true), Err(()));
    let spans = telemetry.spans();
    assert_eq!(spans[0].status, Status::Unset);
    assert_failed(&spans[1], "Err(())");
}

#[test]
fn a_generic_error_without_bounds_fails() {
    struct Opaque;
    let telemetry = TestTelemetry::install();
    assert!(retry(|| Err::<u32, Opaque>(Opaque)).is_err());
    assert_eq!(retry(|| Ok::<u32, Opaque>(1)).ok(), Some(1));
    let spans = telemetry.spans();
    let description = format!("Err({})", std::any::type_name::<Opaque>());
    assert_failed(&spans[0], &description);
    assert_eq!(spans[1].status, Status::Unset);
}

#[test]
fn a_debug_only_error_fails_in_an_async_step() {
    let telemetry = TestTelemetry::install();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(rt.block_on(release_lock(false)).is_err());
    let span = telemetry.span("booking.release_lock");
    assert_failed(
        &span,
        &format!("Err({})", std::any::type_name::<LockState>()),
    );
}
