//! The `booking.*` and `payment.*` naming conventions: span names, attribute keys,
//! event names, metric names and resource attributes.
//!
//! Every name the library emits is a constant here, with its type, unit, an example,
//! its cardinality and whether it is sensitive. Standard keys (`error.type`,
//! `exception.*`, `service.*`) are not re-typed: they are re-exported from
//! [`opentelemetry_semantic_conventions`] in [`standard`].
//!
//! [`ALL`] lists every convention; `docs/conventions.md` is generated from it and a test
//! keeps the two in step.
//!
//! ```
//! use booking_otel::conventions::{attribute, span};
//! use opentelemetry::KeyValue;
//!
//! assert_eq!(span::PROCESS_PAYMENT, "booking.process_payment");
//! let guests = KeyValue::new(attribute::BOOKING_GUESTS, 2_i64);
//! assert_eq!(guests.key.as_str(), "booking.guests");
//! ```

/// What a convention names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConventionKind {
    /// A span name.
    Span,
    /// A span (or metric) attribute key.
    Attribute,
    /// A span event name.
    Event,
    /// A metric instrument name.
    Metric,
    /// A resource attribute key.
    Resource,
}

/// Whether a value may be recorded as-is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Safe to record.
    None,
    /// Identifies a person or a booking: record pseudonymous identifiers only, and never
    /// as a metric attribute.
    Personal,
}

/// One documented name, as listed in [`ALL`] and `docs/conventions.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Convention {
    /// The name as emitted, e.g. `booking.guests`.
    pub name: &'static str,
    /// What the name names.
    pub kind: ConventionKind,
    /// Value type (attributes), instrument type (metrics) or span kind (spans).
    pub value_type: &'static str,
    /// Unit in UCUM notation, empty when unitless.
    pub unit: &'static str,
    /// An example value.
    pub example: &'static str,
    /// Cardinality: `low` (a small fixed set), `medium` or `high` (unbounded, never a
    /// metric attribute).
    pub cardinality: &'static str,
    /// Whether the value identifies a person.
    pub sensitivity: Sensitivity,
    /// What it means.
    pub brief: &'static str,
}

