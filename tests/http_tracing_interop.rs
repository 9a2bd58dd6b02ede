//! `ServerLayer` with `tracing` (tracing-opentelemetry 0.34) on a multi-thread runtime:
//! a handler's `tracing` span is the SERVER span's child and a step inside it is its
//! child; and where `tracing::info!` events inside a step end up, measured.

#[path = "support/http_app.rs"]
mod http_app;

use std::sync::OnceLock;

use axum::Router;
use axum::routing::get;
use booking_otel::booking_step;
use booking_otel::http::ServerLayer;
use booking_otel::testing::{TestTelemetry, parent_of, tree};
use http_app::{install_propagator, request, send, serve};
use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::trace::SpanData;
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

fn parent_name(spans: &[SpanData], name: &str) -> String {
    parent_of(spans, name)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| panic!("{name} has no captured parent:\n{}", tree(spans)))
}

/// The names of the spans that carry the event `message` (tracing-opentelemetry names
/// an event by its message).
fn spans_with_event(spans: &[SpanData], message: &str) -> Vec<String> {
    spans
        .iter()
        .filter(|s| s.events.iter().any(|e| e.name == message))
        .map(|s| s.name.to_string())
        .collect()
}

#[booking_step]
async fn confirm() -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    tracing::info!("inside the step");
    async {
        tokio::task::yield_now().await;
        tracing::info!("inside a tracing span inside the step");
    }
    .instrument(tracing::info_span!("smtp.send"))
    .await;
    Ok(())
}

fn app() -> Router {
    Router::new()
        .route(
            "/in-tracing-span",
            get(|| {
                async {
                    tracing::info!("in the handler span");
                    confirm().await.map(|()| "confirmed").unwrap_or("failed")
                }
                .instrument(tracing::info_span!("handler.confirm"))
            }),
        )
        .route(
            "/bare",
            get(|| async { confirm().await.map(|()| "confirmed").unwrap_or("failed") }),
        )
        .layer(ServerLayer::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_in_a_handlers_tracing_span_is_its_child() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    let address = serve(app()).await;

    let (parts, _) = send(request("GET", &format!("http://{address}/in-tracing-span"))).await;
    assert_eq!(parts.status, 200);

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 4, "{}", tree(&spans));
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server.name, "GET /in-tracing-span");
    assert_eq!(parent_name(&spans, "handler.confirm"), server.name);
    assert_eq!(parent_name(&spans, "booking.confirm"), "handler.confirm");
    assert_eq!(parent_name(&spans, "smtp.send"), "booking.confirm");

    // Measured: an event goes to the innermost *tracing* span, never to a step.
    assert_eq!(
        spans_with_event(&spans, "in the handler span"),
        ["handler.confirm"]
    );
    assert_eq!(
        spans_with_event(&spans, "inside the step"),
        ["handler.confirm"],
        "an event inside a step lands on the enclosing tracing span, not the step"
    );
    assert_eq!(
        spans_with_event(&spans, "inside a tracing span inside the step"),
        ["smtp.send"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracing_event_in_a_step_outside_any_tracing_span_is_not_recorded() {
    install_propagator();
    let telemetry = TestTelemetry::install();
    install_subscriber(&telemetry);
    let address = serve(app()).await;

    let (parts, _) = send(request("GET", &format!("http://{address}/bare"))).await;
    assert_eq!(parts.status, 200);

    let spans = telemetry.spans();
    assert_eq!(parent_name(&spans, "booking.confirm"), "GET /bare");
    assert_eq!(parent_name(&spans, "smtp.send"), "booking.confirm");
    // Measured: tracing-opentelemetry drops events outside a tracing span; neither the
    // step nor the SERVER span gets it (a fmt layer would still print it).
    assert!(
        spans_with_event(&spans, "inside the step").is_empty(),
        "{:?}",
        spans_with_event(&spans, "inside the step")
    );
    assert_eq!(
        spans_with_event(&spans, "inside a tracing span inside the step"),
        ["smtp.send"]
    );
}
