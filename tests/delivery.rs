//! The books balance: every finished span is exported, sampled out, or dropped and
//! counted by reason (`finished == exported + sampled_out + dropped + in_flight`, with
//! nothing in flight after a flush), under several threads, with a fast, a slow and a
//! failing exporter, and through `setup` with tail sampling. A watchdog fails a hang.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use booking_otel::batch::BatchProcessor;
use booking_otel::delivery::{Delivery, DeliveryCounts};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter, SpanProcessor};

/// Accepts every batch (after `delay`), or fails every `fail_every`-th batch; counts the
/// spans it really accepted, so the test compares the books with what arrived.
#[derive(Debug, Clone, Default)]
struct Exporter {
    delay: Duration,
    fail_every: Option<usize>,
    batches: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(self.delay);
        let n = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_every.is_some_and(|every| n.is_multiple_of(every)) {
            return Err(OTelSdkError::InternalFailure("collector said no".into()));
        }
        self.accepted.fetch_add(batch.len(), Ordering::Relaxed);
        Ok(())
    }
}

fn watchdog() {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("watchdog: a delivery test hung for 60 s");
        std::process::abort();
    });
}

/// `threads` threads each end `spans` spans through `processor`, then the provider
/// shuts down; returns the final accounts.
fn run(processor: BatchProcessor, threads: usize, spans: usize) -> (DeliveryCounts, OTelSdkResult) {
    let (delivery, provider) = pipeline(processor);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tracer = provider.tracer("delivery-test");
            let delivery = delivery.clone();
            scope.spawn(move || {
                for _ in 0..spans {
                    tracer.start("booking.step").end();
                    // Readable at any time, and never more settled than finished.
                    let now = delivery.counts();
                    assert!(
                        now.exported + now.sampled_out + now.dropped.total() <= now.finished,
                        "{now:?}"
                    );
                }
            });
        }
    });
    let shutdown = provider.shutdown();
    (delivery.counts(), shutdown)
}

/// A tracer provider over `processor`, and its accounts.
fn pipeline(processor: BatchProcessor) -> (Delivery, SdkTracerProvider) {
    let delivery = processor.delivery();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    (delivery, provider)
}

/// Ends `n` spans through `provider`.
fn end_spans(provider: &SdkTracerProvider, n: usize) {
    let tracer = provider.tracer("delivery-test");
    for _ in 0..n {
        tracer.start("booking.step").end();
    }
}

fn assert_balanced(counts: &DeliveryCounts, expected_finished: u64) {
    assert_eq!(counts.finished, expected_finished, "{counts:?}");
    assert_eq!(
        counts.in_flight, 0,
        "nothing in flight after shutdown: {counts:?}"
    );
    assert_eq!(counts.queued, 0, "{counts:?}");
    assert_eq!(
        counts.finished,
        counts.exported + counts.sampled_out + counts.dropped.total(),
        "the books balance: {counts:?}"
    );
}

#[test]
fn a_fast_exporter_receives_every_span_from_four_threads() {
    watchdog();
    let exporter = Exporter::default();
    let processor = BatchProcessor::builder(exporter.clone())
        .queue_size(65_536)
        .batch_size(512)
        .build();
    let (counts, shutdown) = run(processor, 4, 5_000);
    shutdown.expect("shutdown");
    assert_balanced(&counts, 20_000);
    assert_eq!(counts.exported, 20_000, "{counts:?}");
    assert_eq!(counts.dropped.total(), 0, "{counts:?}");
    assert_eq!(exporter.accepted.load(Ordering::Relaxed), 20_000);
}

#[test]
fn a_slow_exporter_behind_a_small_queue_drops_and_counts_every_drop() {
    watchdog();
    let exporter = Exporter {
        delay: Duration::from_millis(20),
        ..Exporter::default()
    };
    let processor = BatchProcessor::builder(exporter.clone())
        .queue_size(256)
        .batch_size(64)
        .build();
    let (counts, shutdown) = run(processor, 4, 2_000);
    shutdown.expect("shutdown");
    assert_balanced(&counts, 8_000);
    assert!(
        counts.dropped.queue_full > 0,
        "a 256-span queue in front of a 20 ms exporter overflows: {counts:?}"
    );
    assert_eq!(counts.dropped.export_failed, 0);
    assert_eq!(
        counts.exported,
        exporter.accepted.load(Ordering::Relaxed) as u64,
        "exported is what the exporter accepted"
    );
}

