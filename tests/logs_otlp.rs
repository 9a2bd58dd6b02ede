//! End to end over OTLP/gRPC: `tracing` warnings and exceptions-as-logs from failing
//! steps go through `setup`'s real log pipeline (the bridge, the batch processor, the
//! redaction exporter, the OTLP exporter) to a gRPC receiver on 127.0.0.1; the bytes it
//! receives hold no card number, and each record carries its step's trace and span ids.
//! `setup` installs globals: own binary, one test.

mod support;

use std::collections::HashSet;

use booking_otel::logs::ExceptionSignal;
use booking_otel::setup::{ExporterKind, Setup};
use prost::Message;
use support::logs_e2e::declined_payment;
use support::pan::{assert_no_card_number, cases};
use support::receiver::RunningWithLogs;

#[test]
fn log_records_reach_a_real_grpc_receiver_masked_and_correlated() {
    let running = RunningWithLogs::start();
    let guard = Setup::new("logs-otlp-test")
        .otlp_endpoint(format!("http://{}", running.address))
        .metrics_exporter(ExporterKind::None)
        .exceptions_as(ExceptionSignal::LogsAndSpanEvents)
        .install()
        .expect("setup with an OTLP endpoint");
    assert!(guard.logger_provider().is_some());
    assert!(guard.installed_tracing_subscriber());

    let log_delivery = guard.log_delivery();
    let cases = cases(48);
    for case in &cases {
        assert!(declined_payment(case).is_err());
    }
    guard.shutdown().expect("shutdown with the collector up");
    // The application's own accounts of its log records say what the receiver got.
    let accounts = log_delivery.counts();
    assert_eq!(
        (
            accounts.finished,
            accounts.exported,
            accounts.dropped.total(),
            accounts.in_flight
        ),
        (2 * cases.len() as u64, 2 * cases.len() as u64, 0, 0),
        "{accounts:?}"
    );

    let spans = running.spans();
    let step_ids: HashSet<(Vec<u8>, Vec<u8>)> = spans
        .iter()
        .filter(|s| s.name == "booking.process_payment")
        .map(|s| (s.trace_id.clone(), s.span_id.clone()))
        .collect();
    assert_eq!(step_ids.len(), cases.len());
    let records = running.log_records();
    assert_eq!(
        records.len(),
        2 * cases.len(),
        "a warning and an exception per step"
    );
    for record in &records {
        assert!(
            step_ids.contains(&(record.trace_id.clone(), record.span_id.clone())),
            "a record outside any step: {record:?}"
        );
    }
    let warnings = records.iter().filter(|r| r.severity_text == "WARN").count();
    let exceptions = records
        .iter()
        .filter(|r| r.event_name == "exception" && r.severity_text == "ERROR")
        .count();
    assert_eq!((warnings, exceptions), (cases.len(), cases.len()));

    let requests = running.logs.requests.lock().expect("receiver lock");
    let bytes: Vec<u8> = requests.iter().flat_map(|r| r.encode_to_vec()).collect();
    assert_no_card_number(&bytes, &cases);
}
