//! Property: no card number leaves in a log record, wherever it is put.
//!
//! For random Luhn-valid card numbers (13 to 19 digits, plain or grouped, inside random
//! text without digits), put in every place a log record can hold text or a number —
//! the body as a string, as a map (nested values, a list, a map key) and as a list; a
//! string, integer, float, bytes, list and map attribute; `exception.type`,
//! `exception.message` and `exception.stacktrace`; the target — the records exported
//! through the redaction exporter hold no digit of the card number but its last four.

mod support;

use std::collections::HashMap;

use booking_otel::RedactionPolicy;
use booking_otel::redaction::RedactingLogExporter;
use opentelemetry::Key;
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLogRecord, SdkLoggerProvider};
use proptest::prelude::*;
use support::pan::{Case, case};

/// Every piece of text the exporter would send for `record`, with where it came from.
fn exported_text(record: &SdkLogRecord) -> Vec<(String, String)> {
    fn walk(place: &str, value: &AnyValue, out: &mut Vec<(String, String)>) {
        match value {
            AnyValue::String(s) => out.push((place.into(), s.to_string())),
            AnyValue::Int(i) => out.push((place.into(), i.to_string())),
            AnyValue::Double(f) => out.push((place.into(), format!("{f}"))),
            AnyValue::Bytes(b) => out.push((place.into(), String::from_utf8_lossy(b).into())),
            AnyValue::ListAny(items) => {
                for item in items.iter() {
                    walk(&format!("{place}[]"), item, out);
                }
            }
            AnyValue::Map(map) => {
                for (key, item) in map.iter() {
                    out.push((format!("{place} key"), key.to_string()));
                    walk(&format!("{place}.{key}"), item, out);
                }
            }
            other => out.push((place.into(), format!("{other:?}"))),
        }
    }
    let mut out = Vec::new();
    if let Some(target) = record.target() {
        out.push(("target".into(), target.to_string()));
    }
    if let Some(body) = record.body() {
        walk("body", body, &mut out);
    }
    for (key, value) in record.attributes_iter() {
        walk(key.as_str(), value, &mut out);
    }
    out
}

fn emit(provider: &SdkLoggerProvider, case: &Case) {
    let logger = provider.logger("properties");
    let text = || AnyValue::from(case.embedded.clone());
    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Error);
    record.set_target(case.embedded.clone());
    let mut map: HashMap<Key, AnyValue> = HashMap::new();
    map.insert(Key::new("note"), text());
    map.insert(Key::new(case.embedded.clone()), AnyValue::from("as a key"));
    map.insert(
        Key::new("nested"),
        AnyValue::ListAny(Box::new(vec![
            text(),
            AnyValue::Map(Box::new(
                [(Key::new("deeper"), text())].into_iter().collect(),
            )),
        ])),
    );
    if let Some(number) = case.as_i64() {
        map.insert(Key::new("number"), AnyValue::Int(number));
    }
    record.set_body(AnyValue::Map(Box::new(map)));
    record.add_attribute("message", text());
    record.add_attribute("exception.type", text());
    record.add_attribute("exception.message", text());
    record.add_attribute("exception.stacktrace", text());
    record.add_attribute(
        "raw",
        AnyValue::Bytes(Box::new(case.embedded.clone().into_bytes())),
    );
    record.add_attribute("list", AnyValue::ListAny(Box::new(vec![text(), text()])));
    if let Some(number) = case.as_i64() {
        record.add_attribute("payment.reference", AnyValue::Int(number));
    }
    if let Some(number) = case.as_f64() {
        record.add_attribute("payment.amount", AnyValue::Double(number));
    }
    logger.emit(record);
    // The body as a plain string and as a list, in records of their own.
    let mut record = logger.create_log_record();
    record.set_body(text());
    logger.emit(record);
    let mut record = logger.create_log_record();
    record.set_body(AnyValue::ListAny(Box::new(vec![text()])));
    logger.emit(record);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_card_number_leaves_in_a_log_record(case in case()) {
        let exporter = InMemoryLogExporter::default();
        let provider = SdkLoggerProvider::builder()
            .with_simple_exporter(RedactingLogExporter::new(
                exporter.clone(),
                RedactionPolicy::default(),
            ))
            .build();
        emit(&provider, &case);
        let logs = exporter.get_emitted_logs().expect("exported");
        prop_assert_eq!(logs.len(), 3);
        let hidden = &case.pan_digits[..case.pan_digits.len() - 4];
        let mut places = 0;
        for log in &logs {
            for (place, text) in exported_text(&log.record) {
                places += 1;
                let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                prop_assert!(
                    !digits.contains(hidden) && !text.contains(&case.rendered),
                    "{} leaked {} ({}) as {:?}", place, case.pan_digits, case.rendered, text
                );
                prop_assert!(
                    digits.is_empty() || digits == case.last_four(),
                    "{} kept digits {:?} of {}", place, digits, case.pan_digits
                );
            }
        }
        prop_assert!(places >= 14, "every place was checked: {}", places);
        let _ = provider.shutdown();
    }
}
