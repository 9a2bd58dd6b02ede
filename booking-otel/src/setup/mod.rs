//! One call to start telemetry in an application (feature `sdk`, on by default).
//!
//! ```no_run
//! # fn main() -> Result<(), booking_otel::setup::SetupError> {
//! let _telemetry = booking_otel::setup::Setup::new("booking-service")
//!     .service_version("2.1.0")
//!     .domain("reservations")
//!     .install()?;
//! // … run the service; dropping the guard flushes and shuts down.
//! # Ok(()) }
//! ```
//!
//! `install` builds a tracer provider (a batch processor whose exporter is always
//! wrapped in [redaction](crate::redaction), so redaction runs on the export
//! thread), a meter provider with a periodic reader, and with the `logs` feature a
//! logger provider (a batch log processor over the same redaction, see
//! [`logs`](crate::logs)); sets the tracer and meter providers and the propagators as
//! the OpenTelemetry globals, makes all three the default for every
//! [`Step`](crate::Step), and (feature `logs`) makes [`logs::layer`](crate::logs::layer)
//! the global `tracing` subscriber unless one is already set. Libraries must not call
//! it; they take a [`Telemetry`] or use the globals.
//!
//! # Files
//!
//! `mod.rs`: the builder and the install; `env.rs`: reading and checking the
//! configuration into a plan; `exporters.rs`: the one place an OTLP exporter is built,
//! per signal and transport; `pipeline.rs`: the processors between providers and
//! exporters, and each signal's console exporter; `guard.rs`: the guard, flush and
//! shutdown.
//!
//! # Environment variables
//!
//! A programmatic setting applies only where the matching variable is absent: operators
//! keep control of a deployed service.
//!
//! Every variable below with a value that does not parse makes [`Setup::install`]
//! return a [`SetupError`] naming the variable and the value; nothing is installed and
//! nothing panics. (`OTEL_SDK_DISABLED=true` skips all of it: nothing is read, nothing
//! installed, steps run untraced.)
//!
//! | variable | effect | read by |
//! |---|---|---|
//! | `OTEL_SDK_DISABLED` | `true`: install nothing; steps run untraced | setup |
//! | `OTEL_SERVICE_NAME` | `service.name` (wins over [`Setup::new`]) | SDK |
//! | `OTEL_RESOURCE_ATTRIBUTES` | extra resource attributes, e.g. `deployment.environment.name=prod`; a pair without `=` is [`SetupError::InvalidResourceAttributes`] | SDK, validated by setup |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampler (wins over [`Setup::sampler`]); unknown names are an error | SDK, validated by setup |
//! | `OTEL_TRACES_EXPORTER` | `otlp`, `console` or `none` | setup |
//! | `OTEL_METRICS_EXPORTER` | `otlp`, `console` or `none` | setup |
//! | `OTEL_LOGS_EXPORTER` | `otlp`, `console` or `none` (feature `logs`) | setup |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, `OTEL_EXPORTER_OTLP_LOGS_PROTOCOL` | `grpc` (feature `otlp`) or `http/protobuf` (feature `otlp-http`); the signal's variable wins over the general one, which wins over [`Setup::otlp_protocol`]; default `grpc` when the `otlp` feature is on, else `http/protobuf`; anything else, or a transport not compiled in, is an error | setup |
//! | `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` | `logs` or `logs/dup`: failed steps' exceptions as log records (see [`ExceptionSignal`]); wins over [`Setup::exceptions_as`] | setup |
//! | `OTEL_PROPAGATORS` | comma-separated: `tracecontext`, `baggage`, `none` | setup |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` | collector address (wins over [`Setup::otlp_endpoint`]); validated. Over HTTP the general one is a base URL (`/v1/traces`, `/v1/metrics`, `/v1/logs` appended), the signal ones are used as they are | OTLP exporter, validated by setup |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_COMPRESSION` (and `_TRACES_`/`_METRICS_`/`_LOGS_` forms) | OTLP export options | OTLP exporter (HTTP timeout: setup) |
//! | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | longest string attribute value, in characters, cut after redaction (the signal-specific variable wins; both win over [`Setup::attribute_value_length_limit`]); validated | setup (the Rust SDK does not implement them) |
//! | `BOOKING_OTEL_TAIL_SAMPLING` | in-process tail sampling: `off`, `on`, or rules such as `errors,rollbacks,ratio=0.1,slower_than=2s` (wins over [`Setup::tail_sampling`]); validated | setup ([`crate::tail_sampling`]) |
//! | `OTEL_BSP_SCHEDULE_DELAY` (ms), `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT` (ms), `OTEL_BSP_MAX_CONCURRENT_EXPORTS` | the [batch processor](crate::batch) (`OTEL_BSP_MAX_QUEUE_SIZE` wins over [`Setup::span_queue_size`]; defaults: queue [`DEFAULT_SPAN_QUEUE_SIZE`], not the SDK's 2,048; batch 512; delay 1,000 ms; export timeout 30 s; 4 concurrent exports); not a positive whole number: [`SetupError::InvalidNumber`] | booking-otel |
//! | `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT` | periodic metric reader | SDK, validated by setup |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_TIMEOUT`, `OTEL_BLRP_*`, `OTEL_*_COUNT_LIMIT` | exporter timeouts, the log batch processor, the SDK's count limits | SDK and exporters, validated by setup |
//! | `OTEL_BLRP_SCHEDULE_DELAY`, `OTEL_BLRP_MAX_QUEUE_SIZE`, `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BLRP_EXPORT_TIMEOUT` | batch log processor | SDK |
//!
//! Without an exporter setting, OTLP is used when an endpoint is configured (variable or
//! [`Setup::otlp_endpoint`]) and an OTLP feature (`otlp`, `otlp-http`) is on; otherwise
//! a human-readable console exporter prints to stdout (one line per log record).
//!
//! # Transports
//!
//! `otlp` (alias `otlp-grpc`) exports over gRPC with tonic; `otlp-http` over
//! HTTP/protobuf with hyper's client, without tonic. Either runs on a one-worker runtime
//! the guard owns, so either works from a current-thread runtime or with no runtime.
//! Neither build includes TLS: use a local collector or agent (`http://`), as the
//! OpenTelemetry deployment guidance suggests.
//!
//! # Export never blocks a booking
//!
//! Spans and log records are exported from background threads in batches; a slow or dead collector
//! fills a bounded queue whose overflow is dropped, never a booking's thread. OTLP export
//! runs on a small runtime owned by the guard, so flushing on drop works from any
//! context, including a current-thread tokio runtime.

