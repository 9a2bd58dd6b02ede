//! Message queues, asserted on exported spans: a producer step injects its context into
//! message headers, a consumer step on another task (multi-thread runtime) continues
//! the trace from them, Kafka-style byte headers round-trip, and a batch consumer links
//! every message's trace.

use std::collections::HashMap;

use booking_otel::conventions::{attribute, standard};
use booking_otel::propagation::{
    Headers, batch_links, extract_from, inject_context_into, inject_into, message_link,
};
use booking_otel::testing::{TestTelemetry, parent_of};
use booking_otel::{Step, booking_step};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// What `setup` installs by default: W3C trace context and baggage.
fn w3c_propagators() {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

type KafkaHeaders = Vec<(String, Vec<u8>)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_on_another_task_is_the_child_of_the_producer_step() {
    w3c_propagators();
    let telemetry = TestTelemetry::install();
    let (queue, mut inbox) = tokio::sync::mpsc::channel::<(String, KafkaHeaders)>(1);

    // The consumer runs on a plain `tokio::spawn`: nothing of the producer's context
    // reaches it but the message headers.
    let consumer = tokio::spawn(async move {
        let (payload, headers) = inbox.recv().await.unwrap();
        let thread = std::thread::current().id();
        Step::new("booking.notify")
            .kind(SpanKind::Consumer)
            .parent(extract_from(&headers))
            .instrument(async move {
                tokio::task::yield_now().await;
                Ok::<_, std::io::Error>(payload.len())
            })
            .await
            .map(|n| (n, thread))
    });

    let mut headers = KafkaHeaders::new();
    Step::new("booking.publish_confirmation")
        .kind(SpanKind::Producer)
        .run(|| inject_into(&mut headers));
    queue.send(("K7Q2ZP".into(), headers)).await.unwrap();
    let (handled, _consumer_thread) = consumer.await.unwrap().unwrap();
    assert_eq!(handled, 6);

    let spans = telemetry.spans();
    let producer = telemetry.span("booking.publish_confirmation");
    let notify = telemetry.span("booking.notify");
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(notify.span_kind, SpanKind::Consumer);
    assert_eq!(
        notify.span_context.trace_id(),
        producer.span_context.trace_id()
    );
    assert_eq!(notify.parent_span_id, producer.span_context.span_id());
    assert!(notify.parent_span_is_remote, "the parent came from headers");
    assert_eq!(
        parent_of(&spans, "booking.notify").unwrap().name,
        "booking.publish_confirmation"
    );
}

// The same with `#[booking_step]` on both sides: the producer injects the context
// current in its body, the consumer's call is made with the extracted context current.
#[booking_step(kind = producer)]
fn publish_confirmation(code: &str, headers: &mut KafkaHeaders) -> usize {
    inject_into(headers);
    code.len()
}

#[booking_step(kind = consumer)]
async fn notify(code: String) -> Result<String, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(format!("sent {code}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_step_producer_and_consumer_on_spawned_tasks() {
    w3c_propagators();
    let telemetry = TestTelemetry::install();
    let mut headers = KafkaHeaders::new();
    publish_confirmation("K7Q2ZP", &mut headers);

    let sent = tokio::spawn(async move {
        // The async step captures its parent when it is called.
        let handled = {
            let _remote = extract_from(&headers).attach();
            notify("K7Q2ZP".into())
        };
        handled.await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(sent, "sent K7Q2ZP");

    let producer = telemetry.span("booking.publish_confirmation");
    let consumer = telemetry.span("booking.notify");
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(consumer.span_kind, SpanKind::Consumer);
    assert_eq!(consumer.parent_span_id, producer.span_context.span_id());
    assert_eq!(
        consumer.span_context.trace_id(),
        producer.span_context.trace_id()
    );
}

#[test]
fn kafka_style_byte_headers_round_trip_context_and_baggage() {
    w3c_propagators();
    let telemetry = TestTelemetry::install();
    let cx = Context::current().with_baggage([KeyValue::new(attribute::BOOKING_SOURCE, "mobile")]);
    let _request = cx.attach();

    let mut headers = KafkaHeaders::new();
    let producer_cx = Step::new("booking.publish_confirmation")
        .kind(SpanKind::Producer)
        .run_classified(
            || {
                inject_into(&mut headers);
                Context::current()
            },
            |_| booking_otel::Outcome::Ok,
        );

    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        names.contains(&"traceparent") && names.contains(&"baggage"),
        "{names:?}"
    );
    assert!(
        headers.iter().all(|(_, v)| !v.is_empty()),
        "no empty value (the W3C propagator's empty tracestate) is written: {headers:?}"
    );
    assert_eq!(
        headers.header("baggage"),
        Some(&b"booking.source=mobile"[..])
    );

    // What a broker hands the consumer: the same bytes, another process's context.
    let received: KafkaHeaders = headers.clone();
    let consumer_cx = Context::new().attach();
    let remote = extract_from(&received);
    drop(consumer_cx);
    let sent = producer_cx.span().span_context().clone();
    let got = remote.span().span_context().clone();
    assert_eq!(got.trace_id(), sent.trace_id());
    assert_eq!(got.span_id(), sent.span_id());
    assert_eq!(got.trace_flags(), sent.trace_flags());
    assert!(got.is_remote());
    assert_eq!(
        remote.baggage().get(attribute::BOOKING_SOURCE),
        Some(&"mobile".into())
    );
    assert_eq!(telemetry.span_names(), ["booking.publish_confirmation"]);

    // Re-publishing replaces the context rather than adding a second one.
    let mut forwarded = received;
    inject_context_into(&remote, &mut forwarded);
    assert_eq!(
        forwarded
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("traceparent"))
            .count(),
        1
    );
}

#[test]
fn a_batch_consumer_links_each_message_with_its_index_and_id() {
    w3c_propagators();
    let telemetry = TestTelemetry::install();

    // Three messages, each published in its own trace.
    let messages: Vec<(String, KafkaHeaders)> = (0..3)
        .map(|i| {
            let mut headers = KafkaHeaders::new();
            Step::new("booking.publish_confirmation")
                .kind(SpanKind::Producer)
                .run(|| inject_into(&mut headers));
            (format!("msg-{i}"), headers)
        })
        .collect();

    Step::new("booking.notify_batch")
        .kind(SpanKind::Consumer)
        .links(batch_links(
            messages.iter().map(|(id, h)| (h, Some(id.as_str()))),
        ))
        .run(|| ());

    let spans = telemetry.spans();
    let producers: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "booking.publish_confirmation")
        .collect();
    assert_eq!(producers.len(), 3);
    let traces: std::collections::HashSet<_> = producers
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect();
    assert_eq!(traces.len(), 3, "three traces");

    let batch = telemetry.span("booking.notify_batch");
    assert_eq!(batch.span_kind, SpanKind::Consumer);
    assert_eq!(batch.parent_span_id, SpanId::INVALID, "a root of its own");
    assert_eq!(batch.links.links.len(), 3);
    // Links are in message order; each points at its producer span.
    let mut producers = producers;
    producers.sort_by_key(|s| s.start_time);
    for (index, (link, producer)) in batch.links.links.iter().zip(&producers).enumerate() {
        assert_eq!(
            link.span_context.trace_id(),
            producer.span_context.trace_id()
        );
        assert_eq!(link.span_context.span_id(), producer.span_context.span_id());
        let value = |key: &str| {
            link.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(
            value(attribute::MESSAGING_MESSAGE_INDEX),
            Some(Value::I64(index as i64))
        );
        assert_eq!(
            value(standard::MESSAGING_MESSAGE_ID),
            Some(Value::from(format!("msg-{index}")))
        );
    }
}

#[test]
fn a_message_without_context_gets_no_link_and_keeps_the_others_indexes() {
    w3c_propagators();
    let _telemetry = TestTelemetry::install();
    let mut with_context = KafkaHeaders::new();
    Step::new("booking.publish_confirmation")
        .kind(SpanKind::Producer)
        .run(|| inject_into(&mut with_context));
    let without = KafkaHeaders::new();

    let links = batch_links([(&without, None), (&with_context, None)]);
    assert_eq!(links.len(), 1);
    assert_eq!(
        links[0].attributes,
        [KeyValue::new(attribute::MESSAGING_MESSAGE_INDEX, 1_i64)],
        "no message id given, none recorded"
    );
    assert!(message_link(&without, 0, Some("m")).is_none());
}

/// What a newcomer writes first: borrowed `&str` headers, straight from a test or a
/// framework's map.
#[test]
fn borrowed_str_headers_work_as_they_are() {
    w3c_propagators();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let map: HashMap<&str, &str> = HashMap::from([
        ("traceparent", traceparent),
        ("baggage", "booking.source=web"),
    ]);
    let array = [("Traceparent", traceparent)];
    let list: Vec<(&str, String)> = vec![("traceparent", traceparent.to_string())];
    let slice: &[(&str, &str)] = &[("TRACEPARENT", traceparent)];

    for cx in [
        extract_from(&map),
        extract_from(&array),
        extract_from(&list),
        extract_from(slice),
    ] {
        let sc = cx.span().span_context().clone();
        assert!(sc.is_valid() && sc.is_remote());
        assert_eq!(
            format!("{:032x}", sc.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }
    assert_eq!(
        extract_from(&map).baggage().get(attribute::BOOKING_SOURCE),
        Some(&"web".into())
    );
}

#[test]
fn the_consumer_body_runs_in_the_remote_context_with_its_baggage() {
    w3c_propagators();
    let telemetry = TestTelemetry::install();
    let headers = [
        (
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("baggage", "booking.source=api"),
    ];
    let mut forwarded: HashMap<String, String> = HashMap::new();
    Step::new("booking.notify")
        .kind(SpanKind::Consumer)
        .parent(extract_from(&headers))
        .run(|| {
            assert_eq!(
                Context::current().baggage().get(attribute::BOOKING_SOURCE),
                Some(&"api".into())
            );
            inject_into(&mut forwarded);
        });
    let notify = telemetry.span("booking.notify");
    assert_eq!(
        format!("{:016x}", notify.parent_span_id),
        "00f067aa0ba902b7"
    );
    // What the consumer passes on names the consumer step as parent, with the baggage.
    assert!(forwarded["traceparent"].contains(&format!("{:016x}", notify.span_context.span_id())));
    assert_eq!(forwarded["baggage"], "booking.source=api");
}

#[test]
fn a_sampled_out_consumer_step_still_passes_the_remote_trace_on() {
    use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
    w3c_propagators();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    let sampled_out = booking_otel::Telemetry::from_tracer_provider(&provider);
    let headers = [
        (
            "traceparent",
            "00-5eed0f00000000000000000000000001-00f067aa0ba902b7-01",
        ),
        ("baggage", "booking.source=api"),
    ];
    let mut forwarded: Vec<(String, String)> = Vec::new();
    let step = Step::new("booking.notify")
        .kind(SpanKind::Consumer)
        .telemetry(&sampled_out)
        .parent(extract_from(&headers));
    step.run(|| inject_into(&mut forwarded));
    let traceparent = &forwarded
        .iter()
        .find(|(k, _)| k == "traceparent")
        .unwrap()
        .1;
    assert!(
        traceparent.starts_with("00-5eed0f00000000000000000000000001-"),
        "{traceparent}"
    );
    assert!(traceparent.ends_with("-00"), "sampled out: {traceparent}");
    assert!(
        forwarded
            .iter()
            .any(|(k, v)| k == "baggage" && v == "booking.source=api")
    );
}
