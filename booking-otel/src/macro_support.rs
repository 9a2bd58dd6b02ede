//! What `#[booking_step]` expands to. Not a public API: names here may change in any
//! release. The expansion stays thin (one `Step` builder chain, one call here) so that a
//! decorated function costs what the same step written with [`Step`] costs.
//!
//! # Classifying any return type
//!
//! A decorated function may return anything, but only some types implement
//! [`StepResult`]. The expansion classifies the returned value with method-resolution
//! ("autoref") specialisation: `(&&&&&&&Classify(&value)).booking_outcome()` picks the
//! first of these that applies, in order:
//!
//! 1. the value implements [`StepResult`] (`Result<T, E: StepError>`, `Option<T>`, `()`);
//! 2. `Result<T, E>` where `E: Error` → a failure whose `error.type` is `E`'s short name;
//! 3. `Result<T, E>` where `E: AsRef<dyn Error>` (`Box<dyn Error>`, `anyhow::Error`) →
//!    a failure, `error.type = _OTHER`, with the source chain;
//! 4. the same with `AsRef<dyn Error + Send + Sync>`;
//! 5. `Result<T, E>` where `E: Display + Debug` (`String`, `&str`) → a failure,
//!    `error.type = _OTHER`;
//! 6. `Result<T, E>` for any other `E` (`()`, a generic `E` without bounds) → a
//!    failure, `error.type = _OTHER`, described as `Err(<type of E>)`: every `Err` is a
//!    failure;
//! 7. anything else → success.

use std::error::Error;
use std::fmt;

pub use opentelemetry::trace::SpanKind;
use ref_cast::RefCast;

pub use crate::outcome::{Outcome, StepResult};
pub use crate::step::{StartedStep, Step, StepFuture};
pub use crate::value::{StepAttributes, display};

/// `error.type` when nothing more specific is known, as the OpenTelemetry semantic
/// conventions specify.
pub const OTHER_ERROR_TYPE: &str = "_OTHER";

/// The context current where an async step is called.
#[inline]
pub fn call_site() -> opentelemetry::Context {
    opentelemetry::Context::current()
}

/// Starts an async step at its first poll, with the call site's context current (its
/// parent, its baggage, and the telemetry found from the context are the caller's),
/// unless the call site had no span and the poll has one: then the poll's context is
/// kept, so `step().instrument(tracing_span)` still nests.
#[inline]
pub fn start_at(
    call_site: opentelemetry::Context,
    start: impl FnOnce() -> StartedStep,
) -> StartedStep {
    use opentelemetry::trace::TraceContextExt as _;
    if !call_site.has_active_span()
        && opentelemetry::Context::map_current(|cx| cx.has_active_span())
    {
        return start();
    }
    let _call_site = call_site.attach();
    start()
}

/// Runs a sync function's body inside its started step.
#[inline]
pub fn run<R, B, C>(step: StartedStep, body: B, classify: C) -> R
where
    B: FnOnce() -> R,
    C: for<'r> FnOnce(&'r R) -> Outcome<'r>,
{
    crate::step::run_started(step, body, classify)
}

/// Wraps an async function's body in its started step.
#[inline]
pub fn instrument<F, C>(step: StartedStep, future: F, classify: C) -> StepFuture<F, C>
where
    F: std::future::Future,
    C: for<'r> FnOnce(&'r F::Output) -> Outcome<'r>,
{
    crate::step::instrument_started(step, future, classify)
}

/// The value being classified; see the [module docs](self).
pub struct Classify<'r, R: ?Sized>(pub &'r R);

/// Tier 1: the value implements [`StepResult`].
pub trait ViaStepResult<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, R: StepResult + ?Sized> ViaStepResult<'r> for &&&&&&Classify<'r, R> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        self.0.outcome()
    }
}

/// Tier 2: `Result<T, E: Error>`.
pub trait ViaError<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, T, E: Error> ViaError<'r> for &&&&&Classify<'r, Result<T, E>> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(error) => Outcome::from_error(error),
        }
    }
}

/// Tier 3: `Result<T, E: AsRef<dyn Error>>`.
pub trait ViaDynError<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, T, E: AsRef<dyn Error>> ViaDynError<'r> for &&&&Classify<'r, Result<T, E>> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        other_failure(self.0, |error| error.as_ref())
    }
}

/// Tier 4: `Result<T, E: AsRef<dyn Error + Send + Sync>>`.
pub trait ViaDynSendError<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, T, E: AsRef<dyn Error + Send + Sync>> ViaDynSendError<'r>
    for &&&Classify<'r, Result<T, E>>
{
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        other_failure(self.0, |error| error.as_ref())
    }
}

/// Tier 5: `Result<T, E: Display + Debug>`.
pub trait ViaDisplay<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, T, E: fmt::Display + fmt::Debug> ViaDisplay<'r> for &&Classify<'r, Result<T, E>> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        other_failure(self.0, |error| DisplayError::ref_cast(error))
    }
}