mod env;
#[cfg(any(feature = "otlp", feature = "otlp-http"))]
mod exporters;
mod guard;
mod pipeline;

use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use crate::logs::ExceptionSignal;
use crate::redaction::RedactionPolicy;
use crate::tail_sampling::TailSampling;
use crate::telemetry::Telemetry;
#[cfg(test)]
use env::validate_endpoint;
use env::{Env, Plan, Propagator};
use guard::{INSTALLED, Providers};
pub use guard::{ShutdownError, TelemetryGuard};
#[cfg(feature = "testing")]
pub(crate) use pipeline::BatchSettings;
#[cfg(test)]
use pipeline::build_resource;
#[cfg(feature = "logs")]
pub(crate) use pipeline::{LogPipeline, log_pipeline};
pub(crate) use pipeline::{SpanPipeline, span_pipeline};

/// Why [`Setup::install`] refused a configuration. Nothing is installed on error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The service name is empty.
    #[error("the service name is empty: pass a name to Setup::new or set OTEL_SERVICE_NAME")]
    EmptyServiceName,
    /// An OTLP endpoint is not an `http://` or `https://` URL with a host.
    #[error("invalid OTLP endpoint {endpoint:?} (from {source_name}): {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Where it came from: a variable name or `Setup::otlp_endpoint`.
        source_name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `OTEL_TRACES_SAMPLER` names no sampler this SDK supports.
    #[error(
        "unknown sampler {0:?} in OTEL_TRACES_SAMPLER; expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
    )]
    UnknownSampler(String),
    /// `OTEL_TRACES_SAMPLER_ARG` is not a ratio between 0 and 1.
    #[error("invalid OTEL_TRACES_SAMPLER_ARG {0:?}: expected a number from 0.0 to 1.0")]
    InvalidSamplerArg(String),
    /// An exporter variable names no supported exporter.
    #[error("unknown exporter {value:?} in {variable}; expected one of otlp, console, none")]
    UnknownExporter {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// `OTEL_PROPAGATORS` names an unsupported propagator.
    #[error(
        "unsupported propagator {0:?} in OTEL_PROPAGATORS; expected tracecontext, baggage or none"
    )]
    UnknownPropagator(String),
    /// OTLP export was asked for but neither OTLP feature (`otlp`, `otlp-http`) is on.
    #[error(
        "OTLP export requested ({0}) but booking-otel was built without the `otlp` or `otlp-http` feature"
    )]
    OtlpDisabled(&'static str),
    /// An OTLP protocol variable names no supported protocol.
    #[error("unknown OTLP protocol {value:?} in {variable}; expected grpc or http/protobuf")]
    UnknownProtocol {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// A signal exports over an OTLP transport this build does not include.
    #[error(
        "{signal} export over OTLP {protocol} requested but booking-otel was built without the `{feature}` feature"
    )]
    ProtocolDisabled {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// `grpc` or `http/protobuf`.
        protocol: &'static str,
        /// The feature that brings it.
        feature: &'static str,
    },
    /// The OTLP exporter could not be built.
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
    /// The tail sampling rules (code or `BOOKING_OTEL_TAIL_SAMPLING`) do not parse.
    #[error("{0} (from BOOKING_OTEL_TAIL_SAMPLING)")]
    InvalidTailSampling(#[from] crate::tail_sampling::TailSamplingError),
    /// [`Setup::install`] was called while the guard of an earlier install is alive:
    /// installing again would silently replace the global providers (and the first
    /// service's resource). Drop or [`shutdown`](TelemetryGuard::shutdown) the first
    /// guard first.
    #[error(
        "telemetry is already installed: drop or shut down the first TelemetryGuard before installing again"
    )]
    AlreadyInstalled,
    /// A numeric variable (`OTEL_BSP_*`, `OTEL_BLRP_*`, timeouts, intervals, count
    /// limits) is not a whole number (or is 0 where 0 means nothing: queue and batch
    /// sizes, intervals).
    #[error("invalid {variable} {value:?}: expected a whole number{}", if *positive { " above 0" } else { "" })]
    InvalidNumber {
        /// Whether 0 is refused too.
        positive: bool,
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// `OTEL_RESOURCE_ATTRIBUTES` is not a comma-separated list of `key=value` pairs.
    #[error("invalid OTEL_RESOURCE_ATTRIBUTES {value:?}: {reason}")]
    InvalidResourceAttributes {
        /// The variable's value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A length limit variable is not a whole number.
    #[error("invalid {variable} {value:?}: expected a whole number of characters")]
    InvalidLimit {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
}

/// Which exporter a signal uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExporterKind {
    /// OTLP to a collector, over gRPC (feature `otlp`) or HTTP/protobuf (feature
    /// `otlp-http`): see [`Protocol`].
    Otlp,
    /// Human-readable output on stdout.
    Console,
    /// Nothing is exported.
    None,
}

impl ExporterKind {
    fn parse(variable: &'static str, value: &str) -> Result<Self, SetupError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "otlp" => Ok(ExporterKind::Otlp),
            "console" | "stdout" => Ok(ExporterKind::Console),
            "none" => Ok(ExporterKind::None),
            _ => Err(SetupError::UnknownExporter {
                variable,
                value: value.to_owned(),
            }),
        }
    }
}

