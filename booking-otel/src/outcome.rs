//! How a step ended: success, an expected business rejection, or a failure.
//!
//! A failure (status `Error`, `error.type`, an `exception` event, or an exception log
//! record: see [`ExceptionSignal`](crate::logs::ExceptionSignal)) is something an
//! engineer must look at. A rejection — payment declined, room sold out, lock contention —
//! is the booking system working as designed: it is recorded with
//! `booking.outcome = rejected` and a `booking.rejection` event, leaves the span status
//! `Unset`, and is not counted as an error in metrics.
//!
//! Error types say which they are by implementing [`StepError`], usually through
//! `#[derive(StepError)]`:
//!
//! ```
//! use booking_otel::StepError;
//!
//! #[derive(Debug, thiserror::Error, StepError)]
//! enum PaymentError {
//!     #[error("card declined: {reason}")]
//!     #[step_error(rejection)]
//!     Declined { reason: String },
//!     #[error("payment gateway timed out")]
//!     GatewayTimeout,
//! }
//!
//! let declined = PaymentError::Declined { reason: "insufficient_funds".into() };
//! assert_eq!(declined.error_type(), "declined");
//! assert!(declined.is_rejection());
//! assert_eq!(PaymentError::GatewayTimeout.error_type(), "gateway_timeout");
//! assert!(!PaymentError::GatewayTimeout.is_rejection());
//! ```

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{KeyValue, StringValue, Value};

use crate::conventions::{attribute, event, standard};
use crate::logs::{Exception, ExceptionSink};

/// An error a step can end with, classified for telemetry.
///
/// Both methods have defaults, so `impl StepError for MyError {}` is enough to use an
/// error type with [`Step`](crate::Step); `#[derive(StepError)]` gives each enum variant
/// its own snake_case `error.type` and lets variants be marked as rejections.
pub trait StepError: Error {
    /// The low-cardinality `error.type` of this error: a fixed string per kind of error,
    /// never a message or an id. Defaults to the type's short name (`PaymentError`).
    fn error_type(&self) -> &'static str {
        short_type_name::<Self>()
    }

    /// Whether this is an expected business rejection (declined, sold out, contention)
    /// rather than a failure. Defaults to `false`.
    fn is_rejection(&self) -> bool {
        false
    }
}

impl StepError for std::io::Error {
    fn error_type(&self) -> &'static str {
        use std::io::ErrorKind as K;
        match self.kind() {
            K::NotFound => "io.not_found",
            K::PermissionDenied => "io.permission_denied",
            K::ConnectionRefused => "io.connection_refused",
            K::ConnectionReset => "io.connection_reset",
            K::ConnectionAborted => "io.connection_aborted",
            K::NotConnected => "io.not_connected",
            K::BrokenPipe => "io.broken_pipe",
            K::TimedOut => "io.timed_out",
            K::UnexpectedEof => "io.unexpected_eof",
            K::InvalidInput => "io.invalid_input",
            K::InvalidData => "io.invalid_data",
            _ => "io.other",
        }
    }
}

impl StepError for std::fmt::Error {}

/// The last path segment of a type's name, without generic arguments:
/// `my_app::payment::PaymentError<u32>` → `PaymentError`.
///
/// ```
/// struct GatewayError<T>(T);
/// assert_eq!(booking_otel::short_type_name::<GatewayError<u8>>(), "GatewayError");
/// assert_eq!(booking_otel::short_type_name::<std::io::Error>(), "Error");
/// ```
pub fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// How a step ended, as the runtime records it.
///
/// Built by [`StepResult::outcome`] for the values a step returns, or by hand for
/// [`StartedStep::finish`](crate::StartedStep::finish).
#[derive(Clone, Copy)]
pub enum Outcome<'a> {
    /// The step succeeded. Span status stays `Unset` unless the application opted in to `Ok`.
    Ok,
    /// An expected business rejection: `booking.outcome = rejected`, a `booking.rejection`
    /// event, status `Unset`.
    Rejected {
        /// Low-cardinality kind of rejection (`payment_declined`, `sold_out`).
        rejection_type: &'static str,
        /// Human-readable reason, recorded on the rejection event.
        reason: &'a dyn std::fmt::Display,
    },
    /// A failure: status `Error`, `error.type`, one `exception` event.
    Failed {
        /// Low-cardinality `error.type`.
        error_type: &'static str,
        /// `exception.type`: the error's full type name.
        exception_type: &'static str,
        /// The error; its `Display` is `exception.message` and the status description,
        /// its `source()` chain goes to `booking.error.causes`.
        error: &'a (dyn Error + 'a),
    },
}

