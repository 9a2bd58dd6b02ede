//! In-process tail sampling through the SDK (`TailSamplingExporter` in front of an
//! in-memory exporter): which traces are kept, complete; memory bound; timeout;
//! shutdown; late spans; a trace split across two services.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use booking_otel::conventions::span;
use booking_otel::tail_sampling::{TailSampling, TailSamplingExporter};
use booking_otel::{Step, Telemetry};
use opentelemetry::trace::{Span as _, TraceContextExt, TraceId, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SimpleSpanProcessor};
use support::bookings::{GatewayTimeout, booking};

fn provider(rules: TailSampling) -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(TailSamplingExporter::new(
            exporter.clone(),
            rules,
        )))
        .build();
    (provider, exporter)
}

fn traces(exporter: &InMemorySpanExporter) -> HashMap<TraceId, Vec<String>> {
    let mut traces: HashMap<TraceId, Vec<String>> = HashMap::new();
    for span in exporter.get_finished_spans().unwrap() {
        traces
            .entry(span.span_context.trace_id())
            .or_default()
            .push(span.name.to_string());
    }
    traces
}

#[test]
fn failures_and_rollbacks_are_all_kept_complete_and_a_tenth_of_the_rest() {
    let rules = TailSampling::default();
    let (provider, exporter) = provider(rules.clone());
    let telemetry = Telemetry::from_tracer_provider(&provider);
    let mut expected: HashSet<TraceId> = HashSet::new();
    let mut successes = 0;
    let mut sampled_successes = 0;
    let mut sizes: HashMap<TraceId, usize> = HashMap::new();
    for i in 0..1000 {
        let fails = i % 20 == 0; // 5%
        let rolls_back = i % 50 == 7; // 2%
        let trace_id = booking(Some(&telemetry), fails, rolls_back);
        sizes.insert(trace_id, if rolls_back { 6 } else { 5 });
        if fails || rolls_back {
            expected.insert(trace_id);
        } else {
            successes += 1;
            if rules.keeps_by_ratio(trace_id) {
                sampled_successes += 1;
                expected.insert(trace_id);
            }
        }
    }
    let exported = traces(&exporter);
    let kept: HashSet<TraceId> = exported.keys().copied().collect();
    assert_eq!(
        kept, expected,
        "exactly the failing, rolled-back and ratio-kept traces"
    );
    for (trace_id, spans) in &exported {
        assert_eq!(spans.len(), sizes[trace_id], "complete: {spans:?}");
    }
    let share = f64::from(sampled_successes) / f64::from(successes);
    assert!(
        (0.07..=0.13).contains(&share),
        "10% ± 3% of the successful bookings kept, got {share:.3}"
    );
    let _ = provider.shutdown();
}

#[test]
fn the_buffer_is_bounded_and_the_oldest_traces_are_decided_early() {
    let (provider, exporter) = provider(TailSampling::default().ratio(1.0).max_buffered_spans(10));
    let tracer = provider.tracer("bounded");
    // Roots that never end: only their children are exported.
    let roots: Vec<_> = (0..6).map(|_| tracer.start("booking.create")).collect();
    for root in &roots {
        let cx = Context::current().with_remote_span_context(root.span_context().clone());
        for _ in 0..3 {
            tracer.start_with_context("booking.step", &cx).end();
        }
    }
    // 18 spans offered, at most 10 buffered: each time the limit was passed, the oldest
    // trace went out whole (3 of the 6 by the end, 9 spans), the rest still waits.
    let exported = traces(&exporter);
    assert_eq!(exported.len(), 3, "decided early: {exported:?}");
    assert!(exported.values().all(|spans| spans.len() == 3));
    drop(roots);
    let _ = provider.shutdown();
}

