//! A hotel booking, traced end to end: availability → lock → payment (fails) → rollback.
//!
//! `cargo run --example demo` prints the exported spans on stdout (console exporter).
//! Set `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317` to send them to a collector.

use booking_otel::conventions::{attribute, span};
use booking_otel::setup::{ExporterKind, Setup};
use booking_otel::{CardNumber, Step, StepError};
use opentelemetry::trace::SpanKind;

#[derive(Debug, thiserror::Error, StepError)]
enum BookingError {
    #[error("room sold out")]
    #[step_error(rejection)]
    SoldOut,
    #[error("payment gateway timed out after 3 s (card {0})")]
    GatewayTimeout(String),
}

fn check_availability(property: &'static str, guests: u8) -> Result<u32, BookingError> {
    Step::new(span::CHECK_AVAILABILITY)
        .attributes(|a| {
            a.set(attribute::BOOKING_PROPERTY_ID, property);
            a.set(attribute::BOOKING_GUESTS, guests);
            a.set(attribute::BOOKING_CHECK_IN, "2026-12-24");
            a.set(attribute::BOOKING_CHECK_OUT, "2026-12-27");
        })
        .run(|| {
            if guests > 8 {
                Err(BookingError::SoldOut)
            } else {
                Ok(3)
            }
        })
}

fn acquire_lock(reservation: &'static str) -> Result<(), BookingError> {
    Step::new(span::ACQUIRE_LOCK)
        .attributes(|a| {
            a.set(attribute::BOOKING_RESERVATION_ID, reservation);
            a.set(attribute::BOOKING_LOCK_TYPE, "pessimistic");
            a.set(attribute::BOOKING_LOCK_TTL_MS, 600_000);
        })
        .run(|| Ok(()))
}

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

fn release_lock() {
    Step::new(span::ROLLBACK_RELEASE_LOCK).rollback().run(|| ());
}

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