impl std::fmt::Debug for Outcome<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("Ok"),
            Outcome::Rejected { rejection_type, .. } => {
                write!(f, "Rejected({rejection_type})")
            }
            Outcome::Failed { error_type, .. } => write!(f, "Failed({error_type})"),
        }
    }
}

impl<'a> Outcome<'a> {
    /// Classifies an error through its [`StepError`] implementation.
    pub fn from_step_error<E: StepError>(error: &'a E) -> Self {
        if error.is_rejection() {
            Outcome::Rejected {
                rejection_type: error.error_type(),
                reason: error,
            }
        } else {
            Outcome::Failed {
                error_type: error.error_type(),
                exception_type: std::any::type_name::<E>(),
                error,
            }
        }
    }

    /// Classifies any error as a failure whose `error.type` is the type's short name.
    pub fn from_error<E: Error>(error: &'a E) -> Self {
        Outcome::Failed {
            error_type: short_type_name::<E>(),
            exception_type: std::any::type_name::<E>(),
            error,
        }
    }

    /// The `booking.outcome` value: `ok`, `rejected` or `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Failed { .. } => "error",
        }
    }
}

/// How a step ended: what it returned ([`Outcome`]), or one of the two endings a
/// returned value cannot express. [`record`](Ending::record) writes each of the five
/// rows of the status table in the [`step`](crate::step) module docs.
pub(crate) enum Ending<'a> {
    Returned(Outcome<'a>),
    Panicked(&'a (dyn Any + Send)),
    Cancelled,
}

/// The longest error message recorded (status description, `exception.message`, each
/// cause), in bytes; longer ones are cut on a character boundary and end in `…`.
pub const MAX_ERROR_MESSAGE_LEN: usize = 4096;

/// The most `source()` causes recorded in `booking.error.causes`; a longer (or cyclic)
/// chain is cut there.
pub const MAX_ERROR_CAUSES: usize = 16;

impl Ending<'_> {
    /// The `booking.outcome` and `error.type` of this ending, as the step metrics record
    /// them (`error.type` is the rejection type for a rejection).
    pub(crate) fn labels(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Ending::Returned(Outcome::Ok) => ("ok", None),
            Ending::Returned(Outcome::Rejected { rejection_type, .. }) => {
                ("rejected", Some(rejection_type))
            }
            Ending::Returned(Outcome::Failed { error_type, .. }) => ("error", Some(error_type)),
            Ending::Panicked(_) => ("error", Some("panic")),
            Ending::Cancelled => ("cancelled", Some("cancelled")),
        }
    }

    /// Writes this ending onto the step's `span`: status, `booking.outcome`,
    /// `error.type` / rejection type, and the `exception` or `booking.rejection` event;
    /// the exception goes to a span event, a log record or both, as `exceptions` says
    /// (see [`ExceptionSignal`](crate::logs::ExceptionSignal)). Never panics, even when
    /// the error's `Display` does.
    pub(crate) fn record(
        &self,
        span: &SpanRef<'_>,
        ok_on_success: bool,
        exceptions: &ExceptionSink<'_>,
    ) {
        let (outcome, error_type) = self.labels();
        match self {
            Ending::Returned(Outcome::Ok) => {
                if ok_on_success {
                    span.set_status(Status::Ok);
                }
            }
            Ending::Returned(Outcome::Rejected {
                rejection_type,
                reason,
            }) => {
                span.set_attributes([
                    KeyValue::new(attribute::BOOKING_OUTCOME, outcome),
                    KeyValue::new(attribute::BOOKING_REJECTION_TYPE, *rejection_type),
                ]);
                span.add_event(
                    event::REJECTION,
                    vec![
                        KeyValue::new(attribute::BOOKING_REJECTION_TYPE, *rejection_type),
                        KeyValue::new(
                            attribute::BOOKING_REJECTION_REASON,
                            bounded_display(*reason),
                        ),
                    ],
                );
            }
            Ending::Returned(Outcome::Failed {
                exception_type,
                error,
                ..
            }) => {
                let message = bounded_display(*error);
                let causes = cause_chain(*error);
                exceptions.emit(
                    span.span_context(),
                    &Exception {
                        exception_type,
                        message: &message,
                        causes: &causes,
                        error_type,
                    },
                );
                let attributes = exceptions.span_event().then(|| {
                    let mut attributes = vec![
                        KeyValue::new(standard::EXCEPTION_TYPE, *exception_type),
                        KeyValue::new(standard::EXCEPTION_MESSAGE, message.clone()),
                    ];
                    if !causes.is_empty() {
                        attributes.push(KeyValue::new(
                            attribute::BOOKING_ERROR_CAUSES,
                            Value::Array(causes.into()),
                        ));
                    }
                    attributes
                });
                record_failure(span, outcome, error_type, attributes, message);
            }
            Ending::Panicked(payload) => {
                let description = format!(
                    "panicked: {}",
                    prefix_on_char_boundary(panic_message(*payload), MAX_ERROR_MESSAGE_LEN)
                );
                exceptions.emit(
                    span.span_context(),
                    &Exception {
                        exception_type: "panic",
                        message: &description,
                        causes: &[],
                        error_type,
                    },
                );
                let attributes = exceptions.span_event().then(|| {
                    vec![
                        KeyValue::new(standard::EXCEPTION_TYPE, "panic"),
                        KeyValue::new(standard::EXCEPTION_MESSAGE, description.clone()),
                    ]
                });
                record_failure(span, outcome, error_type, attributes, description);
            }
            Ending::Cancelled => {
                record_failure(span, outcome, error_type, None, "cancelled".to_string());
            }
        }
    }
}

