//! The console waterfall: snapshots of the renderer on spans with fixed ids and
//! timestamps (wide and narrow terminals, colour and NO_COLOR, a hundred spans, a remote
//! parent, an orphan, events, a rejection), the exporter's grouping of spans by trace
//! across exports (root, timeout, memory bound, shutdown), and real steps through a
//! tracer provider, with and without redaction.
//!
//! Snapshots live in `tests/snapshots/`; review a change with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --test console_waterfall` and `git diff`). In CI
//! (`CI=true`) a snapshot that differs fails the test and nothing is written.

#[path = "support/shared_writer.rs"]
mod shared_writer;

use shared_writer::Shared;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use booking_otel::console::{RenderOptions, WaterfallExporter, render_trace};
use booking_otel::conventions::{attribute, event, span as name, standard};
use booking_otel::{RedactingExporter, RedactionPolicy, Step, StepError, Telemetry};
use opentelemetry::trace::{
    Event, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{
    SdkTracerProvider, SimpleSpanProcessor, SpanData, SpanEvents, SpanExporter, SpanLinks,
};

// ---------------------------------------------------------------------------------------
// Fixtures: spans with fixed ids and timestamps.

/// 2026-01-01T00:00:00Z: every fixture's time zero.
fn at(millis: f64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600) + Duration::from_secs_f64(millis / 1000.0)
}

const BOOKING_TRACE: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;

struct S(SpanData);