/// The OTLP transport of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP/gRPC (`grpc`, feature `otlp`), port 4317 by convention.
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`, feature `otlp-http`), port 4318
    /// by convention.
    HttpProtobuf,
}

impl Protocol {
    fn parse(variable: &'static str, value: &str) -> Result<Self, SetupError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            _ => Err(SetupError::UnknownProtocol {
                variable,
                value: value.to_owned(),
            }),
        }
    }

    /// The value the protocol variables use: `grpc`, `http/protobuf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }

    fn feature(self) -> &'static str {
        match self {
            Protocol::Grpc => "otlp",
            Protocol::HttpProtobuf => "otlp-http",
        }
    }

    fn is_compiled(self) -> bool {
        match self {
            Protocol::Grpc => cfg!(feature = "otlp"),
            Protocol::HttpProtobuf => cfg!(feature = "otlp-http"),
        }
    }

    /// gRPC when the `otlp` feature is on (what this crate always did), else HTTP.
    fn compiled_default() -> Self {
        if cfg!(feature = "otlp") || !cfg!(feature = "otlp-http") {
            Protocol::Grpc
        } else {
            Protocol::HttpProtobuf
        }
    }
}

/// One of the three signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces = 0,
    /// Metrics.
    Metrics = 1,
    /// Log records.
    Logs = 2,
}

impl Signal {
    /// `traces`, `metrics` or `logs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

/// The one-call setup; see the [module docs](self).
#[derive(Debug, Clone)]
#[must_use = "call .install() to start telemetry"]
pub struct Setup {
    service_name: String,
    service_version: Option<String>,
    domain: Option<String>,
    attributes: Vec<KeyValue>,
    sampler: Option<Sampler>,
    traces_exporter: Option<ExporterKind>,
    metrics_exporter: Option<ExporterKind>,
    logs_exporter: Option<ExporterKind>,
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<Protocol>,
    exception_signal: Option<ExceptionSignal>,
    tracing_subscriber: bool,
    ok_on_success: bool,
    redaction: RedactionPolicy,
    metric_interval: Option<Duration>,
    attribute_value_length_limit: Option<usize>,
    tail_sampling: Option<TailSampling>,
    baggage_keys: Vec<String>,
    span_queue_size: Option<usize>,
    extra_readers: ExtraReaders,
}

/// Adds one exporter's periodic reader (at the setup's interval) to the builder.
type AddReader = Box<
    dyn FnOnce(
            opentelemetry_sdk::metrics::MeterProviderBuilder,
            Option<Duration>,
        ) -> opentelemetry_sdk::metrics::MeterProviderBuilder
        + Send,
>;

/// Metric exporters added with [`Setup::extra_metric_exporter`], each with its periodic
/// reader. An exporter cannot be cloned: clones of a `Setup` share the list, and the
/// first install takes them.
#[derive(Clone, Default)]
struct ExtraReaders(std::sync::Arc<std::sync::Mutex<Vec<AddReader>>>);

impl std::fmt::Debug for ExtraReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let readers = self.lock().len();
        write!(f, "{readers} extra metric exporter(s)")
    }
}

impl ExtraReaders {
    fn add_to(
        &self,
        mut builder: opentelemetry_sdk::metrics::MeterProviderBuilder,
        interval: Option<Duration>,
    ) -> opentelemetry_sdk::metrics::MeterProviderBuilder {
        let readers = std::mem::take(&mut *self.lock());
        for add in readers {
            builder = add(builder, interval);
        }
        builder
    }

    /// A list of closures is whole after any panic: a poisoned lock is used as is.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AddReader>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Setup {
    /// Setup for the service `service_name` (`service.name`, unless `OTEL_SERVICE_NAME` is set).
    pub fn new(service_name: impl Into<String>) -> Self {
        Setup {
            service_name: service_name.into(),
            service_version: None,
            domain: None,
            attributes: Vec::new(),
            sampler: None,
            traces_exporter: None,
            metrics_exporter: None,
            logs_exporter: None,
            otlp_endpoint: None,
            otlp_protocol: None,
            exception_signal: None,
            tracing_subscriber: true,
            ok_on_success: false,
            redaction: RedactionPolicy::default(),
            metric_interval: None,
            attribute_value_length_limit: None,
            tail_sampling: None,
            baggage_keys: Vec::new(),
            span_queue_size: None,
            extra_readers: ExtraReaders::default(),
        }
    }

