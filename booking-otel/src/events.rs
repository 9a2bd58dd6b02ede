//! The guide's span events, recorded on the current span (the running step).
//!
//! ```
//! use booking_otel::{Step, events};
//! Step::new("booking.acquire_lock").run(|| {
//!     events::lock_contention("held", "res-1b2c3d");
//! });
//! ```

use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue, StringValue};

use crate::conventions::{attribute, event};

/// Records `lock_contention` on the current span: the reservation lock is held by
/// `competing_reservation` (`booking.contention_reason` = `reason`, low cardinality:
/// `held`, `expired_race`, `timeout`, `other`).
pub fn lock_contention(reason: &'static str, competing_reservation: impl Into<StringValue>) {
    Context::map_current(|cx| {
        let span = cx.span();
        if span.is_recording() {
            span.add_event(
                event::LOCK_CONTENTION,
                vec![
                    KeyValue::new(attribute::BOOKING_CONTENTION_REASON, reason),
                    KeyValue::new(
                        attribute::BOOKING_COMPETING_RESERVATION,
                        competing_reservation.into(),
                    ),
                ],
            );
        }
    });
}

/// Records `payment_declined` on the current span with the gateway's decline code.
pub fn payment_declined(decline_reason: impl Into<StringValue>) {
    Context::map_current(|cx| {
        let span = cx.span();
        if span.is_recording() {
            span.add_event(
                event::PAYMENT_DECLINED,
                vec![KeyValue::new(
                    attribute::PAYMENT_DECLINE_REASON,
                    decline_reason.into(),
                )],
            );
        }
    });
}
