//! A test kit for your own booking instrumentation (feature `testing`).
//!
//! [`TestTelemetry::install`] captures the spans, metrics and (feature `logs`) log
//! records your code exports, through the same pipelines [`setup`](crate::setup) uses in
//! production (the redaction guard included), so a test sees exactly what a collector
//! would.
//!
//! ```
//! use booking_otel::{Step, conventions::attribute, testing::{SpanDataExt, TestTelemetry}};
//!
//! let telemetry = TestTelemetry::install();
//! Step::new("booking.create").run(|| {
//!     Step::new("booking.check_availability")
//!         .attributes(|a| { a.set(attribute::BOOKING_GUESTS, 2); })
//!         .run(|| Some(3))
//! });
//!
//! let spans = telemetry.spans();
//! let create = telemetry.span("booking.create");
//! let check = telemetry.span("booking.check_availability");
//! assert_eq!(check.parent_span_id, create.span_context.span_id());
//! assert_eq!(check.attribute(attribute::BOOKING_GUESTS), Some(&2_i64.into()));
//! assert_eq!(spans.len(), 2);
//! ```
//!
//! # Isolation
//!
//! Tests in one process share one tracer provider; each handle sees only the traces
//! started in its context: `install` makes a marker current on the test's thread, and
//! every span whose trace began under that marker belongs to the handle. Work on other
//! threads belongs to it when it carries the context, which it must anyway to stay in
//! the trace (`propagation::in_current_trace` for spawned tasks). Each handle has its
//! own meter provider, so metric assertions are exact even with tests in parallel.
//!
//! The handle holds a context guard: keep it on the test's thread and drop handles in
//! reverse order of installation.
//!
//! # Logs
//!
//! With the `logs` feature each handle has its own logger provider too: log records
//! emitted in the test's context (exceptions as logs, `tracing` events through
//! [`logs::layer`](crate::logs::layer)) are its own, and a record emitted where the
//! test's context is missing but inside one of its traces is found by trace id, as for
//! spans. `tracing` events need a subscriber with the layer: [`capture_tracing_events`]
//! sets one for the test binary when none is set.
//!
//! ```
//! # #[cfg(feature = "logs")] {
//! use booking_otel::Step;
//! use booking_otel::testing::{LogRecordExt, TestTelemetry, capture_tracing_events};
//!
//! capture_tracing_events();
//! let telemetry = TestTelemetry::install();
//! Step::new("booking.confirm").run(|| tracing::warn!("card 4111 1111 1111 1111 declined"));
//! let confirm = telemetry.span("booking.confirm");
//! let logs = telemetry.logs_of(&confirm);
//! assert_eq!(logs[0].body_text().unwrap(), "card **** **** **** 1111 declined");
//! # }
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
#[cfg(feature = "logs")]
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, Span, SpanData, SpanProcessor,
};

use crate::logs::ExceptionSignal;
use crate::redaction::RedactionPolicy;
use crate::telemetry::{ScopedTelemetry, Telemetry};

/// The marker that ties traces started in a test's context to its handle.
#[derive(Debug, Clone, Copy)]
struct TestScope(u64);

/// Assigns each new trace to the handle whose marker is in the context it starts in.
#[derive(Debug, Default)]
struct Router {
    routes: Arc<Mutex<HashMap<TraceId, u64>>>,
}

impl SpanProcessor for Router {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        if let Some(scope) = cx.get::<TestScope>() {
            let trace_id = span.span_context().trace_id();
            if let Ok(mut routes) = self.routes.lock() {
                routes.entry(trace_id).or_insert(scope.0);
            }
        }
    }
    fn on_end(&self, _span: SpanData) {}
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

struct Shared {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    routes: Arc<Mutex<HashMap<TraceId, u64>>>,
    installed: Telemetry,
    /// Log records emitted outside any test's context.
    #[cfg(feature = "logs")]
    logs: LogCapture,
}

/// A logger provider with the production log pipeline over an in-memory exporter.
#[cfg(feature = "logs")]
struct LogCapture {
    exporter: opentelemetry_sdk::logs::InMemoryLogExporter,
    provider: opentelemetry_sdk::logs::SdkLoggerProvider,
}

