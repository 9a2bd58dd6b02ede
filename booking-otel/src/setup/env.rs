//! Reading the configuration: the environment snapshot, the checks, and the [`Plan`]
//! that [`Setup::install`](super::Setup::install) carries out (nothing here installs
//! anything).

use std::env;

use super::{ExporterKind, Protocol, Setup, SetupError, Signal};
use crate::logs::{EXCEPTION_SIGNAL_VARIABLE, ExceptionSignal};
use crate::tail_sampling::TailSampling;

/// A snapshot of the process environment (tests substitute their own).
#[derive(Debug, Default, Clone)]
pub(super) struct Env(pub(super) Vec<(String, String)>);

impl Env {
    pub(super) fn read() -> Self {
        Env(env::vars()
            .filter(|(k, _)| k.starts_with("OTEL_") || k.starts_with("BOOKING_OTEL_"))
            .collect())
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Propagator {
    TraceContext,
    Baggage,
}

/// What `install` does: every choice made, every value checked. (Protocols and
/// endpoints matter only where an OTLP transport is compiled in.)
#[cfg_attr(not(any(feature = "otlp", feature = "otlp-http")), allow(dead_code))]
pub(super) struct Plan {
    pub(super) traces: ExporterKind,
    pub(super) metrics: ExporterKind,
    pub(super) logs: ExporterKind,
    /// The OTLP transport of each signal (meaningful where its exporter is OTLP).
    pub(super) traces_protocol: Protocol,
    pub(super) metrics_protocol: Protocol,
    pub(super) logs_protocol: Protocol,
    pub(super) propagators: Vec<Propagator>,
    pub(super) sampler_from_env: bool,
    /// Longest string attribute value of a span, in characters.
    pub(super) value_length_limit: Option<usize>,
    /// Longest string attribute value of a log record, in characters.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(super) log_value_length_limit: Option<usize>,
    pub(super) tail_sampling: Option<TailSampling>,
    /// The batch queue's size, unless `OTEL_BSP_MAX_QUEUE_SIZE` sets it.
    /// The span batch processor's settings.
    pub(super) batch: super::pipeline::BatchSettings,
    /// The log batch processor's settings.
    #[cfg_attr(not(feature = "logs"), allow(dead_code))]
    pub(super) log_batch: super::pipeline::BatchSettings,
    /// An endpoint variable applies to traces: the one from code must not override it.
    pub(super) traces_endpoint_from_env: bool,
    /// Likewise for metrics.
    pub(super) metrics_endpoint_from_env: bool,
    /// Likewise for logs.
    pub(super) logs_endpoint_from_env: bool,
    pub(super) exception_signal: ExceptionSignal,
}

#[cfg_attr(not(any(feature = "otlp", feature = "otlp-http")), allow(dead_code))]
impl Plan {
    /// Whether any signal exports over OTLP (and so needs the export runtime).
    pub(super) fn any_otlp(&self) -> bool {
        [self.traces, self.metrics, self.logs].contains(&ExporterKind::Otlp)
    }

    /// The per-signal settings of `signal`: exporter, protocol, endpoint from the
    /// environment.
    pub(super) fn signal(&self, signal: Signal) -> (ExporterKind, Protocol, bool) {
        match signal {
            Signal::Traces => (
                self.traces,
                self.traces_protocol,
                self.traces_endpoint_from_env,
            ),
            Signal::Metrics => (
                self.metrics,
                self.metrics_protocol,
                self.metrics_endpoint_from_env,
            ),
            Signal::Logs => (self.logs, self.logs_protocol, self.logs_endpoint_from_env),
        }
    }
}

impl Setup {
    /// Validates the configuration against `env` without installing anything.
    pub(super) fn plan(&self, env: &Env) -> Result<Plan, SetupError> {
        validate_numbers(env)?;
        if let Some(attributes) = env.get("OTEL_RESOURCE_ATTRIBUTES") {
            validate_resource_attributes(attributes)?;
        }
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
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
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
        let otlp_compiled = cfg!(any(feature = "otlp", feature = "otlp-http"));
        let default_kind = if endpoint_configured && otlp_compiled {
            ExporterKind::Otlp
        } else {
            ExporterKind::Console
        };
        let exporter =
            |variable: &'static str, from_code: Option<ExporterKind>| match env.get(variable) {
                Some(v) => ExporterKind::parse(variable, v),
                None => Ok(from_code.unwrap_or(default_kind)),
            };
        let traces = exporter("OTEL_TRACES_EXPORTER", self.traces_exporter)?;
        let metrics = exporter("OTEL_METRICS_EXPORTER", self.metrics_exporter)?;
        let logs = if cfg!(feature = "logs") {
            exporter("OTEL_LOGS_EXPORTER", self.logs_exporter)?
        } else {
            // Without the feature there is no logger provider to install; a value is
            // still checked, so a typo is not silently ignored.
            if let Some(v) = env.get("OTEL_LOGS_EXPORTER") {
                ExporterKind::parse("OTEL_LOGS_EXPORTER", v)?;
            }
            ExporterKind::None
        };
        if !otlp_compiled && (traces == ExporterKind::Otlp || metrics == ExporterKind::Otlp) {
            return Err(SetupError::OtlpDisabled(
                "traces or metrics exporter = otlp",
            ));
        }
        let protocol = |variable: &'static str| -> Result<Option<Protocol>, SetupError> {
            env.get(variable)
                .map(|value| Protocol::parse(variable, value))
                .transpose()
        };
        let general = protocol("OTEL_EXPORTER_OTLP_PROTOCOL")?
            .or(self.otlp_protocol)
            .unwrap_or_else(Protocol::compiled_default);
        let mut protocols = [general; 3];
        for (signal, variable) in [
            (Signal::Traces, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
            (Signal::Metrics, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
            (Signal::Logs, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"),
        ] {
            if let Some(chosen) = protocol(variable)? {
                protocols[signal as usize] = chosen;
            }
        }
        for (signal, kind) in [
            (Signal::Traces, traces),
            (Signal::Metrics, metrics),
            (Signal::Logs, logs),
        ] {
            let protocol = protocols[signal as usize];
            if kind == ExporterKind::Otlp && !protocol.is_compiled() {
                return Err(SetupError::ProtocolDisabled {
                    signal: signal.as_str(),
                    protocol: protocol.as_str(),
                    feature: protocol.feature(),
                });
            }
        }
        let limit = |variable: &'static str| -> Result<Option<usize>, SetupError> {
            env.get(variable)
                .map(|value| {
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| SetupError::InvalidLimit {
                            variable,
                            value: value.to_owned(),
                        })
                })
                .transpose()
        };
        // The signal-specific variables win over the general one, which wins over code.
        let general_limit =
            limit("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")?.or(self.attribute_value_length_limit);
        let value_length_limit = limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT")?.or(general_limit);
        let log_value_length_limit =
            limit("OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT")?.or(general_limit);
        let batch = super::pipeline::batch_settings(
            &super::pipeline::SPAN_BATCH,
            self.span_queue_size,
            env,
        )?;
        let log_batch = super::pipeline::batch_settings(&super::pipeline::LOG_BATCH, None, env)?;
        let tail_sampling = match env.get("BOOKING_OTEL_TAIL_SAMPLING") {
            Some(rules) => TailSampling::parse(rules)?,
            None => self.tail_sampling.clone(),
        };
        let propagators = match env.get("OTEL_PROPAGATORS") {
            Some(list) => parse_propagators(list)?,
            None => vec![Propagator::TraceContext, Propagator::Baggage],
        };
        let exception_signal = match env.get(EXCEPTION_SIGNAL_VARIABLE) {
            Some(value) => ExceptionSignal::parse(value),
            None => self.exception_signal.unwrap_or_default(),
        };
        let endpoint_from_env = |signal_variable: &str| {
            env.get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() || env.get(signal_variable).is_some()
        };
        Ok(Plan {
            traces,
            metrics,
            logs,
            traces_protocol: protocols[Signal::Traces as usize],
            metrics_protocol: protocols[Signal::Metrics as usize],
            logs_protocol: protocols[Signal::Logs as usize],
            propagators,
            sampler_from_env,
            value_length_limit,
            log_value_length_limit,
            tail_sampling,
            batch,
            log_batch,
            traces_endpoint_from_env: endpoint_from_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            metrics_endpoint_from_env: endpoint_from_env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            logs_endpoint_from_env: endpoint_from_env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
            exception_signal,
        })
    }
}

pub(super) fn parse_propagators(list: &str) -> Result<Vec<Propagator>, SetupError> {
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

pub(super) fn validate_sampler(name: &str, arg: Option<&str>) -> Result<(), SetupError> {
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

pub(super) fn validate_endpoint(
    source_name: &'static str,
    endpoint: &str,
) -> Result<(), SetupError> {
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

/// Numeric variables the SDK or the exporters read: an unparsable value is an error here
/// rather than silently the default there.
fn validate_numbers(env: &Env) -> Result<(), SetupError> {
    const WHOLE: &[&str] = &[
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
        "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_SPAN_EVENT_COUNT_LIMIT",
        "OTEL_SPAN_LINK_COUNT_LIMIT",
        "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
        "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT",
    ];
    const POSITIVE: &[&str] = &["OTEL_METRIC_EXPORT_INTERVAL"];
    for (variables, positive) in [(WHOLE, false), (POSITIVE, true)] {
        for &variable in variables {
            if let Some(value) = env.get(variable)
                && !value
                    .trim()
                    .parse::<u64>()
                    .is_ok_and(|n| !positive || n > 0)
            {
                return Err(SetupError::InvalidNumber {
                    positive,
                    variable,
                    value: value.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// `key=value` pairs separated by commas (values percent-encoded), per the spec; the
/// SDK would skip a malformed pair silently.
fn validate_resource_attributes(attributes: &str) -> Result<(), SetupError> {
    let error = |reason| SetupError::InvalidResourceAttributes {
        value: attributes.to_owned(),
        reason,
    };
    for pair in attributes.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((key, _)) = pair.split_once('=') else {
            return Err(error("a pair has no `=` (expected key=value,key2=value2)"));
        };
        if key.trim().is_empty() {
            return Err(error("a pair has an empty key"));
        }
    }
    Ok(())
}
