//! The fastrace baseline: W1, W2 and W2v written by hand with fastrace, reported through
//! fastrace-opentelemetry into the same discarding exporter as the other variants.
//!
//! fastrace's pipeline is its own: spans are collected per thread, handed to its global
//! collector thread, converted into `SpanData` by the reporter and exported there
//! (the `+batch` in the case ids says only that export happens off the booking thread).
//! Its properties are strings (`Cow<'static, str>`): constants are borrowed, numbers and
//! booleans formatted.
//!
//! Kept out of `workloads.rs` and the main callgrind driver: fastrace's clock (fastant)
//! calibrates itself in a static constructor that runs for a varying number of
//! instructions, which would blur every instruction count of a binary it is linked into.

#![allow(dead_code)]

use std::borrow::Cow;
use std::hint::black_box;

use crate::workloads::{PaymentError, Request, charge, next_request, work};
use booking_otel::StepError as _;
use opentelemetry_sdk::Resource;

/// The case ids, as in the benchmark table.
pub const CASES: [&str; 3] = [
    "w1/fastrace+batch/sampled",
    "w2/fastrace+batch/sampled",
    "w2v/fastrace+batch/sampled",
];

/// Sets fastrace's global reporter: fastrace-opentelemetry into the discarding exporter.
pub fn install() {
    fastrace::set_reporter(
        fastrace_opentelemetry::OpenTelemetryReporter::new(
            crate::workloads::DiscardExporter,
            Cow::Owned(Resource::builder_empty().build()),
            opentelemetry::InstrumentationScope::builder("bench").build(),
        ),
        fastrace::collector::Config::default(),
    );
}

/// Hands every span recorded so far to the reporter.
pub fn flush() {
    fastrace::flush();
}

/// The function that runs one case once, resolved outside the measured loop.
pub fn runner(case: &str) -> fn() -> i64 {
    match case {
        "w1/fastrace+batch/sampled" => || w1_fastrace(black_box(1200)).unwrap_or(0),
        "w2/fastrace+batch/sampled" => || w2_fastrace(black_box(2)),
        "w2v/fastrace+batch/sampled" => || w2v_fastrace(&next_request()),
        other => panic!("unknown fastrace case {other}"),
    }
}

/// fastrace: a root span (there is no parent) with the same properties. fastrace
/// properties are strings (`Cow<'static, str>`): constants are borrowed, numbers and
/// booleans formatted.
pub fn w1_fastrace(amount: i64) -> Result<i64, PaymentError> {
    let span = fastrace::Span::root(
        "booking.process_payment",
        fastrace::collector::SpanContext::random(),
    )
    .with_properties(|| {
        [
            ("payment.method", Cow::Borrowed("card")),
            ("payment.currency", Cow::Borrowed("EUR")),
            ("payment.amount_cents", Cow::Owned(amount.to_string())),
            ("payment.retry", Cow::Borrowed("false")),
        ]
    });
    let _active = span.set_local_parent();
    let result = charge(amount, false);
    if let Err(e) = &result {
        span.add_properties(|| {
            [
                ("error.type", Cow::Borrowed(e.error_type())),
                ("span.status_code", Cow::Borrowed("error")),
                ("span.status_description", Cow::Owned(e.to_string())),
            ]
        });
    }
    result
}

