//! The policy applied to what the SDK exports: a span (name, attributes, events,
//! links, status, trace state, instrumentation scope attributes) and the resource, plus
//! the attribute value length limit.

use std::borrow::Cow;
use std::collections::HashMap;

use opentelemetry::trace::{SpanContext, Status, TraceState};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::policy::{KeyClass, RedactionPolicy, RedactionRule};
use crate::hashers::FnvBuildHasher;

/// The most attribute keys whose class is remembered; past it, keys are classified
/// each time (a key set that large is a cardinality bug elsewhere).
const MAX_REMEMBERED_KEYS: usize = 4096;

/// A policy with what it needs to redact spans quickly: the class of each key seen
/// (keys repeat from span to span; classifying one splits it into words), and the
/// attribute value length limit.
#[derive(Debug)]
pub(super) struct SpanRedactor {
    pub(super) policy: RedactionPolicy,
    /// FNV-hashed: SipHash cost a fifth of the export thread's redaction work.
    key_classes: HashMap<Key, KeyClass, FnvBuildHasher>,
    pub(super) value_length_limit: Option<usize>,
}

impl SpanRedactor {
    pub(super) fn new(policy: RedactionPolicy) -> Self {
        SpanRedactor {
            policy,
            key_classes: HashMap::default(),
            value_length_limit: None,
        }
    }

    /// Masks secrets everywhere in `span`, then applies the length limit; calls `report`
    /// once per masked value.
    pub(super) fn redact_span(
        &mut self,
        span: &mut SpanData,
        report: &mut dyn FnMut(RedactionRule),
    ) {
        redact_in_place(&self.policy, &mut span.name, report);
        self.redact_attributes(&mut span.attributes, report);
        for event in span.events.events.iter_mut() {
            redact_in_place(&self.policy, &mut event.name, report);
            self.redact_attributes(&mut event.attributes, report);
        }
        for link in span.links.links.iter_mut() {
            self.redact_attributes(&mut link.attributes, report);
        }
        if let Status::Error { description } = &mut span.status {
            redact_in_place(&self.policy, description, report);
        }
        // Rarely set, so checked only when present: vendors' trace state entries and
        // instrumentation scope attributes.
        if span.span_context.trace_state() != &TraceState::NONE {
            self.redact_trace_state(&mut span.span_context, report);
        }
        if span.instrumentation_scope.attributes().next().is_some()
            && let Some(masked) = self.redact_scope(&span.instrumentation_scope, report)
        {
            span.instrumentation_scope = masked;
        }
    }

    /// Masks the values of the span's `tracestate` entries (a propagated header, so any
    /// service upstream may have put something there); an entry list that no longer
    /// parses after masking is dropped whole.
    #[cold]
    fn redact_trace_state(
        &mut self,
        span_context: &mut SpanContext,
        report: &mut dyn FnMut(RedactionRule),
    ) {
        let header = span_context.trace_state().header();
        let mut changed = false;
        let mut entries: Vec<(String, String)> = Vec::new();
        for entry in header.split(',') {
            let Some((key, value)) = entry.split_once('=') else {
                continue;
            };
            let mut value = Value::from(value.to_owned());
            changed |=
                self.policy
                    .redact_classified(self.policy.classify_key(key), &mut value, report);
            entries.push((key.to_owned(), value.as_str().into_owned()));
        }
        if !changed {
            return;
        }
        let trace_state = TraceState::from_key_value(entries).unwrap_or(TraceState::NONE);
        *span_context = SpanContext::new(
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags(),
            span_context.is_remote(),
            trace_state,
        );
    }

    /// A copy of `scope` with its attributes (set by the library that made the span or
    /// log record) masked; `None` when they are clean. Scopes cannot be edited in place.
    #[cold]
    pub(super) fn redact_scope(
        &mut self,
        scope: &InstrumentationScope,
        report: &mut dyn FnMut(RedactionRule),
    ) -> Option<InstrumentationScope> {
        let mut attributes: Vec<KeyValue> = scope.attributes().cloned().collect();
        let mut changed = false;
        for attribute in &mut attributes {
            let class = self.key_class(&attribute.key);
            changed |= self
                .policy
                .redact_classified(class, &mut attribute.value, report);
        }
        if !changed {
            return None;
        }
        let mut builder =
            InstrumentationScope::builder(scope.name().to_owned()).with_attributes(attributes);
        if let Some(version) = scope.version() {
            builder = builder.with_version(version.to_owned());
        }
        if let Some(schema_url) = scope.schema_url() {
            builder = builder.with_schema_url(schema_url.to_owned());
        }
        Some(builder.build())
    }

