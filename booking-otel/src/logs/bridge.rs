//! `tracing` events → OpenTelemetry log records, through `opentelemetry-appender-tracing`,
//! to the logger of the telemetry installed when the event happens.
//!
//! The appender writes to a logger it holds. Ours is a forwarder: it finds the current
//! [`Telemetry`](crate::Telemetry) as a step does (a per-thread cache, and in tests the
//! handle in the context), so one subscriber serves every install, reinstall and test.
//! The record's trace context is filled in by the SDK's logger from the OpenTelemetry
//! context current at the event: the running step's.

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{Logger, LoggerProvider, Severity};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLogRecord;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt as _, Targets, filter_fn};
use tracing_subscriber::registry::LookupSpan;

use crate::telemetry;

/// Targets whose events never become log records: the crates that carry the export
/// itself (an event about sending a record would be sent in turn) and OpenTelemetry's
/// own diagnostics.
pub const NOISY_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
];

fn is_noisy(target: &str) -> bool {
    NOISY_TARGETS.iter().any(|noisy| {
        target
            .strip_prefix(noisy)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// The filter [`layer`] applies: `INFO` and above, none from [`NOISY_TARGETS`].
pub fn default_filter() -> Targets {
    Targets::new().with_default(tracing::Level::INFO)
}

/// A `tracing` layer that turns events (`INFO` and above, see [`default_filter`]) into
/// log records of the installed telemetry; see the [module docs](super).
pub fn layer<S>() -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    layer_with_filter(default_filter())
}

/// [`layer`] with your own level and target filter (events from [`NOISY_TARGETS`] are
/// dropped whatever it says; spans are never recorded, only events).
///
/// ```
/// use tracing_subscriber::filter::Targets;
/// use tracing_subscriber::layer::SubscriberExt as _;
/// let filter = Targets::new()
///     .with_default(tracing::Level::WARN)
///     .with_target("booking", tracing::Level::DEBUG);
/// let subscriber = tracing_subscriber::registry()
///     .with(booking_otel::logs::layer_with_filter(filter));
/// # drop(subscriber);
/// ```
pub fn layer_with_filter<S>(filter: Targets) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut filter = filter;
    for noisy in NOISY_TARGETS {
        filter = filter.with_target(*noisy, tracing::level_filters::LevelFilter::OFF);
    }
    OpenTelemetryTracingBridge::new(&CurrentProvider)
        .with_filter(filter.and(filter_fn(|metadata| metadata.is_event())))
}

/// The provider the appender is built from: hands out [`CurrentLogger`]s.
#[derive(Debug, Clone, Copy)]
struct CurrentProvider;

impl LoggerProvider for CurrentProvider {
    type Logger = CurrentLogger;

    fn logger_with_scope(&self, _scope: InstrumentationScope) -> CurrentLogger {
        CurrentLogger
    }
}

/// Emits to the `events` logger of the telemetry current on the emitting thread.
#[derive(Debug, Clone, Copy)]
struct CurrentLogger;

impl Logger for CurrentLogger {
    type LogRecord = SdkLogRecord;

    #[inline]
    fn create_log_record(&self) -> SdkLogRecord {
        super::blank_record()
    }

    #[inline]
    fn emit(&self, record: SdkLogRecord) {
        telemetry::with_current(|telemetry| {
            if let Some(loggers) = telemetry.loggers() {
                loggers.events.emit(record);
            }
        });
    }

    #[inline]
    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        !is_noisy(target)
            && telemetry::with_current(|telemetry| {
                telemetry
                    .loggers()
                    .is_some_and(|loggers| loggers.events.event_enabled(level, target, name))
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_targets_match_whole_path_segments() {
        assert!(is_noisy("h2"));
        assert!(is_noisy("h2::codec"));
        assert!(is_noisy("opentelemetry_sdk::logs"));
        assert!(!is_noisy("h2o_booking"));
        assert!(!is_noisy("booking::payment"));
    }
}
