//! Logs through the test kit (in memory, the production log pipeline): `tracing` events
//! inside steps carry the step's trace id and span id (sync, async on a multi-thread
//! runtime, a step inside a `tracing` span, a spawned task), card numbers in log lines
//! are masked, exceptions go to logs when asked, and each test sees only its own
//! records.

use std::error::Error as _;

use booking_otel::logs::ExceptionSignal;
use booking_otel::testing::{LogRecordExt, SpanDataExt, TestTelemetry, capture_tracing_events};
use booking_otel::{Step, booking_step};
use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::SpanData;

#[derive(Debug, thiserror::Error)]
#[error("gateway refused card {0}")]
struct GatewayError(String);

#[booking_step(name = "booking.process_payment")]
fn charge(card: &str) -> Result<(), GatewayError> {
    tracing::warn!(attempt = 2, "charging card {card} failed");
    Err(GatewayError(card.to_owned()))
}

#[booking_step(name = "booking.confirm")]
async fn confirm(reference: &str) -> Result<String, GatewayError> {
    tokio::task::yield_now().await;
    tracing::info!(reference, "confirming");
    tokio::task::yield_now().await;
    Ok(reference.to_owned())
}

fn assert_in(record: &SdkLogRecord, span: &SpanData) {
    let cx = record
        .trace_context()
        .expect("the record carries a trace context");
    assert_eq!(cx.trace_id, span.span_context.trace_id());
    assert_eq!(cx.span_id, span.span_context.span_id(), "{record:?}");
}

#[test]
fn a_warning_inside_a_failing_step_carries_its_span_id_and_a_masked_card_number() {
    assert!(capture_tracing_events());
    let telemetry = TestTelemetry::install();
    assert!(charge("4111 1111 1111 1111").is_err());

    let step = telemetry.span("booking.process_payment");
    let logs = telemetry.logs_of(&step);
    assert_eq!(logs.len(), 1, "{:?}", telemetry.logs());
    let warning = &logs[0];
    assert_in(warning, &step);
    assert_eq!(warning.severity_number(), Some(Severity::Warn));
    assert_eq!(
        warning.body_text().as_deref(),
        Some("charging card **** **** **** 1111 failed")
    );
    assert_eq!(warning.attribute("attempt"), Some(&AnyValue::Int(2)));
    // By default the exception stays a span event and emits no log record.
    assert!(step.event("exception").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_in_an_async_step_spawned_on_a_multi_thread_runtime_carries_its_ids() {
    capture_tracing_events();
    let telemetry = TestTelemetry::install();
    let reference = String::from("K7Q2ZP");
    // A newcomer's shape: the step's future handed to tokio::spawn, a borrowed &str.
    let handle = tokio::spawn(booking_otel::propagation::in_current_trace(async move {
        confirm(&reference).await
    }));
    assert_eq!(handle.await.unwrap().unwrap(), "K7Q2ZP");
    let step = telemetry.span("booking.confirm");
    let logs = telemetry.logs_of(&step);
    assert_eq!(logs.len(), 1, "{:?}", telemetry.logs());
    assert_in(&logs[0], &step);
    assert_eq!(logs[0].body_text().as_deref(), Some("confirming"));
    assert_eq!(
        logs[0].attribute_text("reference").as_deref(),
        Some("K7Q2ZP")
    );
}

#[test]
fn a_step_inside_a_tracing_span_still_owns_the_events_inside_it() {
    capture_tracing_events();
    let telemetry = TestTelemetry::install();
    let handler = tracing::info_span!("http.handler");
    handler.in_scope(|| {
        tracing::info!("before the step");
        Step::new("booking.check_availability").run(|| {
            tracing::info!(rooms = 3, "checked");
            Some(3)
        });
    });
    let step = telemetry.span("booking.check_availability");
    let inside = telemetry.logs_of(&step);
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].body_text().as_deref(), Some("checked"));
    // The event before the step has no OpenTelemetry span around it.
    let all = telemetry.logs();
    let before = all
        .iter()
        .find(|r| r.body_text().as_deref() == Some("before the step"))
        .expect("the event outside the step is captured too");
    assert!(before.trace_context().is_none());
}