/// fastrace: the root span `booking.create`, the four steps as local spans under it.
pub fn w2_fastrace(guests: i64) -> i64 {
    use fastrace::local::LocalSpan;
    let root = fastrace::Span::root("booking.create", fastrace::collector::SpanContext::random())
        .with_properties(|| {
            [
                ("booking.property_id", Cow::Borrowed("prop-1042")),
                ("booking.guests", Cow::Owned(guests.to_string())),
                ("booking.source", Cow::Borrowed("web")),
            ]
        });
    let _root = root.set_local_parent();
    let available = {
        let _span = LocalSpan::enter_with_local_parent("booking.check_availability")
            .with_properties(|| {
                [
                    ("booking.property_id", Cow::Borrowed("prop-1042")),
                    ("booking.guests", Cow::Owned(guests.to_string())),
                    ("booking.nights", Cow::Borrowed("3")),
                ]
            });
        work(guests)
    };
    let lock = {
        let _span =
            LocalSpan::enter_with_local_parent("booking.acquire_lock").with_properties(|| {
                [
                    ("booking.lock_type", Cow::Borrowed("pessimistic")),
                    ("booking.lock_ttl_ms", Cow::Borrowed("600000")),
                    ("booking.lock_acquired", Cow::Borrowed("true")),
                ]
            });
        work(available)
    };
    let paid = {
        let _span =
            LocalSpan::enter_with_local_parent("booking.process_payment").with_properties(|| {
                [
                    ("payment.method", Cow::Borrowed("card")),
                    ("payment.currency", Cow::Borrowed("EUR")),
                    ("payment.amount_cents", Cow::Owned(lock.to_string())),
                ]
            });
        let result = charge(lock, true);
        if let Err(e) = &result {
            let message = e.to_string();
            LocalSpan::add_properties(|| {
                [
                    ("booking.outcome", Cow::Borrowed("error")),
                    ("error.type", Cow::Borrowed(e.error_type())),
                    ("span.status_code", Cow::Borrowed("error")),
                    ("span.status_description", Cow::Owned(message.clone())),
                ]
            });
            LocalSpan::add_event(fastrace::Event::new("exception").with_properties(|| {
                [
                    (
                        "exception.type",
                        Cow::Borrowed(std::any::type_name::<PaymentError>()),
                    ),
                    ("exception.message", Cow::Owned(message.clone())),
                ]
            }));
        }
        result.unwrap_or(-1)
    };
    let _span = LocalSpan::enter_with_local_parent("booking.confirm").with_properties(|| {
        [
            ("booking.confirmation_code", Cow::Borrowed("K7Q2ZP")),
            ("booking.reservation_id", Cow::Borrowed("res-81")),
            ("booking.guests", Cow::Owned(guests.to_string())),
        ]
    });
    work(paid)
}

/// W2v with fastrace, as `w2_fastrace`; borrowed values are cloned into the
/// properties, as they must be.
pub fn w2v_fastrace(req: &Request) -> i64 {
    use fastrace::local::LocalSpan;
    let root = fastrace::Span::root("booking.create", fastrace::collector::SpanContext::random())
        .with_properties(|| {
            [
                ("booking.user_id", Cow::Owned(req.user_id.clone())),
                ("booking.property_id", Cow::Owned(req.property_id.clone())),
                ("booking.source", Cow::Borrowed("web")),
            ]
        });
    let _root = root.set_local_parent();
    let available = {
        let _span = LocalSpan::enter_with_local_parent("booking.check_availability")
            .with_properties(|| {
                [
                    ("booking.property_id", Cow::Owned(req.property_id.clone())),
                    ("booking.check_in", Cow::Owned(req.check_in.clone())),
                    ("booking.check_out", Cow::Owned(req.check_out.clone())),
                ]
            });
        work(req.guests)
    };
    let lock = {
        let _span =
            LocalSpan::enter_with_local_parent("booking.acquire_lock").with_properties(|| {
                [
                    ("booking.lock_type", Cow::Borrowed("pessimistic")),
                    (
                        "booking.reservation_id",
                        Cow::Owned(req.reservation_id.clone()),
                    ),
                    ("booking.lock_acquired", Cow::Borrowed("true")),
                ]
            });
        work(available)
    };
    let paid = {
        let _span =
            LocalSpan::enter_with_local_parent("booking.process_payment").with_properties(|| {
                [
                    (
                        "payment.card_last_four",
                        Cow::Owned(req.card_last_four.clone()),
                    ),
                    (
                        "payment.transaction_id",
                        Cow::Owned(req.transaction_id.clone()),
                    ),
                    ("payment.amount_cents", Cow::Owned(lock.to_string())),
                ]
            });
        charge(lock, false).unwrap_or(-1)
    };
    let _span = LocalSpan::enter_with_local_parent("booking.confirm").with_properties(|| {
        [
            (
                "booking.confirmation_code",
                Cow::Owned(req.confirmation_code.clone()),
            ),
            (
                "booking.reservation_id",
                Cow::Owned(req.reservation_id.clone()),
            ),
            ("booking.guests", Cow::Owned(req.guests.to_string())),
        ]
    });
    work(paid)
}
