//! What became of every finished span: exported, sampled out, dropped (and why), or still
//! on its way. The books always balance:
//!
//! ```text
//! finished == exported + sampled_out + dropped.total() + in_flight
//! ```
//!
//! and `in_flight` is 0 once the pipeline has been flushed or shut down. Upstream's batch
//! processor only logs its drops; [`BatchProcessor`](crate::batch::BatchProcessor) counts
//! each one by reason, and [`Delivery`] reads the counts at any time. They are also
//! exported as the OpenTelemetry SDK self-metrics (see [`Delivery::register_metrics`]):
//!
//! | metric | attributes | meaning |
//! |---|---|---|
//! | `otel.sdk.processor.span.processed` | `error.type` = `queue_full` / `already_shutdown` when dropped | spans the batch processor took or dropped (a drop series appears with the first drop) |
//! | `otel.sdk.processor.span.queue.size` | | spans waiting in the queue now |
//! | `otel.sdk.processor.span.queue.capacity` | | the queue's size |
//! | `otel.sdk.exporter.span.exported` | `error.type` = `export_failed` when the export failed, `unsent_at_shutdown` when shutdown gave up on it (its timeout ran out, or the collector failed) | spans the exporter accepted (or failed to send) |
//! | `booking_otel.span.sampled_out` | | spans tail sampling decided not to keep |
//!
//! Log records (feature `logs`) have the same accounts, through the same queue:
//! [`TelemetryGuard::log_delivery`](crate::setup::TelemetryGuard::log_delivery) and the
//! `otel.sdk.processor.log.*` / `otel.sdk.exporter.log.exported` metrics.
//!
//! ```
//! use booking_otel::batch::BatchProcessor;
//! use opentelemetry::trace::{Tracer, TracerProvider};
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//!
//! let processor = BatchProcessor::builder(InMemorySpanExporter::default()).build();
//! let delivery = processor.delivery();
//! let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
//! provider.tracer("demo").in_span("booking.create", |_| {});
//! provider.force_flush().unwrap();
//!
//! let counts = delivery.counts();
//! assert_eq!(counts.finished, 1);
//! assert_eq!(counts.exported, 1);
//! assert_eq!(counts.dropped.total(), 0);
//! assert_eq!(counts.in_flight, 0);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;

/// The live counters one pipeline shares between the booking threads (finished, queue
/// drops), the export thread (exported, failed) and tail sampling (sampled out).
///
/// Ordering: a span is counted as finished before it enters the queue, and the queue
/// hands it to the export thread with release/acquire ordering; settled counts are
/// stored with `Release` and read with `Acquire` before `finished` is read, so a reader
/// never sees a span settled but not finished.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Spans the queue accepted.
    pub(crate) accepted: AtomicU64,
    /// Spans the export thread took out of the queue.
    pub(crate) taken: AtomicU64,
    pub(crate) exported: AtomicU64,
    pub(crate) export_failed: AtomicU64,
    pub(crate) queue_full: AtomicU64,
    pub(crate) after_shutdown: AtomicU64,
    pub(crate) unsent_at_shutdown: AtomicU64,
    pub(crate) sampled_out: AtomicU64,
    pub(crate) capacity: AtomicU64,
    /// The final accounts, set when a shutdown returned before the export thread had
    /// settled everything (see [`Counters::seal`]), with the `accepted` they were read
    /// with.
    sealed: OnceLock<(DeliveryCounts, u64)>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Release);
    }

    /// Makes the accounts final when a shutdown returns before the export thread has
    /// settled everything (an export still running past the shutdown's timeout: a
    /// synchronous exporter stage, a debug build redacting a large batch): what is still
    /// on its way is counted as `unsent_at_shutdown` now, and whatever the thread does
    /// later no longer changes the accounts. They over-count a loss rather than report
    /// spans in flight after shutdown, or report them settled twice. Spans that end
    /// after the shutdown still count as `after_shutdown`.
    pub(crate) fn seal(&self) {
        let mut counts = self.live();
        let accepted = accepted(&counts);
        counts.dropped.unsent_at_shutdown += counts.in_flight;
        counts.in_flight = 0;
        counts.queued = 0;
        let _ = self.sealed.set((counts, accepted));
    }

    /// The accounts now: the sealed ones (plus later `after_shutdown` drops) once
    /// sealed, the live counters before.
    pub(crate) fn counts(&self) -> DeliveryCounts {
        let Some(&(mut counts, sealed_accepted)) = self.sealed.get() else {
            return self.live();
        };
        // A push that had counted itself `accepted` when the seal read the counters,
        // then was refused (the processor shut down, or the queue full), took itself
        // back and counted itself `after_shutdown` or `queue_full`: the seal made it
        // unsent, so it is taken off there, and counted by its refusal below.
        let reverted = sealed_accepted
            .saturating_sub(self.accepted.load(Ordering::Acquire))
            .min(counts.dropped.unsent_at_shutdown);
        counts.finished -= reverted;
        counts.dropped.unsent_at_shutdown -= reverted;
        // Refusals since the seal: spans that ended after the shutdown.
        let after_shutdown = self
            .after_shutdown
            .load(Ordering::Acquire)
            .saturating_sub(counts.dropped.after_shutdown);
        let queue_full = self
            .queue_full
            .load(Ordering::Acquire)
            .saturating_sub(counts.dropped.queue_full);
        counts.finished += after_shutdown + queue_full;
        counts.dropped.after_shutdown += after_shutdown;
        counts.dropped.queue_full += queue_full;
        counts
    }

    fn live(&self) -> DeliveryCounts {
        // Settled counts first (Acquire), then the ones they follow from.
        let exported = self.exported.load(Ordering::Acquire);
        let export_failed = self.export_failed.load(Ordering::Acquire);
        let sampled_out = self.sampled_out.load(Ordering::Acquire);
        let taken = self.taken.load(Ordering::Acquire);
        let queue_full = self.queue_full.load(Ordering::Acquire);
        let after_shutdown = self.after_shutdown.load(Ordering::Acquire);
        let unsent_at_shutdown = self.unsent_at_shutdown.load(Ordering::Acquire);
        let accepted = self.accepted.load(Ordering::Acquire);
        let dropped = Dropped {
            queue_full,
            export_failed,
            after_shutdown,
            unsent_at_shutdown,
        };
        let finished = accepted + queue_full + after_shutdown;
        DeliveryCounts {
            finished,
            exported,
            sampled_out,
            dropped,
            in_flight: finished.saturating_sub(exported + sampled_out + dropped.total()),
            queued: accepted.saturating_sub(taken),
        }
    }
}

