//! The attribute value length limit: counted in characters, cut on character
//! boundaries, applied after masking (a card number cut in half never escapes), to
//! span, event and link attributes and to string arrays.

use booking_otel::{RedactingExporter, RedactionPolicy};
use opentelemetry::trace::{Span as _, Tracer, TracerProvider as _};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};

fn exported(limit: usize, attributes: Vec<KeyValue>) -> Vec<KeyValue> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(
            RedactingExporter::new(exporter.clone(), RedactionPolicy::default())
                .with_value_length_limit(Some(limit)),
        ))
        .build();
    let mut span = provider.tracer("limits").start("booking.limits");
    span.add_event("log", attributes.clone());
    span.set_attributes(attributes);
    span.end();
    let spans = exporter.get_finished_spans().expect("spans");
    let span = &spans[0];
    let event = span.events.iter().next().expect("the event");
    assert_eq!(
        event.attributes, span.attributes,
        "event attributes are cut like span attributes"
    );
    span.attributes.clone()
}

#[test]
fn multi_byte_characters_count_as_one_and_are_never_split() {
    let values = exported(
        5,
        vec![
            KeyValue::new("a", "ééééééé"),
            KeyValue::new("b", "日本語のテキスト"),
            KeyValue::new("c", "ab😀cdef"),
            KeyValue::new("d", "short"),
            KeyValue::new("e", 1_234_567_i64),
            KeyValue::new(
                "f",
                Value::Array(Array::String(vec!["abcdefgh".into(), "xy".into()])),
            ),
        ],
    );
    let strings: Vec<String> = values.iter().map(|kv| kv.value.to_string()).collect();
    assert_eq!(strings[0], "ééééé");
    assert_eq!(strings[1], "日本語のテ");
    assert_eq!(strings[2], "ab😀cd");
    assert_eq!(strings[3], "short");
    assert_eq!(values[4].value, Value::I64(1_234_567));
    assert_eq!(
        values[5].value,
        Value::Array(Array::String(vec!["abcde".into(), "xy".into()]))
    );
}

#[test]
fn masking_comes_before_the_cut() {
    // Cut first, "4111111111" (10 digits) would no longer look like a card number.
    let values = exported(
        10,
        vec![
            KeyValue::new("payment.note", "4111111111111111 declined"),
            KeyValue::new("payment.note2", "card 4111 1111 1111 1111"),
        ],
    );
    assert_eq!(values[0].value.to_string(), "**********");
    assert_eq!(values[1].value.to_string(), "card **** ");
    for kv in &values {
        assert!(!kv.value.to_string().contains("4111"), "{kv:?}");
    }
}

#[test]
fn a_one_megabyte_value_is_cut_to_the_limit() {
    let values = exported(
        4096,
        vec![KeyValue::new("http.request.body", "x".repeat(1 << 20))],
    );
    assert_eq!(values[0].value.to_string().len(), 4096);
}
