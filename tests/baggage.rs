//! The opt-in baggage rule (`BaggageToAttributes`), asserted on exported spans: only
//! allow-listed keys are copied, onto every step of the request, from baggage set
//! locally or received in headers, and copied values go through the export-side
//! redaction like any attribute.

use booking_otel::conventions::attribute;
use booking_otel::propagation::{BaggageToAttributes, extract_from};
use booking_otel::testing::SpanDataExt;
use booking_otel::{RedactingExporter, RedactionPolicy, Step, Telemetry};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::SpanKind;
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

/// A provider with the rule and the redaction guard in front of an in-memory exporter.
struct Pipeline {
    exporter: InMemorySpanExporter,
    telemetry: Telemetry,
    _provider: SdkTracerProvider,
}

fn pipeline(keys: &[&'static str]) -> Pipeline {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BaggageToAttributes::new(keys.iter().copied()))
        .with_simple_exporter(RedactingExporter::new(
            exporter.clone(),
            RedactionPolicy::default(),
        ))
        .build();
    Pipeline {
        exporter,
        telemetry: Telemetry::from_tracer_provider(&provider),
        _provider: provider,
    }
}

impl Pipeline {
    fn span(&self, name: &str) -> SpanData {
        self.exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    }
}

#[test]
fn allow_listed_keys_are_copied_onto_every_step_and_others_are_not() {
    let p = pipeline(&[attribute::BOOKING_SOURCE, attribute::BOOKING_PROPERTY_ID]);
    let cx = Context::current().with_baggage([
        KeyValue::new(attribute::BOOKING_SOURCE, "mobile"),
        KeyValue::new(attribute::BOOKING_PROPERTY_ID, "prop-1042"),
        KeyValue::new("session.experiment", "b"),
    ]);
    let _request = cx.attach();
    Step::new("booking.create").telemetry(&p.telemetry).run(|| {
        Step::new("booking.price")
            .telemetry(&p.telemetry)
            .run(|| ())
    });

    for name in ["booking.create", "booking.price"] {
        let span = p.span(name);
        assert_eq!(
            span.attribute(attribute::BOOKING_SOURCE),
            Some(&Value::from("mobile")),
            "{name}"
        );
        assert_eq!(
            span.attribute(attribute::BOOKING_PROPERTY_ID),
            Some(&Value::from("prop-1042")),
            "{name}"
        );
        assert_eq!(span.attribute("session.experiment"), None, "{name}");
    }
}

#[test]
fn without_baggage_or_without_the_rule_nothing_is_added() {
    let p = pipeline(&[attribute::BOOKING_SOURCE]);
    Step::new("booking.create")
        .telemetry(&p.telemetry)
        .run(|| ());
    assert_eq!(p.span("booking.create").attributes, []);

    let none = pipeline(&[]);
    let _request = Context::current()
        .with_baggage([KeyValue::new(attribute::BOOKING_SOURCE, "web")])
        .attach();
    Step::new("booking.create")
        .telemetry(&none.telemetry)
        .run(|| ());
    assert_eq!(none.span("booking.create").attributes, []);
}

#[test]
fn baggage_received_in_headers_reaches_the_consumer_step() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let p = pipeline(&[attribute::BOOKING_SOURCE, attribute::BOOKING_PROPERTY_ID]);
    let headers = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        (
            "baggage",
            "booking.source=api, booking.property_id=prop-7,guest.email=ann%40example.com",
        ),
    ];
    Step::new("booking.notify")
        .kind(SpanKind::Consumer)
        .telemetry(&p.telemetry)
        .parent(extract_from(&headers))
        .run(|| ());
    let span = p.span("booking.notify");
    assert_eq!(
        span.attribute(attribute::BOOKING_SOURCE),
        Some(&Value::from("api"))
    );
    assert_eq!(
        span.attribute(attribute::BOOKING_PROPERTY_ID),
        Some(&Value::from("prop-7"))
    );
    assert_eq!(span.attribute("guest.email"), None);
}

#[test]
fn a_card_number_in_allow_listed_baggage_is_masked_on_export() {
    let p = pipeline(&[attribute::BOOKING_PROPERTY_ID]);
    let card = "4111111111111111";
    let _request = Context::current()
        .with_baggage([KeyValue::new(
            attribute::BOOKING_PROPERTY_ID,
            format!("prop {card}"),
        )])
        .attach();
    Step::new("booking.create")
        .telemetry(&p.telemetry)
        .run(|| ());

    let span = p.span("booking.create");
    let copied = span
        .attribute(attribute::BOOKING_PROPERTY_ID)
        .expect("the allow-listed entry is copied")
        .as_str()
        .into_owned();
    assert!(!copied.contains(card), "{copied}");
    assert!(!copied.contains("411111"), "{copied}");
    assert!(
        copied.starts_with("prop "),
        "only the card number is masked: {copied}"
    );
}
