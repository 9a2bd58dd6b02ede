//! Shutdown never hangs and never panics, and flushes what finished: with the collector
//! up and down, from a current-thread runtime and a one-worker runtime, after a failed
//! flush, and twice. One test runs the scenarios in turn (`setup` installs globals and
//! refuses a second live install); a watchdog fails it instead of letting a hang block
//! CI. The durations are printed, not asserted: timing belongs to benchmarks.

mod support;

use std::time::{Duration, Instant};

use booking_otel::Step;
use booking_otel::setup::{ExporterKind, Setup, TelemetryGuard};
use support::receiver::{Running, dead_endpoint};

fn install(endpoint: &str) -> TelemetryGuard {
    Setup::new("shutdown-test")
        .otlp_endpoint(endpoint)
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup")
}

fn book(n: usize) {
    for _ in 0..n {
        Step::new("booking.create").run(|| Step::new("booking.confirm").run(|| ()));
    }
}

#[test]
fn shutdown_flushes_with_the_collector_up_and_returns_with_it_down() {
    support::watchdog::abort_after(Duration::from_secs(120), "a shutdown scenario");

    // Collector up, guard dropped inside a current-thread runtime: everything arrives.
    let receiver = Running::start();
    let endpoint = format!("http://{}", receiver.address);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let guard = install(&endpoint);
        book(100);
        drop(guard);
    });
    eprintln!(
        "up, current-thread runtime: dropped in {:?}",
        started.elapsed()
    );
    assert_eq!(
        receiver.spans().len(),
        200,
        "every finished span was flushed"
    );

    // Collector up, one-worker runtime, explicit shutdown.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("one-worker runtime");
    runtime.block_on(async {
        let guard = install(&endpoint);
        book(50);
        guard.shutdown().expect("shutdown with the collector up");
    });
    assert_eq!(receiver.spans().len(), 300);

    // Collector down: a flush fails, then the drop returns, on both runtimes.
    for (label, runtime) in [
        (
            "down, current-thread runtime",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
        ),
        (
            "down, one-worker runtime",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime"),
        ),
    ] {
        let dead = dead_endpoint();
        let started = Instant::now();
        runtime.block_on(async {
            let guard = install(&dead);
            book(20); // the bookings themselves never wait for the collector
            // Fails to export, says so, and returns.
            assert!(
                guard.flush().is_err(),
                "a flush to a dead collector reports it"
            );
            drop(guard); // after a failed flush: must return, not panic
        });
        eprintln!("{label}: flush and drop took {:?}", started.elapsed());
    }

    // Installing again after all that works: nothing was left half shut down.
    let guard = install(&endpoint);
    book(1);
    guard.shutdown().expect("shutdown with the collector up");
    assert_eq!(receiver.spans().len(), 302);
}
