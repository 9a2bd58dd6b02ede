//! The batch processor: the booking thread pays one short locked push per span; an
//! export thread drains the queue into the exporter. Every span is accounted for in
//! [`Delivery`]: exported, sampled out, or dropped by reason.
//!
//! ```text
//! booking threads                           export thread ("booking-otel.export")
//!   span.end() ─▶ on_end ───push───▶ [ queue: queue_size spans ] ─▶ batches of batch_size
//!                  │ full: dropped.queue_full                        ─▶ exporter.export
//!                  │ after shutdown: dropped.after_shutdown          (every interval, when a
//!                  └ batch full: wake the export thread               batch is full, on flush)
//! ```
//!
//! Why not the SDK's `BatchSpanProcessor`: it counts drops only in a log line (or, behind
//! an experimental flag, in the global meter if that was installed first), and its
//! `force_flush` does not flush its exporter, so a flush cannot reach tail sampling or
//! any exporter that buffers. The booking-thread cost is lower (one atomic add, one
//! short locked push, no channel slot protocol); see BENCHMARKS.md.
//!
//! What `force_flush` and `shutdown` answer: `Ok` when every span that ended before the
//! call reached the exporter and the exporter accepted it; otherwise an error, when an
//! export failed (one that was already in flight when the call came included), the
//! call's deadline passed with spans still queued (counted `unsent_at_shutdown` at
//! shutdown), or the export thread could not be started (every span is then refused
//! and counted `after_shutdown`). The counts in [`Delivery`] say how many spans each
//! case cost.
//!
//! ```
//! use std::time::Duration;
//! use booking_otel::batch::BatchProcessor;
//! use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
//!
//! let exporter = InMemorySpanExporter::default();
//! let processor = BatchProcessor::builder(exporter.clone())
//!     .queue_size(10_000)
//!     .batch_size(512)
//!     .interval(Duration::from_millis(500))
//!     .build();
//! let delivery = processor.delivery();
//! let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
//! # drop(provider);
//! # let _ = delivery;
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::delivery::{Counters, Delivery, Signal};

mod items;
use items::{Items, Refused};

/// The default queue: absorbs a burst of 10,000 concurrent five-step bookings (50,000
/// spans) with no loss; see `tests/burst.rs` and the README's "Guarantees".
pub const DEFAULT_QUEUE_SIZE: usize = 65_536;
/// The largest queue accepted (about 1 GB of spans at ~450 bytes each); a larger
/// setting is clamped to this. Memory follows the queue's length, one batch at a time.
pub const MAX_QUEUE_SIZE: usize = 1 << 21;
/// The most exports at once.
pub const MAX_CONCURRENT_EXPORTS: usize = 64;
/// The default largest batch per export call (the OTel default).
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// The default time between exports when batches do not fill up.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// The default number of batches exported at once when the queue holds several: a slow
/// collector (200 ms per export) then still takes 4 × 512 spans per round trip.
pub const DEFAULT_MAX_CONCURRENT_EXPORTS: usize = 4;
/// The longest one export may take before it is abandoned and its spans counted as
/// `export_failed` (`OTEL_BSP_EXPORT_TIMEOUT`'s default). The OTLP exporters time out
/// sooner on their own (`OTEL_EXPORTER_OTLP_TIMEOUT`, 10 s).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`force_flush`](SpanProcessor::force_flush) waits for the export thread.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`BatchProcessor`]; see the [module docs](self).
#[derive(Debug)]
pub struct BatchProcessorBuilder<E> {
    exporter: E,
    settings: QueueSettings,
    delivery: Option<Delivery>,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            queue_size: DEFAULT_QUEUE_SIZE,
            batch_size: DEFAULT_BATCH_SIZE,
            interval: DEFAULT_INTERVAL,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            max_concurrent_exports: DEFAULT_MAX_CONCURRENT_EXPORTS,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
        }
    }
}

