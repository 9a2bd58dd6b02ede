//! OTLP over HTTP/protobuf (feature `otlp-http`) to a real HTTP receiver on 127.0.0.1:
//! spans, metrics and log records arrive at `/v1/traces`, `/v1/metrics` and `/v1/logs`
//! as protobuf, redacted and correlated, from a program with no runtime and from inside
//! a current-thread tokio runtime (the case tonic cannot serve). Own binary, one test:
//! `setup` installs globals.

mod support;

use std::collections::HashSet;

use booking_otel::Step;
use booking_otel::logs::ExceptionSignal;
use booking_otel::setup::{Protocol, Setup, TelemetryGuard};
use support::logs_e2e::declined_payment;
use support::pan::{assert_no_card_number, cases};
use support::receiver::RunningHttp;

fn install(receiver: &RunningHttp) -> TelemetryGuard {
    Setup::new("otlp-http-test")
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .exceptions_as(ExceptionSignal::Logs)
        .metric_interval(std::time::Duration::from_secs(3600))
        .install()
        .expect("setup over HTTP")
}

#[test]
fn spans_metrics_and_logs_go_over_http_with_and_without_a_runtime() {
    // No runtime at all.
    let receiver = RunningHttp::start();
    let guard = install(&receiver);
    let cases = cases(24);
    for case in &cases {
        assert!(declined_payment(case).is_err());
    }
    // The steps recorded booking.step.duration too: metrics go out with the flush.
    guard.flush().expect("flush over HTTP with the receiver up");

    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let requests = receiver.requests_to(path);
        assert!(!requests.is_empty(), "nothing arrived at {path}");
        assert!(
            requests
                .iter()
                .all(|r| r.content_type == "application/x-protobuf"),
            "{path}: {:?}",
            requests[0].content_type
        );
    }
    let step_ids: HashSet<(Vec<u8>, Vec<u8>)> = receiver
        .spans()
        .iter()
        .map(|s| (s.trace_id.clone(), s.span_id.clone()))
        .collect();
    let records = receiver.log_records();
    assert_eq!(
        records.len(),
        2 * cases.len(),
        "a warning and an exception per step"
    );
    assert!(
        records
            .iter()
            .all(|r| step_ids.contains(&(r.trace_id.clone(), r.span_id.clone())))
    );
    let bytes: Vec<u8> = receiver
        .requests_to("/v1/logs")
        .into_iter()
        .chain(receiver.requests_to("/v1/traces"))
        .flat_map(|r| r.body)
        .collect();
    assert_no_card_number(&bytes, &cases);
    guard.shutdown().expect("shutdown over HTTP");

    // Inside a current-thread runtime: the guard dropped there flushes everything.
    let receiver = RunningHttp::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    runtime.block_on(async {
        let guard = install(&receiver);
        Step::new("booking.create")
            .instrument(async {
                tokio::task::yield_now().await;
                tracing::info!("created");
                Some(())
            })
            .await;
        drop(guard);
    });
    assert_eq!(receiver.spans().len(), 1);
    let records = receiver.log_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].span_id, receiver.spans()[0].span_id);
}