#[test]
fn structured_fields_and_errors_are_redacted_like_span_attributes() {
    capture_tracing_events();
    let telemetry = TestTelemetry::install();
    let error = GatewayError("5555 5555 5555 4444".into());
    Step::new("booking.process_payment").run(|| {
        tracing::error!(
            card_number = "4111111111111111",
            note = "cvv 123 given",
            error = &error as &dyn std::error::Error,
            "payment failed"
        );
    });
    let step = telemetry.span("booking.process_payment");
    let record = &telemetry.logs_of(&step)[0];
    assert_eq!(
        record.attribute_text("card_number").as_deref(),
        Some("[REDACTED]")
    );
    assert_eq!(
        record.attribute_text("note").as_deref(),
        Some("cvv *** given")
    );
    assert_eq!(
        record.attribute_text("exception.message").as_deref(),
        Some("gateway refused card **** **** **** 4444")
    );
    assert!(error.source().is_none());
}

#[test]
fn exceptions_go_to_logs_only_to_both_or_to_span_events_as_asked() {
    // `logs`: one ERROR record correlated with the failed step, no span event.
    let telemetry = TestTelemetry::builder()
        .exceptions_as(ExceptionSignal::Logs)
        .install();
    assert!(charge_quietly("card 4111-1111-1111-1111 declined").is_err());
    let step = telemetry.span("booking.process_payment");
    assert!(
        step.event("exception").is_none(),
        "no span event with `logs`"
    );
    let records = telemetry.logs_of(&step);
    assert_eq!(records.len(), 1, "{records:?}");
    let exception = &records[0];
    assert_in(exception, &step);
    assert_eq!(exception.severity_number(), Some(Severity::Error));
    assert_eq!(exception.event_name(), Some("exception"));
    assert!(
        exception
            .attribute_text("exception.type")
            .unwrap()
            .ends_with("GatewayError")
    );
    assert_eq!(
        exception.attribute_text("exception.message").as_deref(),
        Some("gateway refused card card ****-****-****-1111 declined")
    );
    assert_eq!(
        exception.attribute_text("error.type").as_deref(),
        Some("GatewayError")
    );
    assert!(exception.attribute("exception.stacktrace").is_none());
    drop(telemetry);

    // `logs/dup`: both.
    let telemetry = TestTelemetry::builder()
        .exceptions_as(ExceptionSignal::LogsAndSpanEvents)
        .install();
    assert!(charge_quietly("timeout").is_err());
    let step = telemetry.span("booking.process_payment");
    assert!(step.event("exception").is_some());
    assert_eq!(telemetry.logs_of(&step).len(), 1);
    drop(telemetry);

    // Span events: no record.
    let telemetry = TestTelemetry::builder()
        .exceptions_as(ExceptionSignal::SpanEvents)
        .install();
    assert!(charge_quietly("timeout").is_err());
    let step = telemetry.span("booking.process_payment");
    assert!(step.event("exception").is_some());
    assert!(telemetry.logs().is_empty());
}

#[booking_step(name = "booking.process_payment")]
fn charge_quietly(message: &str) -> Result<(), GatewayError> {
    Err(GatewayError(message.to_owned()))
}

#[test]
fn a_panicking_step_emits_its_exception_as_a_log_record_when_asked() {
    let telemetry = TestTelemetry::builder()
        .exceptions_as(ExceptionSignal::Logs)
        .install();
    let unwound = std::panic::catch_unwind(|| {
        Step::new("booking.notify").run(|| -> Option<()> { panic!("smtp down") })
    });
    assert!(unwound.is_err());
    let step = telemetry.span("booking.notify");
    let records = telemetry.logs_of(&step);
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0].attribute_text("exception.type").as_deref(),
        Some("panic")
    );
    assert_eq!(
        records[0].attribute_text("exception.message").as_deref(),
        Some("panicked: smtp down")
    );
}

#[test]
fn each_test_sees_only_its_own_records() {
    capture_tracing_events();
    let first = TestTelemetry::install();
    Step::new("booking.create").run(|| tracing::info!("first"));
    let second = TestTelemetry::install();
    Step::new("booking.create").run(|| tracing::info!("second"));
    let texts = |t: &TestTelemetry| -> Vec<String> {
        t.logs().iter().filter_map(|r| r.body_text()).collect()
    };
    assert_eq!(texts(&second), ["second"]);
    drop(second);
    assert_eq!(texts(&first), ["first"]);
}
