//! One booking, one trace, two processes: a booking service and a payment service talking
//! HTTP over loopback, plus a notification consumer fed through message headers.
//!
//! What it shows:
//! - each process starts its own telemetry with `Setup` (`service.name`
//!   `booking-service` / `payment-service`, `service.version`, `service.domain`);
//! - the booking service (`booking.rs`) calls the payment service through hyper-util's
//!   client wrapped in `ClientLayer`: a CLIENT span whose context travels in the
//!   request's `traceparent` header;
//! - the payment service (`payment.rs`) is an axum app behind `ServerLayer`: a SERVER
//!   span, the child of that CLIENT span though it runs in another process, and the
//!   handler's `#[booking_step]` (`payment.authorize`) is the SERVER span's child with no
//!   code in the handler;
//! - the card number travels in the JSON body, and telemetry sees only `visa` and
//!   `1111` (a `CardNumber` on both sides; bodies are never recorded);
//! - the notification (`notification.rs`): a producer step injects its context into the
//!   message headers, a consumer task extracts it, and its consumer step is the
//!   producer's child;
//! - shutting down two processes without losing spans: the payment service exits, after
//!   flushing its telemetry, when its stdin closes (portable, and it also stops if the
//!   booking service dies).
//!
//! The payment service is this same binary, started with `--role payment`; it prints
//! `listening on 127.0.0.1:PORT` and serves until its stdin closes.
//!
//! Run it:
//!
//! ```text
//! cargo run --example two_services                     # one booking, each service prints its spans
//! cargo run --example two_services -- --decline        # the card is declined: a rejection
//! cargo run --example two_services -- --gateway-down   # the payment service fails (503)
//! cargo run --example two_services -- --bookings 5     # five bookings, five traces
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 cargo run --example two_services
//! ```
//!
//! With no configuration each process prints its spans on the console (the payment
//! service's through the booking service's stdout); with `OTEL_EXPORTER_OTLP_ENDPOINT`
//! set both export OTLP to the collector, which shows one trace across both services.
//! `tests/two_services.rs` runs this binary against a real OTLP receiver.

mod booking;
mod notification;
mod payment;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use booking_otel::setup::{ExporterKind, Setup, SetupError, TelemetryGuard};
use booking_otel::{CardNumber, StepError as _};

use crate::booking::{BookingRequest, PaymentClient};

const HELP: &str = "\
two_services: a booking across two processes, traced with booking-otel

usage: cargo run --example two_services -- [options]

options:
  --bookings N    run N bookings, one after the other (default 1)
  --decline       the payment service declines the card: a rejection
  --gateway-down  the payment service fails (503): an error
  --role ROLE     booking (default) or payment; the booking service starts the
                  payment service itself, as `--role payment`
  -h, --help      print this help

environment:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 exports OTLP from both
  services instead of printing; every OTEL_* variable of booking_otel::setup applies.
";

/// The test card every booking pays with. Only `visa` and `1111` may reach telemetry.
const TEST_CARD: &str = "4111 1111 1111 1111";

/// How long the payment service gets to flush its telemetry and exit.
const PAYMENT_EXIT_TIMEOUT: Duration = Duration::from_secs(20);

struct Options {
    payment_role: bool,
    bookings: u32,
    simulate: Option<&'static str>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        payment_role: false,
        bookings: 1,
        simulate: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--decline" => options.simulate = Some("decline"),
            "--gateway-down" => options.simulate = Some("gateway_down"),
            "--bookings" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) if n > 0 => options.bookings = n,
                _ => return Err("--bookings needs a positive number".into()),
            },
            "--role" => match args.next().as_deref() {
                Some("payment") => options.payment_role = true,
                Some("booking") => options.payment_role = false,
                _ => return Err("--role is booking or payment".into()),
            },
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("two_services: {message}");
            return ExitCode::from(2);
        }
    };
    let result = if options.payment_role {
        payment_service()
    } else {
        booking_service(&options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("two_services: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Each process's telemetry: the same code, its own service name.
fn telemetry(service_name: &str) -> Result<TelemetryGuard, SetupError> {
    let mut setup = Setup::new(service_name)
        .service_version(env!("CARGO_PKG_VERSION"))
        .domain("booking");
    if !otlp_endpoint_configured() {
        // On the console, the spans are the point here (`booking_flow` shows the
        // metrics). Set in code, this gives way to OTEL_METRICS_EXPORTER.
        setup = setup.metrics_exporter(ExporterKind::None);
    }
    setup.install()
}

/// Whether an OTLP endpoint variable is set: then everything is exported.
fn otlp_endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))
}