/// The rows that end in status `Error`: outcome, `error.type`, the `exception` event
/// when there is one, and the status description.
fn record_failure(
    span: &SpanRef<'_>,
    outcome: &'static str,
    error_type: Option<&'static str>,
    exception: Option<Vec<KeyValue>>,
    description: String,
) {
    span.set_attribute(KeyValue::new(attribute::BOOKING_OUTCOME, outcome));
    if let Some(error_type) = error_type {
        span.set_attribute(KeyValue::new(standard::ERROR_TYPE, error_type));
    }
    if let Some(attributes) = exception {
        span.add_event(event::EXCEPTION, attributes);
    }
    span.set_status(Status::error(description));
}

/// An error's `Display`, at most [`MAX_ERROR_MESSAGE_LEN`] bytes (a 1 MB message is
/// never built whole); a `Display` that panics or fails gives a placeholder instead of
/// unwinding into the booking.
fn bounded_display(value: &dyn fmt::Display) -> String {
    let mut writer = BoundedWriter {
        text: String::new(),
        truncated: false,
    };
    let written = catch_unwind(AssertUnwindSafe(|| {
        fmt::write(&mut writer, format_args!("{value}"))
    }));
    match written {
        Ok(Err(_)) if !writer.truncated => "<Display implementation failed>".to_string(),
        Ok(_) => {
            if writer.truncated {
                writer.text.push('…');
            }
            writer.text
        }
        Err(_) => "<Display implementation panicked>".to_string(),
    }
}

/// Keeps the first [`MAX_ERROR_MESSAGE_LEN`] bytes, cut on a character boundary, and
/// stops the formatting there.
struct BoundedWriter {
    text: String,
    truncated: bool,
}

impl fmt::Write for BoundedWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // A `Display` may ignore the error and write on: nothing more is kept.
        if self.truncated {
            return Err(fmt::Error);
        }
        let room = MAX_ERROR_MESSAGE_LEN - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let kept = prefix_on_char_boundary(s, room);
        self.text.push_str(kept);
        if s[kept.len()..].starts_with(is_digit_run_char) {
            let whole_digits = self.text.trim_end_matches(is_digit_run_char).len();
            self.text.truncate(whole_digits);
        }
        self.truncated = true;
        Err(fmt::Error)
    }
}

/// Digits and the separators a card number is written with.
fn is_digit_run_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '+')
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character
/// boundary and not inside a run of digits.
///
/// Messages are cut here, on the booking thread, and masked later, on the export
/// thread: the first 15 digits of a card number no longer look like one (the 16th, the
/// check digit, can be recomputed from them), so a run the cut goes through is dropped
/// whole.
fn prefix_on_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let kept = &text[..end];
    if text[end..].starts_with(is_digit_run_char) {
        kept.trim_end_matches(is_digit_run_char)
    } else {
        kept
    }
}

fn cause_chain(error: &dyn Error) -> Vec<StringValue> {
    let mut causes = Vec::new();
    let mut next = error.source();
    // Bounded: a cyclic or absurdly deep chain must not hang or bloat the export.
    while let Some(cause) = next {
        if causes.len() == MAX_ERROR_CAUSES {
            break;
        }
        causes.push(bounded_display(cause).into());
        next = cause.source();
    }
    causes
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// A value a step returns, and how it classifies as an [`Outcome`].
///
/// Implemented for `Result<T, E: StepError>` (`Err` is a rejection or a failure as the
/// error says), `Option<T>` (`None` is not an error) and `()`. For other return types,
/// use [`Succeeds`] or finish a [`StartedStep`](crate::StartedStep) by hand;
/// `#[booking_step]` classifies any return type on its own.
pub trait StepResult {
    /// How the step that returned `self` ended.
    fn outcome(&self) -> Outcome<'_>;
}

impl<T, E: StepError> StepResult for Result<T, E> {
    #[inline]
    fn outcome(&self) -> Outcome<'_> {
        match self {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::from_step_error(e),
        }
    }
}