#[test]
fn a_failing_exporter_has_its_failures_counted_as_export_failed() {
    watchdog();
    let exporter = Exporter {
        fail_every: Some(2),
        ..Exporter::default()
    };
    let processor = BatchProcessor::builder(exporter.clone())
        .queue_size(65_536)
        .batch_size(100)
        .build();
    // Shutdown reports a failed last export, if the last one failed.
    let (counts, _) = run(processor, 3, 2_000);
    assert_balanced(&counts, 6_000);
    assert!(counts.dropped.export_failed > 0, "{counts:?}");
    assert_eq!(
        counts.exported,
        exporter.accepted.load(Ordering::Relaxed) as u64
    );
    // At shutdown a failed export stops the drain: the rest is counted as unsent.
    assert_eq!(
        counts.exported + counts.dropped.export_failed + counts.dropped.unsent_at_shutdown,
        6_000
    );
}

#[test]
fn spans_reaching_a_shut_down_processor_are_counted_not_lost() {
    // A real span, as the SDK hands it to processors.
    let memory = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let source = SdkTracerProvider::builder()
        .with_simple_exporter(memory.clone())
        .build();
    source
        .tracer("delivery-test")
        .start("booking.confirm")
        .end();
    let span = memory.get_finished_spans().expect("spans").remove(0);

    let exporter = Exporter::default();
    let processor = BatchProcessor::builder(exporter.clone()).build();
    let delivery = processor.delivery();
    processor.on_end(span.clone());
    processor.shutdown().expect("shutdown");
    processor.on_end(span);
    assert!(
        processor.force_flush().is_err(),
        "flush after shutdown is an error"
    );
    assert!(
        processor.shutdown().is_err(),
        "a second shutdown is an error, not a hang"
    );
    let counts = delivery.counts();
    assert_eq!(counts.exported, 1, "{counts:?}");
    assert_eq!(counts.dropped.after_shutdown, 1, "{counts:?}");
    assert_balanced(&counts, 2);
}

#[test]
fn flush_exports_what_finished_before_it_and_reaches_the_exporter() {
    let exporter = Exporter::default();
    let processor = BatchProcessor::builder(exporter.clone())
        .interval(Duration::from_secs(3600))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 10);
    assert_eq!(delivery.counts().in_flight, 10, "waiting for the interval");
    provider.force_flush().expect("flush");
    let counts = delivery.counts();
    assert_eq!((counts.exported, counts.in_flight), (10, 0), "{counts:?}");
    assert_eq!(exporter.accepted.load(Ordering::Relaxed), 10);
    let _ = provider.shutdown();
}

mod support;

/// Through `setup`, tail sampling and a real OTLP receiver: what the receiver got is what
/// the books say was exported, and the rest was sampled out, not lost.
#[test]
fn setup_accounts_for_every_span_with_tail_sampling_and_a_real_receiver() {
    use booking_otel::setup::{ExporterKind, Setup};
    use booking_otel::tail_sampling::TailSampling;

    watchdog();
    let receiver = support::receiver::Running::start();
    let guard = Setup::new("delivery-test")
        .otlp_endpoint(format!("http://{}", receiver.address))
        .metrics_exporter(ExporterKind::None)
        .tail_sampling(TailSampling::default().ratio(0.25))
        .install()
        .expect("setup");
    let delivery = guard.delivery();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for i in 0..500 {
                    booking_otel::Step::new("booking.create")
                        .run(|| {
                            booking_otel::Step::new("booking.confirm").run(|| {
                                if i % 10 == 0 {
                                    Err(std::io::Error::other("declined"))
                                } else {
                                    Ok(())
                                }
                            })
                        })
                        .ok();
                }
            });
        }
    });
    guard.flush().expect("flush");
    let flushed = delivery.counts();
    assert_eq!(flushed.finished, 2_000, "{flushed:?}");
    assert_eq!(
        flushed.in_flight, 0,
        "a flush reaches tail sampling: {flushed:?}"
    );
    assert!(flushed.sampled_out > 0, "{flushed:?}");
    guard.shutdown().expect("shutdown");
    let counts = delivery.counts();
    assert_balanced(&counts, 2_000);
    assert_eq!(counts.dropped.total(), 0, "{counts:?}");
    assert_eq!(
        counts.exported,
        receiver.spans().len() as u64,
        "exported is what the receiver got: {counts:?}"
    );
}

