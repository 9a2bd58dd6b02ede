//! The console view: each finished trace as a waterfall in the terminal, and the
//! metrics as a compact table. What the default console exporters print when no
//! collector is configured.
//!
//! A booking whose payment gateway timed out, as [`WaterfallExporter`] prints it (plain,
//! 100 columns):
//!
//! ```text
//! booking.create (server)  trace 4bf92f35…  412 ms  ERROR gateway_timeout  booking.reservation_id=res…
//! ├─ booking.check_availability       █                            18 ms
//! ├─ booking.price                    ██                            6 ms
//! ├─ booking.acquire_lock              ◆                            6 ms  ◆ lock_contention
//! ├─ booking.process_payment (client)  ███████████████      ERROR 310 ms  error.type=gateway_timeout
//! └─ booking.rollback.release_lock                    █   ↺         4 ms
//! ```
//!
//! - **Header**: the local root's name and kind, the first 8 hex digits of the trace id,
//!   the root's duration and status (`OK`, `ERROR` with its `error.type`, `REJECTED`
//!   with its `booking.rejection.type`), then, as room allows, the remote parent the
//!   trace continues from (`(continues trace from remote parent 00f067aa…)`), how many
//!   spans below failed when the root did not, and the root's key attributes. A note
//!   that does not fit goes on a second line.
//! - **One line per span** below the root, children in start order, drawn with
//!   `├─ └─ │`: the name (cut with `…` to fit its column) and its kind for client,
//!   server, producer and consumer spans; a bar placed and scaled on the trace's time
//!   axis (at least one cell), with a `◆` at the time of each event; `↺` for a rollback
//!   step (a `booking.rollback.*` name or `booking.rollback = true`); `ERROR` or
//!   `REJECTED`; the duration; then `error.type` or `booking.rejection.type`, the event
//!   names, and the attributes of [`DEFAULT_ATTRIBUTES`] (or
//!   [`RenderOptions::attributes`]). The `exception` event of a failed step and the
//!   `booking.rejection` event of a rejected one are not repeated as marks: `ERROR` and
//!   `REJECTED` say them.
//! - **Spans whose parent is not in the trace** (dropped, exported elsewhere) are
//!   extra roots after the tree, marked `┄` with `parent 1a2b3c4d… not received`. A
//!   trace rendered before its root arrived (see below) says why in its header:
//!   `trace 4bf92f35…  349 ms  (partial: root not ended after 30 s)`.
//!
//! On a narrow terminal the bars get shorter and the attributes go before the
//! durations do; at 60 columns:
//!
//! ```text
//! booking.create  trace 4bf92f35…  412 ms  ERROR gateway_time…
//! ├─ booking.check_availa… █                             18 ms
//! ├─ booking.price          █                             6 ms
//! ├─ booking.acquire_lock   ◆                             6 ms
//! ├─ booking.pro… (client)  ████████████████      ERROR 310 ms
//! └─ booking.rollback.rel…                 ██   ↺         4 ms
//! ```
//!
//! # Width and colour
//!
//! The stdout exporters use [`RenderOptions::detect`]: the width is the `COLUMNS`
//! environment variable when it holds a number (shells set it, but not all export it:
//! `COLUMNS=$COLUMNS cargo run` passes it on), else [`DEFAULT_WIDTH`] (100), and never
//! less than [`MIN_WIDTH`]. Colour (ANSI escape codes: red for `ERROR`, yellow for
//! `REJECTED`, magenta for rollbacks) is on only when stdout is a terminal and `NO_COLOR`
//! is unset or empty (<https://no-color.org>); piped or redirected output is plain text
//! with no escape code. Text from spans has its control characters replaced, so an
//! attribute cannot move the cursor or colour the terminal. Widths count characters:
//! names in East Asian wide characters take more columns than counted.
//!
//! # Spans arrive in pieces
//!
//! Children end (and are exported) before their parents, and a batch processor cuts
//! batches by size and time, so [`WaterfallExporter`] holds spans by trace and renders a
//! trace when its local root arrives (a span with no parent, or a remote one). Memory is
//! bounded ([`DEFAULT_MAX_BUFFERED_SPANS`]: past it the oldest trace is rendered
//! partial), a trace whose root has not arrived after [`DEFAULT_ROOT_WAIT`] is rendered
//! partial at the next export, and `force_flush` and `shutdown` render what is left.
//!
//! # Metrics
//!
//! [`MetricsTableExporter`] prints each collection as a table: instrument and unit,
//! attributes, and the value, or for histograms the count, the sum and p50/p95/p99
//! estimated from the buckets ([`estimate_quantile`]). Totals are cumulative since the
//! process started.
//!
//! ```text
//! metrics of booking-service (cumulative since start)
//! booking.attempts ({attempt})                                                                   value
//!   booking.source=api booking.status=failed                                                         1
//!   booking.source=mobile booking.status=rejected                                                    2
//!   booking.source=web booking.status=success                                                       10
//! booking.duration (s)                                           count     sum     p50     p95     p99
//!   booking.status=failed                                            1  412 ms  412 ms  412 ms  412 ms
//!   booking.status=rejected                                          2  535 ms  268 ms  270 ms  270 ms
//!   booking.status=success                                          10  7.65 s  625 ms   1.9 s  2.14 s
//! booking.lock.contention ({contention})                                                         value
//!   booking.contention_reason=held                                                                   2
//! booking.rollbacks ({rollback})                                                                 value
//!   booking.outcome=ok booking.rollback.step=booking.rollback.release_lock                           1
//! booking.rooms_available ({room})                                                               value
//!   booking.property_id=prop-1042                                                                   12
//!   booking.property_id=prop-7                                                                       3
//! payment.attempts ({attempt})                                                                   value
//!   payment.currency=EUR payment.method=card payment.status=approved                                 3
//!   payment.currency=USD payment.method=card payment.status=declined                                 1
//! payment.gateway.duration (s)                                   count     sum     p50     p95     p99
//!   payment.status=approved                                          3  790 ms  265 ms  306 ms  309 ms
//!   payment.status=declined                                          1  227 ms  227 ms  227 ms  227 ms
//! ```
//!
//! # Wiring
//!
//! ```
//! use booking_otel::console::{MetricsTableExporter, WaterfallExporter};
//! use booking_otel::{RedactingExporter, RedactionPolicy};
//! use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
//! use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
//!
//! // Redaction applies as to any exporter: wrap the console exporter.
//! let tracer_provider = SdkTracerProvider::builder()
//!     .with_span_processor(
//!         BatchSpanProcessor::builder(RedactingExporter::new(
//!             WaterfallExporter::stdout(),
//!             RedactionPolicy::default(),
//!         ))
//!         .build(),
//!     )
//!     .build();
//! let meter_provider = SdkMeterProvider::builder()
//!     .with_reader(PeriodicReader::builder(MetricsTableExporter::stdout()).build())
//!     .build();
//! # let _ = tracer_provider.shutdown();
//! # let _ = meter_provider.shutdown();
//! ```

mod exporter;
mod metrics_table;
mod trace_buffer;
mod waterfall;

pub use exporter::{DEFAULT_MAX_BUFFERED_SPANS, DEFAULT_ROOT_WAIT, WaterfallExporter};
pub use metrics_table::{MetricsTableExporter, estimate_quantile, render_metrics};
pub use waterfall::{
    DEFAULT_ATTRIBUTES, DEFAULT_WIDTH, MIN_WIDTH, RenderOptions, format_duration, render_trace,
};
