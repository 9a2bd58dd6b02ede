//! The OTLP transport per signal, from the protocol variables: the signal's variable
//! wins over the general one; each signal reaches the receiver of its transport (a real
//! gRPC receiver and a real HTTP receiver on 127.0.0.1); `OTEL_LOGS_EXPORTER=none`
//! installs no logger provider; an unknown protocol is a typed error naming the variable
//! and the value, and installs nothing. Globals and the environment: own binary, one
//! test, steps in turn.

mod support;

use booking_otel::Step;
use booking_otel::setup::{Setup, SetupError, TelemetryGuard};
use support::receiver::{RunningHttp, RunningWithLogs};

fn set(vars: &[(&str, &str)]) {
    for (key, value) in vars {
        // SAFETY: this binary's only test; no thread of ours reads the environment.
        unsafe { std::env::set_var(key, value) };
    }
}

fn unset(keys: &[&str]) {
    for key in keys {
        // SAFETY: as above.
        unsafe { std::env::remove_var(key) };
    }
}

fn install() -> Result<TelemetryGuard, SetupError> {
    Setup::new("setup-protocols-test").install()
}

fn book() {
    Step::new("booking.create").run(|| tracing::warn!("room 204 held"));
}

#[test]
fn each_signal_goes_over_the_transport_its_variables_choose() {
    set(&[("OTEL_METRICS_EXPORTER", "none")]);

    // Traces over gRPC (the default with the `otlp` feature), logs over HTTP.
    let (grpc, http) = (RunningWithLogs::start(), RunningHttp::start());
    set(&[
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("http://{}", grpc.address),
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            &format!("{}/v1/logs", http.endpoint()),
        ),
    ]);
    let guard = install().expect("traces over gRPC, logs over HTTP");
    book();
    guard.shutdown().expect("both receivers up");
    assert_eq!(grpc.spans().len(), 1);
    assert!(grpc.log_records().is_empty(), "no logs over gRPC");
    assert_eq!(http.log_records().len(), 1);
    assert!(
        http.requests_to("/v1/traces").is_empty(),
        "no traces over HTTP"
    );
    unset(&[
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ]);

    // The general variable says HTTP (base URL, paths appended); traces say gRPC.
    let (grpc, http) = (RunningWithLogs::start(), RunningHttp::start());
    set(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &http.endpoint()),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("http://{}", grpc.address),
        ),
    ]);
    let guard = install().expect("traces over gRPC, the rest over HTTP");
    book();
    guard.shutdown().expect("both receivers up");
    assert_eq!(grpc.spans().len(), 1);
    assert!(grpc.log_records().is_empty());
    assert_eq!(http.log_records().len(), 1);
    assert!(http.requests_to("/v1/traces").is_empty());

    // OTEL_LOGS_EXPORTER=none: no logger provider, nothing sent.
    let http_before = http.log_records().len();
    set(&[("OTEL_LOGS_EXPORTER", "none")]);
    let guard = install().expect("logs off");
    assert!(guard.logger_provider().is_none());
    book();
    guard.shutdown().expect("traces still go out");
    assert_eq!(http.log_records().len(), http_before);
    assert_eq!(grpc.spans().len(), 2, "traces are unaffected");
    unset(&["OTEL_LOGS_EXPORTER"]);

    // An unknown protocol: a typed error naming the variable and the value.
    set(&[("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json")]);
    match install() {
        Err(SetupError::UnknownProtocol { variable, value }) => {
            assert_eq!(variable, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL");
            assert_eq!(value, "http/json");
        }
        other => panic!("expected UnknownProtocol, got {other:?}"),
    }
    unset(&["OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"]);
    // Nothing was installed by the refused configuration.
    install()
        .expect("installs after a refused configuration")
        .shutdown()
        .expect("receivers up");
}
