//! [`RedactingExporter`]: the policy, applied to every span on the export thread.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Meter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::policy::{RedactionPolicy, RedactionRule};
use super::span::{SpanRedactor, redact_resource};
use crate::conventions::{attribute, metric};

/// Wraps the exporter that sends spans out, and masks secrets in each span of a batch
/// before passing the batch on: span name, attribute values (strings, integers, floats,
/// arrays), event names and attributes, link attributes, the status description, and
/// the resource. Spans made by other libraries pass through it too.
///
/// Put it behind the span processor, around the real exporter. With a
/// `BatchSpanProcessor` (what [`setup`](crate::setup) installs) it runs on the batch
/// processor's export thread, and the booking thread pays one queue push per span; with
/// a `SimpleSpanProcessor` it runs on the thread that ends the span.
///
/// ```
/// use booking_otel::{RedactingExporter, RedactionPolicy};
/// use opentelemetry_sdk::trace::{BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(
///         BatchSpanProcessor::builder(RedactingExporter::new(
///             exporter.clone(),
///             RedactionPolicy::default(),
///         ))
///         .build(),
///     )
///     .build();
/// # let _ = provider.shutdown();
/// ```
///
/// # What it does not see
///
/// Spans wait in the batch queue, unredacted, in process memory, until the next export
/// (at most the batch processor's interval, 1 s by default in `setup`, or until a batch
/// fills). A span processor registered beside the batch processor (not through this
/// exporter) receives spans unredacted.
#[derive(Debug)]
pub struct RedactingExporter<E> {
    inner: E,
    redaction: Redaction,
}

/// What the span and log redacting exporters share: the redactor and the counter of
/// redactions by rule.
#[derive(Debug)]
pub(super) struct Redaction {
    /// Not contended: the batch processor polls all its exports from one thread.
    redactor: Mutex<SpanRedactor>,
    redactions: Option<Counter<u64>>,
}

impl Redaction {
    pub(super) fn new(policy: RedactionPolicy) -> Self {
        Redaction {
            redactor: Mutex::new(SpanRedactor::new(policy)),
            redactions: None,
        }
    }

    /// Counts redactions in `booking_otel.redactions`, by rule.
    pub(super) fn count_in(&mut self, meter: &Meter) {
        self.redactions = Some(
            meter
                .u64_counter(metric::REDACTIONS)
                .with_unit("{redaction}")
                .with_description("Values masked by redaction before export, by rule.")
                .build(),
        );
    }

    pub(super) fn set_value_length_limit(&self, limit: Option<usize>) {
        self.lock().value_length_limit = limit;
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, SpanRedactor> {
        // A panic while redacting leaves nothing half-done that matters: every call
        // starts from the item it is given.
        self.redactor.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one redaction by rule, when a meter was given.
    pub(super) fn report(&self, rule: RedactionRule) {
        count(&self.redactions, rule);
    }

    /// `resource` with its secrets masked.
    pub(super) fn redact_resource(&mut self, resource: &Resource) -> Resource {
        let policy = &self
            .redactor
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .policy;
        let redactions = &self.redactions;
        redact_resource(policy, resource, &mut |rule| count(redactions, rule))
    }
}

impl<E: SpanExporter> RedactingExporter<E> {
    /// Wraps `inner` (the exporter that sends spans out) with `policy`.
    pub fn new(inner: E, policy: RedactionPolicy) -> Self {
        RedactingExporter {
            inner,
            redaction: Redaction::new(policy),
        }
    }

    /// Counts redactions in `booking_otel.redactions`, by rule (never the value or the
    /// key).
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.redaction.count_in(meter);
        self
    }

    /// Cuts string attribute values (and each string of an array) to at most `limit`
    /// characters, after masking, so a cut never leaves part of a card number unmasked.
    /// `None` (the default) keeps values whole. [`setup`](crate::setup) sets it from
    /// `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` or `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    pub fn with_value_length_limit(self, limit: Option<usize>) -> Self {
        self.redaction.set_value_length_limit(limit);
        self
    }
}

/// Counts one redaction by rule, when a meter was given.
fn count(redactions: &Option<Counter<u64>>, rule: RedactionRule) {
    if let Some(counter) = redactions {
        counter.add(
            1,
            &[KeyValue::new(attribute::REDACTION_RULE, rule.as_str())],
        );
    }
}

impl<E: SpanExporter> SpanExporter for RedactingExporter<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        {
            let mut redactor = self.redaction.lock();
            let mut report = |rule| self.redaction.report(rule);
            for span in &mut batch {
                redactor.redact_span(span, &mut report);
            }
        }
        self.inner.export(batch).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        let redacted = self.redaction.redact_resource(resource);
        self.inner.set_resource(&redacted);
    }
}
