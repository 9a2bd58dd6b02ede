//! Repeats: the same call site, key or string seen again with a secret in it. The
//! exporter remembers the class of each key it has seen (an earlier version also
//! remembered clean strings by address, per thread); these tests try to make any such
//! memory decide wrong, through the real exporter and the SDK, and check what was
//! exported:
//!
//! - the same call site emitting clean constants, then card numbers (constant, built
//!   per span, integer) and denied keys at the very same positions, in random orders;
//! - strings and keys built per span, freed, and their memory reused by a card number
//!   or a denied key of the same length;
//! - two policies on one thread;
//! - a constant name that holds a card number.

mod support;

use std::sync::{Arc, Mutex};

use booking_otel::redaction::MASK;
use booking_otel::testing::TestTelemetry;
use booking_otel::{RedactingExporter, RedactionPolicy};
use opentelemetry::trace::{Span as _, Status, Tracer, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor, SpanExporter,
};
use proptest::prelude::*;
use support::pan::pan;

/// Card numbers written as constants (`&'static str`): the cache sees them at fixed
/// addresses, like the clean constants.
const STATIC_PANS: &[&str] = &[
    "4111111111111111",
    "5555 5555 5555 4444",
    "3782-822463-10005",
    "6011000990139424",
];

/// The call site every operation uses: a constant name and four attributes.
const NAME: &str = "booking.cache_probe";

/// What one span of the call site carries at one of its four positions.
#[derive(Debug, Clone)]
enum Op {
    /// The clean constants: `card`, 3, true, `EUR`.
    Clean,
    /// A constant card number at `position`.
    StaticPan { position: usize, which: usize },
    /// A card number built per span at `position`.
    OwnedPan { position: usize, digits: String },
    /// A card number as an integer at `position`.
    IntegerPan { position: usize, digits: String },
    /// A denied key (`payment.cvv`, constant) at `position`, with a clean value.
    DeniedKey { position: usize },
    /// A denied key built per span at `position`.
    OwnedDeniedKey { position: usize },
    /// A fifth attribute, a card number built per span.
    ExtraPan { digits: String },
    /// Only the first three attributes.
    Fewer,
    /// An event named like the span, with a card number built per event.
    EventPan { digits: String },
}

fn op() -> impl Strategy<Value = Op> {
    let position = 0..4_usize;
    prop_oneof![
        3 => Just(Op::Clean),
        1 => (position.clone(), 0..STATIC_PANS.len())
            .prop_map(|(position, which)| Op::StaticPan { position, which }),
        1 => (position.clone(), pan()).prop_map(|(position, digits)| Op::OwnedPan { position, digits }),
        1 => (position.clone(), pan()).prop_map(|(position, digits)| Op::IntegerPan { position, digits }),
        1 => position.clone().prop_map(|position| Op::DeniedKey { position }),
        1 => position.prop_map(|position| Op::OwnedDeniedKey { position }),
        1 => pan().prop_map(|digits| Op::ExtraPan { digits }),
        1 => Just(Op::Fewer),
        1 => pan().prop_map(|digits| Op::EventPan { digits }),
    ]
}

/// The four attributes of the call site, with `op` applied.
fn attributes(op: &Op) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("payment.method", "card"),
        KeyValue::new("booking.guests", 3_i64),
        KeyValue::new("booking.lock_acquired", true),
        KeyValue::new("payment.currency", "EUR"),
    ];
    match op {
        Op::Clean | Op::EventPan { .. } => {}
        Op::StaticPan { position, which } => {
            let key = attributes[*position].key.clone();
            attributes[*position] = KeyValue::new(key, STATIC_PANS[*which]);
        }
        Op::OwnedPan { position, digits } => {
            let key = attributes[*position].key.clone();
            attributes[*position] = KeyValue::new(key, format!("card {digits} declined"));
        }
        Op::IntegerPan { position, digits } => {
            let key = attributes[*position].key.clone();
            // 19-digit numbers may not fit an i64: those go in as strings.
            attributes[*position] = match digits.parse::<i64>() {
                Ok(number) => KeyValue::new(key, number),
                Err(_) => KeyValue::new(key, digits.clone()),
            };
        }
        Op::DeniedKey { position } => {
            attributes[*position] = KeyValue::new("payment.cvv", 7_i64);
        }
        Op::OwnedDeniedKey { position } => {
            attributes[*position] = KeyValue::new(String::from("payment.cvv"), "seven");
        }
        Op::ExtraPan { digits } => {
            attributes.push(KeyValue::new("payment.note", format!("card {digits}")));
        }
        Op::Fewer => attributes.truncate(3),
    }
    attributes
}

