//! Error-aware tail sampling, in process: keep every failed booking, every booking that
//! rolled back, and a share of the rest, deciding per trace after the booking finished.
//!
//! Head sampling (`OTEL_TRACES_SAMPLER=traceidratio`) decides when a booking starts, so
//! at 5% it throws away 95% of the failed bookings, the traces people open at 3 a.m.
//! [`TailSamplingExporter`] decides when the trace's local root span ends, with every
//! span of the trace in hand:
//!
//! ```text
//!  booking thread              │ export thread
//!  span.end() ─▶ BatchSpanProcessor ─▶ TailSamplingExporter ─▶ RedactingExporter ─▶ OTLP
//!                (queue)       │      buffer spans by trace;
//!                              │      when the local root ends: keep or drop the trace
//! ```
//!
//! A trace is kept when any of its spans has status `Error`, when any step is a
//! rollback (`booking.rollback = true` or a `booking.rollback.*` name), when the root
//! took longer than [`TailSampling::slower_than`], or when the ratio rule says so. The
//! ratio rule is the one `TraceIdRatioBased` applies to the trace id, so services
//! configured with the same ratio keep the same successful traces.
//!
//! # Trade-offs
//!
//! - **Head-sample everything you tail-sample.** Tail sampling only sees recorded spans:
//!   use the default `parentbased_always_on` (or a high ratio). Every span is then built
//!   and queued in process, which is the cost of keeping every failure; the booking
//!   thread's share is measured in `BENCHMARKS.md`.
//! - **The decision is local.** Each service decides for the spans it exported, when
//!   *its* local root ends (a span whose parent is remote is a local root). A payment
//!   service that fails keeps its part of the trace; the booking service that called it
//!   keeps its part only if it saw the failure too (a client span with status `Error`)
//!   or its own rules say so. For one decision over the whole distributed trace, export
//!   everything and use the OpenTelemetry Collector's `tail_sampling` processor.
//! - **Bounded.** Undecided traces are held in memory up to
//!   [`max_buffered_spans`](TailSampling::max_buffered_spans) spans and
//!   [`max_buffered_bytes`](TailSampling::max_buffered_bytes) (estimated); past either,
//!   the oldest undecided traces are decided at once (kept if they already hold an
//!   error or a rollback, else by the ratio rule). A trace whose root has not ended
//!   after [`decision_wait`](TailSampling::decision_wait) is decided the same way at the
//!   next export (an idle service holds it until its next span, or shutdown). Shutdown
//!   decides every undecided trace: nothing is dropped silently. So does a flush through
//!   [`BatchProcessor`](crate::batch::BatchProcessor), which passes `force_flush` on to
//!   its exporter (the SDK's batch processor does not).
//!   Released spans go on in batches of at most 512.
//! - **Late spans** follow their trace's decision (the last 65,536 decisions are
//!   remembered), except that a failure or a rollback arriving after its trace was
//!   dropped reopens it: that span and the rest are kept. The spans dropped before are
//!   gone, so a root slower than the decision wait can arrive without its children.
//! - Decisions are counted in `booking_otel.tail_sampling.traces`, by decision and
//!   cause; the booking metrics, recorded on the booking thread, count every booking
//!   whatever is sampled.
//!
//! # Configuration
//!
//! In code with [`Setup::tail_sampling`](crate::setup::Setup::tail_sampling), or with
//! the `BOOKING_OTEL_TAIL_SAMPLING` variable (which wins), parsed by
//! [`TailSampling::parse`]: `off`, `on` (the default rules), or a comma-separated
//! list such as `errors,rollbacks,ratio=0.1,slower_than=2s`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::conventions::{attribute, metric, span};

/// The rules and limits of tail sampling. The default keeps errors, rollbacks and 10%
/// of the rest.
///
/// ```
/// use std::time::Duration;
/// use booking_otel::tail_sampling::TailSampling;
///
/// let rules = TailSampling::default().ratio(0.05).slower_than(Duration::from_secs(2));
/// assert_eq!(TailSampling::parse("errors,rollbacks,ratio=0.05,slower_than=2s").unwrap(), Some(rules));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TailSampling {
    keep_errors: bool,
    keep_rollbacks: bool,
    slower_than: Option<Duration>,
    ratio: f64,
    max_buffered_spans: usize,
    max_buffered_bytes: usize,
    decision_wait: Duration,
}

