//! A booking across two processes against a real OTLP/gRPC receiver: the compiled
//! `two_services` example (a booking service that starts a payment service, itself with
//! `--role payment`), exporting to a receiver on 127.0.0.1. Asserted on the decoded
//! export requests: one trace across both services, the parent links and span kinds
//! over HTTP and through the message headers, statuses, each service's resource, and no
//! card digits anywhere. Then with nothing listening at the endpoint: the booking
//! completes, with a bounded delay.

#[path = "support/example_binary.rs"]
mod example_binary;
#[path = "support/receiver.rs"]
mod receiver;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, SpanFlags};
use prost::Message as _;

/// The card the example pays with, in both forms a leak could take.
const CARD_DIGITS: &str = "4111111111111111";
const CARD_SPACED: &str = "4111 1111 1111 1111";

/// Aborts the whole test binary if it hangs (a child that never exits, a receiver that
/// never answers): a CI job fails in two minutes instead of timing out in an hour.
fn watchdog() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(120));
            eprintln!("two_services: the test ran for 120 s: aborting");
            std::process::abort();
        });
    });
}

/// What one run of the example left.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `two_services ARGS` exporting traces to `endpoint` (with none, on the console),
/// killed after 60 s.
fn run_example(endpoint: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(example_binary::example_binary("two_services"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    if let Some(endpoint) = endpoint {
        command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
    }
    command
        .args(args)
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("two_services starts");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "two_services {args:?} did not finish in 60 s:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    Run {
        status,
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
        elapsed,
    }
}

/// A span as received, with the `service.name` of the resource it came with.
#[derive(Clone)]
struct Received {
    service: String,
    span: Span,
}

fn string_value(value: &any_value::Value) -> Option<&str> {
    match value {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attribute(attributes, key).and_then(string_value)
}

fn int_attribute(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key) {
        Some(any_value::Value::IntValue(v)) => Some(*v),
        _ => None,
    }
}

fn service_name(resource_spans: &ResourceSpans) -> String {
    let resource = resource_spans.resource.as_ref().expect("a resource");
    string_attribute(&resource.attributes, "service.name")
        .expect("service.name")
        .to_owned()
}

/// The spans of one run, each with its service.
struct Trace {
    spans: Vec<Received>,
}

impl Trace {
    fn from(requests: &[ExportTraceServiceRequest]) -> Trace {
        let spans = requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|rs| {
                let service = service_name(rs);
                rs.scope_spans
                    .iter()
                    .flat_map(|s| &s.spans)
                    .map(move |span| Received {
                        service: service.clone(),
                        span: span.clone(),
                    })
            })
            .collect();
        Trace { spans }
    }

    /// The one span named `name`, from `service`.
    fn span(&self, service: &str, name: &str) -> &Span {
        let found: Vec<&Received> = self
            .spans
            .iter()
            .filter(|r| r.service == service && r.span.name == name)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {name} from {service}:\n{}",
            self.render()
        );
        &found[0].span
    }

    fn names(&self, service: &str) -> BTreeSet<&str> {
        self.spans
            .iter()
            .filter(|r| r.service == service)
            .map(|r| r.span.name.as_str())
            .collect()
    }

    fn render(&self) -> String {
        self.spans
            .iter()
            .map(|r| {
                format!(
                    "{:16} {:32} kind={} id={} parent={} status={:?}",
                    r.service,
                    r.span.name,
                    r.span.kind,
                    hex(&r.span.span_id),
                    hex(&r.span.parent_span_id),
                    r.span.status.as_ref().map(|s| s.code)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kind(span: &Span) -> SpanKind {
    SpanKind::try_from(span.kind).expect("a known kind")
}

fn status(span: &Span) -> StatusCode {
    span.status.as_ref().map_or(StatusCode::Unset, |s| {
        StatusCode::try_from(s.code).expect("a code")
    })
}

fn is_child(child: &Span, parent: &Span) -> bool {
    child.parent_span_id == parent.span_id
}

/// Whether the span's parent came from another process or a message (OTLP span flags).
fn has_remote_parent(span: &Span) -> bool {
    let known = SpanFlags::ContextHasIsRemoteMask as u32;
    let remote = SpanFlags::ContextIsRemoteMask as u32;
    assert_ne!(span.flags & known, 0, "{}: remoteness unknown", span.name);
    span.flags & remote != 0
}

const BOOKING: &str = "booking-service";
const PAYMENT: &str = "payment-service";

/// Runs the example with `args` against a fresh receiver; returns the run, the requests
/// it received and the trace they make.
fn run_against_receiver(args: &[&str]) -> (Run, Vec<ExportTraceServiceRequest>, Trace) {
    let receiver = receiver::Running::start();
    let run = run_example(Some(&format!("http://{}", receiver.address)), args);
    println!(
        "two_services {args:?} with the receiver up: {:?}",
        run.elapsed
    );
    assert!(
        run.status.success(),
        "two_services {args:?} failed: {}\n{}",
        run.status,
        run.stderr
    );
    // Both processes have shut down, so each has flushed: everything has arrived.
    let requests = receiver
        .receiver
        .requests
        .lock()
        .expect("receiver lock")
        .clone();
    let trace = Trace::from(&requests);
    check_common(&requests, &trace, args);
    (run, requests, trace)
}

/// What every run must satisfy, whatever the booking's outcome.
fn check_common(requests: &[ExportTraceServiceRequest], trace: &Trace, args: &[&str]) {
    // Each service's resource, in every request.
    let mut services = BTreeSet::new();
    for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
        let resource = resource_spans.resource.as_ref().expect("a resource");
        let name = service_name(resource_spans);
        assert!(name == BOOKING || name == PAYMENT, "unexpected {name}");
        assert_eq!(
            string_attribute(&resource.attributes, "service.version"),
            Some(env!("CARGO_PKG_VERSION")),
            "{name}"
        );
        assert_eq!(
            string_attribute(&resource.attributes, "service.domain"),
            Some("booking"),
            "{name}"
        );
        services.insert(name);
    }
    assert_eq!(
        services,
        BTreeSet::from([BOOKING.to_owned(), PAYMENT.to_owned()])
    );

    // One trace, across both processes.
    let trace_ids: BTreeSet<&[u8]> = trace
        .spans
        .iter()
        .map(|r| r.span.trace_id.as_slice())
        .collect();
    assert_eq!(trace_ids.len(), 1, "{args:?}:\n{}", trace.render());

    // The booking is the root; everything else hangs off a span in the trace.
    let create = trace.span(BOOKING, "booking.create");
    assert!(create.parent_span_id.is_empty());
    assert_eq!(kind(create), SpanKind::Server);
    let ids: BTreeSet<&[u8]> = trace
        .spans
        .iter()
        .map(|r| r.span.span_id.as_slice())
        .collect();
    for r in &trace.spans {
        if r.span.span_id != create.span_id {
            assert!(
                ids.contains(r.span.parent_span_id.as_slice()),
                "{} has no parent in the trace:\n{}",
                r.span.name,
                trace.render()
            );
        }
    }

    // HTTP across the processes: booking.process_payment → POST (client) → POST /payments
    // (server, in the payment service) → payment.authorize.
    let process_payment = trace.span(BOOKING, "booking.process_payment");
    let client = trace.span(BOOKING, "POST");
    let server = trace.span(PAYMENT, "POST /payments");
    let authorize = trace.span(PAYMENT, "payment.authorize");
    assert!(is_child(process_payment, create));
    assert_eq!(kind(process_payment), SpanKind::Internal);
    assert_eq!(kind(client), SpanKind::Client);
    assert!(is_child(client, process_payment));
    assert_eq!(kind(server), SpanKind::Server);
    assert!(is_child(server, client), "\n{}", trace.render());
    assert!(has_remote_parent(server));
    assert!(!has_remote_parent(client) && !has_remote_parent(authorize));
    assert_eq!(kind(authorize), SpanKind::Internal);
    assert!(is_child(authorize, server), "\n{}", trace.render());
    assert_eq!(
        trace.names(PAYMENT),
        BTreeSet::from(["POST /payments", "payment.authorize"])
    );

    let url = string_attribute(&client.attributes, "url.full").expect("url.full");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/payments"),
        "{url}"
    );
    assert_eq!(
        string_attribute(&server.attributes, "http.route"),
        Some("/payments")
    );
    for step in [process_payment, authorize] {
        assert_eq!(
            string_attribute(&step.attributes, "payment.card_brand"),
            Some("visa")
        );
        assert_eq!(
            string_attribute(&step.attributes, "payment.card_last_four"),
            Some("1111")
        );
    }

    check_no_card_digits(requests);
}

/// The card's digits are nowhere: not in the protobuf bytes the receiver got, and not
/// in any string value (span, event, link and resource attributes, status messages).
fn check_no_card_digits(requests: &[ExportTraceServiceRequest]) {
    for request in requests {
        let bytes = request.encode_to_vec();
        for secret in [CARD_DIGITS, CARD_SPACED] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "the card number reached the collector"
            );
        }
    }
    let mut strings: Vec<&str> = Vec::new();
    for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
        let resource = resource_spans.resource.as_ref().expect("a resource");
        let mut attributes: Vec<&KeyValue> = resource.attributes.iter().collect();
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            strings.push(&span.name);
            if let Some(status) = &span.status {
                strings.push(&status.message);
            }
            attributes.extend(&span.attributes);
            attributes.extend(span.events.iter().flat_map(|e| &e.attributes));
            attributes.extend(span.links.iter().flat_map(|l| &l.attributes));
        }
        strings.extend(
            attributes
                .iter()
                .filter_map(|kv| kv.value.as_ref()?.value.as_ref())
                .filter_map(string_value),
        );
    }
    assert!(strings.len() > 20, "the check saw the attributes");
    for value in strings {
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        assert!(
            !digits.contains("411111111111"),
            "card digits in the string value {value:?}"
        );
    }
}