#[test]
fn a_root_that_never_ends_is_decided_after_the_wait() {
    let (provider, exporter) = provider(
        TailSampling::default()
            .ratio(1.0)
            .decision_wait(Duration::from_millis(50)),
    );
    let tracer = provider.tracer("timeout");
    let root = tracer.start("booking.create");
    let cx = Context::current().with_remote_span_context(root.span_context().clone());
    tracer.start_with_context("booking.confirm", &cx).end();
    assert_eq!(
        exporter.get_finished_spans().unwrap().len(),
        0,
        "waiting for the root"
    );
    std::thread::sleep(Duration::from_millis(80));
    // The next export decides what waited too long.
    tracer.start("booking.other").end();
    let names: Vec<String> = exporter
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert!(names.contains(&"booking.confirm".to_string()), "{names:?}");
    drop(root);
    let _ = provider.shutdown();
}

/// Keeps what it receives through shutdown (the in-memory exporter forgets at shutdown).
#[derive(Debug, Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl opentelemetry_sdk::trace::SpanExporter for Recorder {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        let mut names = self.0.lock().unwrap();
        names.extend(batch.iter().map(|s| s.name.to_string()));
        Ok(())
    }
}

#[test]
fn shutdown_decides_every_undecided_trace_and_late_spans_follow_the_decision() {
    let recorder = Recorder::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(TailSamplingExporter::new(
            recorder.clone(),
            TailSampling::default().ratio(0.0),
        )))
        .build();
    let tracer = provider.tracer("shutdown");
    let telemetry = Telemetry::from_tracer_provider(&provider);
    // A failed trace whose root ended: kept. A child that ends after its root follows.
    let late = Step::new(span::CREATE).telemetry(&telemetry).run(|| {
        let late_child = tracer.start("booking.notify");
        let _ = Step::new(span::PROCESS_PAYMENT)
            .telemetry(&telemetry)
            .run(|| Err::<(), _>(GatewayTimeout));
        Some(late_child)
    });
    late.expect("the late child").end();
    // An undecided trace with an error (its root never ends before shutdown).
    let root = tracer.start("booking.create");
    let cx = Context::current().with_remote_span_context(root.span_context().clone());
    let mut failed = tracer.start_with_context("booking.confirm", &cx);
    failed.set_status(opentelemetry::trace::Status::error("boom"));
    failed.end();
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        3,
        "the failed booking and its late child"
    );
    let _ = provider.shutdown();
    let names = recorder.0.lock().unwrap().clone();
    assert_eq!(
        names.iter().filter(|n| *n == "booking.confirm").count(),
        1,
        "flushed at shutdown, kept for its error: {names:?}"
    );
    drop(root);
}

#[test]
fn a_trace_split_across_two_services_is_decided_by_each_service() {
    // Neither service keeps successful traces; only the payment service sees the error.
    let rules = TailSampling::default().ratio(0.0);
    let (booking_provider, booking_spans) = provider(rules.clone());
    let (payment_provider, payment_spans) = provider(rules);
    let booking_tracer = booking_provider.tracer("booking-service");
    let payment_tracer = payment_provider.tracer("payment-service");

    let mut root = booking_tracer.start("booking.create");
    // As the payment service extracts it from the request headers: remote.
    let local = root.span_context();
    let remote = opentelemetry::trace::SpanContext::new(
        local.trace_id(),
        local.span_id(),
        local.trace_flags(),
        true,
        local.trace_state().clone(),
    );
    {
        // The payment service continues the trace from the propagated context: its span
        // is a local root there.
        let cx = Context::current().with_remote_span_context(remote);
        let mut charge = payment_tracer.start_with_context("payment.charge", &cx);
        charge.set_status(opentelemetry::trace::Status::error("declined by issuer"));
        charge.set_attribute(KeyValue::new("payment.status", "error"));
        charge.end();
    }
    root.end();

    assert_eq!(
        traces(&payment_spans).values().map(Vec::len).sum::<usize>(),
        1,
        "the payment service keeps its failing part"
    );
    assert!(
        traces(&booking_spans).is_empty(),
        "the booking service saw no error and drops its part: the decision is local"
    );
    let _ = (booking_provider.shutdown(), payment_provider.shutdown());
}

