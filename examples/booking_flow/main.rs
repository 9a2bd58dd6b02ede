//! A hotel booking, traced end to end with booking-otel: the guide's booking flow in Rust.
//!
//! What it shows:
//! - the orchestrator (`flow.rs`): `booking.create` → check availability → price →
//!   acquire the reservation lock → process the payment (a client span) → confirm →
//!   notify, every step a `#[booking_step]` with the guide's `booking.*`/`payment.*`
//!   attributes and events (`lock_contention`, `payment_declined`);
//! - errors as a `#[derive(StepError)]` enum: rejections (sold out, card declined, lock
//!   contention) are not failures, and are not reported as errors;
//! - rollback on failure: release the lock, refund the payment, restore the inventory,
//!   each compensation a traced `booking.rollback.*` step;
//! - the booking metrics (`BookingMetrics`) and, with `--bookings`, how to read them back;
//! - the card as a `CardNumber`: only its brand and last four digits are ever recorded;
//! - simulated services (`services.rs`) with realistic latencies from a seeded generator.
//!
//! Run it:
//!
//! ```text
//! cargo run --example booking_flow                      # one booking, printed as a trace
//! cargo run --example booking_flow -- --fail payment    # the gateway times out: rollback
//! cargo run --example booking_flow -- --decline         # a rejection, not an error
//! cargo run --example booking_flow -- --bookings 1000   # outcomes and p50/p95/p99 per step
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 cargo run --example booking_flow
//! ```
//!
//! Flags:
//! - `--fail STEP`: STEP (`availability`, `price`, `lock`, `payment`, `confirm` or
//!   `notify`) fails; the failing step ends with status Error and what the booking holds
//!   is given back, newest first. A failed `notify` rolls nothing back: the booking is
//!   confirmed by then.
//! - `--decline`: the card is declined (`payment_declined` event, a rejection).
//! - `--contention`: another reservation holds the room's lock (`lock_contention`).
//! - `--sold-out`: no room is left (a rejection).
//! - `--bookings N`: N bookings at once on a multi-thread runtime, then a summary:
//!   outcomes by status and per-step latency percentiles computed from the
//!   `booking.step.duration` histogram, read back through an in-memory exporter given
//!   to `Setup::extra_metric_exporter`. Without the flags above, faults are drawn at
//!   realistic rates. Traces are not printed in this mode (they and the metrics are
//!   exported when an OTLP endpoint is set).
//! - `--seed S`: the simulated services' seed (default 42).
//! - `--help`.
//!
//! Telemetry comes from `booking_otel::setup::Setup` (service `booking-service`): with no
//! configuration the trace is printed on the console; with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set it is exported over OTLP. `tests/examples.rs` runs this code with a fixed seed
//! and checks the span trees it exports.

mod cli;
mod flow;
mod services;
mod summary;

use std::process::ExitCode;
use std::time::Instant;

use booking_otel::StepError;
use booking_otel::metrics::BookingMetrics;
use booking_otel::setup::{ExporterKind, Setup, TelemetryGuard};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;

use crate::cli::{CliError, Options};
use crate::flow::{BookingError, Confirmation};
use crate::summary::Summary;

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(CliError::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Err(CliError::Usage(message)) => {
            eprintln!("booking_flow: {message}");
            return ExitCode::from(2);
        }
    };

    let mut setup = Setup::new("booking-service")
        .service_version(env!("CARGO_PKG_VERSION"))
        .domain("reservations");
    // The summary of `--bookings` reads the library's own metrics back: an in-memory
    // exporter beside the one the environment chooses.
    let metrics_read_back = InMemoryMetricExporter::default();
    if options.bookings.is_some() {
        setup = setup.extra_metric_exporter(metrics_read_back.clone());
        if !otlp_endpoint_configured() {
            // A thousand traces on the console would bury the summary. (Set in code,
            // this gives way to OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER.)
            setup = setup
                .traces_exporter(ExporterKind::None)
                .metrics_exporter(ExporterKind::None);
        }
    }
    let telemetry = match setup.install() {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("booking_flow: telemetry not started: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("booking_flow: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };

    match options.bookings {
        None => one_booking(&runtime, telemetry, &options),
        Some(count) => many_bookings(&runtime, telemetry, &metrics_read_back, count, &options),
    }
    ExitCode::SUCCESS
}

/// One booking; the trace is printed (or exported) when telemetry shuts down.
fn one_booking(runtime: &tokio::runtime::Runtime, telemetry: TelemetryGuard, options: &Options) {
    let metrics = BookingMetrics::global();
    let result = runtime.block_on(flow::run_one(options.seed, 0, &options.scenario, &metrics));
    // Flushes: the console exporter prints the trace (and the metrics) now.
    drop(telemetry);
    eprintln!("\n{}", describe(&result));
}

/// What happened to a booking, in one line. An error's `Display` is safe to print: it
/// never carries the card number.
fn describe(result: &Result<Confirmation, BookingError>) -> String {
    match result {
        Ok(c) if c.notified => format!(
            "booking confirmed: {} (code {}, {})",
            c.reservation_id, c.code, c.transaction_id
        ),
        Ok(c) => format!(
            "booking confirmed: {} (code {}); the notification failed and is retried later",
            c.reservation_id, c.code
        ),
        Err(e) if e.is_rejection() => {
            format!("booking rejected ({}): {e}", e.error_type())
        }
        Err(e) => format!("booking failed ({}): {e}", e.error_type()),
    }
}

/// `count` bookings at once, then the summary, computed from the metrics.
fn many_bookings(
    runtime: &tokio::runtime::Runtime,
    telemetry: TelemetryGuard,
    metrics_read_back: &InMemoryMetricExporter,
    count: u64,
    options: &Options,
) {
    let metrics = BookingMetrics::global();

    let started = Instant::now();
    let results = runtime.block_on(flow::run_many(
        count,
        options.seed,
        &options.scenario,
        &metrics,
    ));
    let elapsed = started.elapsed();

    // The flush exports the metrics, to the in-memory exporter too.
    let _ = telemetry.flush();
    let summary = metrics_read_back
        .get_finished_metrics()
        .ok()
        .and_then(|mut collected| collected.pop())
        .map(|collected| Summary::from_metrics(&collected))
        .unwrap_or_default();
    drop(telemetry);

    let failed = results.iter().filter(|r| r.is_err()).count();
    println!(
        "{count} bookings at once, seed {}: {} confirmed, {failed} not, in {}\n",
        options.seed,
        results.len() - failed,
        summary::format_seconds(elapsed.as_secs_f64()),
    );
    print!("{}", summary.render());
}

/// Whether an OTLP endpoint variable is set: then traces are exported, whatever the mode.
fn otlp_endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}