#[test]
fn a_booking_is_one_trace_across_two_processes_and_a_queue() {
    watchdog();
    let (run, _, trace) = run_against_receiver(&[]);
    assert!(
        run.stdout.contains("booking confirmed: res-"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("notifications delivered: 1"));
    assert_eq!(
        trace.names(BOOKING),
        BTreeSet::from([
            "booking.create",
            "booking.check_availability",
            "booking.acquire_lock",
            "booking.process_payment",
            "POST",
            "booking.confirm",
            "booking.notify",
            "notification.deliver",
        ])
    );
    assert_eq!(trace.spans.len(), 10, "\n{}", trace.render());

    // Through the queue: the consumer's parent is the producer, from the headers.
    let create = trace.span(BOOKING, "booking.create");
    let notify = trace.span(BOOKING, "booking.notify");
    let deliver = trace.span(BOOKING, "notification.deliver");
    assert_eq!(kind(notify), SpanKind::Producer);
    assert!(is_child(notify, create));
    assert_eq!(kind(deliver), SpanKind::Consumer);
    assert!(is_child(deliver, notify), "\n{}", trace.render());
    assert!(has_remote_parent(deliver), "extracted from the headers");

    // A confirmed booking: no status anywhere (instrumentation leaves Ok to the
    // application), the payment answered 200.
    for r in &trace.spans {
        assert_eq!(status(&r.span), StatusCode::Unset, "{}", r.span.name);
    }
    assert_eq!(
        string_attribute(&create.attributes, "booking.status"),
        Some("success")
    );
    let server = trace.span(PAYMENT, "POST /payments");
    let client = trace.span(BOOKING, "POST");
    for span in [server, client] {
        assert_eq!(
            int_attribute(&span.attributes, "http.response.status_code"),
            Some(200)
        );
    }
}

#[test]
fn a_declined_card_is_a_rejection_and_a_failed_gateway_an_error_in_both_services() {
    watchdog();
    // Declined: the payment service answers 200 with a decline; both sides' steps are
    // rejections (status Unset, booking.outcome = rejected); the lock is given back.
    let (run, _, trace) = run_against_receiver(&["--decline"]);
    assert!(
        run.stdout.contains("booking rejected (card_declined)"),
        "{}",
        run.stdout
    );
    for r in &trace.spans {
        assert_eq!(status(&r.span), StatusCode::Unset, "{}", r.span.name);
    }
    for (service, name) in [
        (PAYMENT, "payment.authorize"),
        (BOOKING, "booking.process_payment"),
    ] {
        assert_eq!(
            string_attribute(&trace.span(service, name).attributes, "booking.outcome"),
            Some("rejected"),
            "{name}"
        );
    }
    let authorize = trace.span(PAYMENT, "payment.authorize");
    assert!(
        authorize
            .events
            .iter()
            .any(|e| e.name == "payment_declined")
    );
    let rollback = trace.span(BOOKING, "booking.rollback.release_lock");
    assert!(is_child(rollback, trace.span(BOOKING, "booking.create")));
    assert!(!trace.names(BOOKING).contains("booking.notify"));

    // The gateway fails: 503, an error on the payment step, the SERVER span, the CLIENT
    // span and up to the booking.
    let (run, _, trace) = run_against_receiver(&["--gateway-down"]);
    assert!(
        run.stdout.contains("booking failed (payment_failed)"),
        "{}",
        run.stdout
    );
    for (service, name, error_type) in [
        (PAYMENT, "payment.authorize", "gateway_unavailable"),
        (PAYMENT, "POST /payments", "503"),
        (BOOKING, "POST", "503"),
        (BOOKING, "booking.process_payment", "payment_failed"),
        (BOOKING, "booking.create", "payment_failed"),
    ] {
        let span = trace.span(service, name);
        assert_eq!(status(span), StatusCode::Error, "{name}");
        assert_eq!(
            string_attribute(&span.attributes, "error.type"),
            Some(error_type),
            "{name}"
        );
    }
    assert_eq!(
        status(trace.span(BOOKING, "booking.rollback.release_lock")),
        StatusCode::Unset
    );
}

#[test]
fn with_the_receiver_down_the_booking_completes_in_bounded_time() {
    watchdog();
    // A port where nothing listens: every export is refused.
    let endpoint = receiver::dead_endpoint();
    let run = run_example(Some(&endpoint), &[]);
    println!(
        "two_services with the receiver down: {:?} (exit {})",
        run.elapsed, run.status
    );
    assert!(run.status.success(), "{}\n{}", run.status, run.stderr);
    assert!(
        run.stdout.contains("booking confirmed: res-"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("notifications delivered: 1"));
    // Each service says what became of its spans: none exported.
    for (service, finished) in [(BOOKING, 8), (PAYMENT, 2)] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with(&format!("{service}: {finished} spans finished")))
            .unwrap_or_else(|| panic!("no account from {service}:\n{}", run.stderr));
        assert!(line.contains(" 0 exported"), "{line}");
    }
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn without_an_endpoint_each_service_prints_its_spans() {
    watchdog();
    let run = run_example(None, &[]);
    assert!(run.status.success(), "{}\n{}", run.status, run.stderr);
    // The payment service's spans come through the booking service's stdout, first.
    let payment = run.stdout.find("POST /payments (server)");
    let booking = run.stdout.find("booking.create (server)");
    assert!(
        payment.is_some() && payment < booking,
        "both trees, the payment service's first:\n{}",
        run.stdout
    );
    for line in [
        "payment.authorize",
        "POST (client)",
        "booking.notify (producer)",
        "notification.deliver (consumer)",
        "booking confirmed: res-",
    ] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
    assert!(!run.stdout.contains(CARD_DIGITS) && !run.stdout.contains(CARD_SPACED));

    let help = run_example(None, &["--help"]);
    assert!(help.status.success());
    assert!(help.stdout.contains("--role ROLE"));
    let wrong = run_example(None, &["--bookings", "0"]);
    assert_eq!(wrong.status.code(), Some(2));
}
