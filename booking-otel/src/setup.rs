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
//! thread), a meter provider with a periodic reader,
//! sets them and the propagators as the OpenTelemetry globals, and makes them the
//! default for every [`Step`](crate::Step). Libraries must not call it; they take a
//! [`Telemetry`] or use the globals.
//!
//! # Environment variables
//!
//! A programmatic setting applies only where the matching variable is absent: operators
//! keep control of a deployed service.
//!
//! | variable | effect | read by |
//! |---|---|---|
//! | `OTEL_SDK_DISABLED` | `true`: install nothing; steps run untraced | setup |
//! | `OTEL_SERVICE_NAME` | `service.name` (wins over [`Setup::new`]) | SDK |
//! | `OTEL_RESOURCE_ATTRIBUTES` | extra resource attributes, e.g. `deployment.environment.name=prod` | SDK |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampler (wins over [`Setup::sampler`]); unknown names are an error | SDK, validated by setup |
//! | `OTEL_TRACES_EXPORTER` | `otlp`, `console` or `none` | setup |
//! | `OTEL_METRICS_EXPORTER` | `otlp`, `console` or `none` | setup |
//! | `OTEL_PROPAGATORS` | comma-separated: `tracecontext`, `baggage`, `none` | setup |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | collector address (wins over [`Setup::otlp_endpoint`]); validated | OTLP exporter, validated by setup |
//! | `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_COMPRESSION` (and `_TRACES_`/`_METRICS_` forms) | OTLP export options | OTLP exporter |
//! | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` | longest string attribute value, in characters, cut after redaction (the span-specific variable wins; both win over [`Setup::attribute_value_length_limit`]); validated | setup (the Rust SDK does not implement them) |
//! | `BOOKING_OTEL_TAIL_SAMPLING` | in-process tail sampling: `off`, `on`, or rules such as `errors,rollbacks,ratio=0.1,slower_than=2s` (wins over [`Setup::tail_sampling`]); validated | setup ([`crate::tail_sampling`]) |
//! | `OTEL_BSP_SCHEDULE_DELAY` (ms), `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT` (ms), `OTEL_BSP_MAX_CONCURRENT_EXPORTS` | the [batch processor](crate::batch) (`OTEL_BSP_MAX_QUEUE_SIZE` wins over [`Setup::span_queue_size`]; defaults: queue [`DEFAULT_SPAN_QUEUE_SIZE`], not the SDK's 2,048; batch 512; delay 1,000 ms; export timeout 30 s; 4 concurrent exports); not a positive whole number: [`SetupError::InvalidBatchSetting`] | booking-otel |
//! | `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_METRIC_EXPORT_TIMEOUT` | periodic metric reader | SDK |
//!
//! Without an exporter setting, OTLP is used when an endpoint is configured (variable or
//! [`Setup::otlp_endpoint`]) and the `otlp` feature is on; otherwise a human-readable
//! console exporter prints each trace as a [waterfall](crate::console) and the metrics
//! as a table, on stdout.
//!
//! # Export never blocks a booking
//!
//! Spans are exported from a background thread in batches; a slow or dead collector
//! fills a bounded queue whose overflow is dropped, never a booking's thread. OTLP export
//! runs on a small runtime owned by the guard, so flushing on drop works from any
//! context, including a current-thread tokio runtime.

use std::env;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter};