impl Default for TailSampling {
    fn default() -> Self {
        TailSampling {
            keep_errors: true,
            keep_rollbacks: true,
            slower_than: None,
            ratio: 0.1,
            max_buffered_spans: 100_000,
            max_buffered_bytes: 64 << 20,
            decision_wait: Duration::from_secs(30),
        }
    }
}

/// Why a tail sampling setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid tail sampling rule {rule:?}: {reason}")]
pub struct TailSamplingError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl TailSampling {
    /// Keeps traces with a span whose status is `Error` (default: on).
    pub fn keep_errors(mut self, enabled: bool) -> Self {
        self.keep_errors = enabled;
        self
    }

    /// Keeps traces with a rollback step (default: on).
    pub fn keep_rollbacks(mut self, enabled: bool) -> Self {
        self.keep_rollbacks = enabled;
        self
    }

    /// Keeps traces whose local root took longer than `threshold` (default: none).
    pub fn slower_than(mut self, threshold: Duration) -> Self {
        self.slower_than = Some(threshold);
        self
    }

    /// Keeps this share of the other traces, by trace id (default 0.1; clamped to 0..=1).
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        self
    }

    /// The most spans held while their traces are undecided (default 100,000).
    pub fn max_buffered_spans(mut self, spans: usize) -> Self {
        self.max_buffered_spans = spans;
        self
    }

    /// The most bytes (estimated) held while their traces are undecided (default 64 MiB).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_bytes = bytes;
        self
    }

    /// How long a trace may wait for its root before it is decided anyway (default 30 s).
    pub fn decision_wait(mut self, wait: Duration) -> Self {
        self.decision_wait = wait;
        self
    }

    /// Parses `BOOKING_OTEL_TAIL_SAMPLING`: `off` (`None`), `on` (the defaults), or
    /// rules separated by commas: `errors`, `rollbacks`, `ratio=0.1`,
    /// `slower_than=2s` (or `500ms`). A list names every rule it wants: `errors,ratio=0`
    /// keeps errors only.
    pub fn parse(text: &str) -> Result<Option<Self>, TailSamplingError> {
        let text = text.trim();
        match text.to_ascii_lowercase().as_str() {
            "off" | "none" | "false" | "" => return Ok(None),
            "on" | "true" | "default" => return Ok(Some(Self::default())),
            _ => {}
        }
        let mut rules = Self::default()
            .keep_errors(false)
            .keep_rollbacks(false)
            .ratio(0.0);
        for rule in text.split(',').map(str::trim) {
            let error = |reason| TailSamplingError {
                rule: rule.to_owned(),
                reason,
            };
            match rule.split_once('=') {
                None if rule.eq_ignore_ascii_case("errors") => rules.keep_errors = true,
                None if rule.eq_ignore_ascii_case("rollbacks") => rules.keep_rollbacks = true,
                Some((key, value)) if key.trim().eq_ignore_ascii_case("ratio") => {
                    let ratio: f64 = value
                        .trim()
                        .parse()
                        .map_err(|_| error("expected a number from 0 to 1"))?;
                    if !(0.0..=1.0).contains(&ratio) {
                        return Err(error("expected a number from 0 to 1"));
                    }
                    rules.ratio = ratio;
                }
                Some((key, value)) if key.trim().eq_ignore_ascii_case("slower_than") => {
                    rules.slower_than = Some(
                        parse_duration(value.trim())
                            .ok_or_else(|| error("expected a duration such as 2s or 500ms"))?,
                    );
                }
                _ => {
                    return Err(error(
                        "expected off, on, or rules among errors, rollbacks, ratio=R, slower_than=D",
                    ));
                }
            }
        }
        Ok(Some(rules))
    }

    /// Whether the ratio rule keeps `trace_id`: the test `TraceIdRatioBased` applies, so
    /// services with the same ratio agree.
    pub fn keeps_by_ratio(&self, trace_id: TraceId) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        let bytes = trace_id.to_bytes();
        let mut low = [0_u8; 8];
        low.copy_from_slice(&bytes[8..]);
        let threshold = (self.ratio * (1_u64 << 63) as f64) as u64;
        (u64::from_be_bytes(low) >> 1) < threshold
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|at| text.split_at(at))?;
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// Why a trace was decided when it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    RootEnded,
    MemoryLimit,
    Timeout,
    Shutdown,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::RootEnded => "root_ended",
            Cause::MemoryLimit => "memory_limit",
            Cause::Timeout => "timeout",
            Cause::Shutdown => "shutdown",
        }
    }
}

