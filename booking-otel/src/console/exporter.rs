//! [`WaterfallExporter`]: the span exporter that prints each finished trace.

use std::io::{Stdout, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::trace_buffer::{Ready, TraceBuffer};
use super::waterfall::{RenderOptions, render_with_note};

/// The most spans held while their traces wait for their roots, by default.
pub const DEFAULT_MAX_BUFFERED_SPANS: usize = 4_096;

/// How long a trace waits for its root before it is rendered partial, by default.
pub const DEFAULT_ROOT_WAIT: Duration = Duration::from_secs(30);

/// A span exporter that renders each finished trace as a waterfall (see the
/// [module docs](super)), on stdout or any writer.
///
/// Spans of one trace arrive over several exports (children end before their parents,
/// and a batch processor cuts batches by size and time), so the exporter holds them by
/// trace and renders a trace when its local root arrives: a span without a parent, or
/// whose parent is remote. Memory is bounded: past
/// [`max_buffered_spans`](Self::max_buffered_spans) the oldest waiting trace is rendered
/// at once, marked partial; a trace whose root has not arrived after
/// [`root_wait`](Self::root_wait) is rendered partial at the next export; `force_flush`
/// and `shutdown` render everything left. Spans of a trace that arrive after it was
/// rendered (a spawned step ending after its root) are rendered later, the same way, and
/// say so.
///
/// Writing never panics. A write error (a closed pipe) is returned from `export`, which
/// the SDK logs and goes on: the application is never failed by its console.
///
/// ```
/// use booking_otel::console::{RenderOptions, WaterfallExporter};
/// use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
///
/// // On stdout, coloured when stdout is a terminal and NO_COLOR is not set:
/// let provider = SdkTracerProvider::builder()
///     .with_span_processor(SimpleSpanProcessor::new(WaterfallExporter::stdout()))
///     .build();
/// # let _ = provider.shutdown();
/// // Into any writer, with options of your own:
/// let exporter = WaterfallExporter::new(Vec::<u8>::new(), RenderOptions::default().width(80));
/// ```
pub struct WaterfallExporter<W = Stdout> {
    /// Never contended: the SDK does not call `export` concurrently on one exporter.
    state: Mutex<State<W>>,
}

struct State<W> {
    out: W,
    buffer: TraceBuffer,
    options: RenderOptions,
    shut_down: bool,
}

impl<W> std::fmt::Debug for WaterfallExporter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("WaterfallExporter")
            .field("options", &state.options)
            .field("buffered_spans", &state.buffer.len())
            .field("max_buffered_spans", &state.buffer.max_spans)
            .field("root_wait", &state.buffer.root_wait)
            .finish_non_exhaustive()
    }
}

impl WaterfallExporter<Stdout> {
    /// Prints to stdout, with [`RenderOptions::detect`]: width from `COLUMNS` (else
    /// 100), colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout(), RenderOptions::detect())
    }
}

impl Default for WaterfallExporter<Stdout> {
    /// [`WaterfallExporter::stdout`].
    fn default() -> Self {
        Self::stdout()
    }
}

impl<W: Write + Send + 'static> WaterfallExporter<W> {
    /// Writes into `out` (a file, a `Vec<u8>`, a shared buffer in tests) with `options`.
    /// Nothing is detected: colour is on only if `options` says so.
    pub fn new(out: W, options: RenderOptions) -> Self {
        WaterfallExporter {
            state: Mutex::new(State {
                out,
                buffer: TraceBuffer::new(DEFAULT_MAX_BUFFERED_SPANS, DEFAULT_ROOT_WAIT),
                options,
                shut_down: false,
            }),
        }
    }

    /// The most spans held while their traces wait for their roots (default
    /// [`DEFAULT_MAX_BUFFERED_SPANS`]); past it the oldest trace is rendered partial.
    pub fn max_buffered_spans(self, spans: usize) -> Self {
        self.lock().buffer.max_spans = spans;
        self
    }

    /// How long a trace waits for its root before it is rendered partial at the next
    /// export (default [`DEFAULT_ROOT_WAIT`]).
    pub fn root_wait(self, wait: Duration) -> Self {
        self.lock().buffer.root_wait = wait;
        self
    }

    /// How many spans wait for their traces' roots.
    pub fn buffered_spans(&self) -> usize {
        self.lock().buffer.len()
    }

    fn lock(&self) -> MutexGuard<'_, State<W>> {
        // A panic while rendering (there is none to expect) leaves nothing half-done
        // that matters: the buffer is consistent between spans.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn export_now(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut state = self.lock();
        if state.shut_down {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let ready = state.buffer.add(batch, Instant::now());
        state.write(ready)
    }

    fn flush_now(&self) -> OTelSdkResult {
        let mut state = self.lock();
        let ready = state.buffer.drain();
        state.write(ready)
    }
}

impl<W: Write> State<W> {
    /// Renders and writes `ready`, one trace after another, each followed by an empty
    /// line. Every trace is written even after a failed write; the first error is
    /// returned.
    fn write(&mut self, ready: Vec<Ready>) -> OTelSdkResult {
        let mut result = Ok(());
        if ready.is_empty() {
            return result;
        }
        for trace in ready {
            let note = trace.partial_note(&self.buffer);
            let mut text = render_with_note(&trace.spans, &self.options, note.as_deref());
            text.push('\n');
            if let Err(e) = self.out.write_all(text.as_bytes()) {
                result = result.and(Err(OTelSdkError::InternalFailure(format!(
                    "console waterfall: {e}"
                ))));
            }
        }
        if let Err(e) = self.out.flush() {
            result = result.and(Err(OTelSdkError::InternalFailure(format!(
                "console waterfall: {e}"
            ))));
        }
        result
    }
}

impl<W: Write + Send + 'static> SpanExporter for WaterfallExporter<W> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.export_now(batch)
    }

    /// Renders every waiting trace, partial. (The SDK's batch processor does not pass
    /// `force_flush` on to its exporter; shutdown does.)
    fn force_flush(&self) -> OTelSdkResult {
        self.flush_now()
    }

    /// Renders every waiting trace, partial; later exports are refused.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        let flushed = self.flush_now();
        self.lock().shut_down = true;
        flushed
    }
}
