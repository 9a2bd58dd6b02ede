//! `#[booking_step]` with no options: span `booking.<fn name>`, kind internal, no
//! attributes, and arguments never recorded.

use booking_otel::booking_step;
use booking_otel::conventions::{attribute, metric};
use booking_otel::testing::TestTelemetry;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, Status};

struct Search {
    property_id: String,
    guests: u32,
}

#[booking_step]
fn check_availability(search: &Search) -> Option<u32> {
    (search.guests <= 4).then_some(search.property_id.len() as u32)
}

#[test]
fn span_is_named_after_the_function_and_records_no_arguments() {
    let telemetry = TestTelemetry::install();
    let search = Search {
        property_id: "prop-1042".into(),
        guests: 9,
    };
    assert_eq!(check_availability(&search), None);

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "booking.check_availability");
    assert_eq!(span.span_kind, SpanKind::Internal);
    assert_eq!(span.status, Status::Unset, "None is not an error");
    assert!(
        span.attributes.is_empty(),
        "arguments must never be captured implicitly: {:?}",
        span.attributes
    );
    assert!(span.events.is_empty());
}

#[test]
fn every_step_records_the_step_duration_metric() {
    let telemetry = TestTelemetry::install();
    let search = Search {
        property_id: "prop-1".into(),
        guests: 2,
    };
    assert_eq!(check_availability(&search), Some(6));
    assert_eq!(check_availability(&search), Some(6));
    let attributes = [
        KeyValue::new(attribute::BOOKING_STEP, "booking.check_availability"),
        KeyValue::new(attribute::BOOKING_OUTCOME, "ok"),
    ];
    assert_eq!(
        telemetry.histogram_count(metric::BOOKING_STEP_DURATION, &attributes),
        2
    );
}