impl<E: SpanExporter + 'static> BatchProcessorBuilder<E> {
    /// How many finished spans may wait for export; more are dropped and counted
    /// (`dropped.queue_full`). At least 1. Default [`DEFAULT_QUEUE_SIZE`].
    pub fn queue_size(mut self, spans: usize) -> Self {
        self.settings.queue_size = spans.clamp(1, MAX_QUEUE_SIZE);
        self
    }

    /// The largest batch handed to the exporter at once; a full batch is exported
    /// without waiting for the interval. At least 1, at most the queue size. Default
    /// [`DEFAULT_BATCH_SIZE`].
    pub fn batch_size(mut self, spans: usize) -> Self {
        self.settings.batch_size = spans.max(1);
        self
    }

    /// The longest a span waits in the queue when batches do not fill up. Default
    /// [`DEFAULT_INTERVAL`].
    pub fn interval(mut self, interval: Duration) -> Self {
        self.settings.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How many batches are exported at once when the queue holds several (at least 1).
    /// Default [`DEFAULT_MAX_CONCURRENT_EXPORTS`]. The exporter must accept concurrent
    /// `export` calls, as the OTLP exporters and this crate's wrappers do.
    pub fn max_concurrent_exports(mut self, exports: usize) -> Self {
        self.settings.max_concurrent_exports = exports.clamp(1, MAX_CONCURRENT_EXPORTS);
        self
    }

    /// The longest one export may take; past it the export is abandoned (dropped, which
    /// cancels it) and its spans are counted as `export_failed`, so a hung exporter
    /// cannot stall the queue forever. Default [`DEFAULT_EXPORT_TIMEOUT`].
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.settings.export_timeout = timeout;
        self
    }

    /// How long `force_flush` waits for the export thread. Default
    /// [`DEFAULT_FLUSH_TIMEOUT`].
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.settings.flush_timeout = timeout;
        self
    }

    /// All settings at once (setup's, from `OTEL_BSP_*`).
    pub(crate) fn settings(mut self, settings: QueueSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Counts into an existing [`Delivery`] instead of a new one, and leaves counting
    /// exports to the exporter chain (setup counts them at the innermost exporter, after
    /// tail sampling).
    pub(crate) fn counted_by_chain(mut self, delivery: Delivery) -> Self {
        self.delivery = Some(delivery);
        self
    }

    /// Starts the export thread.
    pub fn build(self) -> BatchProcessor {
        let (delivery, chain): (Delivery, Box<dyn ExportChain<SpanData>>) = match self.delivery {
            Some(delivery) => (delivery, Box::new(Spans(self.exporter))),
            None => {
                let delivery = Delivery::new(Signal::Spans);
                let counted = CountingExporter::new(self.exporter, delivery.clone());
                (delivery, Box::new(Spans(counted)))
            }
        };
        BatchProcessor {
            queue: Queue::start(self.settings, chain, delivery, "booking-otel.export"),
        }
    }
}

/// `now + duration`, saturating far in the future instead of panicking on overflow
/// (`Duration::MAX` is a fair way to say "no timeout").
fn later(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// Room for control messages (flush, shutdown, "a batch is full"). Only one "batch is
/// full" message is ever pending.
const CONTROL_CAPACITY: usize = 64;

enum Control {
    /// A batch is full.
    Export,
    /// Export everything queued, starting nothing after `drain_by`.
    Flush {
        drain_by: Instant,
        reply: SyncSender<OTelSdkResult>,
    },
    /// Like `Flush`, then drop what is left and shut the exporter down by `deadline`.
    Shutdown {
        drain_by: Instant,
        deadline: Instant,
        reply: SyncSender<OTelSdkResult>,
    },
    Resource(Box<Resource>),
}

/// A span processor that batches spans on an export thread and accounts for every one;
/// see the [module docs](self).
#[derive(Debug)]
pub struct BatchProcessor {
    queue: Queue<SpanData>,
}

/// The queue and its export thread, for spans and log records alike: the booking
/// thread's side (push, flush, shutdown).
#[derive(Debug)]
struct Queue<T> {
    items: Arc<Items<T>>,
    control: SyncSender<Control>,
    signalled: std::sync::Arc<AtomicBool>,
    delivery: Delivery,
    batch_size: u64,
    shut_down: AtomicBool,
    flush_timeout: Duration,
    handle: Mutex<Option<JoinHandle<()>>>,
    /// Why the export thread could not be started, if it could not: flush and
    /// shutdown answer with it.
    no_thread: Option<String>,
}

/// The queue's settings (the builders' fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueSettings {
    pub(crate) queue_size: usize,
    pub(crate) batch_size: usize,
    pub(crate) interval: Duration,
    pub(crate) flush_timeout: Duration,
    pub(crate) max_concurrent_exports: usize,
    pub(crate) export_timeout: Duration,
}

