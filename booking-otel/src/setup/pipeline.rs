//! Pipeline construction: what sits between a provider and its exporter, for each
//! signal, and the console exporter of each signal (the one place to change it).

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SpanExporter};

use super::Setup;
use super::env::Env;
use crate::conventions::resource;
use crate::redaction::{RedactingExporter, RedactionPolicy};
use crate::tail_sampling::{TailSampling, TailSamplingExporter};

/// The console span exporter (`OTEL_TRACES_EXPORTER=console`, or no endpoint).
pub(super) fn console_span_exporter() -> impl SpanExporter + 'static {
    opentelemetry_stdout::SpanExporter::default()
}

/// The console metric exporter (`OTEL_METRICS_EXPORTER=console`, or no endpoint).
pub(super) fn console_metric_exporter()
-> impl opentelemetry_sdk::metrics::exporter::PushMetricExporter + 'static {
    opentelemetry_stdout::MetricExporter::default()
}

/// The console log exporter (`OTEL_LOGS_EXPORTER=console`, or no endpoint): one line per
/// record.
#[cfg(feature = "logs")]
pub(super) fn console_log_exporter() -> impl opentelemetry_sdk::logs::LogExporter + 'static {
    crate::logs::ConsoleLogExporter::default()
}

pub(super) fn build_resource(setup: &Setup, env: &Env) -> Resource {
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
pub(super) fn periodic_reader<E: opentelemetry_sdk::metrics::exporter::PushMetricExporter>(
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

/// The settings of [`span_pipeline`].
pub(crate) struct SpanPipeline<'m> {
    pub(crate) policy: RedactionPolicy,
    pub(crate) value_length_limit: Option<usize>,
    pub(crate) tail_sampling: Option<TailSampling>,
    /// `None`: the SDK's own (or `OTEL_BSP_MAX_QUEUE_SIZE`).
    pub(crate) queue_size: Option<usize>,
    pub(crate) meter: Option<&'m opentelemetry::metrics::Meter>,
}

/// The production span pipeline: a batch processor over the redaction exporter wrapping
/// `exporter` (and tail sampling before it, when asked), so redaction runs on the export
/// thread. The test kit builds the same one.
pub(crate) fn span_pipeline<E: SpanExporter + 'static>(
    exporter: E,
    settings: SpanPipeline<'_>,
) -> BatchSpanProcessor {
    let SpanPipeline {
        policy,
        value_length_limit,
        tail_sampling,
        queue_size,
        meter,
    } = settings;
    let mut config = BatchConfigBuilder::default();
    if let Some(queue_size) = queue_size {
        config = config.with_max_queue_size(queue_size);
    }
    let config = config.build();
    let mut exporter =
        RedactingExporter::new(exporter, policy).with_value_length_limit(value_length_limit);
    if let Some(meter) = meter {
        exporter = exporter.with_meter(meter);
    }
    match tail_sampling {
        // Before redaction: dropped traces are never scanned.
        Some(rules) => {
            let mut sampler = TailSamplingExporter::new(exporter, rules);
            if let Some(meter) = meter {
                sampler = sampler.with_meter(meter);
            }
            BatchSpanProcessor::builder(sampler)
                .with_batch_config(config)
                .build()
        }
        None => BatchSpanProcessor::builder(exporter)
            .with_batch_config(config)
            .build(),
    }
}

/// The settings of [`log_pipeline`].
#[cfg(feature = "logs")]
pub(crate) struct LogPipeline<'m> {
    pub(crate) policy: RedactionPolicy,
    pub(crate) value_length_limit: Option<usize>,
    pub(crate) meter: Option<&'m opentelemetry::metrics::Meter>,
}

/// The production log pipeline: a batch log processor (the SDK's settings, or
/// `OTEL_BLRP_*`) over the redaction exporter wrapping `exporter`, so redaction runs on
/// the export thread, as for spans. The test kit builds the same one.
#[cfg(feature = "logs")]
pub(crate) fn log_pipeline<E: opentelemetry_sdk::logs::LogExporter + 'static>(
    exporter: E,
    settings: LogPipeline<'_>,
) -> opentelemetry_sdk::logs::BatchLogProcessor {
    let LogPipeline {
        policy,
        value_length_limit,
        meter,
    } = settings;
    let mut exporter = crate::redaction::RedactingLogExporter::new(exporter, policy)
        .with_value_length_limit(value_length_limit);
    if let Some(meter) = meter {
        exporter = exporter.with_meter(meter);
    }
    opentelemetry_sdk::logs::BatchLogProcessor::builder(exporter).build()
}