use crate::batch::{BatchProcessor, CountingExporter};
use crate::conventions::resource;
use crate::delivery::Delivery;
use crate::redaction::{RedactingExporter, RedactionPolicy};
use crate::tail_sampling::{TailSampling, TailSamplingExporter};
use crate::telemetry::Telemetry;

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
    /// OTLP export was asked for but the `otlp` feature is off.
    #[error("OTLP export requested ({0}) but booking-otel was built without the `otlp` feature")]
    OtlpDisabled(&'static str),
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
    /// An `OTEL_BSP_*` variable is not a positive whole number.
    #[error("invalid {variable} {value:?}: expected a positive whole number")]
    InvalidBatchSetting {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
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
    /// OTLP/gRPC to a collector (feature `otlp`).
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
    otlp_endpoint: Option<String>,
    ok_on_success: bool,
    redaction: RedactionPolicy,
    metric_interval: Option<Duration>,
    attribute_value_length_limit: Option<usize>,
    tail_sampling: Option<TailSampling>,
    span_queue_size: Option<usize>,
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
            otlp_endpoint: None,
            ok_on_success: false,
            redaction: RedactionPolicy::default(),
            metric_interval: None,
            attribute_value_length_limit: None,
            tail_sampling: None,
            span_queue_size: None,
        }
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

    /// The OTLP/gRPC collector endpoint (`http://otel-collector:4317`), unless
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
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

    /// How many finished spans may wait for export before new ones are dropped, unless
    /// `OTEL_BSP_MAX_QUEUE_SIZE` is set. Default [`DEFAULT_SPAN_QUEUE_SIZE`].
    pub fn span_queue_size(mut self, spans: usize) -> Self {
        self.span_queue_size = Some(spans);
        self
    }

    /// Cuts string attribute values longer than `limit` characters, after redaction,
    /// unless `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` or
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
        let installed = plan.install(self, env);
        if installed.is_err() {
            INSTALLED.store(false, Ordering::Release);
        }
        installed
    }

    /// Validates the configuration against `env` without installing anything.
    fn plan(&self, env: &Env) -> Result<Plan, SetupError> {
        let env_name = env.get("OTEL_SERVICE_NAME");
        let name_in_attributes = env.get("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| {
            a.split(',')
                .any(|kv| kv.trim().starts_with("service.name="))
        });
        if env_name.is_none() && !name_in_attributes && self.service_name.trim().is_empty() {
            return Err(SetupError::EmptyServiceName);
        }
        if env_name.is_some_and(|n| n.trim().is_empty()) {
            return Err(SetupError::EmptyServiceName);
        }
        let sampler_from_env = match env.get("OTEL_TRACES_SAMPLER") {
            Some(name) => {
                validate_sampler(name, env.get("OTEL_TRACES_SAMPLER_ARG"))?;
                true
            }
            None => false,
        };
        let mut endpoint_configured = false;
        let endpoint_vars = [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ];
        let from_env = endpoint_vars
            .iter()
            .filter_map(|var| env.get(var).map(|v| (*var, v)));
        let from_code = self
            .otlp_endpoint
            .as_deref()
            .map(|e| ("Setup::otlp_endpoint", e));
        for (source_name, endpoint) in from_env.chain(from_code) {
            validate_endpoint(source_name, endpoint)?;
            endpoint_configured = true;
        }
        let default_kind = if endpoint_configured && cfg!(feature = "otlp") {
            ExporterKind::Otlp
        } else {
            ExporterKind::Console
        };
        let traces = match env.get("OTEL_TRACES_EXPORTER") {
            Some(v) => ExporterKind::parse("OTEL_TRACES_EXPORTER", v)?,
            None => self.traces_exporter.unwrap_or(default_kind),
        };
        let metrics = match env.get("OTEL_METRICS_EXPORTER") {
            Some(v) => ExporterKind::parse("OTEL_METRICS_EXPORTER", v)?,
            None => self.metrics_exporter.unwrap_or(default_kind),
        };
        if !cfg!(feature = "otlp")
            && (traces == ExporterKind::Otlp || metrics == ExporterKind::Otlp)
        {
            return Err(SetupError::OtlpDisabled(
                "traces or metrics exporter = otlp",
            ));
        }
        let mut value_length_limit = self.attribute_value_length_limit;
        // The span-specific variable wins over the general one.
        for variable in [
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        ] {
            if let Some(value) = env.get(variable) {
                let limit =
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| SetupError::InvalidLimit {
                            variable,
                            value: value.to_owned(),
                        })?;
                value_length_limit = Some(limit);
            }
        }
        let batch = BatchSettings::from_env(self.span_queue_size, env)?;
        let tail_sampling = match env.get("BOOKING_OTEL_TAIL_SAMPLING") {
            Some(rules) => TailSampling::parse(rules)?,
            None => self.tail_sampling.clone(),
        };
        let propagators = match env.get("OTEL_PROPAGATORS") {
            Some(list) => parse_propagators(list)?,
            None => vec![Propagator::TraceContext, Propagator::Baggage],
        };
        Ok(Plan {
            traces,
            metrics,
            propagators,
            sampler_from_env,
            value_length_limit,
            tail_sampling,
            batch,
            #[cfg(feature = "otlp")]
            traces_endpoint_from_env: env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some(),
            #[cfg(feature = "otlp")]
            metrics_endpoint_from_env: env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
                || env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").is_some(),
        })
    }
}

