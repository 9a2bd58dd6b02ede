//! `Setup::baggage_to_attributes`: allow-listed baggage entries arrive as span attributes
//! at a real OTLP receiver; other entries do not. `setup` installs globals: own binary.

mod support;

use booking_otel::Step;
use booking_otel::conventions::attribute;
use booking_otel::setup::{ExporterKind, Setup};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::{Context, KeyValue};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use support::receiver::Running;

#[test]
fn allow_listed_baggage_reaches_the_collector_as_attributes_and_nothing_else_does() {
    let receiver = Running::start();
    let guard = Setup::new("baggage-test")
        .otlp_endpoint(format!("http://{}", receiver.address))
        .metrics_exporter(ExporterKind::None)
        .baggage_to_attributes([attribute::BOOKING_SOURCE])
        .install()
        .expect("setup");
    {
        // As an edge service's extracted context would carry them.
        let _request = Context::current()
            .with_baggage([
                KeyValue::new(attribute::BOOKING_SOURCE, "mobile"),
                KeyValue::new("user.email", "guest@example.com"),
            ])
            .attach();
        Step::new("booking.create").run(|| Some(()));
    }
    guard.shutdown().expect("shutdown");

    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    let attribute = |key: &str| {
        spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.clone())
    };
    assert_eq!(
        attribute(attribute::BOOKING_SOURCE),
        Some(AnyValue::StringValue("mobile".into()))
    );
    assert_eq!(attribute("user.email"), None, "not allow-listed");
}
