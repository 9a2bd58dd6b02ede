//! The policy applied to log records: body (a string or structured, recursively),
//! attributes (`exception.*` included), target, and instrumentation scope attributes;
//! and [`RedactingLogExporter`], which applies it on the export thread.
//!
//! The SDK's log record cannot be changed in place outside the SDK (attributes can only
//! be added), so a record that holds a secret is rebuilt, masked, and a clean one (the
//! common case) passes on as it came, without a copy.

use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::metrics::Meter;
use opentelemetry::{InstrumentationScope, Key, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLogRecord};

use super::MASK;
use super::exporter::Redaction;
use super::policy::{KeyClass, RedactionPolicy, RedactionRule};
use super::span::SpanRedactor;

/// Wraps the exporter that sends log records out, and masks secrets in each record of
/// a batch before passing it on: the body (strings, and lists and maps of any depth,
/// map keys classified like attribute keys), every attribute value (`exception.message`
/// and `exception.stacktrace` included), the target, instrumentation scope attributes,
/// and the resource. The same [`RedactionPolicy`] as spans, with the same rules.
///
/// Put it behind the batch log processor, around the real exporter, as
/// [`setup`](crate::setup) does: it then runs on the processor's export thread, and the
/// thread that logs pays one queue push per record.
///
/// ```
/// use booking_otel::RedactionPolicy;
/// use booking_otel::redaction::RedactingLogExporter;
/// use opentelemetry_sdk::logs::{BatchLogProcessor, InMemoryLogExporter, SdkLoggerProvider};
///
/// let exporter = InMemoryLogExporter::default();
/// let provider = SdkLoggerProvider::builder()
///     .with_log_processor(
///         BatchLogProcessor::builder(RedactingLogExporter::new(
///             exporter.clone(),
///             RedactionPolicy::default(),
///         ))
///         .build(),
///     )
///     .build();
/// # let _ = provider.shutdown();
/// ```
///
/// Records wait in the batch queue unredacted, in process memory, until the next export
/// (at most the processor's scheduled delay, 1 s by default for logs). Event names and
/// severity texts are `&'static str` set in code and pass unchanged.
#[derive(Debug)]
pub struct RedactingLogExporter<E> {
    inner: E,
    redaction: Redaction,
}

impl<E: LogExporter> RedactingLogExporter<E> {
    /// Wraps `inner` (the exporter that sends log records out) with `policy`.
    pub fn new(inner: E, policy: RedactionPolicy) -> Self {
        RedactingLogExporter {
            inner,
            redaction: Redaction::new(policy),
        }
    }

    /// Counts redactions in `booking_otel.redactions`, by rule.
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.redaction.count_in(meter);
        self
    }

    /// Cuts string attribute values (and each string of a list) to at most `limit`
    /// characters, after masking. [`setup`](crate::setup) sets it from
    /// `OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT` or `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`.
    pub fn with_value_length_limit(self, limit: Option<usize>) -> Self {
        self.redaction.set_value_length_limit(limit);
        self
    }
}

impl<E: LogExporter> LogExporter for RedactingLogExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let items: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch.iter().collect();
        let mut records: Vec<Option<SdkLogRecord>> = Vec::with_capacity(items.len());
        let mut scopes: Vec<Option<InstrumentationScope>> = Vec::new();
        let mut changed = false;
        {
            let mut redactor = self.redaction.lock();
            let mut report = |rule| self.redaction.report(rule);
            for (record, scope) in &items {
                let masked = redact_record(&mut redactor, record, &mut report);
                changed |= masked.is_some();
                records.push(masked);
                if scope.attributes().next().is_some() {
                    scopes.resize(records.len() - 1, None);
                    let masked = redactor.redact_scope(scope, &mut report);
                    changed |= masked.is_some();
                    scopes.push(masked);
                }
            }
        }
        if !changed {
            return self.inner.export(batch).await;
        }
        scopes.resize(records.len(), None);
        let masked: Vec<(&SdkLogRecord, &InstrumentationScope)> = items
            .iter()
            .zip(records.iter().zip(&scopes))
            .map(|((record, scope), (masked, masked_scope))| {
                (
                    masked.as_ref().unwrap_or(record),
                    masked_scope.as_ref().unwrap_or(scope),
                )
            })
            .collect();
        self.inner.export(LogBatch::new(&masked)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        let redacted = self.redaction.redact_resource(resource);
        self.inner.set_resource(&redacted);
    }
}

