//! Logs with `tracing-opentelemetry` in the same subscriber (the usual service: an axum
//! handler's tracing span around the steps, sqlx's inside them): an event in a step
//! nested in a tracing span carries the step's ids, and an event in a tracing span
//! opened inside a step carries that span's ids, a child of the step's. Sync, and async
//! on a multi-thread runtime.

use std::sync::OnceLock;

use booking_otel::testing::{LogRecordExt, TestTelemetry, parent_of};
use booking_otel::{Step, booking_step};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::SpanData;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// One subscriber for this binary: spans through tracing-opentelemetry, events through
/// the logs layer.
fn install_subscriber(telemetry: &TestTelemetry) {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let tracer = telemetry.tracer_provider().tracer("tracing");
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .with(booking_otel::logs::layer());
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
    });
}

fn record<'a>(records: &'a [SdkLogRecord], body: &str) -> &'a SdkLogRecord {
    records
        .iter()
        .find(|r| r.body_text().as_deref() == Some(body))
        .unwrap_or_else(|| panic!("no record {body:?} in {records:?}"))
}

fn ids(span: &SpanData) -> (opentelemetry::TraceId, opentelemetry::SpanId) {
    (span.span_context.trace_id(), span.span_context.span_id())
}

fn record_ids(record: &SdkLogRecord) -> (opentelemetry::TraceId, opentelemetry::SpanId) {
    let cx = record.trace_context().expect("a trace context");
    (cx.trace_id, cx.span_id)
}

#[test]
fn events_belong_to_the_innermost_span_whether_a_step_or_a_tracing_span() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    tracing::info_span!("http.handler").in_scope(|| {
        tracing::info!("in the handler");
        Step::new("booking.create").run(|| {
            tracing::info!("in the step");
            tracing::info_span!("sqlx.query").in_scope(|| tracing::info!("in the query"));
        });
    });
    let spans = telemetry.spans();
    let logs = telemetry.logs();
    let span = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        record_ids(record(&logs, "in the handler")),
        ids(span("http.handler"))
    );
    assert_eq!(
        record_ids(record(&logs, "in the step")),
        ids(span("booking.create"))
    );
    assert_eq!(
        record_ids(record(&logs, "in the query")),
        ids(span("sqlx.query"))
    );
    assert_eq!(
        parent_of(&spans, "sqlx.query").unwrap().name,
        "booking.create"
    );
}

#[booking_step(name = "booking.process_payment")]
async fn pay(reference: &str) -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    tracing::warn!("paying for {reference} with 4111 1111 1111 1111");
    async { tracing::info!("calling the gateway") }
        .instrument(tracing::info_span!("reqwest.call"))
        .await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_steps_under_tracing_spans_own_their_events_on_a_multi_thread_runtime() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    pay("K7Q2ZP")
        .instrument(tracing::info_span!("http.handler"))
        .await
        .unwrap();
    let spans = telemetry.spans();
    let logs = telemetry.logs();
    let span = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    let warning = record(&logs, "paying for K7Q2ZP with **** **** **** 1111");
    assert_eq!(record_ids(warning), ids(span("booking.process_payment")));
    assert_eq!(
        record_ids(record(&logs, "calling the gateway")),
        ids(span("reqwest.call"))
    );
    assert_eq!(
        parent_of(&spans, "booking.process_payment").unwrap().name,
        "http.handler"
    );
}