impl<T: Send + 'static> Queue<T> {
    /// Starts the export thread over `chain`.
    fn start(
        settings: QueueSettings,
        chain: Box<dyn ExportChain<T>>,
        delivery: Delivery,
        thread_name: &str,
    ) -> Self {
        let name = thread_name.to_owned();
        Self::start_with(settings, chain, delivery, move |worker| {
            std::thread::Builder::new()
                .name(name)
                .spawn(move || worker.run())
        })
    }

    /// [`start`](Self::start), with the thread started by `spawn`.
    fn start_with(
        settings: QueueSettings,
        chain: Box<dyn ExportChain<T>>,
        delivery: Delivery,
        spawn: impl FnOnce(Worker<T>) -> std::io::Result<JoinHandle<()>>,
    ) -> Self {
        // Whatever the settings say (environment variables included): no panic, no
        // allocation of the whole address space.
        let mut settings = settings;
        settings.queue_size = settings.queue_size.clamp(1, MAX_QUEUE_SIZE);
        settings.max_concurrent_exports = settings
            .max_concurrent_exports
            .clamp(1, MAX_CONCURRENT_EXPORTS);
        let batch_size = settings.batch_size.clamp(1, settings.queue_size);
        delivery
            .counters
            .capacity
            .store(settings.queue_size as u64, Ordering::Relaxed);
        let items = Arc::new(Items::new(settings.queue_size, batch_size));
        let (control, commands) = mpsc::sync_channel(CONTROL_CAPACITY);
        let signalled = std::sync::Arc::new(AtomicBool::new(false));
        let worker = Worker {
            exporter: chain,
            queue: Arc::clone(&items),
            commands,
            counters: std::sync::Arc::clone(&delivery.counters),
            signalled: std::sync::Arc::clone(&signalled),
            batch_size,
            concurrency: settings.max_concurrent_exports,
            interval: settings.interval,
            export_timeout: settings.export_timeout,
            stashed: std::collections::VecDeque::new(),
            failing: false,
            failed_under_request: None,
        };
        let (handle, no_thread) = match spawn(worker) {
            Ok(handle) => (Some(handle), None),
            Err(error) => {
                // Nothing would ever take from the queue: close it, so that every item
                // is refused and counted (`after_shutdown`) instead of waiting forever.
                items.take_all(true);
                let why = format!("the export thread could not be started: {error}");
                (None, Some(why))
            }
        };
        Queue {
            items,
            control,
            signalled,
            delivery,
            batch_size: batch_size as u64,
            shut_down: AtomicBool::new(false),
            flush_timeout: settings.flush_timeout,
            handle: Mutex::new(handle),
            no_thread,
        }
    }

    /// The booking thread's side: one atomic add and one short locked push.
    #[inline]
    fn push(&self, item: T) {
        let counters = &*self.delivery.counters;
        // Counted before the push, so no reader sees the item exported but not finished;
        // taken back if the push fails. Counted before the shutdown flag is read (both
        // SeqCst, as is the flag's store): either shutdown's final sweep sees this item,
        // or this push sees the flag.
        let accepted = counters.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        if self.shut_down.load(Ordering::SeqCst) {
            self.after_shutdown();
            return;
        }
        // The rare paths are out of line, so that the push is inlined here and the item
        // is copied once, into the queue (measured: one ~450-byte copy fewer per span).
        if let Err(refused) = self.items.push(item) {
            self.not_queued(refused);
        } else if accepted.saturating_sub(counters.taken.load(Ordering::Relaxed)) >= self.batch_size
        {
            self.batch_full();
        }
    }

    #[cold]
    #[inline(never)]
    fn after_shutdown(&self) {
        let counters = &*self.delivery.counters;
        counters.accepted.fetch_sub(1, Ordering::SeqCst);
        Counters::add(&counters.after_shutdown, 1);
    }

    #[cold]
    #[inline(never)]
    fn not_queued(&self, refused: Refused<T>) {
        let counters = &*self.delivery.counters;
        counters.accepted.fetch_sub(1, Ordering::Relaxed);
        match refused {
            Refused::Full(_) => Counters::add(&counters.queue_full, 1),
            Refused::Closed(_) => Counters::add(&counters.after_shutdown, 1),
        }
    }

    /// Wakes the export thread, once per full batch.
    #[inline(never)]
    fn batch_full(&self) {
        if !self.signalled.load(Ordering::Relaxed)
            && !self.signalled.swap(true, Ordering::Relaxed)
            && self.control.try_send(Control::Export).is_err()
        {
            self.signalled.store(false, Ordering::Relaxed);
        }
    }

    fn request(
        &self,
        message: impl FnOnce(SyncSender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        match self.ask(message, timeout) {
            Asked::Answered(result) => result,
            Asked::NoAnswer => Err(OTelSdkError::Timeout(timeout)),
            Asked::Busy => Err(busy()),
            Asked::NotSent(error) => Err(error),
        }
    }

    /// Sends a request to the export thread and waits up to `timeout` for its answer.
    fn ask(
        &self,
        message: impl FnOnce(SyncSender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> Asked {
        if let Some(why) = &self.no_thread {
            return Asked::NotSent(OTelSdkError::InternalFailure(why.clone()));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        match self.control.try_send(message(reply)) {
            Ok(()) => match answer.recv_timeout(timeout) {
                Ok(result) => Asked::Answered(result),
                Err(RecvTimeoutError::Timeout) => Asked::NoAnswer,
                Err(RecvTimeoutError::Disconnected) => {
                    Asked::NotSent(OTelSdkError::AlreadyShutdown)
                }
            },
            Err(TrySendError::Full(_)) => Asked::Busy,
            Err(TrySendError::Disconnected(_)) => Asked::NotSent(OTelSdkError::AlreadyShutdown),
        }
    }

    /// Exports every item queued before the call, then flushes the exporter.
    fn force_flush(&self) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let drain_by = later(Instant::now(), self.flush_timeout.mul_f32(0.9));
        self.request(
            |reply| Control::Flush { drain_by, reply },
            self.flush_timeout,
        )
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        // Keep the rest of the time for a poll that overruns (redacting a batch) and the
        // exporter's own shutdown.
        let now = Instant::now();
        let (drain_by, deadline) = (later(now, timeout.mul_f32(0.7)), later(now, timeout));
        let asked = self.ask(
            |reply| Control::Shutdown {
                drain_by,
                deadline,
                reply,
            },
            timeout,
        );
        match asked {
            Asked::Answered(result) => {
                // The export thread has finished: its last act was the answer.
                if let Some(handle) = self.handle.lock().ok().and_then(|mut h| h.take()) {
                    let _ = handle.join();
                }
                result
            }
            Asked::NoAnswer => {
                // The export thread is still busy (an export that does not yield): the
                // accounts become final now, with what it holds counted as unsent.
                self.delivery.counters.seal();
                Err(OTelSdkError::Timeout(timeout))
            }
            Asked::Busy => {
                // The request did not reach the export thread: not shut down; a later
                // call may try again.
                self.shut_down.store(false, Ordering::SeqCst);
                Err(busy())
            }
            Asked::NotSent(error) => Err(error),
        }
    }

    fn set_resource(&self, resource: &Resource) {
        let _ = self
            .control
            .try_send(Control::Resource(Box::new(resource.clone())));
    }
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Export => "Export",
            Control::Flush { .. } => "Flush",
            Control::Shutdown { .. } => "Shutdown",
            Control::Resource(_) => "Resource",
        })
    }
}

