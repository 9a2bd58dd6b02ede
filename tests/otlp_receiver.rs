//! End to end: spans carrying card numbers go through `setup`'s real pipeline — the
//! redaction guard, the batch processor and the OTLP/gRPC exporter — to a gRPC receiver
//! on 127.0.0.1, and the bytes it receives hold no card number.
//!
//! It runs the property of `tests/redaction_properties.rs` once, over a batch of
//! generated cases (deterministic seed), and checks the raw protobuf bytes.
//! The resource, from code and from `OTEL_RESOURCE_ATTRIBUTES`, is checked the same
//! way. `setup` installs globals and the test sets the environment, so this test has
//! its own binary.

mod support;

use booking_otel::setup::{ExporterKind, Setup};
use opentelemetry::trace::{Span as _, Status, Tracer, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use prost::Message;
use support::failing_step::failing_payment;
use support::pan::{Case, assert_no_card_number, cases};
use support::receiver::Running;

fn emit(case: &Case) {
    let tracer = global::tracer_provider().tracer("otlp-receiver-test");
    let mut span = tracer.start(case.embedded.clone());
    span.set_attribute(KeyValue::new("http.request.body", case.embedded.clone()));
    if let Some(number) = case.as_i64() {
        span.set_attribute(KeyValue::new("payment.reference", number));
    }
    span.add_event(
        case.embedded.clone(),
        vec![KeyValue::new("exception.message", case.embedded.clone())],
    );
    span.set_status(Status::error(case.embedded.clone()));
    span.end();
    assert!(failing_payment(case.embedded.clone()).is_err());
}

#[test]
fn a_real_otlp_receiver_gets_no_card_number() {
    let running = Running::start();
    let (receiver, address) = (running.receiver.clone(), running.address);

    // SAFETY: this binary's only test, before any thread of ours reads the environment.
    unsafe {
        std::env::set_var(
            "OTEL_RESOURCE_ATTRIBUTES",
            "db.password=hunter2,deployment.environment.name=prod",
        );
    }
    let guard = Setup::new("otlp-receiver-test")
        .resource_attribute(KeyValue::new("vendor.apiKey", "sk_live_resource"))
        .resource_attribute(KeyValue::new(
            "host.note",
            "card on file 4111 1111 1111 1111",
        ))
        .attribute_value_length_limit(4096)
        .otlp_endpoint(format!("http://{address}"))
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup with an OTLP endpoint");

    let cases = cases(64);
    for case in &cases {
        emit(case);
    }
    {
        let tracer = global::tracer_provider().tracer("otlp-receiver-test");
        let mut span = tracer.start("booking.long_value");
        span.set_attribute(KeyValue::new("http.request.body", "é".repeat(10_000)));
        span.end();
    }
    guard
        .shutdown() // flushes the batch processor through the exporter
        .expect("shutdown with the collector up");

    let requests = receiver.requests.lock().expect("receiver lock");
    let spans: usize = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(
        spans,
        2 * cases.len() + 1,
        "every span reached the receiver"
    );
    // Setup's length limit (code) is applied on the way: 4,096 characters, whole ones.
    let long_value = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .find(|span| span.name == "booking.long_value")
        .and_then(|span| span.attributes.first())
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref());
    match long_value {
        Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(text)) => {
            assert_eq!(text.chars().count(), 4096);
            assert!(text.chars().all(|c| c == 'é'));
        }
        other => panic!("the long value arrived as {other:?}"),
    }
    let bytes: Vec<u8> = requests.iter().flat_map(|r| r.encode_to_vec()).collect();
    let received = String::from_utf8_lossy(&bytes);
    assert_no_card_number(&bytes, &cases);
    // The resource, from code and from OTEL_RESOURCE_ATTRIBUTES, is redacted too.
    for secret in ["hunter2", "sk_live_resource", "4111 1111 1111"] {
        assert!(!received.contains(secret), "the resource leaked {secret}");
    }
    for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
        let resource = resource_spans.resource.as_ref().expect("a resource");
        let value = |key: &str| {
            resource
                .attributes
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.as_ref())
                .and_then(|v| v.value.as_ref())
                .map(|v| format!("{v:?}"))
                .unwrap_or_else(|| panic!("resource attribute {key} missing"))
        };
        assert!(value("db.password").contains("[REDACTED]"));
        assert!(value("vendor.apiKey").contains("[REDACTED]"));
        assert!(value("host.note").contains("**** **** **** 1111"));
        assert!(value("deployment.environment.name").contains("prod"));
        assert!(value("service.name").contains("otlp-receiver-test"));
    }
    drop(requests);
}
