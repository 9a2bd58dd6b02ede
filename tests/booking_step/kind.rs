//! `kind = ..`: each of the five span kinds.

use booking_otel::booking_step;
use booking_otel::testing::TestTelemetry;
use opentelemetry::trace::SpanKind;

#[booking_step(kind = internal)]
fn internal() {}
#[booking_step(kind = client)]
fn client() {}
#[booking_step(kind = server)]
fn server() {}
#[booking_step(kind = producer)]
fn producer() {}
#[booking_step(name = "booking.consume", kind = consumer)]
fn consumer() {}

#[test]
fn each_kind_is_recorded() {
    let telemetry = TestTelemetry::install();
    internal();
    client();
    server();
    producer();
    consumer();
    let kinds: Vec<(String, SpanKind)> = telemetry
        .spans()
        .iter()
        .map(|s| (s.name.to_string(), s.span_kind.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("booking.internal".to_string(), SpanKind::Internal),
            ("booking.client".to_string(), SpanKind::Client),
            ("booking.server".to_string(), SpanKind::Server),
            ("booking.producer".to_string(), SpanKind::Producer),
            ("booking.consume".to_string(), SpanKind::Consumer),
        ]
    );
}