impl BatchProcessor {
    /// A builder with the defaults: queue [`DEFAULT_QUEUE_SIZE`], batch
    /// [`DEFAULT_BATCH_SIZE`], interval [`DEFAULT_INTERVAL`].
    pub fn builder<E: SpanExporter + 'static>(exporter: E) -> BatchProcessorBuilder<E> {
        BatchProcessorBuilder {
            exporter,
            settings: QueueSettings::default(),
            delivery: None,
        }
    }

    /// This pipeline's accounts; see [`Delivery`].
    pub fn delivery(&self) -> Delivery {
        self.queue.delivery.clone()
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.queue.push(span);
    }

    /// Exports every span that ended before the call, then flushes the exporter (which
    /// lets tail sampling decide what it holds).
    fn force_flush(&self) -> OTelSdkResult {
        self.queue.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.queue.set_resource(resource);
    }
}

/// What an export resolves to, boxed so the worker is one type per item.
type Export<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = OTelSdkResult> + Send + 'a>>;

/// Runs `exports` at once; resolves, once all have, to the first failure.
pub(crate) async fn all_of<F>(exports: impl IntoIterator<Item = F>) -> OTelSdkResult
where
    F: std::future::Future<Output = OTelSdkResult>,
{
    futures_util::future::join_all(exports)
        .await
        .into_iter()
        .collect()
}