/// The items the queue took: every finished one but those it refused.
fn accepted(counts: &DeliveryCounts) -> u64 {
    counts.finished - counts.dropped.queue_full - counts.dropped.after_shutdown
}

/// Spans that will never be exported, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// The batch queue was full when the span ended (the collector is slower than the
    /// application, or down, for longer than the queue lasts).
    pub queue_full: u64,
    /// The exporter returned an error for the batch holding the span (collector
    /// unreachable, timeout, rejected request).
    pub export_failed: u64,
    /// The span ended after the pipeline was shut down.
    pub after_shutdown: u64,
    /// The span was still on its way when shutdown gave up: its timeout ran out, or
    /// an export had just failed (a dead collector at exit: shutdown does not keep the
    /// application waiting for exports that will fail too). The accounts are final
    /// when shutdown returns: a span in an export still running then is counted here,
    /// even if that export succeeds later.
    pub unsent_at_shutdown: u64,
}

impl Dropped {
    /// All dropped spans, whatever the reason.
    pub fn total(&self) -> u64 {
        self.queue_full + self.export_failed + self.after_shutdown + self.unsent_at_shutdown
    }
}

/// A snapshot of a pipeline's accounts; see the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryCounts {
    /// Sampled spans that ended and reached the pipeline.
    pub finished: u64,
    /// Spans the exporter accepted.
    pub exported: u64,
    /// Spans tail sampling decided not to keep (a decision, not a loss).
    pub sampled_out: u64,
    /// Spans lost, by reason.
    pub dropped: Dropped,
    /// Spans still on their way: in the queue, in an export, or waiting for a tail
    /// sampling decision. Zero after a flush or shutdown.
    pub in_flight: u64,
    /// Spans waiting in the batch queue now (part of `in_flight`).
    pub queued: u64,
}

/// Which signal a pipeline carries: it names the self-metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signal {
    /// Spans (`otel.sdk.processor.span.*`, `otel.sdk.exporter.span.*`).
    #[default]
    Spans,
    /// Log records (`otel.sdk.processor.log.*`, `otel.sdk.exporter.log.*`).
    Logs,
}

/// A handle on one pipeline's accounts. Cheap to clone; reading is a handful of atomic
/// loads. Get one from [`BatchProcessor::delivery`](crate::batch::BatchProcessor::delivery)
/// or [`TelemetryGuard::delivery`](crate::setup::TelemetryGuard::delivery) (and
/// `log_delivery` for log records).
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub(crate) counters: Arc<Counters>,
    signal: Signal,
}