#[cfg(feature = "logs")]
impl LogCapture {
    fn new() -> Self {
        let exporter = opentelemetry_sdk::logs::InMemoryLogExporter::default();
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder()
            .with_log_processor(crate::setup::log_pipeline(
                exporter.clone(),
                crate::setup::LogPipeline {
                    policy: RedactionPolicy::default(),
                    value_length_limit: None,
                    batch: crate::setup::BatchSettings::default(),
                    meter: None,
                },
            ))
            .build();
        LogCapture { exporter, provider }
    }

    fn records(&self) -> Vec<SdkLogRecord> {
        let _ = self.provider.force_flush();
        self.exporter
            .get_emitted_logs()
            .unwrap_or_default()
            .into_iter()
            .map(|log| log.record)
            .collect()
    }
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let router = Router::default();
        let routes = router.routes.clone();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(router)
            .with_span_processor(crate::setup::span_pipeline(
                exporter.clone(),
                crate::setup::SpanPipeline {
                    policy: RedactionPolicy::default(),
                    value_length_limit: None,
                    tail_sampling: None,
                    batch: crate::setup::BatchSettings::default(),
                    meter: None,
                },
            ))
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        let installed = Telemetry::from_tracer_provider(&provider).allowing_context_override();
        #[cfg(feature = "logs")]
        let logs = LogCapture::new();
        #[cfg(feature = "logs")]
        let installed = installed.with_logger_provider(&logs.provider);
        Shared {
            exporter,
            provider,
            routes,
            installed,
            #[cfg(feature = "logs")]
            logs,
        }
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Options for [`TestTelemetry`].
#[derive(Debug, Default, Clone)]
#[must_use = "call .install()"]
pub struct TestTelemetryBuilder {
    ok_on_success: bool,
    exceptions: Option<ExceptionSignal>,
}

impl TestTelemetryBuilder {
    /// Successful steps end with status `Ok` (as with `Setup::ok_on_success`).
    pub fn ok_on_success(mut self, enabled: bool) -> Self {
        self.ok_on_success = enabled;
        self
    }

    /// Where failed steps record exceptions (as with `Setup::exceptions_as`); default:
    /// `OTEL_SEMCONV_EXCEPTION_SIGNAL_OPT_IN`.
    pub fn exceptions_as(mut self, signal: ExceptionSignal) -> Self {
        self.exceptions = Some(signal);
        self
    }

    /// Installs the test telemetry; see [`TestTelemetry::install`].
    pub fn install(self) -> TestTelemetry {
        let shared = shared();
        // Re-install each time: another test may have installed something else.
        shared.installed.clone().install();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let metric_exporter = InMemoryMetricExporter::default();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(
                PeriodicReader::builder(metric_exporter.clone())
                    .with_interval(Duration::from_secs(3600))
                    .build(),
            )
            .build();
        let meter = meter_provider.meter_with_scope(crate::instrumentation_scope());
        let mut telemetry = Telemetry::from_tracer_provider(&shared.provider)
            .with_meter(&meter)
            .ok_on_success(self.ok_on_success);
        if let Some(signal) = self.exceptions {
            telemetry = telemetry.exceptions_as(signal);
        }
        #[cfg(feature = "logs")]
        let logs = LogCapture::new();
        #[cfg(feature = "logs")]
        let telemetry = telemetry.with_logger_provider(&logs.provider);
        let guard = Context::current()
            .with_value(TestScope(id))
            .with_value(ScopedTelemetry(telemetry.clone()))
            .attach();
        TestTelemetry {
            id,
            telemetry,
            meter,
            meter_provider,
            metric_exporter,
            #[cfg(feature = "logs")]
            logs,
            _guard: guard,
        }
    }
}

/// Captures what your code exports during one test. See the [module docs](self).
pub struct TestTelemetry {
    id: u64,
    telemetry: Telemetry,
    meter: Meter,
    meter_provider: SdkMeterProvider,
    metric_exporter: InMemoryMetricExporter,
    #[cfg(feature = "logs")]
    logs: LogCapture,
    _guard: ContextGuard,
}

impl std::fmt::Debug for TestTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTelemetry")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TestTelemetry {
    /// Installs in-memory span and metric capture for the current test.
    pub fn install() -> Self {
        Self::builder().install()
    }

    /// Options: `TestTelemetry::builder().ok_on_success(true).install()`.
    pub fn builder() -> TestTelemetryBuilder {
        TestTelemetryBuilder::default()
    }

