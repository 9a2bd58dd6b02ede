//! A `#[booking_step]` whose error message is whatever the test passes: the exception
//! message and status description then carry that text.

#![allow(dead_code)]

use booking_otel::booking_step;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GatewayError(pub String);

#[booking_step(name = "booking.process_payment")]
pub fn failing_payment(message: String) -> Result<(), GatewayError> {
    Err(GatewayError(message))
}