impl Delivery {
    /// Empty accounts for a pipeline of `signal`.
    pub(crate) fn new(signal: Signal) -> Self {
        Delivery {
            counters: Arc::default(),
            signal,
        }
    }

    /// The signal these accounts are for.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The accounts now.
    pub fn counts(&self) -> DeliveryCounts {
        self.counters.counts()
    }

    /// Reports these accounts as the SDK self-metrics listed in the [module docs](self)
    /// (names from the semantic conventions' "OTel SDK metrics", still in development
    /// there; `log` in place of `span` for log records), through observable
    /// instruments: nothing is recorded on the booking thread, the meter reads the
    /// counters when it collects.
    pub fn register_metrics(&self, meter: &Meter) {
        let (item, component_type) = match self.signal {
            Signal::Spans => ("span", "batching_span_processor"),
            Signal::Logs => ("log", "batching_log_processor"),
        };
        let name = |suffix: &str| format!("otel.sdk.{}", suffix.replace("ITEM", item));
        let unit = if item == "span" {
            "{span}"
        } else {
            "{log_record}"
        };
        let component = [KeyValue::new("otel.component.type", component_type)];
        let with_error = |error: &'static str| {
            let mut attributes = component.to_vec();
            attributes.push(KeyValue::new("error.type", error));
            attributes
        };

        let counters = Arc::clone(&self.counters);
        let (ok, full, shut) = (
            component.to_vec(),
            with_error("queue_full"),
            with_error("already_shutdown"),
        );
        meter
            .u64_observable_counter(name("processor.ITEM.processed"))
            .with_unit(unit)
            .with_description("Items the batch processor took, or dropped (error.type).")
            .with_callback(move |observer| {
                let counts = counters.counts();
                let dropped = counts.dropped;
                observer.observe(accepted(&counts), &ok);
                observe_nonzero(observer, dropped.queue_full, &full);
                observe_nonzero(observer, dropped.after_shutdown, &shut);
            })
            .build();

        let counters = Arc::clone(&self.counters);
        let attributes = component.to_vec();
        meter
            .i64_observable_up_down_counter(name("processor.ITEM.queue.size"))
            .with_unit(unit)
            .with_description("Items waiting in the batch queue.")
            .with_callback(move |observer| {
                let queued = counters.counts().queued;
                observer.observe(i64::try_from(queued).unwrap_or(i64::MAX), &attributes);
            })
            .build();

        let counters = Arc::clone(&self.counters);
        let attributes = component.to_vec();
        meter
            .i64_observable_up_down_counter(name("processor.ITEM.queue.capacity"))
            .with_unit(unit)
            .with_description("The batch queue's size.")
            .with_callback(move |observer| {
                let capacity = counters.capacity.load(Ordering::Relaxed);
                observer.observe(i64::try_from(capacity).unwrap_or(i64::MAX), &attributes);
            })
            .build();

        let counters = Arc::clone(&self.counters);
        let (ok, failed, gave_up) = (
            component.to_vec(),
            with_error("export_failed"),
            with_error("unsent_at_shutdown"),
        );
        meter
            .u64_observable_counter(name("exporter.ITEM.exported"))
            .with_unit(unit)
            .with_description("Items the exporter accepted, or failed to send (error.type).")
            .with_callback(move |observer| {
                let counts = counters.counts();
                observer.observe(counts.exported, &ok);
                observe_nonzero(observer, counts.dropped.export_failed, &failed);
                observe_nonzero(observer, counts.dropped.unsent_at_shutdown, &gave_up);
            })
            .build();

        if self.signal != Signal::Spans {
            return;
        }
        let counters = Arc::clone(&self.counters);
        meter
            .u64_observable_counter("booking_otel.span.sampled_out")
            .with_unit("{span}")
            .with_description("Spans tail sampling decided not to keep.")
            .with_callback(move |observer| {
                observe_nonzero(observer, counters.counts().sampled_out, &[]);
            })
            .build();
    }
}