    /// [`BookingMetrics`](crate::metrics::BookingMetrics) on this handle's meter, read
    /// back with [`counter_sum`](Self::counter_sum) and [`histogram`](Self::histogram).
    pub fn booking_metrics(&self) -> crate::metrics::BookingMetrics {
        crate::metrics::BookingMetrics::new(&self.meter)
    }

    /// The telemetry steps use in this test (spans to the capture, metrics to this
    /// handle's meter).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// This handle's meter, to build your own instruments against.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The shared tracer provider, e.g. for a `tracing-opentelemetry` layer in a test.
    pub fn tracer_provider(&self) -> SdkTracerProvider {
        shared().provider.clone()
    }

    /// Every finished span of this handle's traces, after flushing, in end order.
    pub fn spans(&self) -> Vec<SpanData> {
        let shared = shared();
        let _ = shared.provider.force_flush();
        let routes = match shared.routes.lock() {
            Ok(routes) => routes.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        shared
            .exporter
            .get_finished_spans()
            .unwrap_or_default()
            .into_iter()
            .filter(|s| routes.get(&s.span_context.trace_id()) == Some(&self.id))
            .collect()
    }

    /// The names of [`spans`](Self::spans), in end order: children before parents.
    ///
    /// ```
    /// use booking_otel::Step;
    /// use booking_otel::testing::TestTelemetry;
    ///
    /// let telemetry = TestTelemetry::install();
    /// Step::new("booking.create").run(|| Step::new("booking.confirm").run(|| ()));
    /// assert_eq!(telemetry.span_names(), ["booking.confirm", "booking.create"]);
    /// ```
    pub fn span_names(&self) -> Vec<String> {
        self.spans().iter().map(|s| s.name.to_string()).collect()
    }

    /// The one span named `name`. Panics, printing the span tree, when there is none or
    /// more than one.
    #[track_caller]
    pub fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        let mut matching = spans.iter().filter(|s| s.name == name);
        match (matching.next(), matching.next()) {
            (Some(span), None) => span.clone(),
            (None, _) => panic!("no span named {name:?}; captured:\n{}", tree(&spans)),
            (Some(_), Some(_)) => {
                panic!("several spans named {name:?}; captured:\n{}", tree(&spans))
            }
        }
    }

    /// Every log record of this test, after flushing, in the order exported: those
    /// emitted in its context, then those emitted elsewhere inside its traces.
    #[cfg(feature = "logs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
    pub fn logs(&self) -> Vec<SdkLogRecord> {
        let mut records = self.logs.records();
        let shared = shared();
        let routes = match shared.routes.lock() {
            Ok(routes) => routes.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        records.extend(shared.logs.records().into_iter().filter(|record| {
            record
                .trace_context()
                .is_some_and(|cx| routes.get(&cx.trace_id) == Some(&self.id))
        }));
        records
    }

    /// The log records emitted while `span` was the current span (its trace id and span
    /// id).
    #[cfg(feature = "logs")]
    #[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
    pub fn logs_of(&self, span: &SpanData) -> Vec<SdkLogRecord> {
        self.logs()
            .into_iter()
            .filter(|record| {
                record.trace_context().is_some_and(|cx| {
                    cx.trace_id == span.span_context.trace_id()
                        && cx.span_id == span.span_context.span_id()
                })
            })
            .collect()
    }

    /// The cumulative metrics collected so far.
    fn latest_metrics(&self) -> Option<ResourceMetrics> {
        let _ = self.meter_provider.force_flush();
        self.metric_exporter.get_finished_metrics().ok()?.pop()
    }

    /// The sum of counter (or up-down counter) `name` over the data points that carry
    /// all of `attributes`; 0 when nothing was recorded.
    pub fn counter_sum(&self, name: &str, attributes: &[KeyValue]) -> i64 {
        let mut total = 0i64;
        self.for_each_metric(name, |data| match data {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                for p in sum
                    .data_points()
                    .filter(|p| has_all(p.attributes(), attributes))
                {
                    total += i64::try_from(p.value()).unwrap_or(i64::MAX);
                }
            }
            AggregatedMetrics::I64(MetricData::Sum(sum)) => {
                for p in sum
                    .data_points()
                    .filter(|p| has_all(p.attributes(), attributes))
                {
                    total += p.value();
                }
            }
            AggregatedMetrics::F64(MetricData::Sum(sum)) => {
                for p in sum
                    .data_points()
                    .filter(|p| has_all(p.attributes(), attributes))
                {
                    total += p.value() as i64;
                }
            }
            _ => {}
        });
        total
    }

