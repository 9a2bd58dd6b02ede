//! How a step ended: success, an expected business rejection, or a failure.
//!
//! A failure (status `Error`, `error.type`, an `exception` event) is something an
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

use std::error::Error;

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

    #[test]
    fn none_and_unit_are_successes() {
        assert_eq!(None::<u8>.outcome().as_str(), "ok");
        assert_eq!(().outcome().as_str(), "ok");
    }
}