macro_rules! conventions {
    ($(
        $(#[$meta:meta])*
        $module:ident :: $ident:ident = $name:literal {
            kind: $kind:ident,
            type: $ty:literal,
            unit: $unit:literal,
            example: $example:literal,
            cardinality: $card:literal,
            sensitivity: $sens:ident,
            brief: $brief:literal $(,)?
        }
    )*) => {
        /// Every convention of this crate, in documentation order.
        pub const ALL: &[Convention] = &[$(
            Convention {
                name: $module::$ident,
                kind: ConventionKind::$kind,
                value_type: $ty,
                unit: $unit,
                example: $example,
                cardinality: $card,
                sensitivity: Sensitivity::$sens,
                brief: $brief,
            },
        )*];

        $(
            conventions!(@const $module $ident $name, $brief, $ty, $unit, $example, $card, $sens, $(#[$meta])*);
        )*
    };
    (@const $module:ident $ident:ident $name:literal, $brief:literal, $ty:literal, $unit:literal,
     $example:literal, $card:literal, $sens:ident, $(#[$meta:meta])*) => {
        pub mod $module {
            #[doc = concat!($brief, "\n\n",
                "| | |\n|---|---|\n",
                "| name | `", $name, "` |\n",
                "| type | ", $ty, " |\n",
                "| unit | ", $unit, " |\n",
                "| example | `", $example, "` |\n",
                "| cardinality | ", $card, " |\n",
                "| sensitivity | ", stringify!($sens), " |\n")]
            $(#[$meta])*
            pub const $ident: &str = $name;
        }
    };
}

// `conventions!(@const …)` emits one `pub mod` per constant; these glob re-exports gather
// them into the public modules below. Private modules keep rustdoc to one page per kind.
// The per-constant modules are not reachable by path, only their re-exported constants.
#[allow(unreachable_pub)]
mod defs {
    use super::{Convention, ConventionKind, Sensitivity};

    conventions! {
        span_create::CREATE = "booking.create" {
            kind: Span, type: "internal or server", unit: "", example: "booking.create",
            cardinality: "low", sensitivity: None,
            brief: "The whole booking: parent of every step of one reservation."
        }
        span_check_availability::CHECK_AVAILABILITY = "booking.check_availability" {
            kind: Span, type: "internal", unit: "", example: "booking.check_availability",
            cardinality: "low", sensitivity: None,
            brief: "Availability search for the requested dates and guests."
        }
        span_price::PRICE = "booking.price" {
            kind: Span, type: "internal or client", unit: "", example: "booking.price",
            cardinality: "low", sensitivity: None,
            brief: "Pricing of the selected option."
        }
        span_acquire_lock::ACQUIRE_LOCK = "booking.acquire_lock" {
            kind: Span, type: "internal or client", unit: "", example: "booking.acquire_lock",
            cardinality: "low", sensitivity: None,
            brief: "Reservation lock on the selected inventory, preventing double booking."
        }
        span_process_payment::PROCESS_PAYMENT = "booking.process_payment" {
            kind: Span, type: "client", unit: "", example: "booking.process_payment",
            cardinality: "low", sensitivity: None,
            brief: "Charge through the payment gateway (crosses a trust boundary)."
        }
        span_confirm::CONFIRM = "booking.confirm" {
            kind: Span, type: "internal", unit: "", example: "booking.confirm",
            cardinality: "low", sensitivity: None,
            brief: "Confirmation of the reservation once payment succeeded."
        }
        span_notify::NOTIFY = "booking.notify" {
            kind: Span, type: "internal or producer", unit: "", example: "booking.notify",
            cardinality: "low", sensitivity: None,
            brief: "Notification (email, SMS, push) of the confirmed booking."
        }
        span_rollback_release_lock::ROLLBACK_RELEASE_LOCK = "booking.rollback.release_lock" {
            kind: Span, type: "internal", unit: "", example: "booking.rollback.release_lock",
            cardinality: "low", sensitivity: None,
            brief: "Compensation: release the reservation lock of a failed booking."
        }
        span_rollback_refund_payment::ROLLBACK_REFUND_PAYMENT = "booking.rollback.refund_payment" {
            kind: Span, type: "client", unit: "", example: "booking.rollback.refund_payment",
            cardinality: "low", sensitivity: None,
            brief: "Compensation: refund the payment of a failed booking."
        }
        span_rollback_restore_inventory::ROLLBACK_RESTORE_INVENTORY = "booking.rollback.restore_inventory" {
            kind: Span, type: "internal", unit: "", example: "booking.rollback.restore_inventory",
            cardinality: "low", sensitivity: None,
            brief: "Compensation: restore the inventory held for a failed booking."
        }

        attr_check_in::BOOKING_CHECK_IN = "booking.check_in" {
            kind: Attribute, type: "string (ISO 8601 date)", unit: "", example: "2026-12-24",
            cardinality: "medium", sensitivity: None,
            brief: "First night (or start date) of the requested stay."
        }
        attr_check_out::BOOKING_CHECK_OUT = "booking.check_out" {
            kind: Attribute, type: "string (ISO 8601 date)", unit: "", example: "2026-12-27",
            cardinality: "medium", sensitivity: None,
            brief: "Departure date (or end date) of the requested stay."
        }
        attr_guests::BOOKING_GUESTS = "booking.guests" {
            kind: Attribute, type: "int", unit: "{guest}", example: "2",
            cardinality: "low", sensitivity: None,
            brief: "Number of guests in the request."
        }
        attr_property_id::BOOKING_PROPERTY_ID = "booking.property_id" {
            kind: Attribute, type: "string", unit: "", example: "prop-1042",
            cardinality: "medium", sensitivity: None,
            brief: "Property (hotel, restaurant, venue, route) the booking is for."
        }
        attr_room_id::BOOKING_ROOM_ID = "booking.room_id" {
            kind: Attribute, type: "string", unit: "", example: "room-204",
            cardinality: "high", sensitivity: None,
            brief: "Bookable unit within the property (room, table, seat, slot)."
        }
        attr_available_count::BOOKING_AVAILABLE_COUNT = "booking.available_count" {
            kind: Attribute, type: "int", unit: "{option}", example: "12",
            cardinality: "medium", sensitivity: None,
            brief: "Number of options an availability check found."
        }
        attr_reservation_id::BOOKING_RESERVATION_ID = "booking.reservation_id" {
            kind: Attribute, type: "string", unit: "", example: "res-7f3a9c",
            cardinality: "high", sensitivity: None,
            brief: "Identifier of the reservation being made (spans only, never a metric attribute)."
        }
        attr_lock_type::BOOKING_LOCK_TYPE = "booking.lock_type" {
            kind: Attribute, type: "string enum: pessimistic | optimistic", unit: "", example: "pessimistic",
            cardinality: "low", sensitivity: None,
            brief: "Locking strategy used for the reservation lock."
        }
        attr_lock_acquired::BOOKING_LOCK_ACQUIRED = "booking.lock_acquired" {
            kind: Attribute, type: "boolean", unit: "", example: "true",
            cardinality: "low", sensitivity: None,
            brief: "Whether the reservation lock was acquired."
        }
        attr_lock_ttl_ms::BOOKING_LOCK_TTL_MS = "booking.lock_ttl_ms" {
            kind: Attribute, type: "int", unit: "ms", example: "600000",
            cardinality: "low", sensitivity: None,
            brief: "Time-to-live of the reservation lock, in milliseconds (the guide's name)."
        }
        attr_contention_reason::BOOKING_CONTENTION_REASON = "booking.contention_reason" {
            kind: Attribute, type: "string enum: held | expired_race | timeout | other", unit: "", example: "held",
            cardinality: "low", sensitivity: None,
            brief: "Why a reservation lock could not be acquired."
        }
        attr_competing_reservation::BOOKING_COMPETING_RESERVATION = "booking.competing_reservation" {
            kind: Attribute, type: "string", unit: "", example: "res-1b2c3d",
            cardinality: "high", sensitivity: None,
            brief: "Reservation that holds the contended lock (events only, never a metric attribute)."
        }
        attr_user_id::BOOKING_USER_ID = "booking.user_id" {
            kind: Attribute, type: "string", unit: "", example: "usr-55102",
            cardinality: "high", sensitivity: Personal,
            brief: "Pseudonymous identifier of the booking user; never an email or name."
        }
        attr_source::BOOKING_SOURCE = "booking.source" {
            kind: Attribute, type: "string enum: web | mobile | api | other", unit: "", example: "web",
            cardinality: "low", sensitivity: None,
            brief: "Channel the booking came from."
        }
        attr_confirmation_code::BOOKING_CONFIRMATION_CODE = "booking.confirmation_code" {
            kind: Attribute, type: "string", unit: "", example: "K7Q2ZP",
            cardinality: "high", sensitivity: Personal,
            brief: "Confirmation code given to the guest. Where the code alone unlocks a booking, treat it as a credential and do not record it."
        }
        attr_status::BOOKING_STATUS = "booking.status" {
            kind: Attribute, type: "string enum: success | failed | rejected | timeout", unit: "", example: "success",
            cardinality: "low", sensitivity: None,
            brief: "Final status of a whole booking."
        }
        attr_outcome::BOOKING_OUTCOME = "booking.outcome" {
            kind: Attribute, type: "string enum: ok | error | rejected | cancelled", unit: "", example: "rejected",
            cardinality: "low", sensitivity: None,
            brief: "How a step ended. `rejected` is an expected business outcome (declined, sold out, contention), not a failure."
        }
        attr_step::BOOKING_STEP = "booking.step" {
            kind: Attribute, type: "string", unit: "", example: "booking.process_payment",
            cardinality: "low", sensitivity: None,
            brief: "Step (span) name, as a metric attribute."
        }
        attr_rollback::BOOKING_ROLLBACK = "booking.rollback" {
            kind: Attribute, type: "boolean", unit: "", example: "true",
            cardinality: "low", sensitivity: None,
            brief: "Marks a compensating (rollback) step."
        }
        attr_rollback_step::BOOKING_ROLLBACK_STEP = "booking.rollback.step" {
            kind: Attribute, type: "string", unit: "", example: "booking.rollback.refund_payment",
            cardinality: "low", sensitivity: None,
            brief: "Compensation that ran, as a metric attribute."
        }
        attr_rejection_type::BOOKING_REJECTION_TYPE = "booking.rejection.type" {
            kind: Attribute, type: "string", unit: "", example: "payment_declined",
            cardinality: "low", sensitivity: None,
            brief: "Kind of business rejection (low cardinality), on rejected steps and the rejection event."
        }
        attr_rejection_reason::BOOKING_REJECTION_REASON = "booking.rejection.reason" {
            kind: Attribute, type: "string", unit: "", example: "insufficient funds",
            cardinality: "medium", sensitivity: None,
            brief: "Human-readable reason of a business rejection (event attribute)."
        }
        attr_error_causes::BOOKING_ERROR_CAUSES = "booking.error.causes" {
            kind: Attribute, type: "string[]", unit: "", example: "[\"gateway timed out\", \"connection reset\"]",
            cardinality: "high", sensitivity: None,
            brief: "The error's `source()` chain, outermost cause first (on the `exception` event)."
        }
        attr_payment_method::PAYMENT_METHOD = "payment.method" {
            kind: Attribute, type: "string enum: card | wallet | bank_transfer | other", unit: "", example: "card",
            cardinality: "low", sensitivity: None,
            brief: "Payment method used."
        }
        attr_payment_currency::PAYMENT_CURRENCY = "payment.currency" {
            kind: Attribute, type: "string (ISO 4217)", unit: "", example: "USD",
            cardinality: "low", sensitivity: None,
            brief: "Currency of the charge."
        }
        attr_payment_card_brand::PAYMENT_CARD_BRAND = "payment.card_brand" {
            kind: Attribute, type: "string enum: visa | mastercard | amex | discover | jcb | diners | unionpay | maestro | unknown", unit: "", example: "visa",
            cardinality: "low", sensitivity: None,
            brief: "Card network, derived from the card number's IIN range."
        }
        attr_payment_card_last_four::PAYMENT_CARD_LAST_FOUR = "payment.card_last_four" {
            kind: Attribute, type: "string", unit: "", example: "4242",
            cardinality: "high", sensitivity: None,
            brief: "Last four digits of the card: the only part of a card number that may be recorded."
        }
        attr_payment_transaction_id::PAYMENT_TRANSACTION_ID = "payment.transaction_id" {
            kind: Attribute, type: "string", unit: "", example: "txn_3PqR8s",
            cardinality: "high", sensitivity: None,
            brief: "Gateway transaction identifier."
        }
        attr_payment_status::PAYMENT_STATUS = "payment.status" {
            kind: Attribute, type: "string enum: approved | declined | error", unit: "", example: "approved",
            cardinality: "low", sensitivity: None,
            brief: "Outcome reported by the payment gateway."
        }
        attr_payment_gateway_latency_ms::PAYMENT_GATEWAY_LATENCY_MS = "payment.gateway_latency_ms" {
            kind: Attribute, type: "int", unit: "ms", example: "412",
            cardinality: "high", sensitivity: None,
            brief: "Gateway-reported processing time, in milliseconds (the guide's name)."
        }
        attr_payment_decline_reason::PAYMENT_DECLINE_REASON = "payment.decline_reason" {
            kind: Attribute, type: "string", unit: "", example: "insufficient_funds",
            cardinality: "low", sensitivity: None,
            brief: "Gateway decline code."
        }

        event_lock_contention::LOCK_CONTENTION = "lock_contention" {
            kind: Event, type: "attributes: booking.contention_reason, booking.competing_reservation", unit: "", example: "lock_contention",
            cardinality: "low", sensitivity: None,
            brief: "The reservation lock was held by another reservation."
        }
        event_payment_declined::PAYMENT_DECLINED = "payment_declined" {
            kind: Event, type: "attributes: payment.decline_reason", unit: "", example: "payment_declined",
            cardinality: "low", sensitivity: None,
            brief: "The payment gateway declined the charge."
        }
        event_rejection::REJECTION = "booking.rejection" {
            kind: Event, type: "attributes: booking.rejection.type, booking.rejection.reason", unit: "", example: "booking.rejection",
            cardinality: "low", sensitivity: None,
            brief: "A step ended in an expected business rejection."
        }

        metric_attempts::BOOKING_ATTEMPTS = "booking.attempts" {
            kind: Metric, type: "counter", unit: "{attempt}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Bookings attempted, by booking.status and booking.source."
        }
        metric_duration::BOOKING_DURATION = "booking.duration" {
            kind: Metric, type: "histogram", unit: "s", example: "0.84",
            cardinality: "low", sensitivity: None,
            brief: "Duration of whole bookings, by booking.status."
        }
        metric_step_duration::BOOKING_STEP_DURATION = "booking.step.duration" {
            kind: Metric, type: "histogram", unit: "s", example: "0.12",
            cardinality: "low", sensitivity: None,
            brief: "Duration of each step, by booking.step, booking.outcome and error.type."
        }
        metric_active::BOOKING_ACTIVE = "booking.active" {
            kind: Metric, type: "up-down counter", unit: "{booking}", example: "3",
            cardinality: "low", sensitivity: None,
            brief: "Bookings in flight."
        }
        metric_lock_contention::BOOKING_LOCK_CONTENTION = "booking.lock.contention" {
            kind: Metric, type: "counter", unit: "{contention}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Reservation-lock contentions, by booking.contention_reason."
        }
        metric_payment_attempts::PAYMENT_ATTEMPTS = "payment.attempts" {
            kind: Metric, type: "counter", unit: "{attempt}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Payment attempts, by payment.status, payment.method and payment.currency."
        }
        metric_payment_gateway_duration::PAYMENT_GATEWAY_DURATION = "payment.gateway.duration" {
            kind: Metric, type: "histogram", unit: "s", example: "0.41",
            cardinality: "low", sensitivity: None,
            brief: "Payment gateway round-trip time, by payment.status."
        }
        metric_rollbacks::BOOKING_ROLLBACKS = "booking.rollbacks" {
            kind: Metric, type: "counter", unit: "{rollback}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Compensations run, by booking.rollback.step and booking.outcome."
        }
        metric_redactions::REDACTIONS = "booking_otel.redactions" {
            kind: Metric, type: "counter", unit: "{redaction}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Values masked by redaction before export, by booking_otel.redaction.rule."
        }
        metric_tail_sampling_traces::TAIL_SAMPLING_TRACES = "booking_otel.tail_sampling.traces" {
            kind: Metric, type: "counter", unit: "{trace}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Traces decided by in-process tail sampling, by booking_otel.tail_sampling.decision and booking_otel.tail_sampling.cause."
        }
        attr_tail_sampling_decision::TAIL_SAMPLING_DECISION = "booking_otel.tail_sampling.decision" {
            kind: Attribute, type: "string enum: kept | dropped", unit: "", example: "kept",
            cardinality: "low", sensitivity: None,
            brief: "What tail sampling did with a trace (metric attribute)."
        }
        attr_tail_sampling_cause::TAIL_SAMPLING_CAUSE = "booking_otel.tail_sampling.cause" {
            kind: Attribute, type: "string enum: root_ended | memory_limit | timeout | shutdown", unit: "", example: "root_ended",
            cardinality: "low", sensitivity: None,
            brief: "What made tail sampling decide a trace: its local root ended, or it was decided early (metric attribute)."
        }
        attr_redaction_rule::REDACTION_RULE = "booking_otel.redaction.rule" {
            kind: Attribute, type: "string enum: card_number | track_data | verification_code | iban | denied_key | email | custom", unit: "", example: "card_number",
            cardinality: "low", sensitivity: None,
            brief: "Redaction rule that masked a value (metric attribute)."
        }
        metric_propagation_rejected_headers::PROPAGATION_REJECTED_HEADERS = "booking_otel.propagation.rejected_headers" {
            kind: Metric, type: "counter", unit: "{header}", example: "1",
            cardinality: "low", sensitivity: None,
            brief: "Incoming `traceparent`, `tracestate` or `baggage` headers ignored (wholly or in part) as malformed, oversized or not UTF-8, by booking_otel.propagation.reason."
        }
        attr_propagation_reason::PROPAGATION_REASON = "booking_otel.propagation.reason" {
            kind: Attribute, type: "string enum: traceparent_malformed | traceparent_version | trace_id_zero | span_id_zero | tracestate_malformed | baggage_oversized | baggage_malformed | non_utf8", unit: "", example: "traceparent_malformed",
            cardinality: "low", sensitivity: None,
            brief: "Why an incoming propagation header was ignored (metric attribute)."
        }
        attr_messaging_message_index::MESSAGING_MESSAGE_INDEX = "booking_otel.messaging.message.index" {
            kind: Attribute, type: "int", unit: "", example: "2",
            cardinality: "high", sensitivity: None,
            brief: "Position, from 0, of a message in the batch a consumer step handles (attribute of the step's span link to that message's trace)."
        }

        resource_service_domain::SERVICE_DOMAIN = "service.domain" {
            kind: Resource, type: "string", unit: "", example: "reservations",
            cardinality: "low", sensitivity: None,
            brief: "Business domain of the service (the guide's resource attribute)."
        }
    }
}

/// Span names of the booking flow and its compensations.
pub mod span {
    pub use super::defs::{
        span_acquire_lock::*, span_check_availability::*, span_confirm::*, span_create::*,
        span_notify::*, span_price::*, span_process_payment::*, span_rollback_refund_payment::*,
        span_rollback_release_lock::*, span_rollback_restore_inventory::*,
    };
    /// Prefix of every compensating step's span name.
    pub const ROLLBACK_PREFIX: &str = "booking.rollback.";
}

/// Attribute keys (`booking.*`, `payment.*`).
pub mod attribute {
    pub use super::defs::{
        attr_available_count::*, attr_check_in::*, attr_check_out::*,
        attr_competing_reservation::*, attr_confirmation_code::*, attr_contention_reason::*,
        attr_error_causes::*, attr_guests::*, attr_lock_acquired::*, attr_lock_ttl_ms::*,
        attr_lock_type::*, attr_messaging_message_index::*, attr_outcome::*,
        attr_payment_card_brand::*, attr_payment_card_last_four::*, attr_payment_currency::*,
        attr_payment_decline_reason::*, attr_payment_gateway_latency_ms::*, attr_payment_method::*,
        attr_payment_status::*, attr_payment_transaction_id::*, attr_propagation_reason::*,
        attr_property_id::*, attr_redaction_rule::*, attr_rejection_reason::*,
        attr_rejection_type::*, attr_reservation_id::*, attr_rollback::*, attr_rollback_step::*,
        attr_room_id::*, attr_source::*, attr_status::*, attr_step::*, attr_tail_sampling_cause::*,
        attr_tail_sampling_decision::*, attr_user_id::*,
    };
}

/// Span event names.
pub mod event {
    pub use super::defs::{
        event_lock_contention::*, event_payment_declined::*, event_rejection::*,
    };
    /// The standard event name for a recorded error (OpenTelemetry exception convention).
    pub const EXCEPTION: &str = "exception";
}

/// Metric instrument names.
pub mod metric {
    pub use super::defs::{
        metric_active::*, metric_attempts::*, metric_duration::*, metric_lock_contention::*,
        metric_payment_attempts::*, metric_payment_gateway_duration::*,
        metric_propagation_rejected_headers::*, metric_redactions::*, metric_rollbacks::*,
        metric_step_duration::*, metric_tail_sampling_traces::*,
    };
}

/// Resource attribute keys.
pub mod resource {
    pub use super::defs::resource_service_domain::*;
}

/// Standard OpenTelemetry keys this crate emits, re-exported from
/// `opentelemetry-semantic-conventions` so that nothing is re-typed.
pub mod standard {
    pub use opentelemetry_semantic_conventions::attribute::{
        ERROR_TYPE, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE,
    };
    pub use opentelemetry_semantic_conventions::resource::{SERVICE_NAME, SERVICE_VERSION};

    /// `messaging.message.id`: the broker's (or producer's) identifier of a message, as
    /// a span link attribute of a batch consumer step. Spelled here because
    /// `opentelemetry-semantic-conventions` has it only behind its
    /// `semconv_experimental` feature.
    pub const MESSAGING_MESSAGE_ID: &str = "messaging.message.id";
}

pub use defs::ALL;

/// Renders [`ALL`] as the markdown reference table in `docs/conventions.md`.
///
/// ```
/// let table = booking_otel::conventions::markdown_table();
/// assert!(table.contains("| `booking.guests` |"));
/// ```
pub fn markdown_table() -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "| name | kind | type | unit | example | cardinality | sensitivity | meaning |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for c in ALL {
        let _ = writeln!(
            out,
            "| `{}` | {:?} | {} | {} | `{}` | {} | {:?} | {} |",
            c.name,
            c.kind,
            c.value_type.replace('|', "\\|"),
            if c.unit.is_empty() { "" } else { c.unit },
            c.example,
            c.cardinality,
            c.sensitivity,
            c.brief.replace('|', "\\|"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for c in ALL {
            assert!(seen.insert(c.name), "duplicate convention {}", c.name);
            let ok = c.name.starts_with("booking.")
                || c.name.starts_with("payment.")
                || c.name.starts_with("booking_otel.")
                || c.name == "service.domain"
                || c.kind == ConventionKind::Event;
            assert!(ok, "{} is outside the booking/payment namespaces", c.name);
        }
    }

    #[test]
    fn rollback_spans_share_the_prefix() {
        for c in ALL
            .iter()
            .filter(|c| c.name.contains(".rollback.") && c.kind == ConventionKind::Span)
        {
            assert!(c.name.starts_with(span::ROLLBACK_PREFIX));
        }
    }
}