/// The exporter behind the queue, object-safe so the worker is one type per item.
trait ExportChain<T>: Send {
    /// Exports the batches at once; resolves to the first failure.
    fn export(&self, batches: Vec<Vec<T>>) -> Export<'_>;
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

/// A span exporter as the worker's export chain.
struct Spans<E>(E);

impl<E: SpanExporter> ExportChain<SpanData> for Spans<E> {
    fn export(&self, batches: Vec<Vec<SpanData>>) -> Export<'_> {
        Box::pin(all_of(
            batches.into_iter().map(|batch| self.0.export(batch)),
        ))
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

struct Worker<T> {
    exporter: Box<dyn ExportChain<T>>,
    queue: Arc<Items<T>>,
    commands: Receiver<Control>,
    counters: std::sync::Arc<Counters>,
    signalled: std::sync::Arc<AtomicBool>,
    batch_size: usize,
    concurrency: usize,
    interval: Duration,
    export_timeout: Duration,
    /// Control messages read while an export was in flight, handled next.
    stashed: std::collections::VecDeque<Control>,
    /// Whether the last export failed (the collector is down or refusing).
    failing: bool,
    /// The failure of an export that was in flight when flushes or shutdowns were asked
    /// for, and how many of them: the spans it held ended before those calls, so each
    /// of their replies reports it.
    failed_under_request: Option<(OTelSdkError, usize)>,
}

/// What became of a request to the export thread.
enum Asked {
    /// The thread answered.
    Answered(OTelSdkResult),
    /// The thread did not answer in time.
    NoAnswer,
    /// The thread's control queue is full: it is stuck in an export.
    Busy,
    /// There is no thread to ask (shut down, or never started).
    NotSent(OTelSdkError),
}

fn busy() -> OTelSdkError {
    OTelSdkError::InternalFailure(format!(
        "the export thread has {CONTROL_CAPACITY} requests waiting: it is stuck in an export"
    ))
}

/// `OTelSdkError` is not `Clone`.
fn copy_of(error: &OTelSdkError) -> OTelSdkError {
    match error {
        OTelSdkError::AlreadyShutdown => OTelSdkError::AlreadyShutdown,
        OTelSdkError::Timeout(after) => OTelSdkError::Timeout(*after),
        OTelSdkError::InternalFailure(message) => OTelSdkError::InternalFailure(message.clone()),
    }
}

/// How long a shutdown tries to export when the last export failed.
const FAILING_SHUTDOWN_TRY: Duration = Duration::from_secs(1);

impl<T: Send + 'static> Worker<T> {
    /// The export thread. It exports one round (up to `concurrency` batches) at a time
    /// and looks at its control messages between rounds, so a flush or a shutdown is
    /// never stuck behind a long backlog on a slow collector.
    fn run(mut self) {
        // Exporters' own telemetry (tonic, hyper) must not feed back into the pipeline.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut next = later(Instant::now(), self.interval);
        // Spans the last tick found queued: exported before the thread waits again.
        let mut owed = 0;
        loop {
            let backlog = owed > 0 || self.queued() >= self.batch_size;
            let wait = if backlog {
                Duration::ZERO
            } else {
                next.saturating_duration_since(Instant::now())
            };
            let message = match self.stashed.pop_front() {
                Some(message) => Ok(message),
                None => self.commands.recv_timeout(wait),
            };
            match message {
                Ok(Control::Export) => self.signalled.store(false, Ordering::Relaxed),
                Ok(Control::Flush { drain_by, reply }) => {
                    let earlier = self.failure_under_request();
                    let exported = self.drain(Some(drain_by));
                    let flushed = self.exporter.force_flush();
                    owed = 0;
                    let _ = reply.send(earlier.and(exported).and(flushed));
                }
                Ok(Control::Shutdown {
                    drain_by,
                    deadline,
                    reply,
                }) => {
                    // Answer within the caller's timeout: give up on what is left at
                    // `drain_by`, and leave the rest of the time to the exporter.
                    // The collector failed the last export: one more try, briefly (it
                    // may be back), rather than the whole drain time.
                    let drain_by = match self.failing {
                        true => drain_by.min(later(Instant::now(), FAILING_SHUTDOWN_TRY)),
                        false => drain_by,
                    };
                    let earlier = self.failure_under_request();
                    let exported = self.drain(Some(drain_by));
                    let abandoned = self.abandon_queue();
                    let shut = self
                        .exporter
                        .shutdown(deadline.saturating_duration_since(Instant::now()));
                    let swept = self.final_sweep();
                    let _ = reply.send(earlier.and(exported).and(abandoned).and(swept).and(shut));
                    return;
                }
                Ok(Control::Resource(resource)) => self.exporter.set_resource(&resource),
                Err(RecvTimeoutError::Timeout) if backlog => {
                    let limit = owed.max(self.batch_size.saturating_mul(self.concurrency));
                    let (taken, _) = self.round(limit, None);
                    // Nothing to take (pushes counted that then found the queue full):
                    // the debt is paid, do not spin.
                    owed = if taken == 0 {
                        0
                    } else {
                        owed.saturating_sub(taken)
                    };
                }
                Err(RecvTimeoutError::Timeout) => {
                    owed = self.queued();
                    next = later(Instant::now(), self.interval);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.drain(Some(later(Instant::now(), DEFAULT_FLUSH_TIMEOUT)));
                    let _ = self.abandon_queue();
                    let _ = self.exporter.shutdown(DEFAULT_FLUSH_TIMEOUT);
                    let _ = self.final_sweep();
                    return;
                }
            }
        }
        // Spans pushed after the thread returns find the receiver gone: `after_shutdown`.
    }

