//! How to test your own booking instrumentation with booking-otel's test kit.
//!
//! `booking_otel::testing::TestTelemetry` (feature `testing`) captures what your code
//! exports, through the same pipeline as production, redaction included, so a test
//! asserts on exactly what a collector would receive: the span tree, the statuses, the
//! attributes and events, and the metrics. Each test sees only its own traces and
//! metrics, so tests run in parallel.
//!
//! Below: a small table-booking function (the code under test), then the checks a team
//! would write for it. Each check is a `#[test]`, and `main` runs the same checks and
//! prints what each asserted:
//!
//! ```text
//! cargo test --example testing_your_instrumentation   # as tests (cargo test runs them too)
//! cargo run --example testing_your_instrumentation    # as a program
//! ```
//!
//! In your crate, enable the kit for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! booking-otel = { version = "0.1", features = ["testing"] }
//! ```

use booking_otel::conventions::{attribute, event, metric, span, standard};
use booking_otel::testing::{SpanDataExt, TestTelemetry, children, parent_of, tree};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value};

// ---------------------------------------------------------------------------------------
// The code under test: what you would have in your application.

mod tables {
    use booking_otel::conventions::span;
    use booking_otel::metrics::BookingMetrics;
    use booking_otel::{CardNumber, StepError, booking_step};

    /// How booking a table can go wrong.
    #[derive(Debug, thiserror::Error, StepError)]
    pub enum TableError {
        /// Every table is taken: a business rejection.
        #[error("no table for {guests} left")]
        #[step_error(rejection)]
        FullyBooked {
            /// The party size.
            guests: u32,
        },
        /// The deposit could not be taken: a failure.
        #[error("payment gateway unavailable")]
        GatewayDown,
    }

    /// A restaurant's state, as far as this example needs one.
    #[derive(Debug)]
    pub struct Restaurant {
        /// `prop-1042`.
        pub id: String,
        /// Free tables.
        pub free_tables: u32,
        /// Whether the payment gateway answers.
        pub gateway_up: bool,
    }

    /// Books a table: availability, a held table, a deposit; the table is released
    /// when the deposit fails. `metrics` comes from the application state (tests pass
    /// the test kit's).
    #[booking_step(
        name = span::CREATE,
        kind = server,
        fields(booking.property_id = restaurant.id, booking.guests = guests)
    )]
    pub fn book_table(
        restaurant: &mut Restaurant,
        guests: u32,
        card: &CardNumber,
        metrics: &BookingMetrics,
    ) -> Result<String, TableError> {
        let booking = metrics.start_booking("web");
        let result = book(restaurant, guests, card);
        booking.finish_with(&result);
        result
    }

    fn book(
        restaurant: &mut Restaurant,
        guests: u32,
        card: &CardNumber,
    ) -> Result<String, TableError> {
        check_availability(restaurant, guests)?;
        acquire_lock(restaurant);
        match process_payment(restaurant, card) {
            Ok(transaction) => Ok(transaction),
            Err(e) => {
                release_lock(restaurant);
                Err(e)
            }
        }
    }

    #[booking_step(name = span::CHECK_AVAILABILITY, fields(booking.guests = guests))]
    fn check_availability(restaurant: &Restaurant, guests: u32) -> Result<u32, TableError> {
        match restaurant.free_tables {
            0 => Err(TableError::FullyBooked { guests }),
            free => Ok(free),
        }
    }

    #[booking_step(name = span::ACQUIRE_LOCK, fields(booking.lock_type = "pessimistic"))]
    fn acquire_lock(restaurant: &mut Restaurant) {
        restaurant.free_tables -= 1;
    }

    #[booking_step(
        name = span::PROCESS_PAYMENT,
        kind = client,
        fields(
            payment.card_brand = card.brand().as_str(),
            payment.card_last_four = card.last_four(),
        )
    )]
    fn process_payment(restaurant: &Restaurant, card: &CardNumber) -> Result<String, TableError> {
        let _digits_for_the_gateway = card.expose_digits();
        if restaurant.gateway_up {
            Ok("txn_3PqR8s".into())
        } else {
            Err(TableError::GatewayDown)
        }
    }

    #[booking_step(rollback, name = span::ROLLBACK_RELEASE_LOCK)]
    fn release_lock(restaurant: &mut Restaurant) {
        restaurant.free_tables += 1;
    }
}

use tables::{Restaurant, book_table};