    /// The histogram `name`'s data for the points that carry all of `attributes`,
    /// merged; `None` when nothing was recorded.
    pub fn histogram(&self, name: &str, attributes: &[KeyValue]) -> Option<HistogramSnapshot> {
        let mut found: Option<HistogramSnapshot> = None;
        self.for_each_metric(name, |data| {
            if let AggregatedMetrics::F64(MetricData::Histogram(h)) = data {
                for p in h
                    .data_points()
                    .filter(|p| has_all(p.attributes(), attributes))
                {
                    let snap = found.get_or_insert_with(|| HistogramSnapshot {
                        count: 0,
                        sum: 0.0,
                        bounds: p.bounds().collect(),
                        bucket_counts: vec![0; p.bucket_counts().count()],
                        attribute_sets: Vec::new(),
                        exemplar_trace_ids: Vec::new(),
                    });
                    snap.count += p.count();
                    snap.sum += p.sum();
                    for (total, c) in snap.bucket_counts.iter_mut().zip(p.bucket_counts()) {
                        *total += c;
                    }
                    snap.attribute_sets.push(p.attributes().cloned().collect());
                    snap.exemplar_trace_ids
                        .extend(p.exemplars().map(|e| TraceId::from_bytes(*e.trace_id())));
                }
            }
        });
        found
    }

    /// The count of histogram `name` for the points that carry all of `attributes`.
    pub fn histogram_count(&self, name: &str, attributes: &[KeyValue]) -> u64 {
        self.histogram(name, attributes).map_or(0, |h| h.count)
    }

    /// Every attribute set recorded for metric `name` (to assert cardinality).
    pub fn metric_attribute_sets(&self, name: &str) -> Vec<Vec<KeyValue>> {
        let mut sets = Vec::new();
        self.for_each_metric(name, |data| {
            macro_rules! collect {
                ($points:expr) => {
                    for p in $points {
                        sets.push(p.attributes().cloned().collect());
                    }
                };
            }
            match data {
                AggregatedMetrics::U64(MetricData::Sum(s)) => collect!(s.data_points()),
                AggregatedMetrics::I64(MetricData::Sum(s)) => collect!(s.data_points()),
                AggregatedMetrics::F64(MetricData::Sum(s)) => collect!(s.data_points()),
                AggregatedMetrics::F64(MetricData::Histogram(h)) => collect!(h.data_points()),
                AggregatedMetrics::U64(MetricData::Histogram(h)) => collect!(h.data_points()),
                _ => {}
            }
        });
        sets
    }

    fn for_each_metric(&self, name: &str, mut f: impl FnMut(&AggregatedMetrics)) {
        if let Some(rm) = self.latest_metrics() {
            for sm in rm.scope_metrics() {
                for m in sm.metrics().filter(|m| m.name() == name) {
                    f(m.data());
                }
            }
        }
    }
}

/// A histogram's merged data points, from [`TestTelemetry::histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Measurements recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Bucket boundaries.
    pub bounds: Vec<f64>,
    /// Measurements per bucket (`bounds.len() + 1` buckets).
    pub bucket_counts: Vec<u64>,
    /// Attribute sets of the merged points.
    pub attribute_sets: Vec<Vec<KeyValue>>,
    /// Trace ids of the exemplars attached to the points.
    pub exemplar_trace_ids: Vec<TraceId>,
}

fn has_all<'a>(have: impl Iterator<Item = &'a KeyValue>, want: &[KeyValue]) -> bool {
    let have: Vec<&KeyValue> = have.collect();
    want.iter()
        .all(|w| have.iter().any(|h| h.key == w.key && h.value == w.value))
}

/// Lookups on a captured span.
pub trait SpanDataExt {
    /// The value of attribute `key`.
    fn attribute(&self, key: &str) -> Option<&Value>;
    /// The first event named `name`.
    fn event(&self, name: &str) -> Option<&opentelemetry::trace::Event>;
    /// The value of attribute `key` on the first event named `event`.
    fn event_attribute(&self, event: &str, key: &str) -> Option<&Value>;
}

impl SpanDataExt for SpanData {
    fn attribute(&self, key: &str) -> Option<&Value> {
        let key = Key::from(key.to_owned());
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .map(|kv| &kv.value)
    }

    fn event(&self, name: &str) -> Option<&opentelemetry::trace::Event> {
        self.events.events.iter().find(|e| e.name == name)
    }