    /// For the flush or shutdown being handled: the failure of the export that was in
    /// flight when it was asked for, if that export failed.
    fn failure_under_request(&mut self) -> OTelSdkResult {
        match self.failed_under_request.take() {
            None => Ok(()),
            Some((error, waiting)) => {
                if waiting > 1 {
                    self.failed_under_request = Some((copy_of(&error), waiting - 1));
                }
                Err(error)
            }
        }
    }

    fn queued(&self) -> usize {
        let c = &*self.counters;
        c.accepted
            .load(Ordering::Acquire)
            .saturating_sub(c.taken.load(Ordering::Relaxed)) as usize
    }

    /// Exports everything queued now, round after round, starting none after
    /// `deadline` and none after a failed round (the collector is down or refusing: the
    /// caller is waiting, and the next round would fail too). Returns the first failure.
    fn drain(&mut self, deadline: Option<Instant>) -> OTelSdkResult {
        let mut budget = self.queued();
        while budget > 0 {
            if let Some(deadline) = deadline
                && Instant::now() >= deadline
            {
                // A flush that could not export everything says so (the rest stays
                // queued; at shutdown it is counted as unsent).
                return Err(OTelSdkError::Timeout(Duration::ZERO));
            }
            let (taken, exported) = self.round(budget, deadline);
            if taken == 0 {
                break;
            }
            exported?;
            budget = budget.saturating_sub(taken);
        }
        Ok(())
    }

    /// One round: up to `concurrency` batches, at most `limit` spans, exported at once.
    /// Returns how many spans it took and the first failure.
    fn round(&mut self, limit: usize, deadline: Option<Instant>) -> (usize, OTelSdkResult) {
        let (batches, taken) = self.queue.take(self.concurrency, limit);
        if batches.is_empty() {
            return (0, Ok(()));
        }
        Counters::add(&self.counters.taken, taken);
        let now = Instant::now();
        let deadline = match deadline {
            Some(deadline) => deadline.min(later(now, self.export_timeout)),
            None => later(now, self.export_timeout),
        };
        let export = self.exporter.export(batches);
        let result = Self::wait_for(
            export,
            deadline,
            &self.commands,
            &mut self.stashed,
            self.export_timeout,
        );
        self.failing = result.is_err();
        if let Err(error) = &result {
            // A flush or shutdown asked for while this export ran (an export that does
            // not yield is not interrupted to read it) waits for the spans it held.
            self.stashed.extend(self.commands.try_iter());
            let waiting = self
                .stashed
                .iter()
                .filter(|c| matches!(c, Control::Flush { .. } | Control::Shutdown { .. }))
                .count();
            if waiting > 0 {
                self.failed_under_request = Some((copy_of(error), waiting));
            }
        }
        (taken, result)
    }

    /// Runs `export` on this thread until it completes or `deadline` passes (then drops
    /// it, which cancels it: the counting stage counts its spans as `export_failed`).
    /// Meanwhile it reads control messages: they are handled after this round, and a
    /// shutdown brings the deadline forward to its own (a flush does not: cancelling a
    /// healthy export would lose what a flush is meant to deliver).
    fn wait_for(
        mut export: Export<'_>,
        mut deadline: Instant,
        commands: &Receiver<Control>,
        stashed: &mut std::collections::VecDeque<Control>,
        export_timeout: Duration,
    ) -> OTelSdkResult {
        use std::sync::Arc;
        use std::task::{Context as TaskContext, Poll, Wake, Waker};

        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
            fn wake_by_ref(self: &Arc<Self>) {
                self.0.unpark();
            }
        }