fn emit<T: Tracer>(tracer: &T, op: &Op) {
    let mut span = tracer.start(NAME);
    span.set_attributes(attributes(op));
    if let Op::EventPan { digits } = op {
        span.add_event(
            NAME,
            vec![
                KeyValue::new("payment.method", "card"),
                KeyValue::new("exception.message", format!("card {digits} declined")),
            ],
        );
    }
    span.end();
}

/// Every string the exporter would send for `span`.
fn exported_strings(span: &SpanData) -> Vec<String> {
    let mut out = vec![span.name.to_string()];
    let attributes = span
        .attributes
        .iter()
        .chain(span.events.iter().flat_map(|event| event.attributes.iter()));
    for kv in attributes {
        out.push(format!("{}={}", kv.key, kv.value));
    }
    out.extend(span.events.iter().map(|event| event.name.to_string()));
    if let Status::Error { description } = &span.status {
        out.push(description.to_string());
    }
    out
}

/// No exported string has more than the last four digits of a card number (the clean
/// values have at most one digit), and denied keys are replaced.
fn assert_nothing_leaks(spans: &[SpanData]) -> Result<(), TestCaseError> {
    for span in spans {
        for text in exported_strings(span) {
            let digits = text.chars().filter(char::is_ascii_digit).count();
            prop_assert!(digits <= 4, "leaked: {text:?}");
        }
        for kv in &span.attributes {
            if kv.key.as_str() == "payment.cvv" {
                prop_assert_eq!(&kv.value, &Value::String(MASK.into()));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any order of clean spans and secrets at the same positions of one call site.
    #[test]
    fn a_call_site_that_was_clean_can_still_leak_nothing(
        ops in prop::collection::vec(op(), 1..48)
    ) {
        let telemetry = TestTelemetry::install();
        let tracer = telemetry.tracer_provider().tracer("redaction-cache");
        // Warm the cache with the clean shape first, then run the sequence.
        emit(&tracer, &Op::Clean);
        emit(&tracer, &Op::Clean);
        for op in &ops {
            emit(&tracer, op);
        }
        let spans = telemetry.spans();
        prop_assert_eq!(spans.len(), ops.len() + 2);
        assert_nothing_leaks(&spans)?;
    }
}

/// Keeps the first attribute of each exported span as text, and drops the span: its
/// strings are freed, so their memory can be reused by the next spans.
#[derive(Debug, Default, Clone)]
struct FirstAttributeExporter(Arc<Mutex<Vec<(String, String)>>>);

impl SpanExporter for FirstAttributeExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut seen = self.0.lock().unwrap();
        for span in batch {
            let kv = &span.attributes[0];
            seen.push((kv.key.to_string(), kv.value.to_string()));
        }
        Ok(())
    }
}

/// Strings and keys built per span are freed after export, and the allocator hands
/// their memory to the next ones of the same size. Each span here allocates one such
/// string, so the memory of a clean one seen twice goes to a card number or a denied
/// key: the cache must not take them for the clean one that was there before.
#[test]
fn memory_reused_by_a_secret_is_not_taken_for_the_clean_string_before_it() {
    let exporter = FirstAttributeExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(RedactingExporter::new(
            exporter.clone(),
            RedactionPolicy::default(),
        )))
        .build();
    let tracer = provider.tracer("redaction-cache");
    let clean_value = "abcdefghijklmnop"; // 16 bytes, like the card number
    let card = "4111111111111111";
    let clean_key = "booking.note_x"; // 14 bytes, like the denied key
    let denied_key = "payment.cvv_x1";
    for _ in 0..100 {
        for value in [clean_value, clean_value, card] {
            // A name built per span (and longer, so in another size class) takes the
            // long way, where strings are looked up by address.
            let mut span = tracer.start(format!("booking.reuse_value {:>30}", "-"));
            span.set_attribute(KeyValue::new("payment.note", value.to_string()));
            span.end();
        }
        for key in [clean_key, clean_key, denied_key] {
            let mut span = tracer.start("booking.reuse_key");
            span.set_attribute(KeyValue::new(key.to_string(), "clean"));
            span.end();
        }
    }
    let seen = exporter.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 600);
    let mut cards = 0;
    let mut denied = 0;
    for (key, value) in &seen {
        assert_ne!(value, card, "leaked");
        cards += usize::from(value == "************1111");
        if key == denied_key {
            assert_eq!(value, MASK);
            denied += 1;
        }
    }
    assert_eq!((cards, denied), (100, 100));
    let _ = provider.shutdown();
}