/// Drop counts appear once something was dropped: a missing series reads as zero, and
/// the console table stays short.
fn observe_nonzero(
    observer: &dyn opentelemetry::metrics::AsyncInstrument<u64>,
    value: u64,
    attributes: &[KeyValue],
) {
    if value > 0 {
        observer.observe(value, attributes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    #[test]
    fn a_push_refused_after_the_seal_is_counted_once() {
        let counters = Counters::default();
        // A push counts itself, the shutdown seals, the push sees the flag and takes
        // itself back as `after_shutdown`.
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        counters.seal();
        counters.accepted.fetch_sub(1, Ordering::SeqCst);
        Counters::add(&counters.after_shutdown, 1);
        let counts = counters.counts();
        assert_eq!(counts.finished, 1, "one span ended: {counts:?}");
        assert_eq!(counts.dropped.after_shutdown, 1, "{counts:?}");
        assert_eq!(counts.dropped.unsent_at_shutdown, 0, "{counts:?}");
        assert_eq!(counts.in_flight, 0, "{counts:?}");
    }

    #[test]
    fn a_push_refused_as_full_after_the_seal_is_counted_once() {
        let counters = Counters::default();
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        counters.seal();
        counters.accepted.fetch_sub(1, Ordering::SeqCst);
        Counters::add(&counters.queue_full, 1);
        let counts = counters.counts();
        assert_eq!(counts.finished, 1, "{counts:?}");
        assert_eq!(counts.dropped.queue_full, 1, "{counts:?}");
        assert_eq!(counts.dropped.total(), 1, "{counts:?}");
    }

    #[test]
    fn sealed_accounts_stay_final_and_still_count_later_drops() {
        let counters = Counters::default();
        Counters::add(&counters.accepted, 10);
        Counters::add(&counters.taken, 6);
        Counters::add(&counters.exported, 4);
        counters.seal();
        let sealed = counters.counts();
        assert_eq!(sealed.finished, 10);
        assert_eq!(sealed.exported, 4);
        assert_eq!(sealed.dropped.unsent_at_shutdown, 6, "{sealed:?}");
        assert_eq!((sealed.in_flight, sealed.queued), (0, 0));
        // The export thread settles later: the accounts do not move.
        Counters::add(&counters.exported, 2);
        Counters::add(&counters.taken, 4);
        Counters::add(&counters.unsent_at_shutdown, 4);
        assert_eq!(counters.counts(), sealed);
        // A span ending after the shutdown is still counted.
        Counters::add(&counters.after_shutdown, 1);
        let later = counters.counts();
        assert_eq!(later.finished, 11);
        assert_eq!(later.dropped.after_shutdown, 1);
        assert_eq!(
            later.finished,
            later.exported + later.dropped.total() + later.in_flight
        );
    }

    fn exported(exporter: &InMemoryMetricExporter) -> Vec<(String, Vec<KeyValue>, i128)> {
        let mut points = Vec::new();
        for resource in exporter.get_finished_metrics().expect("metrics") {
            for scope in resource.scope_metrics() {
                for metric in scope.metrics() {
                    let name = metric.name().to_owned();
                    match metric.data() {
                        AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                            for p in sum.data_points() {
                                let attributes = p.attributes().cloned().collect();
                                points.push((name.clone(), attributes, i128::from(p.value())));
                            }
                        }
                        AggregatedMetrics::I64(MetricData::Sum(sum)) => {
                            for p in sum.data_points() {
                                let attributes = p.attributes().cloned().collect();
                                points.push((name.clone(), attributes, i128::from(p.value())));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        points
    }

    #[test]
    fn the_accounts_are_exported_as_sdk_self_metrics() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let delivery = Delivery::new(Signal::Spans);
        delivery.counters.capacity.store(100, Ordering::Relaxed);
        delivery.register_metrics(&provider.meter("test"));
        let c = &delivery.counters;
        Counters::add(&c.accepted, 7);
        Counters::add(&c.taken, 5);
        Counters::add(&c.exported, 4);
        Counters::add(&c.export_failed, 1);
        Counters::add(&c.queue_full, 3);
        Counters::add(&c.sampled_out, 2);
        provider.force_flush().expect("flush");

        let points = exported(&exporter);
        let value = |name: &str, error: Option<&str>| {
            points
                .iter()
                .filter(|(n, attributes, _)| {
                    n == name
                        && attributes
                            .iter()
                            .find(|kv| kv.key.as_str() == "error.type")
                            .map(|kv| kv.value.as_str().into_owned())
                            .as_deref()
                            == error
                })
                .map(|(_, _, v)| *v)
                .sum::<i128>()
        };
        assert_eq!(value("otel.sdk.processor.span.processed", None), 7);
        assert_eq!(
            value("otel.sdk.processor.span.processed", Some("queue_full")),
            3
        );
        assert_eq!(value("otel.sdk.processor.span.queue.size", None), 2);
        assert_eq!(value("otel.sdk.processor.span.queue.capacity", None), 100);
        assert_eq!(value("otel.sdk.exporter.span.exported", None), 4);
        assert_eq!(
            value("otel.sdk.exporter.span.exported", Some("export_failed")),
            1
        );
        assert_eq!(value("booking_otel.span.sampled_out", None), 2);
        assert_eq!(delivery.counts().finished, 10);
    }
}