        // How often control messages are looked at while an export is in flight.
        const CONTROL_POLL: Duration = Duration::from_millis(5);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = TaskContext::from_waker(&waker);
        loop {
            // An exporter that panics fails its export; the export thread lives on.
            let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                export.as_mut().poll(&mut cx)
            }));
            match polled {
                Ok(Poll::Ready(result)) => return result,
                Ok(Poll::Pending) => {}
                Err(_) => {
                    return Err(OTelSdkError::InternalFailure(
                        "the exporter panicked".into(),
                    ));
                }
            }
            while let Ok(message) = commands.try_recv() {
                if let Control::Shutdown { drain_by, .. } = &message {
                    deadline = deadline.min(*drain_by);
                }
                stashed.push_back(message);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(OTelSdkError::Timeout(export_timeout));
            }
            std::thread::park_timeout((deadline - now).min(CONTROL_POLL));
        }
    }

    /// The last thing the thread does: items pushed by a booking thread that had not yet
    /// seen the shutdown flag may still arrive; wait for them (briefly) and count them
    /// as unsent, so that none is dropped with the queue uncounted.
    fn final_sweep(&mut self) -> OTelSdkResult {
        let until = later(Instant::now(), Duration::from_millis(100));
        let mut result = Ok(());
        loop {
            result = result.and(self.abandon_queue());
            let c = &*self.counters;
            if c.accepted.load(Ordering::SeqCst) <= c.taken.load(Ordering::SeqCst)
                || Instant::now() >= until
            {
                return result;
            }
            std::thread::yield_now();
        }
    }

    /// Counts what is still queued as `unsent_at_shutdown` and drops it.
    fn abandon_queue(&mut self) -> OTelSdkResult {
        match self.discard_queue(false) {
            0 => Ok(()),
            abandoned => Err(OTelSdkError::InternalFailure(format!(
                "shutdown timed out with {abandoned} spans not exported"
            ))),
        }
    }
}

impl<T> Worker<T> {
    /// Drops what is queued, counted as `unsent_at_shutdown`; returns how many. With
    /// `close`, later pushes are refused (counted `after_shutdown` by the pusher).
    fn discard_queue(&mut self, close: bool) -> usize {
        let (items, discarded) = self.queue.take_all(close);
        drop(items);
        if discarded > 0 {
            Counters::add(&self.counters.taken, discarded);
            Counters::add(&self.counters.unsent_at_shutdown, discarded);
        }
        discarded
    }
}

impl<T> Drop for Worker<T> {
    /// However the thread ends, what is left in the queue is counted, not lost silently.
    fn drop(&mut self) {
        self.discard_queue(true);
    }
}

/// Counts what its exporter accepted and failed; innermost in setup's chain (after tail
/// sampling), outermost around a user's exporter.
#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    inner: E,
    delivery: Delivery,
}

impl<E> CountingExporter<E> {
    pub(crate) fn new(inner: E, delivery: Delivery) -> Self {
        CountingExporter { inner, delivery }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        // Counts on every path, including an export dropped before it finished (the
        // batch processor abandons exports past their timeout).
        let pending = Pending::new(&self.delivery, batch.len());
        pending.settle(self.inner.export(batch).await)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The items of an export that has not finished: counted as `export_failed` if the
/// export is dropped, so they are counted on every path.
struct Pending<'c> {
    counters: &'c Counters,
    /// Spans or log records.
    spans: usize,
}

impl<'c> Pending<'c> {
    fn new(delivery: &'c Delivery, items: usize) -> Self {
        Pending {
            counters: &delivery.counters,
            spans: items,
        }
    }