const CARD: &str = "4242 4242 4242 4242";

fn restaurant(free_tables: u32, gateway_up: bool) -> Restaurant {
    Restaurant {
        id: "prop-1042".into(),
        free_tables,
        gateway_up,
    }
}

/// Books one table for `guests` under a fresh test telemetry, which the caller keeps to
/// read what was exported.
fn book(restaurant: &mut Restaurant, guests: u32) -> TestTelemetry {
    let telemetry = TestTelemetry::install();
    let card = booking_otel::CardNumber::parse(CARD).expect("a valid test card");
    let _ = book_table(restaurant, guests, &card, &telemetry.booking_metrics());
    telemetry
}

// ---------------------------------------------------------------------------------------
// The checks. Each returns what it saw, for `main` to print.

/// The span tree: one trace, the steps as children of `booking.create`, in order.
fn span_tree() -> String {
    let telemetry = book(&mut restaurant(3, true), 2);
    let spans = telemetry.spans();

    // Spans end children first: the root is last.
    assert_eq!(
        telemetry.span_names(),
        [
            span::CHECK_AVAILABILITY,
            span::ACQUIRE_LOCK,
            span::PROCESS_PAYMENT,
            span::CREATE,
        ]
    );
    // Parents, and the order the steps started in. `tree` prints the captured spans:
    // use it in failure messages.
    let root = telemetry.span(span::CREATE);
    assert!(
        parent_of(&spans, span::CREATE).is_none(),
        "{}",
        tree(&spans)
    );
    let mut steps = children(&spans, &root);
    steps.sort_by_key(|s| s.start_time);
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            span::CHECK_AVAILABILITY,
            span::ACQUIRE_LOCK,
            span::PROCESS_PAYMENT
        ],
        "{}",
        tree(&spans)
    );
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_eq!(
        telemetry.span(span::PROCESS_PAYMENT).span_kind,
        SpanKind::Client
    );
    format!("booking.create → {}", names.join(" → "))
}

/// A failure: status Error with `error.type`, an `exception` event, and the rollback
/// step that follows it.
fn failure_status_and_rollback() -> String {
    let mut restaurant = restaurant(3, false);
    let telemetry = book(&mut restaurant, 2);
    let spans = telemetry.spans();

    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert!(
        matches!(payment.status, Status::Error { .. }),
        "{}",
        tree(&spans)
    );
    assert_eq!(
        payment.attribute(standard::ERROR_TYPE),
        Some(&Value::from("gateway_down"))
    );
    assert!(payment.event(event::EXCEPTION).is_some());

    let rollback = telemetry.span(span::ROLLBACK_RELEASE_LOCK);
    assert_eq!(
        parent_of(&spans, span::ROLLBACK_RELEASE_LOCK).map(|p| p.name.to_string()),
        Some(span::CREATE.to_string())
    );
    assert_eq!(
        rollback.attribute(attribute::BOOKING_ROLLBACK),
        Some(&Value::Bool(true))
    );
    assert!(rollback.start_time >= payment.end_time);
    // The code's own effect, checked alongside: the table is free again.
    assert_eq!(restaurant.free_tables, 3);
    // The failure reaches the root too.
    assert!(matches!(
        telemetry.span(span::CREATE).status,
        Status::Error { .. }
    ));
    "process_payment: Error, error.type=gateway_down; then booking.rollback.release_lock".into()
}

/// A rejection is not an error: status Unset, `booking.outcome = rejected`, the
/// rejection type, a `booking.rejection` event.
fn rejection_is_not_an_error() -> String {
    let telemetry = book(&mut restaurant(0, true), 6);
    let spans = telemetry.spans();

    let availability = telemetry.span(span::CHECK_AVAILABILITY);
    assert_eq!(availability.status, Status::Unset, "{}", tree(&spans));
    assert_eq!(
        availability.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("rejected"))
    );
    assert_eq!(
        availability.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&Value::from("fully_booked"))
    );
    assert!(availability.event(event::REJECTION).is_some());
    assert_eq!(availability.attribute(standard::ERROR_TYPE), None);
    // The booking stopped there: no lock, no payment.
    assert_eq!(spans.len(), 2, "{}", tree(&spans));
    assert!(spans.iter().all(|s| s.status == Status::Unset));
    "check_availability: Unset, booking.outcome=rejected, rejection type fully_booked".into()
}