/// Never answers: a collector that accepted the connection and went silent.
#[derive(Debug)]
struct Hung;

impl SpanExporter for Hung {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        std::future::pending().await
    }
}

#[test]
fn a_hung_exporter_is_abandoned_after_the_export_timeout_and_shutdown_keeps_its_timeout() {
    watchdog();
    let processor = BatchProcessor::builder(Hung)
        .batch_size(10)
        .max_concurrent_exports(1)
        .export_timeout(Duration::from_millis(50))
        .interval(Duration::from_millis(10))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 25);
    // The hung exports are abandoned one after the other and counted.
    let started = std::time::Instant::now();
    while delivery.counts().dropped.export_failed < 25 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            delivery.counts()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    end_spans(&provider, 5_000);
    let shutdown = std::time::Instant::now();
    let result = provider.shutdown_with_timeout(Duration::from_millis(300));
    let took = shutdown.elapsed();
    assert!(result.is_err(), "a shutdown that gave up says so");
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    let counts = delivery.counts();
    assert_balanced(&counts, 5_025);
    assert!(counts.dropped.unsent_at_shutdown > 0, "{counts:?}");
    assert_eq!(counts.exported, 0);
}

/// Works synchronously for `busy` inside its export before it answers: an exporter stage
/// that does not yield (a debug build redacting and encoding a large batch).
#[derive(Debug, Clone)]
struct Busy {
    busy: Duration,
    accepted: Arc<AtomicUsize>,
}

impl SpanExporter for Busy {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::thread::sleep(self.busy);
        self.accepted.fetch_add(batch.len(), Ordering::Relaxed);
        Ok(())
    }
}

/// Shutdown cannot interrupt an export that blocks its thread; it returns on time
/// anyway, and the accounts it leaves are final: what the thread still held is
/// counted as unsent, and the export that finishes later changes nothing.
#[test]
fn a_shutdown_that_outlasts_a_blocking_export_leaves_final_accounts() {
    watchdog();
    let busy = Busy {
        busy: Duration::from_millis(800),
        accepted: Arc::default(),
    };
    let processor = BatchProcessor::builder(busy.clone())
        .batch_size(100)
        .max_concurrent_exports(1)
        .interval(Duration::from_millis(10))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 1_000);
    // The first export is under way (blocking its thread) before shutdown starts.
    std::thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let result = provider.shutdown_with_timeout(Duration::from_millis(300));
    let took = started.elapsed();
    assert!(
        result.is_err() && format!("{result:?}").contains("Timeout"),
        "a shutdown that ran out of time says so: {result:?}"
    );
    assert!(took < Duration::from_millis(700), "shutdown took {took:?}");
    let at_shutdown = delivery.counts();
    assert_balanced(&at_shutdown, 1_000);
    assert_eq!(at_shutdown.exported, 0, "{at_shutdown:?}");
    assert_eq!(
        at_shutdown.dropped.unsent_at_shutdown, 1_000,
        "{at_shutdown:?}"
    );
    // The blocking export finishes after shutdown returned: the accounts stay as they
    // were, though the exporter did take that batch.
    let started = std::time::Instant::now();
    while busy.accepted.load(Ordering::Relaxed) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(delivery.counts(), at_shutdown);
}

/// Keeps the one span it is given, to be pushed again and again.
#[derive(Debug, Default)]
struct Capture(Arc<std::sync::Mutex<Option<SpanData>>>);

