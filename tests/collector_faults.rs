//! A slow collector and a collector that stops mid-run, under 10,000 concurrent
//! bookings each: bookings finish with the same outcomes, and the accounts say exactly
//! what was delivered and what was lost. Latency is measured in `benches/collector_faults.rs`, not here.
//! One test runs the scenarios in turn (`setup` installs globals); a watchdog fails a
//! hang instead of blocking CI.

mod support;

use std::time::Duration;

use booking_otel::delivery::DeliveryCounts;
use booking_otel::setup::{ExporterKind, Setup};
use support::bookings::five_steps_declining_every_tenth;
use support::faulty_receiver::Faulty;

/// Runs `n` bookings as tasks on a multi-thread runtime; returns how many failed.
fn run_bookings(from: u64, n: u64) -> usize {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let tasks: Vec<_> = (from..from + n)
            .map(|i| tokio::spawn(async move { five_steps_declining_every_tenth(i) }))
            .collect();
        let mut failed = 0;
        for task in tasks {
            if task.await.expect("booking task").is_err() {
                failed += 1;
            }
        }
        failed
    })
}

fn balanced(counts: &DeliveryCounts) -> bool {
    counts.in_flight == 0
        && counts.finished == counts.exported + counts.sampled_out + counts.dropped.total()
}

#[test]
fn a_slow_then_a_stopped_collector_costs_no_booking_and_every_span_is_accounted_for() {
    support::watchdog::abort_after(Duration::from_secs(90), "a collector fault scenario");

    // Slow: every export waits 200 ms. 10,000 concurrent bookings (49,000 spans) are
    // more than it takes in a few seconds: nothing is lost, it just takes longer.
    let receiver = Faulty::start();
    receiver.set_delay(Duration::from_millis(200));
    let guard = Setup::new("collector-faults")
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    assert_eq!(
        run_bookings(0, 10_000),
        1_000,
        "the same outcomes: 1,000 declined, no booking failed by telemetry"
    );
    let mut peak_queued = 0;
    let started = std::time::Instant::now();
    while delivery.counts().in_flight > 0 && started.elapsed() < Duration::from_secs(60) {
        peak_queued = peak_queued.max(delivery.counts().queued);
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "slow collector: 49,000 spans delivered {:?} after the bookings; queue peak {peak_queued}",
        started.elapsed()
    );
    guard
        .shutdown()
        .expect("a slow collector is slow, not failing");
    let slow = delivery.counts();
    assert!(balanced(&slow), "{slow:?}");
    assert_eq!(slow.finished, 50_000 - 1_000, "{slow:?}");
    assert_eq!(slow.exported, receiver.spans(), "{slow:?}");
    assert_eq!(slow.dropped.total(), 0, "slow is not lost: {slow:?}");
    drop(receiver);

    // Stopped mid-run: half the bookings before, half after.
    let mut receiver = Faulty::start();
    let guard = Setup::new("collector-faults")
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    assert_eq!(run_bookings(0, 5_000), 500);
    guard.flush().expect("flush with the collector up");
    let before = delivery.counts();
    assert_eq!(before.exported, receiver.spans(), "{before:?}");
    receiver.stop();
    assert_eq!(
        run_bookings(5_000, 5_000),
        500,
        "the same outcomes with no collector"
    );
    let shutting_down = std::time::Instant::now();
    let report = guard.shutdown();
    eprintln!(
        "shutdown with the collector stopped took {:?}",
        shutting_down.elapsed()
    );
    assert!(
        report.is_err(),
        "the guard reports that traces could not be delivered"
    );
    let stopped = delivery.counts();
    assert!(balanced(&stopped), "{stopped:?}");
    assert_eq!(stopped.finished, 2 * (25_000 - 500), "{stopped:?}");
    assert_eq!(stopped.exported, before.exported, "{stopped:?}");
    assert_eq!(
        stopped.dropped.total(),
        stopped.finished - before.exported,
        "what could not be sent is counted (export_failed, or unsent at shutdown): {stopped:?}"
    );
}