/// A span of `trace` with id `id`, child of `parent` (0: none), from `start` to `end`
/// milliseconds after time zero.
fn span(trace: u128, id: u64, parent: u64, name: &'static str, start: f64, end: f64) -> S {
    S(SpanData {
        span_context: SpanContext::new(
            TraceId::from(trace),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: if parent == 0 {
            SpanId::INVALID
        } else {
            SpanId::from(parent)
        },
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed(name),
        start_time: at(start),
        end_time: at(end),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("booking-otel").build(),
    })
}

impl S {
    fn kind(mut self, kind: SpanKind) -> Self {
        self.0.span_kind = kind;
        self
    }
    fn attr(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.0.attributes.push(KeyValue::new(key, value));
        self
    }
    /// A failure, as a step records it: status, outcome, error.type, exception event.
    fn failed(mut self, error_type: &'static str, message: &'static str) -> Self {
        let end = self.0.end_time;
        self.0.status = Status::error(message);
        self = self
            .attr(attribute::BOOKING_OUTCOME, "error")
            .attr(standard::ERROR_TYPE, error_type);
        self.0.events.events.push(Event::new(
            event::EXCEPTION,
            end,
            vec![KeyValue::new(standard::EXCEPTION_MESSAGE, message)],
            0,
        ));
        self
    }
    /// A business rejection, as a step records it.
    fn rejected(mut self, rejection_type: &'static str, reason: &'static str) -> Self {
        let end = self.0.end_time;
        self = self
            .attr(attribute::BOOKING_OUTCOME, "rejected")
            .attr(attribute::BOOKING_REJECTION_TYPE, rejection_type);
        self.0.events.events.push(Event::new(
            event::REJECTION,
            end,
            vec![
                KeyValue::new(attribute::BOOKING_REJECTION_TYPE, rejection_type),
                KeyValue::new(attribute::BOOKING_REJECTION_REASON, reason),
            ],
            0,
        ));
        self
    }
    fn rollback(self) -> Self {
        self.attr(attribute::BOOKING_ROLLBACK, true)
    }
    fn event(mut self, name: &'static str, millis: f64, attributes: Vec<KeyValue>) -> Self {
        self.0
            .events
            .events
            .push(Event::new(name, at(millis), attributes, 0));
        self
    }
    fn remote_parent(mut self, parent: u64) -> Self {
        self.0.parent_span_id = SpanId::from(parent);
        self.0.parent_span_is_remote = true;
        self
    }
}

/// The issue's booking: five steps, the client payment step times out, the lock is
/// released by a rollback step. In export order (children end first).
fn failed_booking() -> Vec<SpanData> {
    let t = BOOKING_TRACE;
    vec![
        span(t, 0x11, 0x10, name::CHECK_AVAILABILITY, 2.0, 20.0)
            .attr(attribute::BOOKING_PROPERTY_ID, "prop-1042")
            .attr(attribute::BOOKING_GUESTS, 2_i64),
        span(t, 0x12, 0x10, name::PRICE, 21.0, 27.0),
        span(t, 0x13, 0x10, name::ACQUIRE_LOCK, 28.0, 34.0)
            .attr(attribute::BOOKING_LOCK_TYPE, "pessimistic")
            .event(
                event::LOCK_CONTENTION,
                30.0,
                vec![KeyValue::new(attribute::BOOKING_CONTENTION_REASON, "held")],
            ),
        span(t, 0x14, 0x10, name::PROCESS_PAYMENT, 36.0, 346.0)
            .kind(SpanKind::Client)
            .attr(attribute::PAYMENT_METHOD, "card")
            .attr(attribute::PAYMENT_CURRENCY, "EUR")
            .attr(attribute::PAYMENT_CARD_BRAND, "visa")
            .attr(attribute::PAYMENT_CARD_LAST_FOUR, "4242")
            .failed("gateway_timeout", "payment gateway timed out"),
        span(t, 0x15, 0x10, name::ROLLBACK_RELEASE_LOCK, 347.0, 351.0).rollback(),
        span(t, 0x10, 0, name::CREATE, 0.0, 412.0)
            .kind(SpanKind::Server)
            .attr(attribute::BOOKING_RESERVATION_ID, "res-7f3a9c")
            .attr(attribute::BOOKING_STATUS, "failed")
            .failed("gateway_timeout", "payment gateway timed out"),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

/// A declined card: a business rejection, not a failure, then two compensations.
fn declined_booking() -> Vec<SpanData> {
    let t = 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c;
    vec![
        span(t, 0x21, 0x20, name::CHECK_AVAILABILITY, 1.0, 15.0),
        span(t, 0x22, 0x20, name::ACQUIRE_LOCK, 16.0, 22.0),
        span(t, 0x23, 0x20, name::PROCESS_PAYMENT, 23.0, 250.0)
            .kind(SpanKind::Client)
            .attr(attribute::PAYMENT_CURRENCY, "USD")
            .attr(attribute::PAYMENT_STATUS, "declined")
            .attr(attribute::PAYMENT_DECLINE_REASON, "insufficient_funds")
            .event(
                event::PAYMENT_DECLINED,
                248.0,
                vec![KeyValue::new(
                    attribute::PAYMENT_DECLINE_REASON,
                    "insufficient_funds",
                )],
            )
            .rejected("payment_declined", "insufficient funds"),
        span(t, 0x24, 0x20, name::ROLLBACK_RELEASE_LOCK, 251.0, 254.0).rollback(),
        span(
            t,
            0x25,
            0x20,
            name::ROLLBACK_RESTORE_INVENTORY,
            254.0,
            262.0,
        )
        .rollback(),
        span(t, 0x20, 0, name::CREATE, 0.0, 265.0)
            .attr(attribute::BOOKING_STATUS, "rejected")
            .rejected("payment_declined", "insufficient funds"),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

/// The payment service's side of a booking: its local root continues a trace from the
/// booking service (W3C's example parent id), with a retried gateway call.
fn remote_parent_trace() -> Vec<SpanData> {
    let t = BOOKING_TRACE;
    vec![
        span(t, 0x31, 0x30, "payment.fraud_check", 1.0, 9.0),
        span(t, 0x32, 0x30, "payment.gateway.authorize", 10.0, 130.0)
            .kind(SpanKind::Client)
            .failed("io.timed_out", "read timed out"),
        span(t, 0x33, 0x30, "payment.gateway.authorize", 131.0, 290.0)
            .kind(SpanKind::Client)
            .attr(attribute::PAYMENT_STATUS, "approved"),
        span(t, 0x30, 0, name::PROCESS_PAYMENT, 0.0, 300.0)
            .kind(SpanKind::Server)
            .remote_parent(0x00f0_67aa_0ba9_02b7)
            .attr(attribute::PAYMENT_STATUS, "approved")
            .event("retry", 130.5, vec![]),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

/// A booking whose notification step lost its parent (exported by another processor,
/// or dropped), so it and its child hang from a span that is not there.
fn orphan_trace() -> Vec<SpanData> {
    let t = 0x5b8a_a5a2_d2c8_72e8_321c_f37b_30c6_a0a5;
    vec![
        span(t, 0x41, 0x40, name::CONFIRM, 5.0, 40.0),
        span(t, 0x42, 0x1a2b_3c4d_5e6f_7081, name::NOTIFY, 60.0, 95.0).kind(SpanKind::Producer),
        span(t, 0x43, 0x42, "notify.email.send", 62.0, 90.0).kind(SpanKind::Client),
        span(t, 0x40, 0, name::CREATE, 0.0, 50.0).attr(attribute::BOOKING_STATUS, "success"),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

/// Events as marks: contention twice, then the lock; a step whose retries each record
/// an event.
fn events_trace() -> Vec<SpanData> {
    let t = 0x7d3e_2c1b_0a99_4f8e_8d7c_6b5a_4938_2716;
    let contention = || vec![KeyValue::new(attribute::BOOKING_CONTENTION_REASON, "held")];
    vec![
        span(t, 0x51, 0x50, name::ACQUIRE_LOCK, 0.0, 80.0)
            .attr(attribute::BOOKING_CONTENTION_REASON, "held")
            .event(event::LOCK_CONTENTION, 10.0, contention())
            .event(event::LOCK_CONTENTION, 40.0, contention())
            .event("lock_acquired", 79.0, vec![]),
        span(t, 0x52, 0x50, name::NOTIFY, 82.0, 100.0)
            .kind(SpanKind::Producer)
            .event("retry", 90.0, vec![])
            .event("retry", 95.0, vec![])
            .event("retry", 99.0, vec![]),
        span(t, 0x50, 0, name::CREATE, 0.0, 100.0),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

/// A batch import of 33 bookings: 100 spans, three levels.
fn hundred_spans() -> Vec<SpanData> {
    let t = 0x1111_2222_3333_4444_5555_6666_7777_8888;
    let mut spans = vec![span(t, 1, 0, "booking.import", 0.0, 1_000.0).0];
    for b in 0..33_u64 {
        let start = b as f64 * 30.0;
        let booking = 100 + b * 3;
        spans.push(span(t, booking, 1, name::CREATE, start + 1.0, start + 29.0).0);
        spans.push(
            span(
                t,
                booking + 1,
                booking,
                name::CHECK_AVAILABILITY,
                start + 2.0,
                start + 9.0,
            )
            .0,
        );
        let confirm = span(
            t,
            booking + 2,
            booking,
            name::CONFIRM,
            start + 10.0,
            start + 28.0,
        );
        spans.push(if b == 17 {
            confirm.failed("confirmation_conflict", "room taken").0
        } else {
            confirm.0
        });
    }
    assert_eq!(spans.len(), 100);
    spans
}

fn plain(width: usize) -> RenderOptions {
    RenderOptions::default().width(width).colour(false)
}

/// Escape codes made visible for the snapshot file.
fn visible_escapes(text: &str) -> String {
    text.replace('\x1b', "\\e")
}

/// Every line at most `width` characters, no escape code, no tab.
fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "line of {} > {width} chars:\n{line}\n\n{text}",
            line.chars().count()
        );
        assert!(!line.contains('\x1b') && !line.contains('\t'), "{line:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The renderer.

#[test]
fn booking_at_the_default_width() {
    let text = render_trace(&failed_booking(), &plain(100));
    assert_fits(&text, 100);
    insta::assert_snapshot!("booking_100", text);
}

#[test]
fn booking_on_a_wide_terminal() {
    let text = render_trace(&failed_booking(), &plain(120));
    assert_fits(&text, 120);
    insta::assert_snapshot!("booking_120", text);
}

#[test]
fn booking_on_a_narrow_terminal_keeps_durations_and_drops_attributes() {
    let text = render_trace(&failed_booking(), &plain(60));
    assert_fits(&text, 60);
    for duration in ["18 ms", "6 ms", "310 ms", "4 ms"] {
        assert!(text.contains(duration), "{duration} missing:\n{text}");
    }
    assert!(!text.contains("payment.card_brand"), "{text}");
    insta::assert_snapshot!("booking_60", text);
}

#[test]
fn booking_in_colour() {
    let options = RenderOptions::detect_from(|_| None, true).width(100);
    assert!(options.get_colour());
    let text = render_trace(&failed_booking(), &options);
    assert!(text.contains("\x1b[31mERROR\x1b[0m"), "{text:?}");
    insta::assert_snapshot!("booking_colour", visible_escapes(&text));
}

#[test]
fn no_color_or_a_pipe_renders_plain() {
    let plain_text = render_trace(&failed_booking(), &plain(100));
    let no_color = |name: &str| (name == "NO_COLOR").then(|| "1".to_owned());
    let with_no_color = RenderOptions::detect_from(no_color, true).width(100);
    assert_eq!(render_trace(&failed_booking(), &with_no_color), plain_text);
    let piped = RenderOptions::detect_from(|_| None, false).width(100);
    assert_eq!(render_trace(&failed_booking(), &piped), plain_text);
}

#[test]
fn the_width_comes_from_columns() {
    let columns = |name: &str| (name == "COLUMNS").then(|| "60".to_owned());
    let options = RenderOptions::detect_from(columns, false);
    assert_eq!(
        render_trace(&failed_booking(), &options),
        render_trace(&failed_booking(), &plain(60))
    );
}

#[test]
fn a_rejection_is_not_an_error() {
    let text = render_trace(&declined_booking(), &plain(120));
    assert_fits(&text, 120);
    assert!(!text.contains("ERROR"), "{text}");
    assert!(text.contains("REJECTED"), "{text}");
    insta::assert_snapshot!("rejection", text);
    let coloured = render_trace(&declined_booking(), &plain(120).colour(true));
    assert!(coloured.contains("\x1b[33mREJECTED\x1b[0m"), "{coloured:?}");
}

#[test]
fn a_remote_parent_is_named_in_the_header() {
    let text = render_trace(&remote_parent_trace(), &plain(100));
    assert_fits(&text, 100);
    // On the header line when it fits, else on the line after it.
    let header: Vec<&str> = text.lines().take(2).collect();
    assert!(
        header[1].starts_with("(continues trace from remote parent 00f067aa…)"),
        "{text}"
    );
    let wide = render_trace(&remote_parent_trace(), &plain(120));
    assert!(
        wide.lines()
            .next()
            .unwrap()
            .ends_with("OK  (continues trace from remote parent 00f067aa…)"),
        "{wide}"
    );
    insta::assert_snapshot!("remote_parent", text);
}

#[test]
fn an_orphan_is_rendered_as_an_extra_root() {
    let text = render_trace(&orphan_trace(), &plain(100));
    assert_fits(&text, 100);
    assert!(text.contains("┄ booking.notify (producer)"), "{text}");
    assert!(text.contains("parent 1a2b3c4d… not received"), "{text}");
    insta::assert_snapshot!("orphan", text);
}

#[test]
fn events_are_marks_on_the_bar() {
    let text = render_trace(&events_trace(), &plain(100));
    assert_fits(&text, 100);
    assert!(text.contains("◆ lock_contention ×2"), "{text}");
    insta::assert_snapshot!("events", text);
}

#[test]
fn a_hundred_spans() {
    let text = render_trace(&hundred_spans(), &plain(100));
    assert_fits(&text, 100);
    // The header, then one line per span below the root.
    assert_eq!(text.lines().count(), 100);
    insta::assert_snapshot!("hundred_spans", text);
}

#[test]
fn long_names_are_cut_with_an_ellipsis() {
    let t = 0x2222_u128;
    let spans: Vec<SpanData> = vec![
        span(
            t,
            2,
            1,
            "booking.a_step_with_a_name_much_longer_than_any_column_should_be",
            1.0,
            5.0,
        )
        .kind(SpanKind::Client)
        .0,
        span(t, 1, 0, name::CREATE, 0.0, 6.0).0,
    ];
    let text = render_trace(&spans, &plain(80));
    assert_fits(&text, 80);
    assert!(
        text.contains("└─ booking.a_step_with… (client)  "),
        "{text}"
    );
}

#[test]
fn plain_output_fits_every_width() {
    for fixture in [
        failed_booking(),
        declined_booking(),
        remote_parent_trace(),
        orphan_trace(),
        events_trace(),
        hundred_spans(),
    ] {
        for width in [40, 60, 72, 80, 100, 120, 160, 240] {
            assert_fits(&render_trace(&fixture, &plain(width)), width);
        }
    }
}

#[test]
fn children_are_in_start_order_whatever_the_export_order() {
    let mut spans = failed_booking();
    spans.reverse();
    assert_eq!(
        render_trace(&spans, &plain(100)),
        render_trace(&failed_booking(), &plain(100))
    );
}

#[test]
fn malformed_traces_render_without_panicking() {
    let t = 0x3333_u128;
    // A parent cycle, a span that is its own parent, a duplicate id, an end before the
    // start, a zero-length trace, control characters in a name.
    let spans: Vec<SpanData> = vec![
        span(t, 1, 2, "a", 0.0, 0.0).0,
        span(t, 2, 1, "b", 0.0, 0.0).0,
        span(t, 3, 3, "self", 0.0, 0.0).0,
        span(t, 3, 0, "duplicate", 0.0, 0.0).0,
        span(t, 4, 0, "backwards\x1b[31m\n", 5.0, 1.0).0,
    ];
    let text = render_trace(&spans, &plain(60));
    assert_fits(&text, 60);
    for name in ["a", "b", "self", "duplicate", "backwards"] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(render_trace(&[], &plain(60)), "");
}

#[test]
fn spans_of_several_traces_render_one_after_another() {
    let mut spans = failed_booking();
    spans.extend(orphan_trace());
    let text = render_trace(&spans, &plain(100));
    assert_eq!(
        text,
        format!(
            "{}\n{}",
            render_trace(&failed_booking(), &plain(100)),
            render_trace(&orphan_trace(), &plain(100))
        )
    );
}

/// The module docs show the booking waterfall as it renders: the same text.
#[test]
fn the_module_docs_show_real_output() {
    let docs = include_str!("../booking-otel/src/console/mod.rs");
    for width in [100, 60] {
        let rendered = render_trace(&failed_booking(), &plain(width));
        let block: String = rendered
            .lines()
            .map(|line| format!("//! {line}").trim_end().to_owned() + "\n")
            .collect();
        assert!(
            docs.contains(&format!("//! ```text\n{block}//! ```\n")),
            "update the {width}-column example in booking-otel/src/console/mod.rs to:\n{block}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The exporter.

fn exporter(out: &Shared) -> WaterfallExporter<Shared> {
    WaterfallExporter::new(out.clone(), plain(100))
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures_util::FutureExt::now_or_never(future).expect("export does not wait")
}

#[test]
fn a_trace_split_across_three_exports_renders_once_when_its_root_arrives() {
    let out = Shared::default();
    let exporter = exporter(&out);
    let mut spans = failed_booking().into_iter();
    block_on(exporter.export(spans.by_ref().take(2).collect())).unwrap();
    block_on(exporter.export(spans.by_ref().take(2).collect())).unwrap();
    assert_eq!(out.text(), "", "nothing before the root");
    assert_eq!(exporter.buffered_spans(), 4);
    block_on(exporter.export(spans.collect())).unwrap();
    assert_eq!(
        out.text(),
        format!("{}\n", render_trace(&failed_booking(), &plain(100)))
    );
    assert_eq!(exporter.buffered_spans(), 0);
    exporter.shutdown().unwrap();
    assert_eq!(out.text().matches("trace 4bf92f35…").count(), 1);
}

#[test]
fn a_root_that_never_arrives_is_rendered_on_shutdown() {
    let out = Shared::default();
    let exporter = exporter(&out);
    let mut spans = failed_booking();
    spans.pop(); // the root
    block_on(exporter.export(spans)).unwrap();
    assert_eq!(out.text(), "");
    exporter.shutdown().unwrap();
    let text = out.text();
    assert!(
        text.starts_with("trace 4bf92f35…  349 ms  (partial: root not ended at flush)\n"),
        "{text}"
    );
    assert!(
        text.contains("┄ booking.process_payment (client)"),
        "{text}"
    );
    // After shutdown, exports are refused and nothing more is written.
    assert!(block_on(exporter.export(failed_booking())).is_err());
    assert_eq!(out.text(), text);
}

#[test]
fn force_flush_renders_what_waits() {
    let out = Shared::default();
    let exporter = exporter(&out);
    block_on(exporter.export(failed_booking()[..2].to_vec())).unwrap();
    exporter.force_flush().unwrap();
    assert!(out.text().contains("(partial: root not ended at flush)"));
    assert_eq!(exporter.buffered_spans(), 0);
}

#[test]
fn a_root_that_never_arrives_is_rendered_after_the_wait() {
    let out = Shared::default();
    let exporter = exporter(&out).root_wait(Duration::from_millis(50));
    let mut spans = failed_booking();
    spans.pop();
    block_on(exporter.export(spans)).unwrap();
    block_on(exporter.export(Vec::new())).unwrap();
    assert_eq!(out.text(), "", "rendered before the wait");
    std::thread::sleep(Duration::from_millis(80));
    // The next export, whatever it brings, renders the trace that waited too long.
    block_on(exporter.export(orphan_trace())).unwrap();
    let text = out.text();
    assert!(text.contains("trace 5b8aa5a2…"), "{text}");
    assert!(
        text.contains("trace 4bf92f35…  349 ms  (partial: root not ended after 50 ms)"),
        "{text}"
    );
    assert_eq!(exporter.buffered_spans(), 0);
}

#[test]
fn the_buffer_stays_within_its_span_limit() {
    let out = Shared::default();
    let exporter = exporter(&out).max_buffered_spans(10);
    // Thirty traces of five spans each, none with its root.
    for n in 0..30_u128 {
        let batch: Vec<SpanData> = (0..5_u64)
            .map(|i| span(n + 1, 10 + i, 1, name::CONFIRM, i as f64, i as f64 + 1.0).0)
            .collect();
        block_on(exporter.export(batch)).unwrap();
        assert!(
            exporter.buffered_spans() <= 10,
            "{}",
            exporter.buffered_spans()
        );
    }
    let text = out.text();
    assert_eq!(
        text.matches("(partial: buffer over 10 spans before its root ended)")
            .count(),
        28,
        "{text}"
    );
    // The oldest went first.
    assert!(text.starts_with("trace 00000000…"), "{text}");
    exporter.shutdown().unwrap();
    assert_eq!(out.text().matches("trace ").count(), 30);
}

#[test]
fn late_spans_say_their_trace_was_shown() {
    let out = Shared::default();
    let exporter = exporter(&out);
    block_on(exporter.export(failed_booking())).unwrap();
    // A spawned step that ends after the booking.
    let late = span(BOOKING_TRACE, 0x16, 0x10, name::NOTIFY, 400.0, 450.0);
    block_on(exporter.export(vec![late.0])).unwrap();
    exporter.shutdown().unwrap();
    assert!(
        out.text()
            .contains("(partial: root not ended at flush; more spans of a trace shown earlier)"),
        "{}",
        out.text()
    );
}

#[test]
fn a_failing_writer_fails_the_export_not_the_application() {
    #[derive(Debug)]
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
    let exporter = WaterfallExporter::new(Closed, plain(100));
    assert!(block_on(exporter.export(failed_booking())).is_err());
    // Buffered spans still render (and fail) at shutdown, without a panic.
    block_on(exporter.export(failed_booking()[..2].to_vec())).unwrap();
    assert!(exporter.shutdown().is_err());
}

// ---------------------------------------------------------------------------------------
// Real steps through a tracer provider.

#[derive(Debug, thiserror::Error, StepError)]
enum PaymentError {
    #[error("payment gateway timed out")]
    GatewayTimeout,
}

/// The labels of a waterfall's rows: the text before the bar.
fn tree_shape(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let end = line.find(['█', '◆']).unwrap_or(line.len());
            line[..end].trim_end().to_owned()
        })
        .collect()
}

/// A booking through `telemetry`: check availability, lock, a payment that times out,
/// the lock released by a rollback step.
fn run_booking(telemetry: &Telemetry, card: &'static str) {
    let _ = Step::new(name::CREATE)
        .kind(SpanKind::Server)
        .telemetry(telemetry)
        .run(|| -> Result<(), PaymentError> {
            Step::new(name::CHECK_AVAILABILITY)
                .telemetry(telemetry)
                .run(|| Some(3));
            Step::new(name::ACQUIRE_LOCK)
                .telemetry(telemetry)
                .run(|| ());
            let paid = Step::new(name::PROCESS_PAYMENT)
                .kind(SpanKind::Client)
                .telemetry(telemetry)
                .attributes(|a| {
                    a.set(attribute::PAYMENT_CARD_BRAND, "visa");
                    // A mistake: the whole number where the last four belong.
                    a.set(attribute::PAYMENT_CARD_LAST_FOUR, card);
                })
                .run(|| Err::<(), _>(PaymentError::GatewayTimeout));
            Step::new(name::ROLLBACK_RELEASE_LOCK)
                .rollback()
                .telemetry(telemetry)
                .run(|| ());
            paid
        });
}

#[test]
fn real_steps_through_a_simple_span_processor() {
    let out = Shared::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(WaterfallExporter::new(
            out.clone(),
            plain(200),
        )))
        .build();
    run_booking(&Telemetry::from_tracer_provider(&provider), "4242");
    provider.shutdown().unwrap();
    let text = out.text();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("booking.create (server)  trace ")
            && header.ends_with("ERROR gateway_timeout"),
        "{text}"
    );
    assert_eq!(
        tree_shape(&text),
        [
            "├─ booking.check_availability",
            "├─ booking.acquire_lock",
            "├─ booking.process_payment (client)",
            "└─ booking.rollback.release_lock",
        ],
        "{text}"
    );
    assert!(
        text.contains(
            "error.type=gateway_timeout payment.card_brand=visa payment.card_last_four=4242"
        ),
        "{text}"
    );
    assert!(text.contains("↺"), "{text}");
}

#[booking_otel::booking_step(name = name::CONFIRM)]
fn confirm() -> Result<&'static str, PaymentError> {
    Ok("K7Q2ZP")
}

#[booking_otel::booking_step(name = name::CREATE, kind = server)]
fn book() -> Result<&'static str, PaymentError> {
    confirm()
}

#[test]
fn booking_step_functions_through_the_installed_telemetry() {
    let out = Shared::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(WaterfallExporter::new(
            out.clone(),
            plain(100),
        )))
        .build();
    // The only test of this binary that installs a default telemetry.
    Telemetry::from_tracer_provider(&provider).install();
    assert_eq!(book().unwrap(), "K7Q2ZP");
    Telemetry::uninstall();
    provider.shutdown().unwrap();
    let text = out.text();
    assert!(
        text.starts_with("booking.create (server)  trace ") && text.contains("  OK\n"),
        "{text}"
    );
    assert_eq!(tree_shape(&text), ["└─ booking.confirm"], "{text}");
}

#[test]
fn behind_the_redacting_exporter_a_card_number_arrives_masked() {
    let out = Shared::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(RedactingExporter::new(
            WaterfallExporter::new(out.clone(), plain(200)),
            RedactionPolicy::default(),
        )))
        .build();
    run_booking(
        &Telemetry::from_tracer_provider(&provider),
        "4111 1111 1111 1111",
    );
    provider.shutdown().unwrap();
    let text = out.text();
    assert!(!text.contains("4111 1111"), "{text}");
    assert!(
        text.contains("payment.card_last_four=**** **** **** 1111"),
        "{text}"
    );
    assert_eq!(tree_shape(&text).len(), 4, "{text}");
}

/// A producer and its consumer in the same process: the consumer's parent is "remote"
/// (it came through message headers) but is in the same trace, so it nests, and the
/// trace waits for its real root.
fn producer_and_consumer() -> Vec<SpanData> {
    let t = BOOKING_TRACE;
    vec![
        span(t, 0x41, 0x40, "booking.notify", 5.0, 6.0).kind(SpanKind::Producer),
        span(t, 0x42, 0, "notification.deliver", 7.0, 9.0)
            .kind(SpanKind::Consumer)
            .remote_parent(0x41),
        span(t, 0x40, 0, name::CREATE, 0.0, 12.0).kind(SpanKind::Server),
    ]
    .into_iter()
    .map(|s| s.0)
    .collect()
}

#[test]
fn a_consumer_nests_under_its_producer_in_the_same_trace() {
    let text = render_trace(&producer_and_consumer(), &plain(100));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("booking.create (server)"), "{text}");
    assert!(
        lines[1].starts_with("└─ booking.notify (producer)"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("   └─ notification.deliver (consumer)"),
        "{text}"
    );

    // The exporter waits for the real root: the consumer is not one.
    let out = Shared::default();
    let exporter = exporter(&out);
    let mut spans = producer_and_consumer();
    let root = spans.pop().unwrap();
    block_on(exporter.export(spans)).unwrap();
    assert_eq!(out.text(), "", "the consumer did not end the trace");
    block_on(exporter.export(vec![root])).unwrap();
    assert_eq!(out.text(), format!("{text}\n"));
}
