//! Carrying the trace across process boundaries: W3C trace context and baggage into and
//! out of HTTP or message headers, spawned tasks that stay in the trace, and span links
//! for batch consumers.
//!
//! These use the global propagator, which [`setup`](crate::setup) sets from
//! `OTEL_PROPAGATORS` (default: W3C `traceparent`/`tracestate` and `baggage`).
//!
//! ```
//! use std::collections::HashMap;
//! use booking_otel::propagation::{extract, inject};
//! use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
//! use opentelemetry::Context;
//!
//! opentelemetry::global::set_text_map_propagator(
//!     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
//! );
//! let sc = SpanContext::new(TraceId::from(7_u128), SpanId::from(9_u64), TraceFlags::SAMPLED, false, TraceState::NONE);
//! let cx = Context::new().with_remote_span_context(sc);
//!
//! let mut headers = HashMap::new();
//! inject(&cx, &mut headers);
//! assert!(headers.contains_key("traceparent"));
//! assert!(!headers.contains_key("tracestate"), "empty values are not sent");
//!
//! let received = extract(&headers);
//! assert_eq!(received.span().span_context().trace_id(), TraceId::from(7_u128));
//! ```

use std::future::Future;

use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue};

/// Skips empty values: the W3C propagator injects an empty `tracestate`, which some
/// brokers and proxies reject.
struct NonEmpty<'a>(&'a mut dyn Injector);

impl Injector for NonEmpty<'_> {
    fn set(&mut self, key: &str, value: String) {
        if !value.is_empty() {
            self.0.set(key, value);
        }
    }
}

/// Writes `cx`'s trace context and baggage into `carrier` (HTTP headers, message
/// headers: anything implementing [`Injector`], e.g. a `HashMap<String, String>`).
pub fn inject(cx: &Context, carrier: &mut dyn Injector) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut NonEmpty(carrier));
    });
}

/// Writes the current context into `carrier`; see [`inject`].
pub fn inject_current(carrier: &mut dyn Injector) {
    Context::map_current(|cx| inject(cx, carrier));
}

/// Reads a context from `carrier`, on top of the current one. Make it the parent of a
/// step with [`Context::attach`] before the step starts.
pub fn extract(carrier: &dyn Extractor) -> Context {
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier))
}

/// A span link to the trace in `carrier`, for batch consumers whose one span handles
/// messages from many traces. `None` when the carrier holds no valid trace context.
///
/// ```
/// use std::collections::HashMap;
/// use booking_otel::propagation::link_from;
/// let no_context: HashMap<String, String> = HashMap::new();
/// assert!(link_from(&no_context, vec![]).is_none());
/// ```
pub fn link_from(carrier: &dyn Extractor, attributes: Vec<KeyValue>) -> Option<Link> {
    let cx = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(&Context::new(), carrier)
    });
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| Link::new(sc, attributes, 0))
}

/// Makes `future` run in the current context wherever it is polled: wrap futures given
/// to `tokio::spawn` so that steps inside them stay in the trace.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use booking_otel::{Step, propagation::in_current_trace};
/// let notify = in_current_trace(async {
///     Step::new("booking.notify").run(|| ());
/// });
/// tokio::spawn(notify).await.unwrap();
/// # });
/// ```
pub fn in_current_trace<F: Future>(future: F) -> WithContext<F> {
    future.with_current_context()
}