impl SpanProcessor for Capture {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        *self.0.lock().unwrap() = Some(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn one_span() -> SpanData {
    let slot = Arc::new(std::sync::Mutex::new(None));
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Capture(Arc::clone(&slot)))
        .build();
    provider.tracer("delivery-test").start("booking.step").end();
    slot.lock().unwrap().take().expect("the span")
}

/// Spans keep ending on another thread while a shutdown times out and seals the
/// accounts: each is counted once, whether it was queued before the seal or refused
/// after it (found in review: the seal counted a span caught mid-refusal twice).
#[test]
fn spans_ending_while_a_shutdown_seals_the_accounts_are_counted_once() {
    watchdog();
    let span = one_span();
    let mut miscounted = Vec::new();
    for trial in 0..100 {
        let busy = Busy {
            busy: Duration::from_millis(15),
            accepted: Arc::default(),
        };
        let processor = Arc::new(
            BatchProcessor::builder(busy.clone())
                .batch_size(1)
                .max_concurrent_exports(1)
                .interval(Duration::from_millis(1))
                .build(),
        );
        let delivery = processor.delivery();
        processor.on_end(span.clone());
        // The export thread is inside its (blocking) export.
        while busy.accepted.load(Ordering::SeqCst) == 0 && delivery.counts().queued > 0 {
            std::thread::yield_now();
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ended = Arc::new(AtomicUsize::new(1));
        let pusher = {
            let (processor, stop, ended, span) = (
                Arc::clone(&processor),
                Arc::clone(&stop),
                Arc::clone(&ended),
                span.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    processor.on_end(span.clone());
                    ended.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(1));
        let result = processor.shutdown_with_timeout(Duration::from_millis(2));
        stop.store(true, Ordering::Relaxed);
        pusher.join().unwrap();
        if !format!("{result:?}").contains("Timeout") {
            continue; // the export finished in time: no seal in this trial
        }
        std::thread::sleep(Duration::from_millis(30));
        let counts = delivery.counts();
        let ended = ended.load(Ordering::Relaxed) as u64;
        if counts.finished != ended
            || counts.finished != counts.exported + counts.dropped.total()
            || counts.in_flight != 0
        {
            miscounted.push((trial, ended, counts));
        }
    }
    assert!(
        miscounted.is_empty(),
        "{} of 100 trials miscounted; first: {:?}",
        miscounted.len(),
        miscounted.first()
    );
}

#[test]
fn a_flush_that_cannot_export_everything_in_time_says_so() {
    watchdog();
    let exporter = Exporter {
        delay: Duration::from_millis(50),
        ..Exporter::default()
    };
    let processor = BatchProcessor::builder(exporter.clone())
        .batch_size(100)
        .max_concurrent_exports(1)
        .interval(Duration::from_secs(3600))
        .flush_timeout(Duration::from_millis(200))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 2_000);
    assert!(
        provider.force_flush().is_err(),
        "20 exports of 50 ms do not fit in 200 ms: not Ok"
    );
    assert!(delivery.counts().in_flight > 0);
    provider
        .shutdown_with_timeout(Duration::from_secs(10))
        .expect("shutdown");
    let counts = delivery.counts();
    assert_balanced(&counts, 2_000);
    assert_eq!(counts.exported, 2_000, "{counts:?}");
}

#[test]
fn a_flush_never_cancels_a_healthy_export_in_flight() {
    watchdog();
    let exporter = Exporter {
        delay: Duration::from_millis(300),
        ..Exporter::default()
    };
    let processor = BatchProcessor::builder(exporter.clone())
        .interval(Duration::from_millis(10))
        .flush_timeout(Duration::from_millis(100))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 5);
    std::thread::sleep(Duration::from_millis(50)); // the timer's export is in flight
    let _ = provider.force_flush(); // times out for the caller; the export goes on
    provider
        .shutdown_with_timeout(Duration::from_secs(10))
        .expect("shutdown");
    let counts = delivery.counts();
    assert_eq!(counts.dropped.export_failed, 0, "{counts:?}");
    assert_eq!(counts.exported, 5, "{counts:?}");
    assert_eq!(exporter.accepted.load(Ordering::Relaxed), 5);
}

#[test]
fn no_timeout_at_all_is_a_setting_not_a_panic() {
    watchdog();
    let exporter = Exporter::default();
    let processor = BatchProcessor::builder(exporter.clone())
        .interval(Duration::MAX)
        .export_timeout(Duration::MAX)
        .flush_timeout(Duration::MAX)
        .max_concurrent_exports(usize::MAX)
        .build();
    let (delivery, provider) = pipeline(processor);
    provider.tracer("delivery-test").start("booking.step").end();
    provider.force_flush().expect("flush");
    provider
        .shutdown_with_timeout(Duration::MAX)
        .expect("shutdown");
    let counts = delivery.counts();
    assert_balanced(&counts, 1);
    assert_eq!(counts.exported, 1);
}

/// Panics on its first export, then works.
#[derive(Debug, Default, Clone)]
struct PanicsOnce {
    calls: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

impl SpanExporter for PanicsOnce {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if self.calls.fetch_add(1, Ordering::Relaxed) == 0 {
            panic!("exporter bug");
        }
        self.accepted.fetch_add(batch.len(), Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn an_exporter_that_panics_fails_its_export_and_the_pipeline_goes_on() {
    watchdog();
    let exporter = PanicsOnce::default();
    let processor = BatchProcessor::builder(exporter.clone())
        .interval(Duration::from_secs(3600))
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 3);
    assert!(
        provider.force_flush().is_err(),
        "the panic is a failed export"
    );
    end_spans(&provider, 4);
    provider
        .force_flush()
        .expect("the export thread is still there");
    provider.shutdown().expect("shutdown");
    let counts = delivery.counts();
    assert_balanced(&counts, 7);
    assert_eq!(
        (counts.dropped.export_failed, counts.exported),
        (3, 4),
        "{counts:?}"
    );
    assert_eq!(exporter.accepted.load(Ordering::Relaxed), 4);
}

/// Five spans ended into an exporter that fails each batch after `delay`, and a wait
/// until the timer's export of them is in flight.
fn failing_export_in_flight(
    delay: Duration,
    flush_timeout: Duration,
) -> (Delivery, SdkTracerProvider) {
    let exporter = Exporter {
        delay,
        fail_every: Some(1),
        ..Exporter::default()
    };
    let processor = BatchProcessor::builder(exporter)
        .interval(Duration::from_millis(10))
        .flush_timeout(flush_timeout)
        .build();
    let (delivery, provider) = pipeline(processor);
    end_spans(&provider, 5);
    std::thread::sleep(Duration::from_millis(50));
    (delivery, provider)
}

#[test]
fn a_shutdown_asked_for_during_an_export_that_fails_reports_the_failure() {
    watchdog();
    let (delivery, provider) =
        failing_export_in_flight(Duration::from_millis(300), Duration::from_secs(10));
    // Nothing is queued any more, but the five spans ended before this call were lost.
    let result = provider.shutdown_with_timeout(Duration::from_secs(10));
    assert!(result.is_err(), "{result:?}");
    let counts = delivery.counts();
    assert_balanced(&counts, 5);
    assert_eq!(counts.dropped.export_failed, 5, "{counts:?}");
}

#[test]
fn a_flush_asked_for_during_an_export_that_fails_reports_the_failure() {
    watchdog();
    let (delivery, provider) =
        failing_export_in_flight(Duration::from_millis(300), Duration::from_secs(10));
    let flushed = provider.force_flush();
    assert!(flushed.is_err(), "{flushed:?}");
    // The failure is reported once: a later flush with nothing lost succeeds.
    provider.force_flush().expect("nothing failed since");
    assert_eq!(delivery.counts().dropped.export_failed, 5);
    let _ = provider.shutdown();
}

#[test]
fn a_shutdown_behind_an_abandoned_flush_still_reports_the_failed_export() {
    watchdog();
    let (delivery, provider) =
        failing_export_in_flight(Duration::from_millis(400), Duration::from_millis(100));
    // The flush's caller gives up first; both requests wait for the same export.
    assert!(provider.force_flush().is_err());
    let result = provider.shutdown_with_timeout(Duration::from_secs(10));
    assert!(result.is_err(), "{result:?}");
    let counts = delivery.counts();
    assert_balanced(&counts, 5);
    assert_eq!(counts.dropped.export_failed, 5, "{counts:?}");
}
