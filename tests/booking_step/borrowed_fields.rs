//! Fields the way a newcomer writes them (issue 11.1): borrowed `&str` arguments, fields
//! of borrowed structs, `Option`s, slices and `Vec`s, and `Display` types through `%`.

use std::borrow::Cow;
use std::fmt;

use booking_otel::booking_step;
use booking_otel::conventions::attribute;
use booking_otel::testing::{SpanDataExt, TestTelemetry};
use opentelemetry::{Array, Value};

#[derive(Debug, thiserror::Error)]
#[error("no rooms left")]
struct Gone;

#[booking_step(fields(booking.property_id = id, booking.guests = guests))]
fn check_availability(id: &str, guests: i64) -> Result<u32, Gone> {
    if guests > 4 { Err(Gone) } else { Ok(3) }
}

struct Request {
    user_id: String,
    coupon: Option<String>,
    loyalty_tier: Option<&'static str>,
    room_ids: Vec<i64>,
    channel: Cow<'static, str>,
}

#[booking_step(fields(
    booking.user_id = req.user_id,
    booking.coupon = req.coupon,
    booking.loyalty_tier = req.loyalty_tier,
    booking.room_ids = req.room_ids,
    booking.tags = tags,
    booking.channel = req.channel,
))]
fn calculate_price(req: &Request, tags: &[&str]) -> u64 {
    129 * req.room_ids.len() as u64
}

/// An id newtype that prints well but is not a `StepValue`, like `uuid::Uuid`.
struct BookingId(u64);

impl fmt::Display for BookingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BK-{:06}", self.0)
    }
}

#[booking_step(fields(booking.id = %id, booking.reference = %reference))]
fn confirm(id: &BookingId, reference: &str) -> Option<String> {
    Some(format!("{id}/{reference}"))
}

#[test]
fn a_borrowed_str_argument_is_recorded() {
    let telemetry = TestTelemetry::install();
    // Built per request, as a handler receives it: not a `&'static str`.
    let id = format!("prop-{}", 1042);
    assert_eq!(check_availability(&id, 2).unwrap(), 3);
    assert!(check_availability(id.as_str(), 9).is_err());

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 2);
    for span in &spans {
        assert_eq!(
            span.attribute(attribute::BOOKING_PROPERTY_ID),
            Some(&Value::from("prop-1042"))
        );
    }
    assert_eq!(
        spans[0].attribute(attribute::BOOKING_GUESTS),
        Some(&Value::I64(2))
    );
}

#[test]
fn options_slices_vecs_and_cows_are_recorded_and_none_is_left_out() {
    let telemetry = TestTelemetry::install();
    let req = Request {
        user_id: "user-7".into(),
        coupon: None,
        loyalty_tier: Some("gold"),
        room_ids: vec![101, 102],
        channel: Cow::Owned("mobile".into()),
    };
    let tags = vec!["family", "late-checkin"];
    assert_eq!(calculate_price(&req, &tags), 258);
    // Nothing was moved out of the request.
    assert_eq!(req.user_id, "user-7");

    let span = telemetry.span("booking.calculate_price");
    assert_eq!(
        span.attribute("booking.user_id"),
        Some(&Value::from("user-7"))
    );
    assert_eq!(
        span.attribute("booking.coupon"),
        None,
        "None records nothing"
    );
    assert_eq!(
        span.attribute("booking.loyalty_tier"),
        Some(&Value::from("gold"))
    );
    assert_eq!(
        span.attribute("booking.room_ids"),
        Some(&Value::Array(Array::I64(vec![101, 102])))
    );
    assert_eq!(
        span.attribute("booking.tags"),
        Some(&Value::Array(Array::String(vec![
            "family".into(),
            "late-checkin".into()
        ])))
    );
    assert_eq!(
        span.attribute("booking.channel"),
        Some(&Value::from("mobile"))
    );

    let with_coupon = Request {
        coupon: Some("SUMMER10".into()),
        ..req
    };
    calculate_price(&with_coupon, &[]);
    let spans = telemetry.spans();
    assert_eq!(
        spans[1].attribute("booking.coupon"),
        Some(&Value::from("SUMMER10"))
    );
    assert_eq!(
        spans[1].attribute("booking.tags"),
        Some(&Value::Array(Array::String(vec![])))
    );
}

#[test]
fn percent_records_a_display_type() {
    let telemetry = TestTelemetry::install();
    let reference = String::from("K7Q2ZP");
    assert_eq!(
        confirm(&BookingId(42), &reference).as_deref(),
        Some("BK-000042/K7Q2ZP")
    );
    let span = telemetry.span("booking.confirm");
    assert_eq!(
        span.attribute("booking.id"),
        Some(&Value::from("BK-000042"))
    );
    assert_eq!(
        span.attribute("booking.reference"),
        Some(&Value::from("K7Q2ZP"))
    );
}

#[test]
fn borrowed_fields_are_not_evaluated_when_nothing_records() {
    // No telemetry installed in this test's context: the step runs untraced, and the
    // borrowed argument is still only borrowed.
    let id = String::from("prop-1");
    assert_eq!(check_availability(&id, 1).unwrap(), 3);
    assert_eq!(id, "prop-1");
}
