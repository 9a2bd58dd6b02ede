//! Property: whatever the caller does, no card number reaches an exporter.
//!
//! For random Luhn-valid card numbers of every length from 13 to 19 digits, with and
//! without separators, embedded at random positions in random text, put in every
//! place a span carries data — span name, string / i64 / f64 / array attributes,
//! event names and attributes, link attributes, the status description, and the
//! exception message of a failing `#[booking_step]` — the exported spans hold no digit
//! of the card number but its last four.
//!
//! The random text has no digits, so every digit in the export came from the card
//! number. The shared generators live in `tests/support/pan.rs`; the same property runs
//! through a real OTLP/gRPC exporter in `tests/otlp_receiver.rs`.

mod support;

use booking_otel::testing::TestTelemetry;
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider as _,
};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use proptest::prelude::*;
use support::failing_step::failing_payment;
use support::pan::{Case, case};

/// Every string the exporter would send for `span`, with where it came from.
fn exported_strings(span: &SpanData) -> Vec<(String, String)> {
    fn value_strings(place: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Array(Array::String(items)) => {
                for item in items {
                    out.push((place.to_string(), item.as_str().to_string()));
                }
            }
            other => out.push((place.to_string(), other.to_string())),
        }
    }
    let mut out = vec![("span name".to_string(), span.name.to_string())];
    for kv in &span.attributes {
        value_strings(&format!("attribute {}", kv.key), &kv.value, &mut out);
    }
    for event in span.events.iter() {
        out.push(("event name".into(), event.name.to_string()));
        for kv in &event.attributes {
            value_strings(&format!("event attribute {}", kv.key), &kv.value, &mut out);
        }
    }
    for link in span.links.iter() {
        for kv in &link.attributes {
            value_strings(&format!("link attribute {}", kv.key), &kv.value, &mut out);
        }
    }
    if let Status::Error { description } = &span.status {
        out.push(("status description".into(), description.to_string()));
    }
    out
}

/// Fails when any exported string holds a digit of the card number but its last four.
fn assert_no_card_digits(spans: &[SpanData], case: &Case) -> Result<(), TestCaseError> {
    for span in spans {
        for (place, text) in exported_strings(span) {
            if text == CLEAN_NUMBER.to_string() {
                continue; // the clean neighbour in the integer array
            }
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            // Each occurrence may keep its last four digits, nothing more.
            let allowed = case.last_four().repeat(digits.len() / 4);
            prop_assert!(
                digits.is_empty() || (digits.len().is_multiple_of(4) && digits == allowed),
                "{place} leaks digits of {} ({}): {text:?}",
                case.pan_digits,
                case.rendered
            );
        }
    }
    Ok(())
}

/// The only number the test itself puts next to a card number.
const CLEAN_NUMBER: i64 = 42;

fn emit_everywhere(telemetry: &TestTelemetry, case: &Case) {
    let text = case.embedded.clone();
    let tracer = telemetry.tracer_provider().tracer("redaction-properties");
    let link_context = SpanContext::new(
        TraceId::from(7_u128),
        SpanId::from(7_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    let mut builder = tracer.span_builder(text.clone());
    builder.links = Some(vec![Link::new(
        link_context,
        vec![KeyValue::new("messaging.message.body", text.clone())],
        0,
    )]);
    let mut span = tracer.build(builder);
    span.set_attribute(KeyValue::new("http.request.body", text.clone()));
    span.set_attribute(KeyValue::new(
        "booking.notes",
        Value::Array(Array::String(vec![
            StringValue::from("clean"),
            StringValue::from(text.clone()),
        ])),
    ));
    if let Some(number) = case.as_i64() {
        span.set_attribute(KeyValue::new("payment.reference", number));
        span.set_attribute(KeyValue::new(
            "payment.references",
            Value::Array(Array::I64(vec![CLEAN_NUMBER, number])),
        ));
    }
    if let Some(number) = case.as_f64() {
        span.set_attribute(KeyValue::new("payment.amount_raw", number));
    }
    span.add_event(
        text.clone(),
        vec![KeyValue::new("exception.message", text.clone())],
    );
    span.set_status(Status::error(text.clone()));
    span.end();

    assert!(failing_payment(text).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn no_card_number_reaches_the_exporter(case in case()) {
        let telemetry = TestTelemetry::install();
        emit_everywhere(&telemetry, &case);
        let spans = telemetry.spans();
        prop_assert_eq!(spans.len(), 2);
        let payment = spans.iter().find(|s| s.name == "booking.process_payment").unwrap();
        prop_assert!(
            payment.events.iter().any(|e| e.name == "exception"),
            "the failing step recorded its exception"
        );
        assert_no_card_digits(&spans, &case)?;
    }
}

/// The property would be empty if the generator made numbers the scanner does not
/// consider card numbers: check the rendered numbers really are Luhn-valid card numbers
/// of every length, and that they are masked (not dropped) to their last four.
#[test]
fn generated_numbers_cover_every_length_and_are_masked_to_the_last_four() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut lengths = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let case = case().new_tree(&mut runner).unwrap().current();
        assert!(
            booking_otel::CardNumber::parse(&case.pan_digits).is_ok(),
            "{}",
            case.pan_digits
        );
        lengths.insert(case.pan_digits.len());
        let masked = booking_otel::RedactionPolicy::default()
            .redact_str(&case.embedded)
            .expect("a card number is found");
        let digits: String = masked.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits, case.last_four(), "{masked}");
    }
    assert_eq!(
        lengths.into_iter().collect::<Vec<_>>(),
        (13..=19).collect::<Vec<_>>()
    );
}
