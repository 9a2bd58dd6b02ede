//! The batch processor: the booking thread pays one channel push per span; an export
//! thread drains the queue into the exporter. Every span is accounted for in
//! [`Delivery`]: exported, sampled out, or dropped by reason.
//!
//! ```text
//! booking threads                           export thread ("booking-otel.export")
//!   span.end() ─▶ on_end ─try_send─▶ [ queue: queue_size spans ] ─▶ batches of batch_size
//!                  │ full: dropped.queue_full                        ─▶ exporter.export
//!                  │ after shutdown: dropped.after_shutdown          (every interval, when a
//!                  └ batch full: wake the export thread               batch is full, on flush)
//! ```
//!
//! Why not the SDK's `BatchSpanProcessor`: it counts drops only in a log line (or, behind
//! an experimental flag, in the global meter if that was installed first), and its
//! `force_flush` does not flush its exporter, so a flush cannot reach tail sampling or
//! any exporter that buffers. The booking-thread cost is the same (one atomic add, one
//! `try_send`); see BENCHMARKS.md.
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

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use crate::delivery::{Counters, Delivery};

/// The default queue: absorbs a burst of 10,000 concurrent five-step bookings (50,000
/// spans) with no loss; see `tests/burst.rs` and the README's "Guarantees".
pub const DEFAULT_QUEUE_SIZE: usize = 65_536;
/// The default largest batch per export call (the OTel default).
pub const DEFAULT_BATCH_SIZE: usize = 512;
/// The default time between exports when batches do not fill up.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// How long [`force_flush`](SpanProcessor::force_flush) waits for the export thread.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a [`BatchProcessor`]; see the [module docs](self).
#[derive(Debug)]
pub struct BatchProcessorBuilder<E> {
    exporter: E,
    queue_size: usize,
    batch_size: usize,
    interval: Duration,
    flush_timeout: Duration,
    delivery: Option<Delivery>,
}

impl<E: SpanExporter + 'static> BatchProcessorBuilder<E> {
    /// How many finished spans may wait for export; more are dropped and counted
    /// (`dropped.queue_full`). At least 1. Default [`DEFAULT_QUEUE_SIZE`].
    pub fn queue_size(mut self, spans: usize) -> Self {
        self.queue_size = spans.max(1);
        self
    }

    /// The largest batch handed to the exporter at once; a full batch is exported
    /// without waiting for the interval. At least 1, at most the queue size. Default
    /// [`DEFAULT_BATCH_SIZE`].
    pub fn batch_size(mut self, spans: usize) -> Self {
        self.batch_size = spans.max(1);
        self
    }

    /// The longest a span waits in the queue when batches do not fill up. Default
    /// [`DEFAULT_INTERVAL`].
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// How long `force_flush` waits for the export thread. Default
    /// [`DEFAULT_FLUSH_TIMEOUT`].
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
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
        let batch_size = self.batch_size.min(self.queue_size);
        let (delivery, exporter): (Delivery, Box<dyn ExportChain>) = match self.delivery {
            Some(delivery) => (delivery, Box::new(Plain(self.exporter))),
            None => {
                let delivery = Delivery::new(self.queue_size);
                let counted = CountingExporter::new(self.exporter, delivery.clone());
                (delivery, Box::new(Plain(counted)))
            }
        };
        delivery
            .counters
            .capacity
            .store(self.queue_size as u64, Ordering::Relaxed);
        let (spans, queue) = mpsc::sync_channel(self.queue_size);
        let (control, commands) = mpsc::sync_channel(CONTROL_CAPACITY);
        let signalled = std::sync::Arc::new(AtomicBool::new(false));
        let worker = Worker {
            exporter,
            queue,
            commands,
            counters: std::sync::Arc::clone(&delivery.counters),
            signalled: std::sync::Arc::clone(&signalled),
            batch_size,
            interval: self.interval,
        };
        let handle = std::thread::Builder::new()
            .name("booking-otel.export".into())
            .spawn(move || worker.run());
        BatchProcessor {
            spans,
            control,
            signalled,
            delivery,
            batch_size: batch_size as u64,
            shut_down: AtomicBool::new(false),
            flush_timeout: self.flush_timeout,
            // A thread that cannot start drops the queue's receiver: every span then
            // counts as `after_shutdown` rather than vanishing.
            handle: Mutex::new(handle.ok()),
        }
    }
}

/// Room for control messages (flush, shutdown, "a batch is full"). Only one "batch is
/// full" message is ever pending.
const CONTROL_CAPACITY: usize = 64;

enum Control {
    /// A batch is full.
    Export,
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(Duration, SyncSender<OTelSdkResult>),
    Resource(Box<Resource>),
}

