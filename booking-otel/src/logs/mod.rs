//! Logs, the third signal: `tracing` events as OpenTelemetry log records, correlated
//! with the running step and redacted like spans; failed steps' exceptions as log
//! records on request.
//!
//! [`setup`](crate::setup) installs a logger provider beside the tracer and meter
//! providers (feature `logs`): OTLP when an endpoint is configured, a one-line-per-record
//! console form otherwise, nothing with `OTEL_LOGS_EXPORTER=none`. It also makes
//! [`layer`] the global `tracing` subscriber when none is set yet; a service with a
//! subscriber of its own adds [`layer`] to it instead (before or after `setup`, in any
//! order: the layer writes to whatever telemetry is installed when an event happens).
//!
//! ```no_run
//! # #[cfg(feature = "logs")] {
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let subscriber = tracing_subscriber::registry().with(booking_otel::logs::layer());
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! let _telemetry = booking_otel::setup::Setup::new("booking-service").install().unwrap();
//! # }
//! ```
//!
//! # Correlation
//!
//! A log record carries the trace id and span id of the OpenTelemetry context current
//! where the event is emitted. A running step makes its context current (around the
//! body of a `#[booking_step]` or [`Step::run`](crate::Step::run), around each poll of
//! an async step), so an event emitted inside a step carries that step's ids, with or
//! without a `tracing` span around it, on any thread the step's body runs on. A
//! `tracing` span opened inside the step becomes the record's span only when
//! `tracing-opentelemetry` makes it an OpenTelemetry span too.
//!
//! # Redaction
//!
//! Log records go through the same [`RedactionPolicy`](crate::RedactionPolicy) as spans,
//! on the batch processor's export thread ([`RedactingLogExporter`](crate::redaction::RedactingLogExporter)):
//! the body (a string, or structured: lists and maps, recursively, keys classified like
//! attribute keys), every attribute (`exception.*` included), the target, and
//! instrumentation scope attributes. The thread that emits pays for formatting the
//! event and one queue push, never for scanning.
//!
//! # Exceptions as logs
//!
//! The semantic conventions deprecate exception span events in favour of log records.
//! `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` chooses ([`ExceptionSignal`]):
//!
//! | value | a failed (or panicking) step records |
//! |---|---|
//! | unset (or anything else) | an `exception` span event, as before |
//! | `logs` | a log record (severity `ERROR`, event name `exception`, `exception.type`, `exception.message`, `error.type`, `booking.error.causes`), correlated with the step's span; no span event |
//! | `logs/dup` | both |
//!
//! The variable is read once per process, at the first [`Telemetry`](crate::Telemetry)
//! built ([`setup`](crate::setup) reads it at install, where
//! [`Setup::exceptions_as`](crate::setup::Setup::exceptions_as) is the programmatic
//! form). `exception.stacktrace` is not recorded: a Rust error carries no stack trace on
//! stable Rust, and a panic's is gone by the time the step sees it. Without a logger
//! (the `logs` feature off, `OTEL_LOGS_EXPORTER=none`) exceptions stay span events
//! whatever the variable says, rather than vanish. The record is emitted only for a
//! sampled (recording) step, like the span event it replaces.

#[cfg(feature = "logs")]
mod bridge;
#[cfg(feature = "logs")]
mod console;

#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub use bridge::{NOISY_TARGETS, default_filter, layer, layer_with_filter};
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub use console::ConsoleLogExporter;

use std::sync::OnceLock;

use opentelemetry::StringValue;
use opentelemetry::trace::SpanContext;

/// The variable that chooses where exceptions go.
pub const EXCEPTION_SIGNAL_VARIABLE: &str = "OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN";

/// Where a failed step records its exception; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExceptionSignal {
    /// An `exception` event on the step's span (the default).
    #[default]
    SpanEvents,
    /// A log record only (`OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs`).
    Logs,
    /// Both (`OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN=logs/dup`).
    LogsAndSpanEvents,
}

impl ExceptionSignal {
    /// The signal a value of `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` asks for: `logs`,
    /// `logs/dup`, and span events for anything else, as the conventions specify.
    ///
    /// ```
    /// use booking_otel::logs::ExceptionSignal;
    /// assert_eq!(ExceptionSignal::parse("logs"), ExceptionSignal::Logs);
    /// assert_eq!(ExceptionSignal::parse(" Logs/Dup "), ExceptionSignal::LogsAndSpanEvents);
    /// assert_eq!(ExceptionSignal::parse("spans"), ExceptionSignal::SpanEvents);
    /// ```
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "logs" => ExceptionSignal::Logs,
            "logs/dup" => ExceptionSignal::LogsAndSpanEvents,
            _ => ExceptionSignal::SpanEvents,
        }
    }

    /// The process's choice: `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`, read on the first
    /// call and cached for the life of the process.
    pub fn from_env() -> Self {
        static CACHED: OnceLock<ExceptionSignal> = OnceLock::new();
        *CACHED.get_or_init(|| {
            std::env::var(EXCEPTION_SIGNAL_VARIABLE)
                .map(|v| Self::parse(&v))
                .unwrap_or_default()
        })
    }
}