    fn event_attribute(&self, event: &str, key: &str) -> Option<&Value> {
        self.event(event)?
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }
}

/// Lookups on a captured log record.
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub trait LogRecordExt {
    /// The body as text: a string body as it is, any other body in its debug form.
    fn body_text(&self) -> Option<String>;
    /// The value of attribute `key`.
    fn attribute(&self, key: &str) -> Option<&opentelemetry::logs::AnyValue>;
    /// The value of attribute `key` when it is a string.
    fn attribute_text(&self, key: &str) -> Option<String>;
}

#[cfg(feature = "logs")]
impl LogRecordExt for SdkLogRecord {
    fn body_text(&self) -> Option<String> {
        self.body().map(|body| match body {
            opentelemetry::logs::AnyValue::String(s) => s.to_string(),
            other => format!("{other:?}"),
        })
    }

    fn attribute(&self, key: &str) -> Option<&opentelemetry::logs::AnyValue> {
        self.attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    fn attribute_text(&self, key: &str) -> Option<String> {
        match self.attribute(key)? {
            opentelemetry::logs::AnyValue::String(s) => Some(s.to_string()),
            _ => None,
        }
    }
}

/// Makes [`logs::layer`](crate::logs::layer) the global `tracing` subscriber of this test
/// binary, so `tracing` events become log records of the test that emits them; `false`
/// when the binary already has another subscriber (add the layer to it instead).
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub fn capture_tracing_events() -> bool {
    use tracing_subscriber::layer::SubscriberExt as _;
    static SET: OnceLock<bool> = OnceLock::new();
    *SET.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(crate::logs::layer());
        tracing::subscriber::set_global_default(subscriber).is_ok()
    })
}

/// The direct children of `parent` among `spans`.
pub fn children<'a>(spans: &'a [SpanData], parent: &SpanData) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| {
            s.parent_span_id == parent.span_context.span_id()
                && s.span_context.trace_id() == parent.span_context.trace_id()
        })
        .collect()
}

/// The parent of the span named `child` among `spans`, when it was captured too (`None`
/// for a root, or a parent in another process or test). Panics, printing the tree, when
/// no span is named `child`.
///
/// ```
/// use booking_otel::Step;
/// use booking_otel::testing::{TestTelemetry, parent_of};
///
/// let telemetry = TestTelemetry::install();
/// Step::new("booking.create").run(|| Step::new("booking.confirm").run(|| ()));
/// let spans = telemetry.spans();
/// assert_eq!(parent_of(&spans, "booking.confirm").unwrap().name, "booking.create");
/// assert!(parent_of(&spans, "booking.create").is_none());
/// ```
#[track_caller]
pub fn parent_of<'a>(spans: &'a [SpanData], child: &str) -> Option<&'a SpanData> {
    let child = spans
        .iter()
        .find(|s| s.name == child)
        .unwrap_or_else(|| panic!("no span named {child:?}; captured:\n{}", tree(spans)));
    spans.iter().find(|s| {
        s.span_context.span_id() == child.parent_span_id
            && s.span_context.trace_id() == child.span_context.trace_id()
    })
}

/// A readable tree of `spans` (name, status, attributes), for failure messages.
pub fn tree(spans: &[SpanData]) -> String {
    let ids: Vec<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut out = String::new();
    let mut roots: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.parent_span_id == SpanId::INVALID || !ids.contains(&s.parent_span_id))
        .collect();
    roots.sort_by_key(|s| s.start_time);
    for root in roots {
        write_tree(spans, root, 0, &mut out);
    }
    if out.is_empty() {
        out.push_str("(no spans)\n");
    }
    out
}

fn write_tree(spans: &[SpanData], span: &SpanData, depth: usize, out: &mut String) {
    let attributes: Vec<String> = span
        .attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    let events: Vec<&str> = span.events.events.iter().map(|e| e.name.as_ref()).collect();
    let _ = writeln!(
        out,
        "{:indent$}{} [{:?}] {{{}}}{}",
        "",
        span.name,
        span.status,
        attributes.join(", "),
        if events.is_empty() {
            String::new()
        } else {
            format!(" events: {}", events.join(", "))
        },
        indent = depth * 2
    );
    let mut kids = children(spans, span);
    kids.sort_by_key(|s| s.start_time);
    for child in kids {
        write_tree(spans, child, depth + 1, out);
    }
}
