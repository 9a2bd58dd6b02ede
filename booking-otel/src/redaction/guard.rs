//! [`RedactingSpanProcessor`]: the scanner, applied to every span before export.

use std::time::Duration;

use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::scanner::{RedactionPolicy, RedactionRule};
use super::thread_cache::with_thread_cache;
use crate::conventions::{attribute, metric};

/// Wraps the span processor that exports, and masks secrets in each span before handing
/// it on: span name, attribute values (strings, integers, floats, arrays), event names
/// and attributes, link attributes and the status description. Spans made by other
/// libraries pass through it too.
///
/// It must *wrap* the exporting processor: the SDK gives every processor its own copy of
/// a span, so a redactor registered beside the exporter would change nothing.
///
/// [`setup`](crate::setup) always installs it. With a provider of your own:
///
/// ```
/// use booking_otel::{RedactingSpanProcessor, RedactionPolicy};
/// use opentelemetry_sdk::trace::{BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(RedactingSpanProcessor::new(
///         BatchSpanProcessor::builder(exporter.clone()).build(),
///         RedactionPolicy::default(),
///     ))
///     .build();
/// # let _ = provider.shutdown();
/// ```
///
/// # Cost
///
/// The guard runs on the thread that ends the span, before the span reaches the
/// exporting processor. Each such thread keeps a cache of what the policy already
/// decided (49 KiB, allocated on its first span, no lock): the class of each attribute
/// key, which constant strings are clean, and the attribute lists of each constant span
/// or event name. A constant key with a constant value or a small number then costs a
/// few comparisons, and only values that change from span to span (ids, messages) are
/// scanned, at about two instructions per byte. On a five-span booking over an exporter
/// that drops spans the guard adds about 9.6% (see `BENCHMARKS.md`). The cache changes
/// the cost, never what is exported.
#[derive(Debug)]
pub struct RedactingSpanProcessor<P> {
    inner: P,
    policy: RedactionPolicy,
    redactions: Option<Counter<u64>>,
}

impl<P: SpanProcessor> RedactingSpanProcessor<P> {
    /// Wraps `inner` (the exporting processor) with `policy`.
    pub fn new(inner: P, policy: RedactionPolicy) -> Self {
        RedactingSpanProcessor {
            inner,
            policy,
            redactions: None,
        }
    }

    /// Counts redactions in `booking_otel.redactions`, by rule (never the value or the
    /// key).
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.redactions = Some(
            meter
                .u64_counter(metric::REDACTIONS)
                .with_unit("{redaction}")
                .with_description("Values the redaction guard masked before export, by rule.")
                .build(),
        );
        self
    }
}

impl RedactionPolicy {
    /// Masks secrets everywhere in `span`; calls `report` once per masked value.
    pub fn redact_span(&self, span: &mut SpanData, report: &mut dyn FnMut(RedactionRule)) {
        // `move`: the closure holds `span` itself, not a reference to each field.
        with_thread_cache(move |cache| {
            self.redact_named_list(cache, &mut span.name, &mut span.attributes, report);
            for event in span.events.events.iter_mut() {
                self.redact_named_list(cache, &mut event.name, &mut event.attributes, report);
            }
            for link in span.links.links.iter_mut() {
                for attribute in link.attributes.iter_mut() {
                    self.redact_attribute(&mut cache.decisions, attribute, report);
                }
            }
            if let opentelemetry::trace::Status::Error { description } = &mut span.status {
                self.redact_name(&mut cache.decisions, description, report);
            }
        });
    }
}

impl<P: SpanProcessor> RedactingSpanProcessor<P> {
    #[inline(always)]
    fn redacted(&self, mut span: SpanData) -> SpanData {
        match &self.redactions {
            Some(counter) => self.policy.redact_span(&mut span, &mut |rule| {
                counter.add(
                    1,
                    &[KeyValue::new(attribute::REDACTION_RULE, rule.as_str())],
                );
            }),
            None => self.policy.redact_span(&mut span, &mut |_| {}),
        }
        span
    }
}

impl<P: SpanProcessor> SpanProcessor for RedactingSpanProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        self.inner.on_end(self.redacted(span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
