//! End to end: spans carrying card numbers go through `setup`'s real pipeline — the
//! redaction guard, the batch processor and the OTLP/gRPC exporter — to a gRPC receiver
//! on 127.0.0.1, and the bytes it receives hold no card number.
//!
//! It runs the property of `tests/redaction_properties.rs` once, over a batch of
//! generated cases (deterministic seed), and checks the raw protobuf bytes.
//! `setup` installs globals, so this test has its own binary.

mod support;

use std::sync::{Arc, Mutex};

use booking_otel::setup::{ExporterKind, Setup};
use opentelemetry::trace::{Span as _, Status, Tracer, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use prost::Message;
use support::failing_step::failing_payment;
use support::pan::{Case, case};

/// Keeps every export request exactly as it arrived, re-encoded to protobuf bytes.
#[derive(Clone, Default)]
struct Receiver {
    requests: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.requests
            .lock()
            .expect("receiver lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

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
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("receiver runtime");
    let receiver = Receiver::default();
    let listener = server_runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1");
    let address = listener.local_addr().expect("local address");
    let service = TraceServiceServer::new(receiver.clone());
    server_runtime.spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });

    let guard = Setup::new("otlp-receiver-test")
        .otlp_endpoint(format!("http://{address}"))
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup with an OTLP endpoint");

    let mut runner = TestRunner::deterministic();
    let cases: Vec<Case> = (0..64)
        .map(|_| case().new_tree(&mut runner).expect("a case").current())
        .collect();
    for case in &cases {
        emit(case);
    }
    guard.shutdown(); // flushes the batch processor through the exporter

    let requests = receiver.requests.lock().expect("receiver lock");
    let spans: usize = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(spans, 2 * cases.len(), "every span reached the receiver");
    let bytes: Vec<u8> = requests.iter().flat_map(|r| r.encode_to_vec()).collect();
    let received = String::from_utf8_lossy(&bytes);
    for case in &cases {
        let hidden = &case.pan_digits[..case.pan_digits.len() - 4];
        assert!(
            !received.contains(hidden) && !received.contains(&case.rendered),
            "the receiver got digits of {} ({})",
            case.pan_digits,
            case.rendered
        );
        // An integer PAN would travel as a varint, not as text: look for its encoding.
        if let Some(number) = case.as_i64() {
            let varint = prost::encoding::encode_varint;
            let mut encoded = Vec::new();
            varint(number as u64, &mut encoded);
            assert!(
                !bytes
                    .windows(encoded.len())
                    .any(|w| w == encoded.as_slice()),
                "the receiver got {number} as an integer"
            );
        }
        assert!(
            received.contains(&case.last_four())
                || case.rendered.contains(' ')
                || case.rendered.contains('-'),
            "the masked form keeps the last four digits"
        );
    }
    drop(requests);
    server_runtime.shutdown_background();
}
