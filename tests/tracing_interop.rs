//! `tracing` interoperates through the OTel context (tracing-opentelemetry 0.34 activates
//! the context of entered tracing spans): a tracing span entered outside a step is the
//! step's parent, and a tracing span opened inside a step is the step's child — sync and
//! async on a multi-thread runtime.

use std::sync::OnceLock;

use booking_otel::testing::{TestTelemetry, parent_of, tree};
use booking_otel::{Step, booking_step};
use opentelemetry::trace::TracerProvider as _;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

/// One global subscriber for this test binary, exporting through the test kit's provider.
fn install_subscriber(telemetry: &TestTelemetry) {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let tracer = telemetry.tracer_provider().tracer("tracing");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per binary");
    });
}

fn parent_name(spans: &[opentelemetry_sdk::trace::SpanData], name: &str) -> String {
    parent_of(spans, name)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| panic!("{name} has no captured parent:\n{}", tree(spans)))
}

#[test]
fn sync_tracing_span_outside_is_parent_and_inside_is_child() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    {
        let handler = tracing::info_span!("http.handler");
        let _entered = handler.enter();
        Step::new("booking.create").run(|| {
            let query = tracing::info_span!("sqlx.query");
            let _q = query.enter();
        });
    }
    let spans = telemetry.spans();
    assert_eq!(parent_name(&spans, "booking.create"), "http.handler");
    assert_eq!(parent_name(&spans, "sqlx.query"), "booking.create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tracing_span_outside_is_parent_and_inside_is_child() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    async {
        Step::new("booking.process_payment")
            .instrument(async {
                tokio::task::yield_now().await;
                async { tokio::task::yield_now().await }
                    .instrument(tracing::info_span!("reqwest.call"))
                    .await;
                Some(())
            })
            .await;
    }
    .instrument(tracing::info_span!("axum.request"))
    .await;
    let spans = telemetry.spans();
    assert_eq!(
        parent_name(&spans, "booking.process_payment"),
        "axum.request"
    );
    assert_eq!(
        parent_name(&spans, "reqwest.call"),
        "booking.process_payment"
    );
}

#[booking_step]
async fn confirm() -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    tracing::info_span!("smtp.send").in_scope(|| ());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_step_nests_under_a_tracing_span_and_over_one() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    // Called inside the instrumented block, as a handler does.
    async { confirm().await }
        .instrument(tracing::info_span!("axum.request"))
        .await
        .unwrap();
    let spans = telemetry.spans();
    assert_eq!(parent_name(&spans, "booking.confirm"), "axum.request");
    assert_eq!(parent_name(&spans, "smtp.send"), "booking.confirm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_future_instrumented_with_a_tracing_span_is_its_child() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    // Called where no span is active: the step takes the context of its first poll,
    // inside `axum.request`.
    confirm()
        .instrument(tracing::info_span!("axum.request"))
        .await
        .unwrap();
    let spans = telemetry.spans();
    assert_eq!(parent_name(&spans, "booking.confirm"), "axum.request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_step_called_inside_an_entered_tracing_span_is_its_child() {
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    let request = tracing::info_span!("axum.request");
    // Created (called) while the span is entered, awaited after it was left.
    let confirmed = request.in_scope(confirm);
    confirmed.await.unwrap();
    drop(request);
    let spans = telemetry.spans();
    assert_eq!(parent_name(&spans, "booking.confirm"), "axum.request");
}