/// Shuts telemetry down (the console exporter prints now; OTLP sends what is left) and
/// says on stderr what became of the spans.
fn shut_down(service_name: &str, telemetry: TelemetryGuard) {
    let delivery = telemetry.delivery();
    let result = telemetry.shutdown();
    let counts = delivery.counts();
    eprintln!(
        "{service_name}: {} spans finished, {} exported, {} dropped",
        counts.finished,
        counts.exported,
        counts.dropped.total()
    );
    if let Err(e) = result {
        // The bookings are done either way: telemetry never fails the application.
        eprintln!("{service_name}: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// The payment service process.

fn payment_service() -> Result<(), String> {
    let telemetry = telemetry("payment-service").map_err(|e| e.to_string())?;
    let runtime = runtime()?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        axum::serve(listener, payment::router())
            .with_graceful_shutdown(stdin_closed())
            .await
    });
    drop(runtime);
    shut_down("payment-service", telemetry);
    served.map_err(|e| format!("payment service: {e}"))
}

/// Resolves when stdin reaches its end: the booking service closed it, or exited.
async fn stdin_closed() {
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed.send(());
    });
    let _ = on_close.await;
}

// ---------------------------------------------------------------------------------------
// The booking service process.

fn booking_service(options: &Options) -> Result<(), String> {
    let telemetry = telemetry("booking-service").map_err(|e| e.to_string())?;
    let payment_service = PaymentProcess::start()?;
    let runtime = runtime()?;
    let outcomes = runtime.block_on(run_bookings(&payment_service.address, options));
    drop(runtime);
    // The payment service first: its spans print (or export) before ours.
    payment_service.stop();
    shut_down("booking-service", telemetry);
    for outcome in outcomes {
        println!("{outcome}");
    }
    Ok(())
}

/// Runs the bookings one after the other, with the notification consumer on its own
/// task; returns one line per booking.
async fn run_bookings(payment_address: &str, options: &Options) -> Vec<String> {
    let payments = PaymentClient::new(payment_address);
    let (publisher, queue) = tokio::sync::mpsc::channel(64);
    let consumer = tokio::spawn(notification::consume(queue));

    let mut outcomes = Vec::new();
    for i in 0..options.bookings {
        let request = BookingRequest {
            user_id: format!("usr-{}", 55_100 + i),
            property_id: "prop-1042".into(),
            guests: 2,
            amount_cents: 42_000,
            card: CardNumber::parse(TEST_CARD).expect("a valid test card"),
            simulate: options.simulate,
        };
        let outcome =
            match booking::create_booking(request, payments.clone(), publisher.clone()).await {
                Ok(c) => format!(
                    "booking confirmed: {} ({})",
                    c.reservation_id, c.transaction_id
                ),
                Err(e) => {
                    let verdict = if e.is_rejection() {
                        "rejected"
                    } else {
                        "failed"
                    };
                    format!("booking {verdict} ({}): {e}", e.error_type())
                }
            };
        outcomes.push(outcome);
    }
    // Closing the queue ends the consumer once it has delivered everything.
    drop(publisher);
    let delivered = consumer.await.unwrap_or(0);
    outcomes.push(format!("notifications delivered: {delivered}"));
    outcomes
}

/// The payment service's process: this binary with `--role payment`.
struct PaymentProcess {
    child: Child,
    stdin: ChildStdin,
    address: String,
    output: std::thread::JoinHandle<()>,
}

impl PaymentProcess {
    /// Starts it and waits for its `listening on ADDRESS` line.
    fn start() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--role", "payment"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("payment service not started: {e}"))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            unreachable!("both are piped");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("payment service did not start: {line:?}"));
        };
        let address = address.to_owned();
        // The rest of its output (its console spans) goes to ours.
        let output = std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                println!("{line}");
            }
        });
        Ok(PaymentProcess {
            child,
            stdin,
            address,
            output,
        })
    }

    /// Closes its stdin, and waits for it to flush its telemetry and exit (killed after
    /// [`PAYMENT_EXIT_TIMEOUT`]).
    fn stop(mut self) {
        drop(self.stdin);
        let deadline = Instant::now() + PAYMENT_EXIT_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(Some(status)) => {
                    eprintln!("payment service exited with {status}");
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    eprintln!("payment service did not exit in time: killed");
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        let _ = self.output.join();
    }
}