/// Attributes: what `fields(..)` names, and never the card number.
fn attributes_without_the_card() -> String {
    let telemetry = book(&mut restaurant(3, true), 4);
    let spans = telemetry.spans();

    let root = telemetry.span(span::CREATE);
    assert_eq!(
        root.attribute(attribute::BOOKING_PROPERTY_ID),
        Some(&Value::from("prop-1042"))
    );
    assert_eq!(
        root.attribute(attribute::BOOKING_GUESTS),
        Some(&Value::I64(4))
    );
    let payment = telemetry.span(span::PROCESS_PAYMENT);
    assert_eq!(
        payment.attribute(attribute::PAYMENT_CARD_BRAND),
        Some(&Value::from("visa"))
    );
    assert_eq!(
        payment.attribute(attribute::PAYMENT_CARD_LAST_FOUR),
        Some(&Value::from("4242"))
    );
    // Whatever your code records, the full number must not appear anywhere.
    let digits: String = CARD.chars().filter(char::is_ascii_digit).collect();
    for s in &spans {
        let events = s.events.events.iter().flat_map(|e| e.attributes.iter());
        for kv in s.attributes.iter().chain(events) {
            assert!(!kv.value.to_string().contains(&digits), "{} leaks", kv.key);
        }
    }
    "booking.guests=4, payment.card_brand=visa, payment.card_last_four=4242, no full number".into()
}

/// Metrics: bookings by status, one duration per step and outcome, rollbacks, and no
/// high-cardinality attribute.
fn metrics() -> String {
    let telemetry = book(&mut restaurant(3, false), 2);

    let status = |s: &str| {
        telemetry.counter_sum(
            metric::BOOKING_ATTEMPTS,
            &[KeyValue::new(attribute::BOOKING_STATUS, s.to_owned())],
        )
    };
    assert_eq!(status("failed"), 1);
    assert_eq!(status("success"), 0);
    let step = |name: &'static str, outcome: &'static str| {
        telemetry.histogram_count(
            metric::BOOKING_STEP_DURATION,
            &[
                KeyValue::new(attribute::BOOKING_STEP, name),
                KeyValue::new(attribute::BOOKING_OUTCOME, outcome),
            ],
        )
    };
    assert_eq!(step(span::CHECK_AVAILABILITY, "ok"), 1);
    assert_eq!(step(span::PROCESS_PAYMENT, "error"), 1);
    assert_eq!(step(span::ROLLBACK_RELEASE_LOCK, "ok"), 1);
    assert_eq!(
        telemetry.counter_sum(
            metric::BOOKING_ROLLBACKS,
            &[KeyValue::new(
                attribute::BOOKING_ROLLBACK_STEP,
                span::ROLLBACK_RELEASE_LOCK
            )]
        ),
        1
    );
    // Cardinality: step metrics carry only the step, the outcome and the error type.
    for set in telemetry.metric_attribute_sets(metric::BOOKING_STEP_DURATION) {
        for kv in set {
            assert!(
                [
                    attribute::BOOKING_STEP,
                    attribute::BOOKING_OUTCOME,
                    standard::ERROR_TYPE
                ]
                .contains(&kv.key.as_str()),
                "{} on a metric",
                kv.key
            );
        }
    }
    "booking.attempts{failed}=1; step durations by step and outcome; booking.rollbacks=1".into()
}

/// A check: asserts, and says what it saw.
type Check = fn() -> String;

/// Every check, with what it is about.
const CHECKS: [(&str, Check); 5] = [
    ("span tree", span_tree),
    ("failure status and rollback", failure_status_and_rollback),
    ("a rejection is not an error", rejection_is_not_an_error),
    ("attributes, without the card", attributes_without_the_card),
    ("metrics", metrics),
];

fn main() {
    for (what, check) in CHECKS {
        let saw = check();
        println!("ok  {what:<30} {saw}");
    }
    println!("\n{} checks passed", CHECKS.len());
}

#[cfg(test)]
mod tests {
    #[test]
    fn span_tree() {
        super::span_tree();
    }

    #[test]
    fn failure_status_and_rollback() {
        super::failure_status_and_rollback();
    }

    #[test]
    fn rejection_is_not_an_error() {
        super::rejection_is_not_an_error();
    }

    #[test]
    fn attributes_without_the_card() {
        super::attributes_without_the_card();
    }

    #[test]
    fn metrics() {
        super::metrics();
    }
}
