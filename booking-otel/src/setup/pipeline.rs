//! Pipeline construction: what sits between a provider and its exporter, for each
//! signal, and the console exporter of each signal (the one place to change it).

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::PeriodicReader;
use opentelemetry_sdk::trace::SpanExporter;

use super::env::Env;
use super::{Setup, SetupError};
use crate::batch::{BatchProcessor, CountingExporter};
use crate::conventions::resource;
use crate::delivery::Delivery;
use crate::redaction::{RedactingExporter, RedactionPolicy};
use crate::tail_sampling::{TailSampling, TailSamplingExporter};

/// The console span exporter (`OTEL_TRACES_EXPORTER=console`, or no endpoint).
pub(super) fn console_span_exporter() -> impl SpanExporter + 'static {
    crate::console::WaterfallExporter::stdout()
}

/// The console metric exporter (`OTEL_METRICS_EXPORTER=console`, or no endpoint).
pub(super) fn console_metric_exporter()
-> impl opentelemetry_sdk::metrics::exporter::PushMetricExporter + 'static {
    crate::console::MetricsTableExporter::stdout()
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
    pub(crate) batch: BatchSettings,
    pub(crate) meter: Option<&'m opentelemetry::metrics::Meter>,
}

/// The production span pipeline: our [`BatchProcessor`] over (tail sampling and) the
/// redaction exporter wrapping `exporter`, so both run on the export thread, and a
/// counting stage innermost, so [`Delivery`] counts what really left. The test kit
/// builds the same one.
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
            .settings(batch)
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

/// The batch processors' settings.
pub(crate) type BatchSettings = crate::batch::QueueSettings;

/// The variables that set a batch processor, for spans and for log records.
pub(super) struct BatchVariables {
    queue_size: &'static str,
    batch_size: &'static str,
    interval: &'static str,
    export_timeout: &'static str,
    concurrent_exports: &'static str,
}

/// `OTEL_BSP_*`: the span batch processor.
pub(super) const SPAN_BATCH: BatchVariables = BatchVariables {
    queue_size: "OTEL_BSP_MAX_QUEUE_SIZE",
    batch_size: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    interval: "OTEL_BSP_SCHEDULE_DELAY",
    export_timeout: "OTEL_BSP_EXPORT_TIMEOUT",
    concurrent_exports: "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
};

/// `OTEL_BLRP_*`: the log record batch processor.
pub(super) const LOG_BATCH: BatchVariables = BatchVariables {
    queue_size: "OTEL_BLRP_MAX_QUEUE_SIZE",
    batch_size: "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    interval: "OTEL_BLRP_SCHEDULE_DELAY",
    export_timeout: "OTEL_BLRP_EXPORT_TIMEOUT",
    concurrent_exports: "OTEL_BLRP_MAX_CONCURRENT_EXPORTS",
};

/// The settings of a batch processor: the defaults, `queue_size` from code, then the
/// `variables` (which win). A value that is not a positive whole number is an error.
pub(super) fn batch_settings(
    variables: &BatchVariables,
    queue_size: Option<usize>,
    env: &Env,
) -> Result<BatchSettings, SetupError> {
    let number = |variable: &'static str| -> Result<Option<u64>, SetupError> {
        env.get(variable)
            .map(|value| {
                value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| SetupError::InvalidNumber {
                        positive: true,
                        variable,
                        value: value.to_owned(),
                    })
            })
            .transpose()
    };
    let mut settings = BatchSettings::default();
    if let Some(items) = queue_size {
        settings.queue_size = items.max(1);
    }
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if let Some(items) = number(variables.queue_size)? {
        settings.queue_size = size(items);
    }
    if let Some(items) = number(variables.batch_size)? {
        settings.batch_size = size(items);
    }
    if let Some(millis) = number(variables.interval)? {
        settings.interval = Duration::from_millis(millis);
    }
    if let Some(millis) = number(variables.export_timeout)? {
        settings.export_timeout = Duration::from_millis(millis);
    }
    if let Some(exports) = number(variables.concurrent_exports)? {
        settings.max_concurrent_exports = size(exports);
    }
    Ok(settings)
}

/// The settings of [`log_pipeline`].
#[cfg(feature = "logs")]
pub(crate) struct LogPipeline<'m> {
    pub(crate) policy: RedactionPolicy,
    pub(crate) value_length_limit: Option<usize>,
    pub(crate) batch: BatchSettings,
    pub(crate) meter: Option<&'m opentelemetry::metrics::Meter>,
}

/// The production log pipeline: our batch processor (the span pipeline's queue and
/// accounts, settings from `OTEL_BLRP_*`) over the redaction exporter wrapping
/// `exporter`, so redaction runs on the export thread, as for spans, and a counting stage
/// innermost. The test kit builds the same one.
#[cfg(feature = "logs")]
pub(crate) fn log_pipeline<E: opentelemetry_sdk::logs::LogExporter + 'static>(
    exporter: E,
    settings: LogPipeline<'_>,
) -> crate::batch::BatchLogProcessor {
    let LogPipeline {
        policy,
        value_length_limit,
        batch,
        meter,
    } = settings;
    let delivery = Delivery::new(crate::delivery::Signal::Logs);
    let counted = crate::batch::CountingLogExporter::new(exporter, delivery.clone());
    let mut exporter = crate::redaction::RedactingLogExporter::new(counted, policy)
        .with_value_length_limit(value_length_limit);
    if let Some(meter) = meter {
        exporter = exporter.with_meter(meter);
        delivery.register_metrics(meter);
    }
    crate::batch::BatchLogProcessor::start(exporter, batch, delivery)
}