    pub(super) fn redact_attributes(
        &mut self,
        attributes: &mut [KeyValue],
        report: &mut dyn FnMut(RedactionRule),
    ) {
        for attribute in attributes {
            let class = self.key_class(&attribute.key);
            self.policy
                .redact_classified(class, &mut attribute.value, report);
            if let Some(limit) = self.value_length_limit {
                truncate_value(&mut attribute.value, limit);
            }
        }
    }

    pub(super) fn key_class(&mut self, key: &Key) -> KeyClass {
        if let Some(class) = self.key_classes.get(key) {
            return *class;
        }
        let class = self.policy.classify_key(key.as_str());
        if self.key_classes.len() < MAX_REMEMBERED_KEYS {
            self.key_classes.insert(key.clone(), class);
        }
        class
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
impl RedactionPolicy {
    /// A copy of `resource` with its attributes masked (not cut to a length limit: the
    /// limits are span limits). [`RedactingExporter`](super::RedactingExporter) does
    /// this for span exporters; [`setup`](crate::setup) does it once for the resource
    /// it gives both providers. Use it for the resource of providers you build yourself
    /// whose exporters are not behind a `RedactingExporter` (metrics, logs).
    ///
    /// ```
    /// use booking_otel::RedactionPolicy;
    /// use opentelemetry::KeyValue;
    /// use opentelemetry_sdk::Resource;
    ///
    /// let resource = Resource::builder_empty()
    ///     .with_attributes([KeyValue::new("db.password", "hunter2")])
    ///     .build();
    /// let redacted = RedactionPolicy::default().redact_resource(&resource);
    /// let value = redacted.get(&opentelemetry::Key::new("db.password")).unwrap();
    /// assert_eq!(value.as_str(), "[REDACTED]");
    /// ```
    pub fn redact_resource(&self, resource: &Resource) -> Resource {
        redact_resource(self, resource, &mut |_| {})
    }
}

/// A copy of `resource` with its attributes masked, reporting each rule that masked.
pub(super) fn redact_resource(
    policy: &RedactionPolicy,
    resource: &Resource,
    report: &mut dyn FnMut(RedactionRule),
) -> Resource {
    let attributes: Vec<KeyValue> = resource
        .iter()
        .map(|(key, value)| {
            let mut value = value.clone();
            policy.redact_classified(policy.classify_key(key.as_str()), &mut value, report);
            KeyValue::new(key.clone(), value)
        })
        .collect();
    let builder = Resource::builder_empty();
    match resource.schema_url() {
        Some(url) => builder.with_schema_url(attributes, url.to_owned()),
        None => builder.with_attributes(attributes),
    }
    .build()
}

/// Masks a span name, event name or status description in place.
fn redact_in_place(
    policy: &RedactionPolicy,
    text: &mut Cow<'static, str>,
    report: &mut dyn FnMut(RedactionRule),
) {
    if let Some(masked) = policy.redact_text(text, report) {
        *text = Cow::Owned(masked);
    }
}

/// Cuts a string value (or each string of an array) to at most `limit` characters, as
/// the OpenTelemetry attribute limits specify (a character counts as one, so the cut
/// always falls on a character boundary).
pub(super) fn truncate_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(s) => truncate_string(s, limit),
        Value::Array(Array::String(items)) => {
            for item in items {
                truncate_string(item, limit);
            }
        }
        _ => {}
    }
}

fn truncate_string(value: &mut StringValue, limit: usize) {
    let text = value.as_str();
    // Bytes bound characters from above: most values stop here.
    if text.len() <= limit {
        return;
    }
    if let Some((end, _)) = text.char_indices().nth(limit) {
        *value = StringValue::from(text[..end].to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_cuts_on_their_boundaries() {
        let mut v = Value::from("héllo wörld".to_string());
        truncate_value(&mut v, 2);
        assert_eq!(v, Value::from("hé"));
        let mut v = Value::from("日本語テキスト");
        truncate_value(&mut v, 3);
        assert_eq!(v, Value::from("日本語"));
        let mut v = Value::from("short");
        truncate_value(&mut v, 5);
        assert_eq!(v, Value::from("short"));
        let mut v = Value::Array(Array::String(vec!["abcdef".into(), "ab".into()]));
        truncate_value(&mut v, 3);
        assert_eq!(
            v,
            Value::Array(Array::String(vec!["abc".into(), "ab".into()]))
        );
        let mut v = Value::I64(123456);
        truncate_value(&mut v, 2);
        assert_eq!(v, Value::I64(123456));
    }
}