#[test]
fn decisions_are_counted_by_decision_and_cause_and_the_byte_limit_holds() {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    let metric_exporter = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metric_exporter.clone()).build())
        .build();
    let meter = meter_provider.meter("tail-sampling-test");
    let exporter = InMemorySpanExporter::default();
    // Room for two spans without attributes (~400 bytes each): a third trace pushes
    // the oldest out early.
    let sampler = TailSamplingExporter::new(
        exporter.clone(),
        TailSampling::default().ratio(1.0).max_buffered_bytes(1_000),
    )
    .with_meter(&meter);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(sampler))
        .build();
    let tracer = provider.tracer("counted");
    let roots: Vec<_> = (0..3).map(|_| tracer.start("booking.create")).collect();
    for root in &roots {
        let cx = Context::current().with_remote_span_context(root.span_context().clone());
        tracer.start_with_context("booking.step", &cx).end();
    }
    assert_eq!(
        traces(&exporter).len(),
        1,
        "the byte limit decided the oldest trace early"
    );
    tracer.start("booking.whole").end(); // a root on its own: decided when it ends
    // The roots end: two decide their waiting traces; the first trace was decided
    // already, and its root follows that decision without being counted again.
    drop(roots);
    let _ = meter_provider.force_flush();
    let counts: Vec<(String, String, u64)> = metric_exporter
        .get_finished_metrics()
        .unwrap()
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .filter(|m| m.name() == "booking_otel.tail_sampling.traces")
        .flat_map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                .data_points()
                .map(|p| {
                    let get = |key: &str| {
                        p.attributes()
                            .find(|kv| kv.key.as_str() == key)
                            .map(|kv| kv.value.to_string())
                            .unwrap_or_default()
                    };
                    (
                        get("booking_otel.tail_sampling.decision"),
                        get("booking_otel.tail_sampling.cause"),
                        p.value(),
                    )
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        counts.contains(&("kept".into(), "memory_limit".into(), 1)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&("kept".into(), "root_ended".into(), 3)),
        "{counts:?}"
    );
    let _ = provider.shutdown();
}

#[test]
fn a_failure_after_its_trace_was_dropped_reopens_it() {
    let (provider, exporter) = provider(TailSampling::default().ratio(0.0));
    let tracer = provider.tracer("reopen");
    // The booking's root ends first, successful: dropped by the ratio rule.
    let root = tracer.start("booking.create");
    let cx = Context::current().with_remote_span_context(root.span_context().clone());
    let notify = tracer.start_with_context("booking.notify", &cx);
    drop(root);
    assert!(traces(&exporter).is_empty());
    // A fire-and-forget step fails after its root ended: kept, whatever came before.
    let mut notify = notify;
    notify.set_status(opentelemetry::trace::Status::error("smtp down"));
    notify.end();
    let names: Vec<Vec<String>> = traces(&exporter).into_values().collect();
    assert_eq!(names, vec![vec!["booking.notify".to_string()]]);
    let _ = provider.shutdown();
}

#[test]
fn a_large_release_goes_on_in_batches() {
    #[derive(Debug, Clone, Default)]
    struct BatchSizes(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);
    impl opentelemetry_sdk::trace::SpanExporter for BatchSizes {
        async fn export(
            &self,
            batch: Vec<opentelemetry_sdk::trace::SpanData>,
        ) -> opentelemetry_sdk::error::OTelSdkResult {
            self.0.lock().unwrap().push(batch.len());
            Ok(())
        }
    }
    let sizes = BatchSizes::default();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(TailSamplingExporter::new(
            sizes.clone(),
            TailSampling::default().ratio(1.0),
        )))
        .build();
    let tracer = provider.tracer("batches");
    let root = tracer.start("booking.create");
    let cx = Context::current().with_remote_span_context(root.span_context().clone());
    for _ in 0..1_200 {
        tracer.start_with_context("booking.step", &cx).end();
    }
    let _ = provider.shutdown(); // releases the 1,200 waiting spans
    let sizes = sizes.0.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), 1_200);
    assert!(sizes.iter().all(|&n| n <= 512), "{sizes:?}");
    drop(root);
}
