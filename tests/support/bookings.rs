//! A five-step booking (six with a rollback) whose payment may fail, for the tail
//! sampling tests: through a given telemetry, or the installed default.

#![allow(dead_code)]

use booking_otel::conventions::span;
use booking_otel::{Step, Telemetry};
use opentelemetry::Context;
use opentelemetry::trace::{TraceContextExt, TraceId};

#[derive(Debug, thiserror::Error)]
#[error("gateway timed out")]
pub struct GatewayTimeout;

impl booking_otel::StepError for GatewayTimeout {}

/// `name` as a step of `telemetry`, or of the installed default.
fn step<'t>(name: &'static str, telemetry: Option<&'t Telemetry>) -> Step<'t> {
    match telemetry {
        Some(telemetry) => Step::new(name).telemetry(telemetry),
        None => Step::new(name),
    }
}

/// Runs one booking and returns its trace id. A failed payment is handled by the
/// booking: the root itself ends without error.
pub fn booking(telemetry: Option<&Telemetry>, fails: bool, rolls_back: bool) -> TraceId {
    step(span::CREATE, telemetry)
        .run(|| {
            for name in [span::CHECK_AVAILABILITY, span::ACQUIRE_LOCK, span::CONFIRM] {
                step(name, telemetry).run(|| ());
            }
            let _ = step(span::PROCESS_PAYMENT, telemetry)
                .run(|| if fails { Err(GatewayTimeout) } else { Ok(()) });
            if rolls_back {
                step(span::ROLLBACK_RELEASE_LOCK, telemetry)
                    .rollback()
                    .run(|| ());
            }
            Some(Context::current().span().span_context().trace_id())
        })
        .expect("a trace id")
}

/// A five-step booking for the collector-fault test and benchmark: every tenth payment
/// is declined, and the booking returns that error (its confirm step is not run, so a
/// declined booking has four spans).
pub fn five_steps_declining_every_tenth(i: u64) -> Result<u64, std::io::Error> {
    Step::new(span::CREATE).run(|| {
        Step::new(span::CHECK_AVAILABILITY).run(|| Some(()));
        Step::new(span::ACQUIRE_LOCK).run(|| Some(()));
        Step::new(span::PROCESS_PAYMENT).run(|| {
            if i.is_multiple_of(10) {
                Err(std::io::Error::other("declined"))
            } else {
                Ok(())
            }
        })?;
        Step::new(span::CONFIRM).run(|| Some(()));
        Ok(i)
    })
}