/// A snapshot of the process environment (tests substitute their own).
#[derive(Debug, Default, Clone)]
struct Env(Vec<(String, String)>);

impl Env {
    fn read() -> Self {
        Env(env::vars()
            .filter(|(k, _)| k.starts_with("OTEL_"))
            .collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Propagator {
    TraceContext,
    Baggage,
}

fn parse_propagators(list: &str) -> Result<Vec<Propagator>, SetupError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_lowercase().as_str() {
            "tracecontext" => out.push(Propagator::TraceContext),
            "baggage" => out.push(Propagator::Baggage),
            "none" => return Ok(Vec::new()),
            _ => return Err(SetupError::UnknownPropagator(name.to_owned())),
        }
    }
    Ok(out)
}

fn validate_sampler(name: &str, arg: Option<&str>) -> Result<(), SetupError> {
    let name = name.trim();
    let needs_ratio = match name {
        "always_on" | "always_off" | "parentbased_always_on" | "parentbased_always_off" => false,
        "traceidratio" | "parentbased_traceidratio" => true,
        _ => return Err(SetupError::UnknownSampler(name.to_owned())),
    };
    if let (true, Some(arg)) = (needs_ratio, arg) {
        match arg.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => {}
            _ => return Err(SetupError::InvalidSamplerArg(arg.to_owned())),
        }
    }
    Ok(())
}

fn validate_endpoint(source_name: &'static str, endpoint: &str) -> Result<(), SetupError> {
    let invalid = |reason| SetupError::InvalidEndpoint {
        endpoint: endpoint.to_owned(),
        source_name,
        reason,
    };
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| invalid("expected a URL starting with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid("missing host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(invalid("the port is not a number from 0 to 65535"));
    }
    Ok(())
}

struct Plan {
    traces: ExporterKind,
    metrics: ExporterKind,
    propagators: Vec<Propagator>,
    sampler_from_env: bool,
    /// Longest string attribute value, in characters.
    value_length_limit: Option<usize>,
    tail_sampling: Option<TailSampling>,
    /// The batch processor's settings.
    batch: BatchSettings,
    /// An endpoint variable applies to traces: the one from code must not override it.
    /// (Endpoints matter only where OTLP export is compiled in.)
    #[cfg(feature = "otlp")]
    traces_endpoint_from_env: bool,
    /// Likewise for metrics.
    #[cfg(feature = "otlp")]
    metrics_endpoint_from_env: bool,
}

