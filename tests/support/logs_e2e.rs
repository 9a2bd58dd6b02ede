//! What the end-to-end log tests emit and check: card numbers in `tracing` events and
//! in exceptions, from failing steps, and the received bytes free of them.

#![allow(dead_code)]

use booking_otel::booking_step;

use super::pan::Case;

#[derive(Debug, thiserror::Error)]
#[error("declined: {0}")]
pub struct Declined(pub String);

/// A failing step that logs the card text in the message, a string field and (when it
/// fits) an integer field, and fails with it.
#[booking_step(name = "booking.process_payment")]
pub fn declined_payment(case: &Case) -> Result<(), Declined> {
    match case.as_i64() {
        Some(number) => tracing::warn!(
            card.text = %case.embedded,
            card.raw = number,
            "charge failed for {}",
            case.embedded
        ),
        None => tracing::warn!(card.text = %case.embedded, "charge failed for {}", case.embedded),
    }
    Err(Declined(case.embedded.clone()))
}
