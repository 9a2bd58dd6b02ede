//! `fields(key = expr, ..)`: recorded by reference through `StepValue`, evaluated only
//! when the span is recording; redaction types record only their safe form.

use std::sync::atomic::{AtomicUsize, Ordering};

use booking_otel::conventions::attribute;
use booking_otel::testing::{SpanDataExt, TestTelemetry};
use booking_otel::{CardNumber, Sensitive, booking_step};
use opentelemetry::Value;

struct Search {
    property_id: String,
    guests: u32,
    nights: u8,
    refundable: bool,
    max_price: f64,
}

#[booking_step(fields(
    booking.property_id = search.property_id,
    booking.guests = search.guests,
    booking.nights = search.nights,
    booking.refundable = search.refundable,
    booking.max_price = search.max_price,
    booking.channel = "web",
))]
fn check_availability(search: &Search) -> Option<u32> {
    Some(search.guests)
}

#[booking_step(fields(payment.card = card, booking.guest_name = guest, "payment.currency" = "EUR"))]
fn process_payment(card: &CardNumber, guest: Sensitive<String>) -> Result<(), std::io::Error> {
    let _still_usable = (card.last_four(), guest);
    Ok(())
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn expensive_label() -> String {
    EVALUATED.fetch_add(1, Ordering::SeqCst);
    "computed".to_string()
}

#[booking_step(fields(booking.label = expensive_label()))]
fn labelled() {}

#[test]
fn fields_are_recorded_with_their_types_and_arguments_stay_usable() {
    let telemetry = TestTelemetry::install();
    let search = Search {
        property_id: "prop-1042".into(),
        guests: 2,
        nights: 3,
        refundable: true,
        max_price: 249.5,
    };
    assert_eq!(check_availability(&search), Some(2));
    // The arguments were borrowed, not moved, by the fields.
    assert_eq!(search.property_id, "prop-1042");

    let span = telemetry.span("booking.check_availability");
    assert_eq!(
        span.attribute(attribute::BOOKING_PROPERTY_ID),
        Some(&Value::from("prop-1042"))
    );
    assert_eq!(
        span.attribute(attribute::BOOKING_GUESTS),
        Some(&Value::I64(2))
    );
    assert_eq!(span.attribute("booking.nights"), Some(&Value::I64(3)));
    assert_eq!(
        span.attribute("booking.refundable"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        span.attribute("booking.max_price"),
        Some(&Value::F64(249.5))
    );
    assert_eq!(span.attribute("booking.channel"), Some(&Value::from("web")));
    assert_eq!(
        span.attributes.len(),
        6,
        "only the fields: {:?}",
        span.attributes
    );
}

#[test]
fn redaction_types_record_only_their_safe_form() {
    let telemetry = TestTelemetry::install();
    let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
    process_payment(&card, Sensitive::new("Ada Lovelace".to_string())).unwrap();
    let span = telemetry.span("booking.process_payment");
    assert_eq!(
        span.attribute("payment.card"),
        Some(&Value::from("visa ****4242"))
    );
    assert_eq!(
        span.attribute("booking.guest_name"),
        Some(&Value::from("[REDACTED]"))
    );
    assert_eq!(
        span.attribute("payment.currency"),
        Some(&Value::from("EUR"))
    );
}

#[test]
fn field_expressions_run_only_when_the_span_records() {
    use opentelemetry::Context;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    let telemetry = TestTelemetry::install();
    let before = EVALUATED.load(Ordering::SeqCst);
    {
        // A caller that sampled this trace out: the parent-based sampler drops the step.
        let unsampled = SpanContext::new(
            TraceId::from(0x1234_u128),
            SpanId::from(0x5678_u64),
            TraceFlags::default(),
            true,
            TraceState::NONE,
        );
        let _parent = Context::current()
            .with_remote_span_context(unsampled)
            .attach();
        labelled();
    }
    assert_eq!(
        EVALUATED.load(Ordering::SeqCst),
        before,
        "a field was evaluated for a span that does not record"
    );
    assert!(telemetry.spans().is_empty());

    labelled();
    assert_eq!(EVALUATED.load(Ordering::SeqCst), before + 1);
    assert_eq!(
        telemetry
            .span("booking.labelled")
            .attribute("booking.label"),
        Some(&Value::from("computed"))
    );
}