impl Plan {
    fn install(self, setup: Setup, env: &Env) -> Result<TelemetryGuard, SetupError> {
        let resource = build_resource(&setup, env);
        #[cfg(feature = "otlp")]
        let runtime = if self.traces == ExporterKind::Otlp || self.metrics == ExporterKind::Otlp {
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

        let meter_provider = {
            let mut builder = SdkMeterProvider::builder().with_resource(resource.clone());
            match self.metrics {
                ExporterKind::None => {}
                ExporterKind::Console => {
                    builder = builder.with_reader(periodic_reader(
                        crate::console::MetricsTableExporter::stdout(),
                        setup.metric_interval,
                    ));
                }
                #[cfg(feature = "otlp")]
                ExporterKind::Otlp => {
                    let _entered = runtime.as_ref().map(|rt| rt.enter());
                    let mut exporter = opentelemetry_otlp::MetricExporter::builder().with_tonic();
                    if let (Some(endpoint), false) =
                        (&setup.otlp_endpoint, self.metrics_endpoint_from_env)
                    {
                        use opentelemetry_otlp::WithExportConfig;
                        exporter = exporter.with_endpoint(endpoint.clone());
                    }
                    let exporter = exporter
                        .build()
                        .map_err(|e| SetupError::Exporter(e.to_string()))?;
                    builder = builder.with_reader(periodic_reader(exporter, setup.metric_interval));
                }
                #[cfg(not(feature = "otlp"))]
                ExporterKind::Otlp => return Err(SetupError::OtlpDisabled("metrics")),
            }
            builder.build()
        };
        let meter = opentelemetry::metrics::MeterProvider::meter_with_scope(
            &meter_provider,
            crate::telemetry::scope(),
        );

        // Every exporter is built before anything is installed, so an error installs nothing.
        let mut tracer_builder = SdkTracerProvider::builder().with_resource(resource);
        if let (Some(sampler), false) = (setup.sampler.clone(), self.sampler_from_env) {
            tracer_builder = tracer_builder.with_sampler(sampler);
        }
        let policy = setup.redaction.clone();
        let processor = match self.traces {
            ExporterKind::None => None,
            ExporterKind::Console => Some(span_pipeline(
                crate::console::WaterfallExporter::stdout(),
                SpanPipeline {
                    policy,
                    value_length_limit: self.value_length_limit,
                    tail_sampling: self.tail_sampling.clone(),
                    batch: self.batch,
                    meter: Some(&meter),
                },
            )),
            #[cfg(feature = "otlp")]
            ExporterKind::Otlp => {
                let _entered = runtime.as_ref().map(|rt| rt.enter());
                let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
                if let (Some(endpoint), false) =
                    (&setup.otlp_endpoint, self.traces_endpoint_from_env)
                {
                    use opentelemetry_otlp::WithExportConfig;
                    builder = builder.with_endpoint(endpoint.clone());
                }
                let exporter = builder
                    .build()
                    .map_err(|e| SetupError::Exporter(e.to_string()))?;
                Some(span_pipeline(
                    exporter,
                    SpanPipeline {
                        policy,
                        value_length_limit: self.value_length_limit,
                        tail_sampling: self.tail_sampling.clone(),
                        batch: self.batch,
                        meter: Some(&meter),
                    },
                ))
            }
            #[cfg(not(feature = "otlp"))]
            ExporterKind::Otlp => return Err(SetupError::OtlpDisabled("traces")),
        };
        let delivery = processor
            .as_ref()
            .map(BatchProcessor::delivery)
            .unwrap_or_default();
        if let Some(processor) = processor {
            tracer_builder = tracer_builder.with_span_processor(processor);
        }
        let tracer_provider = tracer_builder.build();

        opentelemetry::global::set_tracer_provider(tracer_provider.clone());
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        let propagators: Vec<Box<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>> =
            self.propagators
                .iter()
                .map(|p| match p {
                    Propagator::TraceContext => Box::new(TraceContextPropagator::new()) as Box<_>,
                    Propagator::Baggage => Box::new(BaggagePropagator::new()) as Box<_>,
                })
                .collect();
        opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(
            propagators,
        ));
        Telemetry::from_tracer_provider(&tracer_provider)
            .with_meter(&meter)
            .ok_on_success(setup.ok_on_success)
            .install();

        Ok(TelemetryGuard {
            providers: Some((tracer_provider, meter_provider)),
            delivery,
            #[cfg(feature = "otlp")]
            runtime,
        })
    }
}

fn build_resource(setup: &Setup, env: &Env) -> Resource {
    let mut attributes: Vec<KeyValue> = Vec::new();
    if let Some(version) = &setup.service_version {
        attributes.push(KeyValue::new(
            crate::conventions::standard::SERVICE_VERSION,
            version.clone(),
        ));
    }
    if let Some(domain) = &setup.domain {
        attributes.push(KeyValue::new(resource::SERVICE_DOMAIN, domain.clone()));
    }
    attributes.extend(setup.attributes.iter().cloned());
    // Precedence, lowest first: code, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME. The SDK's
    // own service-name detector is not used: it would replace the name from code with
    // `unknown_service` whenever OTEL_SERVICE_NAME is absent.
    let mut builder = Resource::builder_empty()
        .with_service_name(setup.service_name.clone())
        .with_attributes(attributes)
        .with_detectors(&[
            Box::new(opentelemetry_sdk::resource::TelemetryResourceDetector),
            Box::new(opentelemetry_sdk::resource::EnvResourceDetector::new()),
        ]);
    if let Some(name) = env
        .get("OTEL_SERVICE_NAME")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        builder = builder.with_service_name(name.to_owned());
    }
    // Redacted once, whole (attributes from code and from OTEL_RESOURCE_ATTRIBUTES),
    // for the meter provider too: its exporters are not behind a RedactingExporter.
    setup.redaction.redact_resource(&builder.build())
}