    /// Adds a metric exporter beside the one the environment chooses (or instead of it,
    /// with `OTEL_METRICS_EXPORTER=none`), read at the setup's interval: to read the
    /// booking metrics back in the process (an in-memory exporter), or to send them to a
    /// second backend. Exporters cannot be cloned: clones of this `Setup` share them, and
    /// the first `install` takes them.
    ///
    /// ```
    /// use opentelemetry_sdk::metrics::InMemoryMetricExporter;
    /// let exporter = InMemoryMetricExporter::default();
    /// let guard = booking_otel::setup::Setup::new("booking-service")
    ///     .traces_exporter(booking_otel::setup::ExporterKind::None)
    ///     .metrics_exporter(booking_otel::setup::ExporterKind::None)
    ///     .extra_metric_exporter(exporter.clone())
    ///     .install()
    ///     .unwrap();
    /// booking_otel::metrics::BookingMetrics::global()
    ///     .start_booking("web")
    ///     .finish(booking_otel::metrics::BookingStatus::Success);
    /// guard.flush().unwrap();
    /// assert!(!exporter.get_finished_metrics().unwrap().is_empty());
    /// # guard.shutdown().unwrap();
    /// ```
    pub fn extra_metric_exporter<E>(self, exporter: E) -> Self
    where
        E: opentelemetry_sdk::metrics::exporter::PushMetricExporter,
    {
        self.extra_readers
            .lock()
            .push(Box::new(move |builder, interval| {
                builder.with_reader(pipeline::periodic_reader(exporter, interval))
            }));
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// `service.domain`, the business domain (`reservations`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// An extra resource attribute (redacted like every resource attribute).
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// The sampler, unless `OTEL_TRACES_SAMPLER` is set. Default: parent-based always-on.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// The traces exporter, unless `OTEL_TRACES_EXPORTER` is set.
    pub fn traces_exporter(mut self, kind: ExporterKind) -> Self {
        self.traces_exporter = Some(kind);
        self
    }

    /// The metrics exporter, unless `OTEL_METRICS_EXPORTER` is set.
    pub fn metrics_exporter(mut self, kind: ExporterKind) -> Self {
        self.metrics_exporter = Some(kind);
        self
    }

    /// The logs exporter, unless `OTEL_LOGS_EXPORTER` is set (feature `logs`; without
    /// it no logger provider is installed).
    pub fn logs_exporter(mut self, kind: ExporterKind) -> Self {
        self.logs_exporter = Some(kind);
        self
    }

    /// The OTLP collector endpoint, unless an `OTEL_EXPORTER_OTLP_*ENDPOINT` variable
    /// applies: `http://otel-collector:4317` for gRPC; for HTTP the base URL
    /// (`http://otel-collector:4318`), to which each signal's path (`/v1/traces`,
    /// `/v1/metrics`, `/v1/logs`) is appended.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport of every signal, unless `OTEL_EXPORTER_OTLP_PROTOCOL` or a
    /// signal's `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL` is set. Default:
    /// gRPC when the `otlp` feature is on, else HTTP/protobuf.
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.otlp_protocol = Some(protocol);
        self
    }

    /// Where failed steps record exceptions, unless
    /// `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN` is set; see [`ExceptionSignal`].
    pub fn exceptions_as(mut self, signal: ExceptionSignal) -> Self {
        self.exception_signal = Some(signal);
        self
    }

    /// Whether `install` makes [`logs::layer`](crate::logs::layer) the global `tracing`
    /// subscriber when none is set yet (default: yes; feature `logs`). Say no when the
    /// service sets its own subscriber after `install`, and add the layer to it.
    pub fn install_tracing_subscriber(mut self, install: bool) -> Self {
        self.tracing_subscriber = install;
        self
    }

    /// Successful steps end with status `Ok` instead of `Unset`.
    pub fn ok_on_success(mut self, enabled: bool) -> Self {
        self.ok_on_success = enabled;
        self
    }

    /// The redaction policy (redaction itself is always installed).
    pub fn redaction_policy(mut self, policy: RedactionPolicy) -> Self {
        self.redaction = policy;
        self
    }

    /// How often metrics are exported, unless `OTEL_METRIC_EXPORT_INTERVAL` is set.
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Decides per trace, after the booking, which traces to export: every failed or
    /// rolled-back booking and a share of the rest (see [`crate::tail_sampling`]),
    /// unless `BOOKING_OTEL_TAIL_SAMPLING` says otherwise. Off by default: with it, keep
    /// the head sampler at its default (`parentbased_always_on`).
    pub fn tail_sampling(mut self, rules: TailSampling) -> Self {
        self.tail_sampling = Some(rules);
        self
    }