/// Where one telemetry records exceptions: the choice and the logger it needs.
pub(crate) struct ExceptionSink<'a> {
    signal: ExceptionSignal,
    #[cfg(feature = "logs")]
    loggers: Option<&'a Loggers>,
    #[cfg(not(feature = "logs"))]
    _loggers: std::marker::PhantomData<&'a ()>,
}

/// A failed step's exception, as recorded in a log record.
#[cfg_attr(not(feature = "logs"), allow(dead_code))]
pub(crate) struct Exception<'a> {
    pub(crate) exception_type: &'a str,
    pub(crate) message: &'a str,
    pub(crate) causes: &'a [StringValue],
    pub(crate) error_type: Option<&'static str>,
}

impl<'a> ExceptionSink<'a> {
    pub(crate) fn new(
        signal: ExceptionSignal,
        #[cfg(feature = "logs")] loggers: Option<&'a Loggers>,
    ) -> Self {
        ExceptionSink {
            signal,
            #[cfg(feature = "logs")]
            loggers,
            #[cfg(not(feature = "logs"))]
            _loggers: std::marker::PhantomData,
        }
    }

    fn has_logger(&self) -> bool {
        #[cfg(feature = "logs")]
        {
            self.loggers.is_some()
        }
        #[cfg(not(feature = "logs"))]
        {
            false
        }
    }

    /// Whether the exception goes on the span as an event: always, except with `logs`
    /// and a logger to take it.
    pub(crate) fn span_event(&self) -> bool {
        self.signal != ExceptionSignal::Logs || !self.has_logger()
    }

    /// Whether the exception goes out as a log record.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(crate) fn log_record(&self) -> bool {
        self.signal != ExceptionSignal::SpanEvents && self.has_logger()
    }

    /// Emits `exception` as a log record correlated with `span` (when
    /// [`log_record`](Self::log_record) says so).
    pub(crate) fn emit(&self, span: &SpanContext, exception: &Exception<'_>) {
        #[cfg(feature = "logs")]
        if let (true, Some(loggers)) = (self.log_record(), self.loggers) {
            loggers.emit_exception(span, exception);
        }
        #[cfg(not(feature = "logs"))]
        let _ = (span, exception);
    }
}

#[cfg(feature = "logs")]
pub(crate) use sdk::Loggers;

#[cfg(feature = "logs")]
mod sdk {
    use std::sync::LazyLock;

    use opentelemetry::logs::{
        AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity,
    };
    use opentelemetry::trace::SpanContext;
    use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

    use super::Exception;
    use crate::conventions::{attribute, event, standard};

    /// The loggers of one logger provider: one for `tracing` events (the empty scope
    /// name, as the upstream appender uses), one for what this crate emits itself.
    #[derive(Debug)]
    pub(crate) struct Loggers {
        pub(crate) events: SdkLogger,
        pub(crate) steps: SdkLogger,
    }

    impl Loggers {
        pub(crate) fn new(provider: &SdkLoggerProvider) -> Self {
            Loggers {
                events: provider.logger(""),
                steps: provider.logger_with_scope(crate::instrumentation_scope()),
            }
        }

        #[cold]
        pub(crate) fn emit_exception(&self, span: &SpanContext, exception: &Exception<'_>) {
            let mut record = self.steps.create_log_record();
            record.set_event_name(event::EXCEPTION);
            record.set_severity_number(Severity::Error);
            record.set_severity_text("ERROR");
            record.set_timestamp(std::time::SystemTime::now());
            record.set_trace_context(span.trace_id(), span.span_id(), Some(span.trace_flags()));
            record.set_body(AnyValue::from(exception.message.to_owned()));
            record.add_attribute(
                standard::EXCEPTION_TYPE,
                AnyValue::from(exception.exception_type.to_owned()),
            );
            record.add_attribute(
                standard::EXCEPTION_MESSAGE,
                AnyValue::from(exception.message.to_owned()),
            );
            if let Some(error_type) = exception.error_type {
                record.add_attribute(standard::ERROR_TYPE, AnyValue::from(error_type));
            }
            if !exception.causes.is_empty() {
                record.add_attribute(
                    attribute::BOOKING_ERROR_CAUSES,
                    exception
                        .causes
                        .iter()
                        .map(|c| AnyValue::from(c.clone()))
                        .collect::<AnyValue>(),
                );
            }
            self.steps.emit(record);
        }
    }

    /// A record with nothing set: the SDK makes them only through a logger.
    pub(crate) fn blank_record() -> SdkLogRecord {
        static BLANK: LazyLock<SdkLogRecord> = LazyLock::new(|| {
            let provider = SdkLoggerProvider::builder().build();
            let record = provider.logger("booking-otel").create_log_record();
            let _ = provider.shutdown();
            record
        });
        BLANK.clone()
    }
}

#[cfg(feature = "logs")]
pub(crate) use sdk::blank_record;
