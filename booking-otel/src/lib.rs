#![doc = include_str!("../README.md")]
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub mod batch;
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub mod console;
pub mod conventions;
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub mod delivery;
pub mod events;
#[cfg(feature = "sdk")]
mod hashers;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod logs;
pub mod metrics;
pub mod outcome;
pub mod propagation;
pub mod redaction;
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub mod setup;
pub mod step;
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub mod tail_sampling;
pub mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod value;

/// What `#[booking_step]` expands to. Not a public API. The module's name carries this
/// crate's version, and `booking-otel-macros` (pinned with `=`) names the same version,
/// so a macro crate and a runtime from different releases fail to build with a clear
/// "could not find `__private_…`" rather than misbehave.
#[doc(hidden)]
#[path = "macro_support.rs"]
pub mod __private_0_1_0;

pub use outcome::{Outcome, StepError, StepResult, Succeeds, short_type_name};
#[cfg(feature = "sdk")]
pub use redaction::RedactingExporter;
pub use redaction::{
    CardBrand, CardNumber, Cvv, Fingerprint, FingerprintKey, Pin, RedactionPolicy, Sensitive,
};
pub use step::{StartedStep, Step, StepFuture};
pub use telemetry::Telemetry;
pub use value::{StepAttributes, StepValue};

pub use booking_otel_macros::StepError;
#[doc = include_str!("booking_step.md")]
pub use booking_otel_macros::booking_step;

/// The instrumentation scope of every span, log record and instrument this crate
/// makes. Here, not in `telemetry` or `metrics`, so that neither imports the other
/// for it.
pub(crate) fn instrumentation_scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}