/// `record` with its secrets masked and its attribute values cut to the length limit;
/// `None` when nothing changes.
pub(super) fn redact_record(
    redactor: &mut SpanRedactor,
    record: &SdkLogRecord,
    report: &mut dyn FnMut(RedactionRule),
) -> Option<SdkLogRecord> {
    let body = record
        .body()
        .and_then(|body| redact_any(redactor, KeyClass::Scanned, body, 0, report));
    let target = record
        .target()
        .and_then(|target| redactor.policy.redact_text(target, report));
    let mut attributes: Vec<Option<AnyValue>> = Vec::new();
    for (index, (key, value)) in record.attributes_iter().enumerate() {
        let class = redactor.key_class(key);
        let mut masked = redact_any(redactor, class, value, 0, report);
        if let Some(limit) = redactor.value_length_limit
            && let Some(cut) = truncate(masked.as_ref().unwrap_or(value), limit)
        {
            masked = Some(cut);
        }
        if masked.is_some() {
            attributes.resize(index, None);
            attributes.push(masked);
        }
    }
    if body.is_none() && target.is_none() && attributes.is_empty() {
        return None;
    }
    Some(rebuild(record, body, target, attributes))
}

/// A copy of `record` with `body`, `target` and the attributes given replaced.
fn rebuild(
    record: &SdkLogRecord,
    body: Option<AnyValue>,
    target: Option<String>,
    attributes: Vec<Option<AnyValue>>,
) -> SdkLogRecord {
    let mut out = crate::logs::blank_record();
    if let Some(name) = record.event_name() {
        out.set_event_name(name);
    }
    match (target, record.target()) {
        (Some(masked), _) => out.set_target(masked),
        (None, Some(target)) => out.set_target(target.clone()),
        (None, None) => {}
    }
    if let Some(time) = record.timestamp() {
        out.set_timestamp(time);
    }
    if let Some(time) = record.observed_timestamp() {
        out.set_observed_timestamp(time);
    }
    if let Some(cx) = record.trace_context() {
        out.set_trace_context(cx.trace_id, cx.span_id, cx.trace_flags);
    }
    if let Some(text) = record.severity_text() {
        out.set_severity_text(text);
    }
    if let Some(number) = record.severity_number() {
        out.set_severity_number(number);
    }
    match (body, record.body()) {
        (Some(masked), _) => out.set_body(masked),
        (None, Some(body)) => out.set_body(body.clone()),
        (None, None) => {}
    }
    let mut masked = attributes.into_iter();
    for (key, value) in record.attributes_iter() {
        match masked.next().flatten() {
            Some(masked) => out.add_attribute(key.clone(), masked),
            None => out.add_attribute(key.clone(), value.clone()),
        }
    }
    out
}

/// The deepest nesting scanned in a structured body; deeper values are masked whole
/// (a body that deep is a bug or an attack, and recursion must stay bounded).
const MAX_DEPTH: usize = 32;