impl<T> StepResult for Option<T> {
    #[inline]
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Ok
    }
}

impl StepResult for () {
    #[inline]
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Ok
    }
}

/// Wraps a plain value so that a step returning it counts as a success.
///
/// ```
/// use booking_otel::{Step, Succeeds};
/// let Succeeds(price) = Step::new("booking.price").run(|| Succeeds(129_u32));
/// assert_eq!(price, 129);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Succeeds<T>(pub T);

impl<T> StepResult for Succeeds<T> {
    #[inline]
    fn outcome(&self) -> Outcome<'_> {
        Outcome::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Plain;
    impl std::fmt::Display for Plain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("plain failure")
        }
    }
    impl Error for Plain {}
    impl StepError for Plain {}

    #[test]
    fn default_error_type_is_the_short_type_name() {
        assert_eq!(Plain.error_type(), "Plain");
        assert!(!Plain.is_rejection());
        let r: Result<(), Plain> = Err(Plain);
        assert_eq!(r.outcome().as_str(), "error");
        match r.outcome() {
            Outcome::Failed { exception_type, .. } => {
                assert!(
                    exception_type.ends_with("outcome::tests::Plain"),
                    "{exception_type}"
                )
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn io_errors_map_kinds_to_low_cardinality_types() {
        let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "gateway");
        assert_eq!(e.error_type(), "io.timed_out");
        let e = std::io::Error::other("x");
        assert_eq!(e.error_type(), "io.other");
    }

    struct Panicky;
    impl std::fmt::Display for Panicky {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("Display panicked")
        }
    }

    struct Failing;
    impl std::fmt::Display for Failing {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }

    #[test]
    fn a_display_that_panics_or_fails_gives_a_placeholder() {
        assert_eq!(
            bounded_display(&Panicky),
            "<Display implementation panicked>"
        );
        assert_eq!(bounded_display(&Failing), "<Display implementation failed>");
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let short = "é".repeat(10);
        assert_eq!(bounded_display(&short), short);
        // 2-byte characters: the limit falls inside one when offset by one byte.
        let long = format!("x{}", "é".repeat(MAX_ERROR_MESSAGE_LEN));
        let cut = bounded_display(&long);
        assert!(cut.ends_with('…'));
        let body = cut.trim_end_matches('…');
        assert!(body.len() <= MAX_ERROR_MESSAGE_LEN && body.len() >= MAX_ERROR_MESSAGE_LEN - 1);
        assert!(long.starts_with(body));
        let exact = "a".repeat(MAX_ERROR_MESSAGE_LEN);
        assert_eq!(
            bounded_display(&exact),
            exact,
            "at the limit nothing is cut"
        );
    }

    #[test]
    fn a_cut_never_leaves_part_of_a_card_number() {
        let pan = "4111111111111111";
        for padding in (MAX_ERROR_MESSAGE_LEN - 20)..=MAX_ERROR_MESSAGE_LEN {
            for separator in ["", " ", "-"] {
                let grouped = pan
                    .as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(separator);
                let text = format!("{} card {grouped} declined", "x".repeat(padding));
                let cut = bounded_display(&text);
                let digits: String = cut.chars().filter(char::is_ascii_digit).collect();
                assert!(
                    digits.is_empty() || digits == pan,
                    "the cut kept part of the number: {digits}"
                );
                assert!(cut.len() <= MAX_ERROR_MESSAGE_LEN + '…'.len_utf8());
            }
        }
        // Written in pieces, as a `Display` with several `write!`s does.
        struct Pieces;
        impl std::fmt::Display for Pieces {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&"x".repeat(MAX_ERROR_MESSAGE_LEN - 8))?;
                f.write_str(" 4111")?;
                f.write_str("111111111111")?;
                // Ignores the error and writes on.
                let _ = f.write_str(" and more");
                f.write_str(" text")
            }
        }
        let cut = bounded_display(&Pieces);
        assert!(!cut.contains('4') && !cut.contains("more"), "{cut}");
        assert_eq!(
            prefix_on_char_boundary("abc 4111 1111 1111 1111", 12),
            "abc"
        );
    }

    #[test]
    fn none_and_unit_are_successes() {
        assert_eq!(None::<u8>.outcome().as_str(), "ok");
        assert_eq!(().outcome().as_str(), "ok");
    }
}