    /// Copies these baggage entries (when present) onto every span as attributes, e.g.
    /// `booking.source` and a property or tenant id set by the edge service: see
    /// [`BaggageToAttributes`](crate::propagation::BaggageToAttributes). Baggage is sent
    /// to every downstream service, in clear: never put personal data in it; copied
    /// values go through the redaction exporter like every attribute. Off by default.
    ///
    /// ```
    /// use booking_otel::conventions::attribute;
    /// let setup = booking_otel::setup::Setup::new("booking-service")
    ///     .baggage_to_attributes([attribute::BOOKING_SOURCE, attribute::BOOKING_PROPERTY_ID]);
    /// # let _ = setup;
    /// ```
    pub fn baggage_to_attributes<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.baggage_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// How many finished spans may wait for export before new ones are dropped, unless
    /// `OTEL_BSP_MAX_QUEUE_SIZE` is set. Default [`DEFAULT_SPAN_QUEUE_SIZE`].
    pub fn span_queue_size(mut self, spans: usize) -> Self {
        self.span_queue_size = Some(spans);
        self
    }

    /// Cuts string attribute values (of spans and log records) longer than `limit`
    /// characters, after redaction, unless `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`
    /// (`OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT` for logs) or
    /// `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` is set. Default: no limit.
    pub fn attribute_value_length_limit(mut self, limit: usize) -> Self {
        self.attribute_value_length_limit = Some(limit);
        self
    }

    /// Builds and installs everything; see the [module docs](self).
    pub fn install(self) -> Result<TelemetryGuard, SetupError> {
        let env = Env::read();
        self.install_with_env(&env)
    }

    fn install_with_env(self, env: &Env) -> Result<TelemetryGuard, SetupError> {
        if env
            .get("OTEL_SDK_DISABLED")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            return Ok(TelemetryGuard::disabled());
        }
        let plan = self.plan(env)?;
        // One live install per process: the providers it installs are global.
        if INSTALLED.swap(true, Ordering::AcqRel) {
            return Err(SetupError::AlreadyInstalled);
        }
        let installed = install(plan, self, env);
        if installed.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        installed
    }
}

/// Builds every provider the plan asks for, then installs them. Every exporter is built
/// before anything is installed, so an error installs nothing.
fn install(plan: Plan, setup: Setup, env: &Env) -> Result<TelemetryGuard, SetupError> {
    let resource = pipeline::build_resource(&setup, env);
    #[cfg(any(feature = "otlp", feature = "otlp-http"))]
    let runtime = if plan.any_otlp() {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("booking-otel-export")
                .enable_all()
                .build()
                .map_err(|e| SetupError::Exporter(e.to_string()))?,
        )
    } else {
        None
    };
    #[cfg(any(feature = "otlp", feature = "otlp-http"))]
    let target = |signal: Signal| {
        let (_, _, endpoint_from_env) = plan.signal(signal);
        runtime.as_ref().map(|runtime| exporters::OtlpTarget {
            runtime,
            endpoint_from_code: setup
                .otlp_endpoint
                .as_deref()
                .filter(|_| !endpoint_from_env),
            timeout: otlp_timeout(env, signal),
        })
    };
    // Unreachable: the plan refuses OTLP when no OTLP feature is compiled in.
    #[cfg(not(any(feature = "otlp", feature = "otlp-http")))]
    let target = |_: Signal| None::<std::convert::Infallible>;
    let no_target = || SetupError::OtlpDisabled("no export runtime");

    let meter_provider = {
        let mut builder = SdkMeterProvider::builder().with_resource(resource.clone());
        match plan.metrics {
            ExporterKind::None => {}
            ExporterKind::Console => {
                builder = builder.with_reader(pipeline::periodic_reader(
                    pipeline::console_metric_exporter(),
                    setup.metric_interval,
                ));
            }
            ExporterKind::Otlp => {
                let target = target(Signal::Metrics).ok_or_else(no_target)?;
                #[cfg(any(feature = "otlp", feature = "otlp-http"))]
                {
                    let exporter = exporters::metric_exporter(plan.metrics_protocol, &target)?;
                    builder = builder
                        .with_reader(pipeline::periodic_reader(exporter, setup.metric_interval));
                }
                #[cfg(not(any(feature = "otlp", feature = "otlp-http")))]
                match target {}
            }
        }
        setup
            .extra_readers
            .add_to(builder, setup.metric_interval)
            .build()
    };
    let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
        &meter_provider,
        crate::instrumentation_scope(),
    );

    let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource.clone());
    if let (Some(sampler), false) = (setup.sampler.clone(), plan.sampler_from_env) {
        tracer_builder = tracer_builder.with_sampler(sampler);
    }
    let span_settings = || SpanPipeline {
        policy: setup.redaction.clone(),
        value_length_limit: plan.value_length_limit,
        tail_sampling: plan.tail_sampling.clone(),
        batch: plan.batch,
        meter: Some(&meter),
    };
    let span_processor = match plan.traces {
        ExporterKind::None => None,
        ExporterKind::Console => Some(span_pipeline(
            pipeline::console_span_exporter(),
            span_settings(),
        )),
        ExporterKind::Otlp => {
            let target = target(Signal::Traces).ok_or_else(no_target)?;
            #[cfg(any(feature = "otlp", feature = "otlp-http"))]
            {
                let exporter = exporters::span_exporter(plan.traces_protocol, &target)?;
                Some(span_pipeline(exporter, span_settings()))
            }
            #[cfg(not(any(feature = "otlp", feature = "otlp-http")))]
            match target {}
        }
    };
    let delivery = span_processor
        .as_ref()
        .map(crate::batch::BatchProcessor::delivery)
        .unwrap_or_default();
    if !setup.baggage_keys.is_empty() {
        tracer_builder = tracer_builder.with_span_processor(
            crate::propagation::BaggageToAttributes::new(setup.baggage_keys.iter().cloned()),
        );
    }
    if let Some(processor) = span_processor {
        tracer_builder = tracer_builder.with_span_processor(processor);
    }
    let tracer_provider = tracer_builder.build();

    #[cfg(feature = "logs")]
    let (logger_provider, log_delivery) = {
        let log_settings = || LogPipeline {
            policy: setup.redaction.clone(),
            value_length_limit: plan.log_value_length_limit,
            batch: plan.log_batch,
            meter: Some(&meter),
        };
        let processor = match plan.logs {
            ExporterKind::None => None,
            ExporterKind::Console => Some(log_pipeline(
                pipeline::console_log_exporter(),
                log_settings(),
            )),
            ExporterKind::Otlp => {
                let target = target(Signal::Logs).ok_or_else(no_target)?;
                #[cfg(any(feature = "otlp", feature = "otlp-http"))]
                {
                    let exporter = exporters::log_exporter(plan.logs_protocol, &target)?;
                    Some(log_pipeline(exporter, log_settings()))
                }
                #[cfg(not(any(feature = "otlp", feature = "otlp-http")))]
                match target {}
            }
        };
        let delivery = processor
            .as_ref()
            .map(crate::batch::BatchLogProcessor::delivery)
            .unwrap_or_else(|| crate::delivery::Delivery::new(crate::delivery::Signal::Logs));
        let provider = processor.map(|processor| {
            opentelemetry_sdk::logs::SdkLoggerProvider::builder()
                .with_resource(resource)
                .with_log_processor(processor)
                .build()
        });
        (provider, delivery)
    };
    #[cfg(not(feature = "logs"))]
    let log_delivery = crate::delivery::Delivery::new(crate::delivery::Signal::Logs);
    #[cfg(not(feature = "logs"))]
    drop(resource);

    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    opentelemetry::global::set_meter_provider(meter_provider.clone());
    let propagators: Vec<Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>> =
        plan.propagators
            .iter()
            .map(|p| match p {
                Propagator::TraceContext => Box::new(TraceContextPropagator::new()) as Box<_>,
                Propagator::Baggage => Box::new(BaggagePropagator::new()) as Box<_>,
            })
            .collect();
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(propagators));
    let telemetry = Telemetry::from_tracer_provider(&tracer_provider)
        .with_meter(&meter)
        .ok_on_success(setup.ok_on_success)
        .exceptions_as(plan.exception_signal);
    #[cfg(feature = "logs")]
    let telemetry = match &logger_provider {
        Some(provider) => telemetry.with_logger_provider(provider),
        None => telemetry,
    };
    telemetry.install();
    #[cfg(feature = "logs")]
    let tracing_subscriber =
        setup.tracing_subscriber && logger_provider.is_some() && install_tracing_subscriber();
    #[cfg(not(feature = "logs"))]
    let tracing_subscriber = false;

    Ok(TelemetryGuard {
        providers: Some(Providers {
            tracer: tracer_provider,
            meter: meter_provider,
            #[cfg(feature = "logs")]
            logger: logger_provider,
            exporting: [
                plan.traces != ExporterKind::None,
                plan.metrics != ExporterKind::None,
                plan.logs != ExporterKind::None,
            ],
        }),
        #[cfg(any(feature = "otlp", feature = "otlp-http"))]
        runtime,
        tracing_subscriber,
        delivery,
        log_delivery,
    })
}