/// A failure with `error.type = _OTHER` for tiers 3–6, which differ only in how the
/// error is seen as an [`Error`].
#[inline]
fn other_failure<'r, T, E>(
    result: &'r Result<T, E>,
    as_error: impl FnOnce(&'r E) -> &'r (dyn Error + 'r),
) -> Outcome<'r> {
    match result {
        Ok(_) => Outcome::Ok,
        Err(error) => Outcome::Failed {
            error_type: OTHER_ERROR_TYPE,
            exception_type: std::any::type_name::<E>(),
            error: as_error(error),
        },
    }
}

/// Tier 6: `Result<T, E>` for any other `E`.
pub trait ViaAnyErr<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, T, E> ViaAnyErr<'r> for &Classify<'r, Result<T, E>> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        other_failure(self.0, |error| OpaqueError::ref_cast(error))
    }
}

/// Tier 7: any other value is a success.
pub trait ViaAnything<'r> {
    /// The outcome.
    fn booking_outcome(&self) -> Outcome<'r>;
}
impl<'r, R: ?Sized> ViaAnything<'r> for Classify<'r, R> {
    #[inline]
    fn booking_outcome(&self) -> Outcome<'r> {
        Outcome::Ok
    }
}

/// An error value that only has `Display` and `Debug`, viewed as an [`Error`].
#[derive(RefCast)]
#[repr(transparent)]
pub struct DisplayError<E>(E);

impl<E: fmt::Display> fmt::Display for DisplayError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: fmt::Debug> fmt::Debug for DisplayError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: fmt::Display + fmt::Debug> Error for DisplayError<E> {}

/// An error value with no usable trait at all (`()`, a generic `E`), viewed as an
/// [`Error`] described by its type: `Err(())`, `Err(my_app::LockState)`.
#[derive(RefCast)]
#[repr(transparent)]
pub struct OpaqueError<E>(E);

impl<E> fmt::Display for OpaqueError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Err({})", std::any::type_name::<E>())
    }
}

impl<E> fmt::Debug for OpaqueError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<E> Error for OpaqueError<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_name_carries_the_crate_version() {
        let expected = format!("__private_{}", env!("CARGO_PKG_VERSION").replace('.', "_"));
        assert_eq!(module_path!(), format!("booking_otel::{expected}::tests"));
    }

    macro_rules! classify {
        ($value:expr) => {{
            #[allow(unused_imports)]
            use super::{
                ViaAnyErr as _, ViaAnything as _, ViaDisplay as _, ViaDynError as _,
                ViaDynSendError as _, ViaError as _, ViaStepResult as _,
            };
            let value = $value;
            let outcome = (&&&&&&&Classify(&value)).booking_outcome();
            match outcome {
                Outcome::Ok => ("ok".to_string(), String::new()),
                Outcome::Rejected { rejection_type, .. } => {
                    ("rejected".to_string(), rejection_type.to_string())
                }
                Outcome::Failed {
                    error_type, error, ..
                } => (
                    format!("error:{error_type}"),
                    format!(
                        "{error}|{}",
                        error.source().map(|s| s.to_string()).unwrap_or_default()
                    ),
                ),
            }
        }};
    }

    #[derive(Debug, thiserror::Error)]
    #[error("plain")]
    struct Plain;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Plain);

    #[test]
    fn each_tier_classifies_its_types() {
        let io: Result<(), std::io::Error> = Err(std::io::Error::other("x"));
        assert_eq!(classify!(io).0, "error:io.other");
        assert_eq!(classify!(None::<u8>).0, "ok");
        assert_eq!(classify!(()).0, "ok");

        let plain: Result<u8, Plain> = Err(Plain);
        assert_eq!(classify!(plain), ("error:Plain".into(), "plain|".into()));

        let boxed: Result<u8, Box<dyn Error>> = Err(Box::new(Outer(Plain)));
        assert_eq!(
            classify!(boxed),
            ("error:_OTHER".into(), "outer|plain".into())
        );

        let boxed: Result<u8, Box<dyn Error + Send + Sync>> = Err(Box::new(Outer(Plain)));
        assert_eq!(
            classify!(boxed),
            ("error:_OTHER".into(), "outer|plain".into())
        );

        let text: Result<u8, String> = Err("sold out".into());
        assert_eq!(classify!(text), ("error:_OTHER".into(), "sold out|".into()));
        let text: Result<u8, &str> = Err("sold out");
        assert_eq!(classify!(text).0, "error:_OTHER");

        let fine: Result<u8, String> = Ok(1);
        assert_eq!(classify!(fine).0, "ok");
        assert_eq!(classify!(42_u32).0, "ok");

        // Every `Err` is a failure, whatever its type.
        let unit: Result<u8, ()> = Err(());
        assert_eq!(classify!(unit), ("error:_OTHER".into(), "Err(())|".into()));
        struct NoTraits;
        let opaque: Result<u8, NoTraits> = Err(NoTraits);
        let (outcome, description) = classify!(opaque);
        assert_eq!(outcome, "error:_OTHER");
        assert!(description.ends_with("NoTraits)|"), "{description}");
        let fine: Result<u8, ()> = Ok(1);
        assert_eq!(classify!(fine).0, "ok");
        assert_eq!(classify!("plain value").0, "ok");
    }
}