/// A periodic metric reader; without an interval from code the SDK's default (or
/// `OTEL_METRIC_EXPORT_INTERVAL`) applies.
fn periodic_reader<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(
    exporter: E,
    interval: Option<Duration>,
) -> PeriodicReader<E> {
    let reader = PeriodicReader::builder(exporter);
    match interval {
        Some(interval) => reader.with_interval(interval),
        None => reader,
    }
    .build()
}

/// The production span pipeline: our [`BatchProcessor`] over (tail sampling and) the
/// redaction exporter wrapping `exporter`, so both run on the export thread, and a
/// counting stage innermost, so [`Delivery`] counts what really left. The test kit
/// builds the same one.
/// The settings of [`span_pipeline`].
pub(crate) struct SpanPipeline<'m> {
    pub(crate) policy: RedactionPolicy,
    pub(crate) value_length_limit: Option<usize>,
    pub(crate) tail_sampling: Option<TailSampling>,
    pub(crate) batch: BatchSettings,
    pub(crate) meter: Option<&'m opentelemetry::metrics::Meter>,
}

pub(crate) fn span_pipeline<E: SpanExporter + 'static>(
    exporter: E,
    settings: SpanPipeline<'_>,
) -> BatchProcessor {
    let SpanPipeline {
        policy,
        value_length_limit,
        tail_sampling,
        batch,
        meter,
    } = settings;
    let delivery = Delivery::default();
    let counted = CountingExporter::new(exporter, delivery.clone());
    let mut exporter =
        RedactingExporter::new(counted, policy).with_value_length_limit(value_length_limit);
    if let Some(meter) = meter {
        exporter = exporter.with_meter(meter);
        delivery.register_metrics(meter);
    }
    fn batched<E: SpanExporter + 'static>(
        chain: E,
        batch: BatchSettings,
        delivery: Delivery,
    ) -> BatchProcessor {
        BatchProcessor::builder(chain)
            .queue_size(batch.queue_size)
            .batch_size(batch.batch_size)
            .interval(batch.interval)
            .max_concurrent_exports(batch.concurrent_exports)
            .export_timeout(batch.export_timeout)
            .counted_by_chain(delivery)
            .build()
    }
    match tail_sampling {
        // Before redaction: dropped traces are never scanned.
        Some(rules) => {
            let mut sampler =
                TailSamplingExporter::new(exporter, rules).with_delivery(delivery.clone());
            if let Some(meter) = meter {
                sampler = sampler.with_meter(meter);
            }
            batched(sampler, batch, delivery)
        }
        None => batched(exporter, batch, delivery),
    }
}

/// The batch processor's settings: code, then `OTEL_BSP_*` variables (which win).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    pub(crate) interval: Duration,
    pub(crate) concurrent_exports: usize,
    pub(crate) export_timeout: Duration,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            queue_size: DEFAULT_SPAN_QUEUE_SIZE,
            batch_size: crate::batch::DEFAULT_BATCH_SIZE,
            interval: crate::batch::DEFAULT_INTERVAL,
            concurrent_exports: crate::batch::DEFAULT_MAX_CONCURRENT_EXPORTS,
            export_timeout: crate::batch::DEFAULT_EXPORT_TIMEOUT,
        }
    }
}

impl BatchSettings {
    fn from_env(queue_size: Option<usize>, env: &Env) -> Result<Self, SetupError> {
        let number = |variable: &'static str| -> Result<Option<u64>, SetupError> {
            env.get(variable)
                .map(|value| {
                    value
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| SetupError::InvalidBatchSetting {
                            variable,
                            value: value.to_owned(),
                        })
                })
                .transpose()
        };
        let mut settings = BatchSettings::default();
        if let Some(spans) = queue_size {
            settings.queue_size = spans.max(1);
        }
        if let Some(spans) = number("OTEL_BSP_MAX_QUEUE_SIZE")? {
            settings.queue_size = usize::try_from(spans).unwrap_or(usize::MAX);
        }
        if let Some(spans) = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            settings.batch_size = usize::try_from(spans).unwrap_or(usize::MAX);
        }
        if let Some(millis) = number("OTEL_BSP_SCHEDULE_DELAY")? {
            settings.interval = Duration::from_millis(millis);
        }
        if let Some(millis) = number("OTEL_BSP_EXPORT_TIMEOUT")? {
            settings.export_timeout = Duration::from_millis(millis);
        }
        if let Some(exports) = number("OTEL_BSP_MAX_CONCURRENT_EXPORTS")? {
            settings.concurrent_exports = usize::try_from(exports).unwrap_or(usize::MAX);
        }
        Ok(settings)
    }
}