/// `value` masked as a value under a key of class `class`; `None` when clean.
fn redact_any(
    redactor: &mut SpanRedactor,
    class: KeyClass,
    value: &AnyValue,
    depth: usize,
    report: &mut dyn FnMut(RedactionRule),
) -> Option<AnyValue> {
    let policy = &redactor.policy;
    match class {
        KeyClass::Allowed => return None,
        KeyClass::Denied => {
            report(RedactionRule::DeniedKey);
            return Some(AnyValue::String(MASK.into()));
        }
        KeyClass::Scanned => {}
    }
    if depth > MAX_DEPTH {
        report(RedactionRule::DeniedKey);
        return Some(AnyValue::String(MASK.into()));
    }
    match value {
        AnyValue::String(s) => policy
            .redact_text(s.as_str(), report)
            .map(|masked| AnyValue::String(masked.into())),
        AnyValue::Boolean(_) => None,
        AnyValue::Int(i) => scalar(policy, Value::I64(*i), report),
        AnyValue::Double(f) => scalar(policy, Value::F64(*f), report),
        AnyValue::Bytes(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            policy
                .redact_text(&text, report)
                .map(|masked| AnyValue::Bytes(Box::new(masked.into_bytes())))
        }
        AnyValue::ListAny(items) => {
            let mut masked: Vec<Option<AnyValue>> = Vec::new();
            for (index, item) in items.iter().enumerate() {
                if let Some(m) = redact_any(redactor, KeyClass::Scanned, item, depth + 1, report) {
                    masked.resize(index, None);
                    masked.push(Some(m));
                }
            }
            if masked.is_empty() {
                return None;
            }
            masked.resize(items.len(), None);
            Some(AnyValue::ListAny(Box::new(
                items
                    .iter()
                    .zip(masked)
                    .map(|(item, m)| m.unwrap_or_else(|| item.clone()))
                    .collect(),
            )))
        }
        AnyValue::Map(map) => {
            // (key, the key masked when it holds a secret itself, the value masked)
            let mut masked: Vec<(&Key, Option<String>, Option<AnyValue>)> = Vec::new();
            for (key, item) in map.iter() {
                let class = redactor.key_class(key);
                let value = redact_any(redactor, class, item, depth + 1, report);
                let renamed = redactor.policy.redact_text(key.as_str(), report);
                if value.is_some() || renamed.is_some() {
                    masked.push((key, renamed, value));
                }
            }
            if masked.is_empty() {
                return None;
            }
            let mut out = (**map).clone();
            for (key, renamed, value) in masked {
                let value = match (value, out.remove(key)) {
                    (Some(value), _) => value,
                    (None, Some(original)) => original,
                    (None, None) => continue,
                };
                out.insert(renamed.map_or_else(|| key.clone(), Key::from), value);
            }
            Some(AnyValue::Map(Box::new(out)))
        }
        // A future value type: masked whole rather than exported unchecked.
        _ => {
            report(RedactionRule::DeniedKey);
            Some(AnyValue::String(MASK.into()))
        }
    }
}

/// A number scanned as the span scanner scans attribute numbers.
fn scalar(
    policy: &RedactionPolicy,
    mut value: Value,
    report: &mut dyn FnMut(RedactionRule),
) -> Option<AnyValue> {
    if !policy.redact_classified(KeyClass::Scanned, &mut value, report) {
        return None;
    }
    Some(match value {
        Value::String(s) => AnyValue::String(s),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::Bool(b) => AnyValue::Boolean(b),
        _ => AnyValue::String(MASK.into()),
    })
}

