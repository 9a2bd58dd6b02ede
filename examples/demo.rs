//! A hotel booking, traced end to end: availability → lock → payment (fails) → rollback.
//!
//! `cargo run --example demo` prints the exported spans on stdout (console exporter).
//! Set `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317` to send them to a collector.

use booking_otel::conventions::{attribute, span};
use booking_otel::setup::{ExporterKind, Setup};
use booking_otel::{CardNumber, Step, StepError, booking_step};
use opentelemetry::trace::SpanKind;

#[derive(Debug, thiserror::Error, StepError)]
enum BookingError {
    #[error("room sold out")]
    #[step_error(rejection)]
    SoldOut,
    #[error("payment gateway timed out after 3 s (card {0})")]
    GatewayTimeout(String),
}

// The attribute form: span `booking.check_availability` with two fields, recorded only
// when the trace is sampled. Arguments are never recorded unless named here.
#[booking_step(fields(booking.property_id = property, booking.guests = guests))]
fn check_availability(property: &'static str, guests: u8) -> Result<u32, BookingError> {
    if guests > 8 {
        Err(BookingError::SoldOut)
    } else {
        Ok(3)
    }
}

#[booking_step(fields(booking.reservation_id = reservation, booking.lock_type = "pessimistic"))]
fn acquire_lock(reservation: &'static str) -> Result<(), BookingError> {
    Ok(())
}

// The hand-written form, with the same semantics.
fn process_payment(card: &CardNumber) -> Result<String, BookingError> {
    Step::new(span::PROCESS_PAYMENT)
        .kind(SpanKind::Client)
        .attributes(|a| {
            a.set(attribute::PAYMENT_METHOD, "card");
            a.set(attribute::PAYMENT_CURRENCY, "EUR");
            a.set(attribute::PAYMENT_CARD_BRAND, card.brand().as_str());
            a.set(
                attribute::PAYMENT_CARD_LAST_FOUR,
                card.last_four().to_string(),
            );
        })
        // A careless error message that embeds the full card number: the redaction
        // guard masks it before export.
        .run(|| {
            Err(BookingError::GatewayTimeout(
                card.expose_digits().to_string(),
            ))
        })
}

// A compensating step: span `booking.rollback.release_lock`, counted in booking.rollbacks.
#[booking_step(rollback)]
fn release_lock() {}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = Setup::new("booking-demo")
        .service_version("0.1.0")
        .domain("reservations")
        .metrics_exporter(ExporterKind::None)
        .install()?;

    let card = CardNumber::parse("4111 1111 1111 1111")?;
    let outcome: Result<String, BookingError> = Step::new(span::CREATE)
        .kind(SpanKind::Server)
        .attributes(|a| {
            a.set(attribute::BOOKING_SOURCE, "web");
        })
        .run(|| {
            check_availability("prop-1042", 2)?;
            acquire_lock("res-7f3a9c")?;
            match process_payment(&card) {
                Ok(txn) => Ok(txn),
                Err(e) => {
                    release_lock();
                    Err(e)
                }
            }
        });
    // Application logs need the same care as telemetry: log the error's kind, not its text.
    match &outcome {
        Ok(_) => eprintln!("booking confirmed"),
        Err(e) => eprintln!("booking failed: {}", e.error_type()),
    }
    drop(telemetry); // flushes: the trace is printed below
    Ok(())
}