/// A span processor that batches spans on an export thread and accounts for every one;
/// see the [module docs](self).
#[derive(Debug)]
pub struct BatchProcessor {
    spans: SyncSender<SpanData>,
    control: SyncSender<Control>,
    signalled: std::sync::Arc<AtomicBool>,
    delivery: Delivery,
    batch_size: u64,
    shut_down: AtomicBool,
    flush_timeout: Duration,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Control::Export => "Export",
            Control::Flush(_) => "Flush",
            Control::Shutdown(..) => "Shutdown",
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
            queue_size: DEFAULT_QUEUE_SIZE,
            batch_size: DEFAULT_BATCH_SIZE,
            interval: DEFAULT_INTERVAL,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            delivery: None,
        }
    }

    /// This pipeline's accounts; see [`Delivery`].
    pub fn delivery(&self) -> Delivery {
        self.delivery.clone()
    }

    fn request(
        &self,
        message: impl FnOnce(SyncSender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (reply, answer) = mpsc::sync_channel(1);
        match self.control.try_send(message(reply)) {
            Ok(()) => match answer.recv_timeout(timeout) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
                Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::AlreadyShutdown),
            },
            Err(TrySendError::Full(_)) => Err(OTelSdkError::InternalFailure(
                "the export thread has 64 requests waiting: it is stuck in an export".into(),
            )),
            Err(TrySendError::Disconnected(_)) => Err(OTelSdkError::AlreadyShutdown),
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let counters = &*self.delivery.counters;
        if self.shut_down.load(Ordering::Relaxed) {
            Counters::add(&counters.after_shutdown, 1);
            return;
        }
        // Counted before the push, so no reader sees the span exported but not finished;
        // taken back if the push fails.
        let accepted = counters.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        match self.spans.try_send(span) {
            Ok(()) => {
                let queued = accepted.saturating_sub(counters.taken.load(Ordering::Relaxed));
                if queued >= self.batch_size
                    && !self.signalled.load(Ordering::Relaxed)
                    && !self.signalled.swap(true, Ordering::Relaxed)
                    && self.control.try_send(Control::Export).is_err()
                {
                    self.signalled.store(false, Ordering::Relaxed);
                }
            }
            Err(error) => {
                counters.accepted.fetch_sub(1, Ordering::Relaxed);
                match error {
                    TrySendError::Full(_) => Counters::add(&counters.queue_full, 1),
                    TrySendError::Disconnected(_) => Counters::add(&counters.after_shutdown, 1),
                }
            }
        }
    }

    /// Exports every span that ended before the call, then flushes the exporter (which
    /// lets tail sampling decide what it holds).
    fn force_flush(&self) -> OTelSdkResult {
        if self.shut_down.load(Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.request(Control::Flush, self.flush_timeout)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        if self.shut_down.swap(true, Ordering::Relaxed) {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.request(|reply| Control::Shutdown(timeout, reply), timeout);
        if result.is_ok()
            && let Some(handle) = self.handle.lock().ok().and_then(|mut h| h.take())
        {
            let _ = handle.join();
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        let _ = self
            .control
            .try_send(Control::Resource(Box::new(resource.clone())));
    }
}

/// The exporter behind the queue, object-safe so the worker is one type.
trait ExportChain: Send {
    fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult;
    fn force_flush(&self) -> OTelSdkResult;
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
}

struct Plain<E>(E);

impl<E: SpanExporter> ExportChain for Plain<E> {
    fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        futures_executor::block_on(self.0.export(batch))
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

struct Worker {
    exporter: Box<dyn ExportChain>,
    queue: Receiver<SpanData>,
    commands: Receiver<Control>,
    counters: std::sync::Arc<Counters>,
    signalled: std::sync::Arc<AtomicBool>,
    batch_size: usize,
    interval: Duration,
}

impl Worker {
    fn run(mut self) {
        // Exporters' own telemetry (tonic, hyper) must not feed back into the pipeline.
        let _suppressed = Context::enter_telemetry_suppressed_scope();
        let mut next = Instant::now() + self.interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(wait) {
                Ok(Control::Export) => {
                    self.signalled.store(false, Ordering::Relaxed);
                    let _ = self.export(true);
                }
                Ok(Control::Flush(reply)) => {
                    let exported = self.export(false);
                    let flushed = self.exporter.force_flush();
                    let _ = reply.send(exported.and(flushed));
                }
                Ok(Control::Shutdown(timeout, reply)) => {
                    let exported = self.export(false);
                    let shut = self.exporter.shutdown(timeout);
                    let _ = reply.send(exported.and(shut));
                    break;
                }
                Ok(Control::Resource(resource)) => self.exporter.set_resource(&resource),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.export(false);
                    next = Instant::now() + self.interval;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.export(false);
                    let _ = self.exporter.shutdown(DEFAULT_FLUSH_TIMEOUT);
                    break;
                }
            }
        }
        // Spans pushed after this point find the receiver gone: `after_shutdown`.
    }

    /// Exports what is queued now, in batches; with `full_only`, only whole batches.
    /// Returns the first failure.
    fn export(&mut self, full_only: bool) -> OTelSdkResult {
        let queued = |c: &Counters| {
            c.accepted
                .load(Ordering::Acquire)
                .saturating_sub(c.taken.load(Ordering::Relaxed)) as usize
        };
        // What is queued now, and no more: under sustained load the thread must come
        // back to its control messages.
        let mut budget = queued(&self.counters);
        let mut result = Ok(());
        while budget > 0 {
            if full_only && queued(&self.counters) < self.batch_size {
                break;
            }
            let limit = self.batch_size.min(budget);
            let mut batch = Vec::with_capacity(limit);
            while batch.len() < limit {
                match self.queue.try_recv() {
                    Ok(span) => batch.push(span),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            budget = budget.saturating_sub(batch.len());
            Counters::add(&self.counters.taken, batch.len());
            if let Err(error) = self.exporter.export(batch) {
                result = result.and(Err(error));
            }
        }
        result
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
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        let counters = &self.delivery.counters;
        match result {
            Ok(()) => Counters::add(&counters.exported, spans),
            Err(_) => Counters::add(&counters.export_failed, spans),
        }
        result
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
