//! `flush` and `shutdown` say which signal failed to export when the collector is down,
//! over gRPC and over HTTP, within a bounded time, and `Drop` after a failed flush
//! returns without panicking. A watchdog fails the test instead of letting a hang block
//! CI. Globals: own binary, one test, scenarios in turn.

mod support;

use std::time::{Duration, Instant};

use booking_otel::Step;
use booking_otel::setup::{ExporterKind, Protocol, Setup, Signal};
use support::receiver::dead_endpoint;

#[test]
fn flush_and_shutdown_report_each_failed_signal_when_the_collector_is_down() {
    support::watchdog::abort_after(Duration::from_secs(60), "a flush or shutdown");
    // Exports only when asked: a scheduled export failing between two calls is not
    // reported (the SDK keeps no result of it), which would make this test racy.
    for variable in ["OTEL_BSP_SCHEDULE_DELAY", "OTEL_BLRP_SCHEDULE_DELAY"] {
        // SAFETY: this binary's only test, before any thread of ours reads the environment.
        unsafe { std::env::set_var(variable, "60000") };
    }
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        let started = Instant::now();
        let guard = Setup::new("shutdown-report-test")
            .otlp_endpoint(dead_endpoint())
            .otlp_protocol(protocol)
            .metrics_exporter(ExporterKind::None)
            .install()
            .expect("setup");
        Step::new("booking.create").run(|| tracing::warn!("held"));
        let error = guard
            .flush()
            .expect_err("a flush to a dead collector fails");
        assert!(error.failed(Signal::Traces), "{error}");
        assert!(error.failed(Signal::Logs), "{error}");
        assert!(
            !error.failed(Signal::Metrics),
            "metrics export nothing: {error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("traces: ") && message.contains("logs: "),
            "{message}"
        );
        // Still failing at shutdown, which flushes first: the SDK's shutdown alone
        // drops the result of its last export.
        Step::new("booking.create").run(|| tracing::warn!("held again"));
        let error = guard
            .shutdown()
            .expect_err("a shutdown to a dead collector fails");
        assert!(
            error.failed(Signal::Traces) && error.failed(Signal::Logs),
            "{error}"
        );
        let took = started.elapsed();
        eprintln!(
            "{}: flush and shutdown failed in {took:?}",
            protocol.as_str()
        );
        assert!(took < Duration::from_secs(20), "{took:?}");

        // A drop after a failed flush returns, and panics on nothing.
        let guard = Setup::new("shutdown-report-test")
            .otlp_endpoint(dead_endpoint())
            .otlp_protocol(protocol)
            .metrics_exporter(ExporterKind::None)
            .install()
            .expect("setup");
        Step::new("booking.create").run(|| ());
        assert!(guard.flush().is_err());
        drop(guard);
    }
}