    /// Counts the items as exported or failed by `result`, and returns it.
    fn settle(mut self, result: OTelSdkResult) -> OTelSdkResult {
        let counter = match result {
            Ok(()) => &self.counters.exported,
            Err(_) => &self.counters.export_failed,
        };
        Counters::add(counter, std::mem::take(&mut self.spans));
        result
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.spans > 0 {
            Counters::add(&self.counters.export_failed, self.spans);
        }
    }
}

/// A log record as queued: the record and its instrumentation scope (the SDK's batch
/// log processor clones the same two).
#[cfg(feature = "logs")]
type LogItem = (
    opentelemetry_sdk::logs::SdkLogRecord,
    opentelemetry::InstrumentationScope,
);

/// The log records' batch processor: the same queue, export thread and accounts as
/// [`BatchProcessor`], for log records. Built by [`setup`](crate::setup) (settings from
/// `OTEL_BLRP_*`).
#[cfg(feature = "logs")]
#[derive(Debug)]
pub(crate) struct BatchLogProcessor {
    queue: Queue<LogItem>,
}

#[cfg(feature = "logs")]
impl BatchLogProcessor {
    /// The log pipeline's accounts.
    pub(crate) fn delivery(&self) -> Delivery {
        self.queue.delivery.clone()
    }

    /// Starts the export thread over `exporter`, counting into `delivery` (the exporter
    /// chain counts exports, innermost: see [`CountingLogExporter`]).
    pub(crate) fn start<E: opentelemetry_sdk::logs::LogExporter + 'static>(
        exporter: E,
        settings: QueueSettings,
        delivery: Delivery,
    ) -> Self {
        BatchLogProcessor {
            queue: Queue::start(
                settings,
                Box::new(Logs(exporter)),
                delivery,
                "booking-otel.export-logs",
            ),
        }
    }
}

#[cfg(feature = "logs")]
impl opentelemetry_sdk::logs::LogProcessor for BatchLogProcessor {
    fn emit(
        &self,
        record: &mut opentelemetry_sdk::logs::SdkLogRecord,
        scope: &opentelemetry::InstrumentationScope,
    ) {
        self.queue.push((record.clone(), scope.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.queue.set_resource(resource);
    }
}

/// A log exporter as the worker's export chain.
#[cfg(feature = "logs")]
struct Logs<E>(E);

#[cfg(feature = "logs")]
impl<E: opentelemetry_sdk::logs::LogExporter> ExportChain<LogItem> for Logs<E> {
    fn export(&self, batches: Vec<Vec<LogItem>>) -> Export<'_> {
        Box::pin(async move {
            let views: Vec<Vec<_>> = batches
                .iter()
                .map(|batch| {
                    batch
                        .iter()
                        .map(|(record, scope)| (record, scope))
                        .collect()
                })
                .collect();
            let exports = views.iter().map(|view| {
                self.0
                    .export(opentelemetry_sdk::logs::LogBatch::new(view.as_slice()))
            });
            all_of(exports).await
        })
    }
    fn force_flush(&self) -> OTelSdkResult {
        // The log exporter interface has no flush: a flush is the export of the queue.
        Ok(())
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// Counts what its log exporter accepted and failed; innermost in setup's log chain.
#[cfg(feature = "logs")]
#[derive(Debug)]
pub(crate) struct CountingLogExporter<E> {
    inner: E,
    delivery: Delivery,
}

#[cfg(feature = "logs")]
impl<E> CountingLogExporter<E> {
    pub(crate) fn new(inner: E, delivery: Delivery) -> Self {
        CountingLogExporter { inner, delivery }
    }
}

#[cfg(feature = "logs")]
impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter
    for CountingLogExporter<E>
{
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        let pending = Pending::new(&self.delivery, batch.iter().count());
        pending.settle(self.inner.export(batch).await)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

    #[test]
    fn with_no_export_thread_every_span_is_refused_and_counted_and_flush_says_why() {
        let delivery = Delivery::new(Signal::Spans);
        let exporter = CountingExporter::new(InMemorySpanExporter::default(), delivery.clone());
        let processor = BatchProcessor {
            queue: Queue::start_with(
                QueueSettings::default(),
                Box::new(Spans(exporter)),
                delivery.clone(),
                |_worker| Err(std::io::Error::other("no more threads")),
            ),
        };
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        for _ in 0..10 {
            tracer.start("booking.step").end();
        }
        let counts = delivery.counts();
        assert_eq!(counts.finished, 10, "{counts:?}");
        assert_eq!(counts.dropped.after_shutdown, 10, "{counts:?}");
        assert_eq!((counts.queued, counts.in_flight), (0, 0), "{counts:?}");
        let flushed = provider.force_flush();
        let message = format!("{flushed:?}");
        assert!(
            message.contains("could not be started") && message.contains("no more threads"),
            "{message}"
        );
        assert!(provider.shutdown().is_err());
    }
}