/// Keeps telemetry running; dropping it flushes and shuts the providers down (from a
/// plain thread, so it cannot deadlock an async runtime).
#[must_use = "dropping the guard shuts telemetry down at once"]
pub struct TelemetryGuard {
    providers: Option<(SdkTracerProvider, SdkMeterProvider)>,
    delivery: Delivery,
    #[cfg(feature = "otlp")]
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard")
            .field("enabled", &self.providers.is_some())
            .finish()
    }
}

impl TelemetryGuard {
    fn disabled() -> Self {
        TelemetryGuard {
            providers: None,
            delivery: Delivery::default(),
            #[cfg(feature = "otlp")]
            runtime: None,
        }
    }

    /// Whether telemetry is installed (`false` with `OTEL_SDK_DISABLED=true`).
    pub fn is_enabled(&self) -> bool {
        self.providers.is_some()
    }

    /// The tracer provider, e.g. for a `tracing-opentelemetry` layer.
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        self.providers.as_ref().map(|(t, _)| t)
    }

    /// What became of the spans finished so far: exported, sampled out, dropped by
    /// reason, in flight. See [`Delivery`]; the same figures are exported as the
    /// `otel.sdk.*` self-metrics.
    ///
    /// ```
    /// let guard = booking_otel::setup::Setup::new("booking-service")
    ///     .traces_exporter(booking_otel::setup::ExporterKind::None)
    ///     .install()
    ///     .unwrap();
    /// assert_eq!(guard.delivery().counts().dropped.total(), 0);
    /// ```
    pub fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        self.providers.as_ref().map(|(_, m)| m)
    }

    /// Exports everything recorded so far. Blocks the calling thread on a plain thread
    /// of its own, never on an async runtime's.
    pub fn flush(&self) {
        if let Some((traces, metrics)) = self.providers.clone() {
            off_runtime(move || {
                let _ = traces.force_flush();
                let _ = metrics.force_flush();
            });
        }
    }

    /// Flushes and shuts down (also done on drop).
    pub fn shutdown(mut self) {
        self.shutdown_inner();
    }

    fn shutdown_inner(&mut self) {
        if let Some((traces, metrics)) = self.providers.take() {
            Telemetry::uninstall();
            off_runtime(move || {
                let _ = traces.shutdown();
                let _ = metrics.shutdown();
            });
            INSTALLED.store(false, Ordering::Release);
        }
        #[cfg(feature = "otlp")]
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The batch span queue `setup` installs (the SDK's default is 2,048): a burst of
/// 10,000 concurrent five-step bookings (50,000 spans) fits whole, where the SDK's
/// default drops most of it (measured: `tests/burst.rs`). At about 600 bytes per span
/// the queue holds at most ~40 MB; it is empty in steady state.
pub const DEFAULT_SPAN_QUEUE_SIZE: usize = crate::batch::DEFAULT_QUEUE_SIZE;

/// Whether a [`TelemetryGuard`] with installed providers is alive.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Runs blocking telemetry work on a fresh thread and waits for it, so that blocking
/// never happens on a runtime's worker (where the exporter may need that very thread).
fn off_runtime(work: impl FnOnce() + Send + 'static) {
    // With no thread to spare, skip the flush rather than risk a deadlock.
    if let Ok(handle) = std::thread::Builder::new()
        .name("booking-otel-shutdown".into())
        .spawn(work)
    {
        let _ = handle.join();
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_inner();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
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
    fn disabled_sdk_installs_nothing() {
        let guard = Setup::new("x")
            .install_with_env(&env(&[("OTEL_SDK_DISABLED", "true")]))
            .unwrap();
        assert!(!guard.is_enabled());
    }
}