/// A constant that starts with a clean constant lives at the same address, longer:
/// the cache must tell them apart by length (values, keys and names).
#[test]
fn a_longer_constant_at_the_same_address_is_not_taken_for_its_clean_prefix() {
    static VALUE: &str = "ref 4111111111111111";
    static KEY: &str = "payment.cvv";
    static NAME: &str = "booking.prefix 4111111111111111";
    let telemetry = TestTelemetry::install();
    let tracer = telemetry.tracer_provider().tracer("redaction-cache");
    for _ in 0..10 {
        for (name, key, value) in [
            (&NAME[..14], &KEY[..7], &VALUE[..3]),
            (&NAME[..14], &KEY[..7], &VALUE[..3]),
            (&NAME[..14], &KEY[..7], VALUE),
            (&NAME[..14], KEY, &VALUE[..3]),
            (NAME, &KEY[..7], &VALUE[..3]),
        ] {
            let mut span = tracer.start(name);
            span.set_attribute(KeyValue::new(key, value));
            span.end();
        }
    }
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 50);
    for span in &spans {
        assert!(!span.name.contains("4111"), "leaked name: {}", span.name);
        let kv = &span.attributes[0];
        assert!(!kv.value.as_str().contains("41111"), "leaked value: {kv:?}");
        if kv.key.as_str() == KEY {
            assert_eq!(kv.value, Value::String(MASK.into()));
        }
    }
}

/// Two guards with different policies on one thread each keep their own decisions.
#[test]
fn two_policies_on_one_thread_do_not_share_decisions() {
    let provider = |policy: RedactionPolicy| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(SimpleSpanProcessor::new(RedactingExporter::new(
                exporter.clone(),
                policy,
            )))
            .build();
        (provider, exporter)
    };
    let (allowing, allowed_spans) = provider(RedactionPolicy::default().allow_key("booking.raw"));
    let (masking, masked_spans) = provider(RedactionPolicy::default());
    let (allowing_tracer, masking_tracer) = (allowing.tracer("a"), masking.tracer("b"));
    for _ in 0..50 {
        for tracer in [&allowing_tracer, &masking_tracer] {
            let mut span = tracer.start("booking.two_policies");
            span.set_attribute(KeyValue::new("booking.raw", "4111111111111111"));
            span.set_attribute(KeyValue::new("payment.method", "card"));
            span.end();
        }
    }
    let raw = |spans: Vec<SpanData>| -> Vec<String> {
        spans
            .iter()
            .map(|span| span.attributes[0].value.to_string())
            .collect()
    };
    let allowed = raw(allowed_spans.get_finished_spans().unwrap());
    let masked = raw(masked_spans.get_finished_spans().unwrap());
    assert_eq!(allowed.len(), 50);
    assert_eq!(masked.len(), 50);
    assert!(
        allowed.iter().all(|v| v == "4111111111111111"),
        "{allowed:?}"
    );
    assert!(masked.iter().all(|v| v == "************1111"), "{masked:?}");
    let _ = (allowing.shutdown(), masking.shutdown());
}

/// A constant name that holds a card number is masked every time, never remembered.
#[test]
fn a_constant_name_with_a_card_number_is_masked_every_time() {
    let telemetry = TestTelemetry::install();
    let tracer = telemetry.tracer_provider().tracer("redaction-cache");
    for _ in 0..20 {
        let mut span = tracer.start("charge 4111 1111 1111 1111");
        span.set_attribute(KeyValue::new("payment.method", "card"));
        span.add_event("refund 4111111111111111", vec![]);
        span.end();
    }
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 20);
    for span in &spans {
        assert_eq!(span.name, "charge **** **** **** 1111");
        assert_eq!(
            span.events.iter().next().unwrap().name,
            "refund ************1111"
        );
    }
}
