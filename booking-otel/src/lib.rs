#![doc = include_str!("../README.md")]
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conventions;
pub mod metrics;
mod outcome;
mod step;
pub mod telemetry;
mod value;

pub use outcome::{Outcome, StepError, StepResult, Succeeds, short_type_name};
pub use step::{StartedStep, Step, StepFuture};
pub use telemetry::Telemetry;
pub use value::{StepAttributes, StepValue};

pub use booking_otel_macros::StepError;