/// The spans of one undecided trace.
#[derive(Debug)]
struct Pending {
    spans: Vec<SpanData>,
    bytes: usize,
    first_seen: Instant,
    /// An error or a rollback was seen: kept whenever it is decided.
    must_keep: bool,
}

/// The most recent decisions remembered, for spans that end after their trace's root.
/// A span of a trace decided longer ago than that waits and is decided again.
const REMEMBERED_DECISIONS: usize = 65_536;

/// The largest batch passed on at once (the batch processor's default batch size).
const MAX_RELEASED_BATCH: usize = 512;

#[derive(Debug, Default)]
struct Buffer {
    pending: HashMap<TraceId, Pending>,
    /// Undecided traces, oldest first (may hold ids decided since: skipped).
    order: VecDeque<TraceId>,
    spans: usize,
    bytes: usize,
    kept: HashSet<TraceId>,
    dropped: HashSet<TraceId>,
    decided_order: VecDeque<TraceId>,
}

/// Buffers spans by trace and exports only the traces its [`TailSampling`] rules keep;
/// see the [module docs](self). Put it between the batch processor and the exporter
/// (before the [`RedactingExporter`](crate::RedactingExporter), so that dropped traces
/// are never scanned); [`setup`](crate::setup) does when tail sampling is configured.
///
/// ```
/// use booking_otel::tail_sampling::{TailSampling, TailSamplingExporter};
/// use opentelemetry_sdk::trace::{BatchSpanProcessor, InMemorySpanExporter, SdkTracerProvider};
///
/// let exporter = InMemorySpanExporter::default();
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(
///         BatchSpanProcessor::builder(TailSamplingExporter::new(
///             exporter.clone(),
///             TailSampling::default(),
///         ))
///         .build(),
///     )
///     .build();
/// # let _ = provider.shutdown();
/// ```
#[derive(Debug)]
pub struct TailSamplingExporter<E> {
    inner: E,
    rules: TailSampling,
    /// Not contended: the batch processor polls its exports from one thread, and the
    /// lock is never held across an `.await`.
    buffer: Mutex<Buffer>,
    decisions: Option<Counter<u64>>,
    /// Counts the spans of dropped traces as `sampled_out` (setup's accounts).
    delivery: Option<crate::delivery::Delivery>,
}

impl<E: SpanExporter> TailSamplingExporter<E> {
    /// Wraps `inner` with `rules`.
    pub fn new(inner: E, rules: TailSampling) -> Self {
        TailSamplingExporter {
            inner,
            rules,
            buffer: Mutex::new(Buffer::default()),
            decisions: None,
            delivery: None,
        }
    }

    /// Counts decisions in `booking_otel.tail_sampling.traces`.
    pub fn with_meter(mut self, meter: &Meter) -> Self {
        self.decisions = Some(
            meter
                .u64_counter(metric::TAIL_SAMPLING_TRACES)
                .with_unit("{trace}")
                .with_description("Traces decided by in-process tail sampling.")
                .build(),
        );
        self
    }

    /// Counts the spans of traces it drops in `delivery`'s `sampled_out`.
    pub(crate) fn with_delivery(mut self, delivery: crate::delivery::Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    fn sampled_out(&self, spans: usize) {
        if let Some(delivery) = &self.delivery {
            crate::delivery::Counters::add(&delivery.counters.sampled_out, spans);
        }
    }

    /// Sorts a batch: spans of kept traces go out, spans of dropped traces go, spans of
    /// undecided traces wait. `flush_all` decides every undecided trace (shutdown, flush).
    fn take_ready(&self, batch: Vec<SpanData>, flush_all: bool) -> Vec<SpanData> {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut ready = Vec::new();
        let now = Instant::now();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let is_local_root =
                span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
            let must_keep = (self.rules.keep_errors && matches!(span.status, Status::Error { .. }))
                || (self.rules.keep_rollbacks && is_rollback(&span));
            if buffer.kept.contains(&trace_id) {
                ready.push(span);
                continue;
            }
            if buffer.dropped.contains(&trace_id) {
                // A failure that ends after its trace was dropped (a root slower than
                // the decision wait, a second local root, a spawned step ending after
                // its root) reopens the trace: it and what follows are kept.
                if must_keep {
                    buffer.dropped.remove(&trace_id);
                    buffer.kept.insert(trace_id);
                    ready.push(span);
                } else {
                    self.sampled_out(1);
                }
                continue;
            }
            let slow = is_local_root
                && self.rules.slower_than.is_some_and(|threshold| {
                    span.end_time
                        .duration_since(span.start_time)
                        .is_ok_and(|took| took > threshold)
                });
            let bytes = estimated_size(&span);
            let buffer = &mut *buffer;
            let pending = buffer.pending.entry(trace_id).or_insert_with(|| {
                buffer.order.push_back(trace_id);
                Pending {
                    spans: Vec::new(),
                    bytes: 0,
                    first_seen: now,
                    must_keep: false,
                }
            });
            pending.spans.push(span);
            pending.bytes += bytes;
            pending.must_keep |= must_keep || slow;
            buffer.spans += 1;
            buffer.bytes += bytes;
            if is_local_root {
                self.decide(buffer, trace_id, Cause::RootEnded, &mut ready);
            }
        }
        let buffer = &mut *buffer;
        // Early decisions: memory limits, roots that never end, shutdown.
        while let Some(&oldest) = buffer.order.front() {
            let cause = match buffer.pending.get(&oldest) {
                None => {
                    buffer.order.pop_front();
                    continue;
                }
                Some(_) if flush_all => Cause::Shutdown,
                Some(_)
                    if buffer.spans > self.rules.max_buffered_spans
                        || buffer.bytes > self.rules.max_buffered_bytes =>
                {
                    Cause::MemoryLimit
                }
                Some(pending)
                    if now.duration_since(pending.first_seen) >= self.rules.decision_wait =>
                {
                    Cause::Timeout
                }
                Some(_) => break,
            };
            buffer.order.pop_front();
            self.decide(buffer, oldest, cause, &mut ready);
        }
        ready
    }

    fn decide(
        &self,
        buffer: &mut Buffer,
        trace_id: TraceId,
        cause: Cause,
        ready: &mut Vec<SpanData>,
    ) {
        let Some(pending) = buffer.pending.remove(&trace_id) else {
            return;
        };
        buffer.spans -= pending.spans.len();
        buffer.bytes -= pending.bytes;
        let keep = pending.must_keep || self.rules.keeps_by_ratio(trace_id);
        if keep {
            ready.extend(pending.spans);
            buffer.kept.insert(trace_id);
        } else {
            self.sampled_out(pending.spans.len());
            buffer.dropped.insert(trace_id);
        }
        buffer.decided_order.push_back(trace_id);
        if buffer.decided_order.len() > REMEMBERED_DECISIONS
            && let Some(forgotten) = buffer.decided_order.pop_front()
        {
            buffer.kept.remove(&forgotten);
            buffer.dropped.remove(&forgotten);
        }
        if let Some(counter) = &self.decisions {
            counter.add(
                1,
                &[
                    KeyValue::new(
                        attribute::TAIL_SAMPLING_DECISION,
                        if keep { "kept" } else { "dropped" },
                    ),
                    KeyValue::new(attribute::TAIL_SAMPLING_CAUSE, cause.as_str()),
                ],
            );
        }
    }

    /// Decides every undecided trace and exports what is kept (shutdown).
    fn flush_pending(&self) -> OTelSdkResult {
        let ready = self.take_ready(Vec::new(), true);
        // Flush and shutdown are synchronous in the SDK's exporter interface.
        futures_executor::block_on(self.export_in_batches(ready))
    }

    /// Passes `spans` on in batches of at most [`MAX_RELEASED_BATCH`], as the batch
    /// processor would: a memory-limit release or a shutdown can free many at once. The
    /// batches are handed on together (one `join_all`), so that if the export is
    /// abandoned at a deadline every batch has reached the stages that count it.
    async fn export_in_batches(&self, mut spans: Vec<SpanData>) -> OTelSdkResult {
        let mut batches = Vec::new();
        while !spans.is_empty() {
            let rest = spans.split_off(spans.len().min(MAX_RELEASED_BATCH));
            batches.push(spans);
            spans = rest;
        }
        crate::batch::all_of(batches.into_iter().map(|batch| self.inner.export(batch))).await
    }

    /// How many spans, and how many bytes (estimated), wait for their traces' decisions.
    pub fn buffered(&self) -> (usize, usize) {
        let buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        (buffer.spans, buffer.bytes)
    }
}

fn is_rollback(span: &SpanData) -> bool {
    span.name.starts_with(span::ROLLBACK_PREFIX)
        || span.attributes.iter().any(|kv| {
            kv.key.as_str() == attribute::BOOKING_ROLLBACK && kv.value == Value::Bool(true)
        })
}

/// A span's size in memory, roughly: the struct plus its strings and attributes.
fn estimated_size(span: &SpanData) -> usize {
    let attributes = |attributes: &[KeyValue]| -> usize {
        attributes
            .iter()
            .map(|kv| {
                std::mem::size_of::<KeyValue>() + kv.key.as_str().len() + value_size(&kv.value)
            })
            .sum::<usize>()
    };
    std::mem::size_of::<SpanData>()
        + span.name.len()
        + attributes(&span.attributes)
        + span
            .events
            .iter()
            .map(|e| e.name.len() + attributes(&e.attributes) + 64)
            .sum::<usize>()
        + span
            .links
            .iter()
            .map(|l| attributes(&l.attributes) + 64)
            .sum::<usize>()
}

fn value_size(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_str().len(),
        Value::Array(opentelemetry::Array::String(items)) => {
            items.iter().map(|s| s.as_str().len() + 24).sum()
        }
        Value::Array(opentelemetry::Array::I64(items)) => items.len() * 8,
        Value::Array(opentelemetry::Array::F64(items)) => items.len() * 8,
        Value::Array(opentelemetry::Array::Bool(items)) => items.len(),
        _ => 0,
    }
}