/// The HTTP client's deadline for `signal`: `OTEL_EXPORTER_OTLP_{SIGNAL_}TIMEOUT` in
/// milliseconds, 10 s by default (the gRPC exporter reads the same variables itself).
#[cfg(any(feature = "otlp", feature = "otlp-http"))]
fn otlp_timeout(env: &Env, signal: Signal) -> Duration {
    let variable = match signal {
        Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    };
    // Validated by `Setup::plan`: an unparsable value never gets here.
    env.get(variable)
        .or_else(|| env.get("OTEL_EXPORTER_OTLP_TIMEOUT"))
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis)
}

/// Makes [`logs::layer`](crate::logs::layer) the global `tracing` subscriber, once per
/// process (it serves every later install: it writes to whatever is installed); `false`
/// when another subscriber was set first.
#[cfg(feature = "logs")]
fn install_tracing_subscriber() -> bool {
    use std::sync::OnceLock;
    use tracing_subscriber::layer::SubscriberExt as _;
    static OURS: OnceLock<bool> = OnceLock::new();
    *OURS.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(crate::logs::layer());
        tracing::subscriber::set_global_default(subscriber).is_ok()
    })
}

/// The batch span queue `setup` installs (the SDK's default is 2,048): a burst of
/// 10,000 concurrent five-step bookings (50,000 spans) fits whole, where the SDK's
/// default drops most of it (measured: `tests/burst.rs`). At about 600 bytes per span
/// the queue holds at most ~40 MB; it is empty in steady state.
pub const DEFAULT_SPAN_QUEUE_SIZE: usize = crate::batch::DEFAULT_QUEUE_SIZE;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// Every variable setup reads or validates, with a bad value: a typed error whose
    /// message names the variable (or the setting) and repeats the bad value; no panic.
    #[test]
    fn every_invalid_variable_is_a_typed_error_naming_it_and_its_value() {
        let cases: &[(&str, &str)] = &[
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "lots"),
            ("OTEL_TRACES_EXPORTER", "jaeger"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
            ("OTEL_LOGS_EXPORTER", "syslog"),
            ("OTEL_PROPAGATORS", "b3"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "-1"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0"),
            ("OTEL_METRIC_EXPORT_TIMEOUT", "soon"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "big"),
            ("OTEL_BSP_SCHEDULE_DELAY", "1.5"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "30s"),
            ("OTEL_BSP_MAX_CONCURRENT_EXPORTS", "0"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "-5"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4k"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name"),
            ("BOOKING_OTEL_TAIL_SAMPLING", "ratio=2"),
        ];
        for (variable, value) in cases {
            // The argument is read only for a sampler that takes one.
            let mut pairs = vec![(*variable, *value)];
            if *variable == "OTEL_TRACES_SAMPLER_ARG" {
                pairs.push(("OTEL_TRACES_SAMPLER", "traceidratio"));
            }
            let result =
                std::panic::catch_unwind(|| Setup::new("booking-service").plan(&env(&pairs)));
            let Ok(result) = result else {
                panic!("{variable}={value:?} panicked");
            };
            let Err(error) = result else {
                panic!("{variable}={value:?} was accepted");
            };
            let message = error.to_string();
            assert!(
                message.contains(variable) || message.contains(value),
                "{variable}={value:?}: {message}"
            );
            assert!(
                message.contains(value) || message.contains(&format!("{value:?}")),
                "{variable}={value:?}: the message repeats the value: {message}"
            );
        }
    }

    #[test]
    fn invalid_configuration_is_a_typed_error() {
        let s = Setup::new("booking-service");
        assert!(matches!(
            Setup::new("  ").plan(&env(&[])),
            Err(SetupError::EmptyServiceName)
        ));
        assert!(matches!(
            s.plan(&env(&[("OTEL_TRACES_SAMPLER", "sometimes")])),
            Err(SetupError::UnknownSampler(n)) if n == "sometimes"
        ));
        assert!(matches!(
            s.plan(&env(&[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2")
            ])),
            Err(SetupError::InvalidSamplerArg(_))
        ));
        assert!(matches!(
            s.clone()
                .otlp_endpoint("otel-collector:4317")
                .plan(&env(&[])),
            Err(SetupError::InvalidEndpoint {
                source_name: "Setup::otlp_endpoint",
                ..
            })
        ));
        assert!(matches!(
            s.plan(&env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://:4317")])),
            Err(SetupError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            s.plan(&env(&[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://collector:99999"
            )])),
            Err(SetupError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            s.plan(&env(&[("OTEL_TRACES_EXPORTER", "zipkin")])),
            Err(SetupError::UnknownExporter {
                variable: "OTEL_TRACES_EXPORTER",
                ..
            })
        ));
        assert!(matches!(
            s.plan(&env(&[("OTEL_PROPAGATORS", "tracecontext,b3")])),
            Err(SetupError::UnknownPropagator(p)) if p == "b3"
        ));
    }

    #[test]
    fn environment_wins_over_code_and_defaults_are_sane() {
        let s = Setup::new("booking-service").traces_exporter(ExporterKind::Console);
        let plan = s
            .plan(&env(&[
                ("OTEL_TRACES_EXPORTER", "none"),
                ("OTEL_TRACES_SAMPLER", "always_off"),
            ]))
            .unwrap();
        assert_eq!(plan.traces, ExporterKind::None);
        assert!(plan.sampler_from_env);
        let plan = Setup::new("x").plan(&env(&[])).unwrap();
        assert_eq!(plan.traces, ExporterKind::Console);
        assert_eq!(
            plan.propagators,
            vec![Propagator::TraceContext, Propagator::Baggage]
        );
        let plan = Setup::new("x")
            .plan(&env(&[("OTEL_PROPAGATORS", "none")]))
            .unwrap();
        assert!(plan.propagators.is_empty());
        // The env name makes an empty programmatic one acceptable.
        assert!(
            Setup::new("")
                .plan(&env(&[("OTEL_SERVICE_NAME", "svc")]))
                .is_ok()
        );
        assert!(validate_endpoint("t", "https://collector.internal:4317/").is_ok());
        assert!(validate_endpoint("t", "http://[::1]:4317").is_ok());
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn an_endpoint_selects_otlp() {
        let plan = Setup::new("x")
            .plan(&env(&[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://127.0.0.1:4317",
            )]))
            .unwrap();
        assert_eq!(plan.traces, ExporterKind::Otlp);
    }

    #[test]
    fn the_span_length_limit_variable_wins_over_the_general_one_and_both_over_code() {
        let limit = |vars: &[(&str, &str)]| {
            Setup::new("x")
                .attribute_value_length_limit(100)
                .plan(&env(vars))
                .map(|plan| plan.value_length_limit)
        };
        assert_eq!(limit(&[]).unwrap(), Some(100));
        assert_eq!(
            limit(&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64")]).unwrap(),
            Some(64)
        );
        assert_eq!(
            limit(&[
                ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "32"),
                ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
            ])
            .unwrap(),
            Some(32)
        );
        assert_eq!(
            Setup::new("x").plan(&env(&[])).unwrap().value_length_limit,
            None,
            "no limit by default"
        );
        match limit(&[("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "lots")]) {
            Err(SetupError::InvalidLimit { variable, value }) => {
                assert_eq!(variable, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT");
                assert_eq!(value, "lots");
            }
            other => panic!("expected InvalidLimit, got {:?}", other.map(|_| ())),
        }
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn an_endpoint_variable_wins_over_code_per_signal() {
        let plan = Setup::new("x")
            .plan(&env(&[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://127.0.0.1:4317",
            )]))
            .unwrap();
        assert!(plan.traces_endpoint_from_env && plan.metrics_endpoint_from_env);
        let plan = Setup::new("x")
            .otlp_endpoint("http://127.0.0.1:4317")
            .plan(&env(&[(
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://127.0.0.1:4318",
            )]))
            .unwrap();
        assert!(
            plan.metrics_endpoint_from_env,
            "the metrics variable wins over code"
        );
        assert!(!plan.traces_endpoint_from_env);
    }

    #[test]
    fn service_name_precedence_is_code_then_resource_attributes_then_service_name() {
        let name = |pairs: &[(&str, &str)]| {
            let resource =
                build_resource(&Setup::new("from-code").domain("reservations"), &env(pairs));
            let get = |k: &'static str| {
                resource
                    .get(&opentelemetry::Key::from_static_str(k))
                    .map(|v| v.to_string())
            };
            (get("service.name"), get("service.domain"))
        };
        assert_eq!(
            name(&[]),
            (Some("from-code".into()), Some("reservations".into()))
        );
        assert_eq!(
            name(&[("OTEL_SERVICE_NAME", "from-env")]).0,
            Some("from-env".into())
        );
    }

    #[test]
    fn protocols_per_signal_win_over_the_general_one_which_wins_over_code() {
        let s = Setup::new("x").otlp_protocol(Protocol::HttpProtobuf);
        let plan = s.plan(&env(&[])).unwrap();
        assert_eq!(plan.traces_protocol, Protocol::HttpProtobuf, "code");
        let plan = s
            .plan(&env(&[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ]))
            .unwrap();
        assert_eq!(
            (
                plan.traces_protocol,
                plan.metrics_protocol,
                plan.logs_protocol
            ),
            (Protocol::Grpc, Protocol::Grpc, Protocol::HttpProtobuf)
        );
        let plan = Setup::new("x").plan(&env(&[])).unwrap();
        assert_eq!(
            plan.traces_protocol,
            if cfg!(feature = "otlp") {
                Protocol::Grpc
            } else {
                Protocol::HttpProtobuf
            },
            "gRPC by default when compiled in, as before"
        );
        for (variable, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"),
            ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", ""),
        ] {
            match Setup::new("x").plan(&env(&[(variable, value)])) {
                Err(SetupError::UnknownProtocol {
                    variable: v,
                    value: got,
                }) => assert_eq!((v, got.as_str()), (variable, value)),
                other => panic!("expected UnknownProtocol, got {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn a_protocol_not_compiled_in_is_a_typed_error() {
        let missing = [Protocol::Grpc, Protocol::HttpProtobuf]
            .into_iter()
            .find(|p| !p.is_compiled());
        let Some(missing) = missing else {
            return; // both transports compiled in: nothing to refuse
        };
        let result = Setup::new("x")
            .otlp_endpoint("http://127.0.0.1:4317")
            .otlp_protocol(missing)
            .plan(&env(&[]));
        assert!(matches!(
            result,
            Err(SetupError::ProtocolDisabled {
                signal: "traces",
                ..
            })
        ));
    }

    #[test]
    fn the_logs_variables_are_read() {
        let plan = Setup::new("x")
            .attribute_value_length_limit(100)
            .plan(&env(&[
                ("OTEL_LOGS_EXPORTER", "none"),
                ("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
                ("OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN", "logs/dup"),
            ]))
            .unwrap();
        assert_eq!(plan.logs, ExporterKind::None);
        assert_eq!(plan.log_value_length_limit, Some(64));
        assert_eq!(plan.value_length_limit, Some(100));
        assert_eq!(plan.exception_signal, ExceptionSignal::LogsAndSpanEvents);
        assert!(matches!(
            Setup::new("x").plan(&env(&[("OTEL_LOGS_EXPORTER", "loki")])),
            Err(SetupError::UnknownExporter {
                variable: "OTEL_LOGS_EXPORTER",
                ..
            })
        ));
        assert!(matches!(
            Setup::new("x").plan(&env(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "collector")])),
            Err(SetupError::InvalidEndpoint { .. })
        ));
    }

    #[test]
    fn disabled_sdk_installs_nothing() {
        let guard = Setup::new("x")
            .install_with_env(&env(&[
                ("OTEL_SDK_DISABLED", "true"),
                // Not even read: a disabled SDK does not fail on the rest.
                ("OTEL_TRACES_EXPORTER", "jaeger"),
            ]))
            .unwrap();
        assert!(!guard.is_enabled());
        // The application runs as usual: steps return their results, metrics are no-ops.
        let result = crate::Step::new("booking.confirm").run(|| Some(7));
        assert_eq!(result, Some(7));
        let booking = crate::metrics::BookingMetrics::global().start_booking("web");
        booking.finish(crate::metrics::BookingStatus::Success);
        assert_eq!(guard.delivery().counts(), Default::default());
        assert!(guard.shutdown().is_ok());
    }
}
