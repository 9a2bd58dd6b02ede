//! [`BaggageToAttributes`]: an opt-in rule that copies allow-listed baggage entries
//! onto spans.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key, KeyValue};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

/// Copies the baggage entries whose keys are on an allow-list onto every span the
/// provider starts (steps, and the spans of other libraries), as attributes of the same
/// name: `booking.source = mobile` in the baggage becomes the `booking.source` span
/// attribute.
///
/// **Baggage is not private.** It travels in plain text in the `baggage` header of
/// every outgoing request and message, to every downstream service, including ones run
/// by third parties (a payment gateway, a channel manager), and into their logs. Never
/// put personal data (a guest's name, email, phone, user id), secrets or card data in
/// it: use it for low-sensitivity routing facts such as the booking channel
/// (`booking.source`) or a property or tenant id. Allow-list only such keys here.
///
/// Copied values are span attributes like any other: the export-side redaction
/// ([`RedactingExporter`](crate::RedactingExporter), installed by
/// [`setup`](crate::setup) and the test kit) masks a card number or an email in them
/// before they leave the process, and the attribute length limit applies.
///
/// Add it to your tracer provider (the order among processors does not matter: it
/// acts when a span starts):
///
/// ```
/// use booking_otel::{RedactingExporter, RedactionPolicy, Step, Telemetry};
/// use booking_otel::conventions::attribute;
/// use booking_otel::propagation::BaggageToAttributes;
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::{Context, KeyValue};
/// use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(BaggageToAttributes::new([
///         attribute::BOOKING_SOURCE,
///         attribute::BOOKING_PROPERTY_ID,
///     ]))
///     .with_simple_exporter(RedactingExporter::new(exporter.clone(), RedactionPolicy::default()))
///     .build();
/// let telemetry = Telemetry::from_tracer_provider(&provider);
///
/// // Upstream (or in this service), the baggage is set once per request:
/// let cx = Context::current().with_baggage([
///     KeyValue::new(attribute::BOOKING_SOURCE, "mobile"),
///     KeyValue::new("session.debug", "on"), // not allow-listed: not copied
/// ]);
/// let _request = cx.attach();
/// Step::new("booking.create").telemetry(&telemetry).run(|| ());
///
/// let span = &exporter.get_finished_spans().unwrap()[0];
/// assert!(span.attributes.contains(&KeyValue::new(attribute::BOOKING_SOURCE, "mobile")));
/// assert!(!span.attributes.iter().any(|kv| kv.key.as_str() == "session.debug"));
/// ```
#[derive(Debug, Clone)]
pub struct BaggageToAttributes {
    keys: Arc<[Key]>,
}

impl BaggageToAttributes {
    /// Copies the baggage entries named `keys` (and no other) onto every span.
    pub fn new<I>(keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Key>,
    {
        BaggageToAttributes {
            keys: keys.into_iter().map(Into::into).collect(),
        }
    }

    /// The allow-listed keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(Key::as_str)
    }
}

impl SpanProcessor for BaggageToAttributes {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        let baggage = cx.baggage();
        if baggage.is_empty() {
            return;
        }
        for key in self.keys.iter() {
            if let Some(value) = baggage.get(key.as_str()) {
                span.set_attribute(KeyValue::new(key.clone(), value.clone()));
            }
        }
    }

    fn on_end(&self, _span: SpanData) {}

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