impl<E: SpanExporter> SpanExporter for TailSamplingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let ready = self.take_ready(batch, false);
        self.export_in_batches(ready).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush_pending()?;
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let flushed = self.flush_pending();
        let shut = self.inner.shutdown_with_timeout(timeout);
        flushed.and(shut)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_the_environment_form() {
        assert_eq!(TailSampling::parse("off").unwrap(), None);
        assert_eq!(
            TailSampling::parse("on").unwrap(),
            Some(TailSampling::default())
        );
        let rules = TailSampling::parse("errors, ratio=0.25, slower_than=500ms")
            .unwrap()
            .unwrap();
        assert_eq!(
            rules,
            TailSampling::default()
                .keep_rollbacks(false)
                .ratio(0.25)
                .slower_than(Duration::from_millis(500))
        );
        for bad in ["ratio=2", "ratio=x", "slower_than=2", "errors,sometimes"] {
            assert!(TailSampling::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_step_span_is_estimated_at_about_half_a_kilobyte() {
        use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceState};
        use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
        let span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(1_u128),
                SpanId::from(2_u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::from(3_u64),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "booking.check_availability".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: vec![
                KeyValue::new("booking.property_id", "prop-1042"),
                KeyValue::new("booking.guests", 2_i64),
                KeyValue::new("booking.nights", 3_i64),
            ],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        let bytes = estimated_size(&span);
        // The figure BENCHMARKS.md reports as buffered bytes per span.
        assert!((400..=800).contains(&bytes), "{bytes}");
    }

    #[test]
    fn the_ratio_rule_is_the_trace_id_ratio_samplers() {
        let rules = TailSampling::default().ratio(0.5);
        // Low 64 bits, shifted right once, below 2^62: kept.
        assert!(rules.keeps_by_ratio(TraceId::from(1_u128 << 60)));
        assert!(!rules.keeps_by_ratio(TraceId::from(u128::from(u64::MAX))));
        assert!(
            TailSampling::default()
                .ratio(1.0)
                .keeps_by_ratio(TraceId::from(u128::MAX))
        );
        assert!(
            !TailSampling::default()
                .ratio(0.0)
                .keeps_by_ratio(TraceId::from(1_u128))
        );
    }
}
