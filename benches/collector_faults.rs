//! What a slow or dead collector costs a booking, and how many spans per second `setup`
//! delivers to a local collector. Not criterion: these are latency distributions and
//! rates over a real OTLP/gRPC receiver on 127.0.0.1.
//!
//! ```text
//! cargo bench --bench collector_faults
//! ```
//!
//! 1. Latency: the same paced workload (five-step bookings at a steady rate, booking
//!    metrics on) with the collector healthy, slow (each export answered after 200 ms)
//!    and stopped. Each booking call is timed; p50/p99/max are reported per scenario,
//!    in interleaved rounds, and p99 relative to healthy.
//! 2. Throughput: one and two threads end spans as fast as they can for a few seconds;
//!    reported: spans per second offered, delivered, and dropped (queue full).

#[path = "../tests/support/bookings.rs"]
mod bookings;
#[path = "../tests/support/faulty_receiver.rs"]
mod faulty_receiver;
#[path = "../tests/support/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use booking_otel::Step;
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::setup::{ExporterKind, Setup};
use faulty_receiver::Faulty;

fn booking(metrics: &BookingMetrics, i: u64) -> Result<u64, std::io::Error> {
    let guard = metrics.start_booking("web");
    let result = bookings::five_steps_declining_every_tenth(i);
    guard.finish(if result.is_ok() {
        BookingStatus::Success
    } else {
        BookingStatus::Failed
    });
    result
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Collector {
    Healthy,
    Slow,
    Stopped,
}

struct Latency {
    p50: Duration,
    p99: Duration,
    max: Duration,
    queued_max: u64,
    dropped: u64,
}

const BOOKINGS: u64 = 20_000;
const RATE_PER_SECOND: u64 = 5_000;

fn latency_round(collector: Collector) -> Latency {
    let mut receiver = Faulty::start();
    match collector {
        Collector::Healthy => {}
        Collector::Slow => receiver.set_delay(Duration::from_millis(200)),
        Collector::Stopped => receiver.stop(),
    }
    let guard = Setup::new("collector-faults-bench")
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    let metrics = BookingMetrics::global();
    let mut samples = Vec::with_capacity(BOOKINGS as usize);
    let mut queued_max = 0;
    let started = Instant::now();
    for i in 0..BOOKINGS {
        let t0 = Instant::now();
        let _ = std::hint::black_box(booking(&metrics, i));
        samples.push(t0.elapsed());
        if i % 100 == 99 {
            queued_max = queued_max.max(delivery.counts().queued);
            // Pace: bookings arrive at RATE_PER_SECOND, not in a tight loop.
            let due = started + Duration::from_micros((i + 1) * 1_000_000 / RATE_PER_SECOND);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
    let _ = guard.shutdown();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    Latency {
        p50: at(0.50),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
        queued_max,
        dropped: delivery.counts().dropped.queue_full,
    }
}

fn throughput(threads: usize, seconds: u64) {
    let receiver = Faulty::start();
    let guard = Setup::new("collector-faults-bench")
        .otlp_endpoint(receiver.endpoint())
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    let run_for = Duration::from_secs(seconds);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while started.elapsed() < run_for {
                    for _ in 0..100 {
                        Step::new("booking.confirm").run(|| Some(()));
                    }
                }
            });
        }
    });
    let offered_for = started.elapsed();
    let during = delivery.counts();
    let _ = guard.shutdown();
    let drained_for = started.elapsed();
    let counts = delivery.counts();
    let per_second = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "| {threads} | {:.0} | {:.0} | {} ({:.1}%) | {:.1} s |",
        per_second(counts.finished, offered_for),
        per_second(during.exported, offered_for),
        counts.dropped.queue_full,
        100.0 * counts.dropped.queue_full as f64 / counts.finished.max(1) as f64,
        (drained_for - offered_for).as_secs_f64(),
    );
    assert_eq!(counts.exported, receiver.spans(), "{counts:?}");
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let rounds = 3;
    let scenarios = [Collector::Healthy, Collector::Slow, Collector::Stopped];
    let mut results: Vec<(Collector, Vec<Latency>)> =
        scenarios.iter().map(|c| (*c, Vec::new())).collect();
    for _ in 0..rounds {
        for (collector, rounds) in &mut results {
            rounds.push(latency_round(*collector));
        }
    }
    let median_p99 = |rounds: &[Latency]| {
        let mut p99: Vec<Duration> = rounds.iter().map(|r| r.p99).collect();
        p99.sort();
        p99[p99.len() / 2]
    };
    let healthy = median_p99(&results[0].1);
    println!(
        "\n{BOOKINGS} five-step bookings at {RATE_PER_SECOND}/s, {rounds} interleaved rounds, median of rounds\n"
    );
    println!("| collector | p50 | p99 | p99 vs healthy | max | queue peak | dropped |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (collector, rounds) in &results {
        let mut p50: Vec<Duration> = rounds.iter().map(|r| r.p50).collect();
        p50.sort();
        let p99 = median_p99(rounds);
        println!(
            "| {collector:?} | {:.1} µs | {:.1} µs | {:.3}× | {:.1} µs | {} | {} |",
            p50[p50.len() / 2].as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            p99.as_secs_f64() / healthy.as_secs_f64(),
            rounds
                .iter()
                .map(|r| r.max)
                .max()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e6,
            rounds.iter().map(|r| r.queued_max).max().unwrap_or(0),
            rounds.iter().map(|r| r.dropped).sum::<u64>(),
        );
    }
    println!("\nThroughput into a healthy local collector (tight loop, one-step bookings, 3 s)\n");
    println!(
        "| threads | spans/s offered | spans/s delivered while offered | dropped (queue full) | drain after |"
    );
    println!("|---:|---:|---:|---:|---:|");
    throughput(1, 3);
    throughput(2, 3);
}