/// A string (or list of strings) cut to `limit` characters; `None` when within it.
fn truncate(value: &AnyValue, limit: usize) -> Option<AnyValue> {
    let cut = |s: &StringValue| -> Option<StringValue> {
        let text = s.as_str();
        if text.len() <= limit {
            return None;
        }
        text.char_indices()
            .nth(limit)
            .map(|(end, _)| StringValue::from(text[..end].to_owned()))
    };
    match value {
        AnyValue::String(s) => cut(s).map(AnyValue::String),
        AnyValue::ListAny(items) => {
            let cuts: Vec<Option<AnyValue>> = items
                .iter()
                .map(|item| match item {
                    AnyValue::String(s) => cut(s).map(AnyValue::String),
                    _ => None,
                })
                .collect();
            if cuts.iter().all(Option::is_none) {
                return None;
            }
            Some(AnyValue::ListAny(Box::new(
                items
                    .iter()
                    .zip(cuts)
                    .map(|(item, c)| c.unwrap_or_else(|| item.clone()))
                    .collect(),
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn redactor() -> SpanRedactor {
        SpanRedactor::new(RedactionPolicy::default())
    }

    #[test]
    fn scope_attributes_are_masked_in_a_copy_that_keeps_the_rest() {
        let scope = InstrumentationScope::builder("payments-sdk")
            .with_version("2.1.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
            .with_attributes([
                opentelemetry::KeyValue::new("merchant.note", "card 4111 1111 1111 1111"),
                opentelemetry::KeyValue::new("region", "eu"),
            ])
            .build();
        let masked = redactor().redact_scope(&scope, &mut |_| {}).unwrap();
        assert_eq!(masked.name(), "payments-sdk");
        assert_eq!(masked.version(), Some("2.1.0"));
        assert_eq!(masked.schema_url(), scope.schema_url());
        let attributes: Vec<_> = masked.attributes().cloned().collect();
        assert_eq!(
            attributes,
            vec![
                opentelemetry::KeyValue::new("merchant.note", "card **** **** **** 1111"),
                opentelemetry::KeyValue::new("region", "eu"),
            ]
        );
        let clean = InstrumentationScope::builder("payments-sdk")
            .with_attributes([opentelemetry::KeyValue::new("region", "eu")])
            .build();
        assert!(redactor().redact_scope(&clean, &mut |_| {}).is_none());
    }

    #[test]
    fn a_clean_record_is_not_copied() {
        let mut record = crate::logs::blank_record();
        record.set_body("room 204, 2 guests".into());
        record.add_attribute("booking.guests", 2);
        assert!(redact_record(&mut redactor(), &record, &mut |_| {}).is_none());
    }

    #[test]
    fn body_attributes_and_nested_values_are_masked_and_the_rest_kept() {
        let mut record = crate::logs::blank_record();
        record.set_severity_number(Severity::Warn);
        record.set_severity_text("WARN");
        record.set_event_name("payment.declined");
        record.set_target("booking::payment");
        record.set_trace_context(
            opentelemetry::TraceId::from(7u128),
            opentelemetry::SpanId::from(9u64),
            None,
        );
        let nested: HashMap<Key, AnyValue> = [
            (Key::new("note"), AnyValue::from("card 4111 1111 1111 1111")),
            (Key::new("cvv"), AnyValue::from(123)),
            (
                Key::new("list"),
                AnyValue::ListAny(Box::new(vec![AnyValue::Int(4111111111111111)])),
            ),
        ]
        .into_iter()
        .collect();
        record.set_body(AnyValue::Map(Box::new(nested)));
        record.add_attribute("exception.message", "declined 5555555555554444");
        record.add_attribute("booking.guests", 2);
        record.add_attribute("payment.token", "tok_live_1");
        let mut rules = Vec::new();
        let masked = redact_record(&mut redactor(), &record, &mut |r| rules.push(r)).unwrap();
        let Some(AnyValue::Map(body)) = masked.body() else {
            panic!("the body stays a map: {:?}", masked.body())
        };
        assert_eq!(
            body[&Key::new("note")],
            AnyValue::from("card **** **** **** 1111")
        );
        assert_eq!(body[&Key::new("cvv")], AnyValue::from(MASK));
        assert_eq!(
            body[&Key::new("list")],
            AnyValue::ListAny(Box::new(vec![AnyValue::from("************1111")]))
        );
        let attributes: Vec<_> = masked.attributes_iter().cloned().collect();
        assert_eq!(
            attributes,
            vec![
                (
                    Key::new("exception.message"),
                    AnyValue::from("declined ************4444")
                ),
                (Key::new("booking.guests"), AnyValue::Int(2)),
                (Key::new("payment.token"), AnyValue::from(MASK)),
            ]
        );
        assert_eq!(masked.severity_number(), Some(Severity::Warn));
        assert_eq!(masked.severity_text(), Some("WARN"));
        assert_eq!(masked.event_name(), Some("payment.declined"));
        assert_eq!(
            masked.target().map(|t| t.as_ref()),
            Some("booking::payment")
        );
        assert_eq!(masked.trace_context(), record.trace_context());
        assert!(rules.contains(&RedactionRule::CardNumber));
        assert!(rules.contains(&RedactionRule::DeniedKey));
    }

    #[test]
    fn bytes_and_deep_values_are_covered() {
        let mut record = crate::logs::blank_record();
        record.add_attribute("raw", AnyValue::from(&b"pan=4111111111111111"[..]));
        let mut deep = AnyValue::from("4111111111111111");
        for _ in 0..100 {
            deep = AnyValue::ListAny(Box::new(vec![deep]));
        }
        record.set_body(deep);
        let masked = redact_record(&mut redactor(), &record, &mut |_| {}).unwrap();
        let (_, raw) = masked.attributes_iter().next().unwrap();
        assert_eq!(
            raw,
            &AnyValue::Bytes(Box::new(b"pan=************1111".to_vec()))
        );
        assert!(!format!("{:?}", masked.body()).contains("4111111111111111"));
    }
}
