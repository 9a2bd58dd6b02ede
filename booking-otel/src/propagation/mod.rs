//! Carrying the trace across process boundaries: W3C trace context and baggage into and
//! out of HTTP or message headers, producer and consumer steps, span links for batch
//! consumers, spawned tasks that stay in the trace, and what happens to bad headers.
//!
//! These use the global propagator, which [`setup`](crate::setup) sets from
//! `OTEL_PROPAGATORS` (default: W3C `traceparent`/`tracestate` and `baggage`).
//!
//! ```
//! use std::collections::HashMap;
//! use booking_otel::propagation::{extract_from, inject_context_into};
//! use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
//! use opentelemetry::Context;
//!
//! opentelemetry::global::set_text_map_propagator(
//!     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
//! );
//! let sc = SpanContext::new(TraceId::from(7_u128), SpanId::from(9_u64), TraceFlags::SAMPLED, false, TraceState::NONE);
//! let cx = Context::new().with_remote_span_context(sc);
//!
//! let mut headers: HashMap<String, String> = HashMap::new();
//! inject_context_into(&cx, &mut headers);
//! assert!(headers.contains_key("traceparent"));
//! assert!(!headers.contains_key("tracestate"), "empty values are not sent");
//!
//! let received = extract_from(&headers);
//! assert_eq!(received.span().span_context().trace_id(), TraceId::from(7_u128));
//! ```
//!
//! # Header types
//!
//! [`inject_into`] and [`extract_from`] take any header type implementing
//! [`HeadersMut`] and [`Headers`]: `HashMap<String, String>`, `Vec<(String, Vec<u8>)>`
//! (Kafka-style), `Vec<(String, String)>`, borrowed `HashMap<&str, &str>` or
//! `[(&str, &str)]` for reading, and [your own](#your-own-header-type).
//! [`inject`]/[`extract`] take OpenTelemetry's `Injector`/`Extractor` instead, for types
//! that already implement those; both paths check and count bad input the same way.
//!
//! ## Your own header type
//!
//! A broker client's header type takes a newtype and a few lines (Rust's orphan rule:
//! neither the trait nor the type is in your crate). Two complete ones follow. They
//! compile and run as doc tests against stand-ins that mirror the real crates'
//! signatures (hidden lines), so that this crate does not depend on either, while a
//! change to [`Headers`] or [`HeadersMut`] still breaks the build of these docs rather
//! than your code; `ignore` blocks would rot unnoticed.
//!
//! **rdkafka** (`OwnedHeaders` to send, `BorrowedHeaders` from a received message):
//!
//! ```
//! # mod rdkafka { pub mod message {
//! #     pub struct Header<'a, V> { pub key: &'a str, pub value: Option<V> }
//! #     pub trait Headers {
//! #         fn iter(&self) -> std::vec::IntoIter<Header<'_, &[u8]>>;
//! #     }
//! #     #[derive(Default)] pub struct BorrowedHeaders(Vec<(String, Vec<u8>)>);
//! #     impl Headers for BorrowedHeaders {
//! #         fn iter(&self) -> std::vec::IntoIter<Header<'_, &[u8]>> {
//! #             self.0.iter().map(|(k, v)| Header { key: k.as_str(), value: Some(v.as_slice()) })
//! #                 .collect::<Vec<_>>().into_iter()
//! #         }
//! #     }
//! #     #[derive(Default)] pub struct OwnedHeaders(BorrowedHeaders);
//! #     impl OwnedHeaders {
//! #         pub fn new() -> Self { Self::default() }
//! #         pub fn insert<V: AsRef<[u8]> + ?Sized>(mut self, header: Header<'_, &V>) -> Self {
//! #             let value = header.value.map(|v| v.as_ref().to_vec()).unwrap_or_default();
//! #             (self.0).0.push((header.key.to_owned(), value));
//! #             self
//! #         }
//! #         pub fn as_borrowed(&self) -> &BorrowedHeaders { &self.0 }
//! #     }
//! # } }
//! use booking_otel::propagation::{Headers, HeadersMut, extract_from, inject_into};
//! use booking_otel::Step;
//! use opentelemetry::trace::SpanKind;
//! use rdkafka::message::{BorrowedHeaders, Header, Headers as _, OwnedHeaders};
//!
//! /// Headers of a message to send.
//! struct KafkaHeadersMut<'a>(&'a mut OwnedHeaders);
//!
//! impl HeadersMut for KafkaHeadersMut<'_> {
//!     fn set_header(&mut self, name: &str, value: String) {
//!         // `insert` takes the headers by value and appends.
//!         let headers = std::mem::take(self.0);
//!         *self.0 = headers.insert(Header { key: name, value: Some(&value) });
//!     }
//! }
//!
//! /// Headers of a received message.
//! struct KafkaHeaders<'a>(&'a BorrowedHeaders);
//!
//! impl Headers for KafkaHeaders<'_> {
//!     fn header(&self, name: &str) -> Option<&[u8]> {
//!         self.0.iter().find(|h| h.key.eq_ignore_ascii_case(name)).and_then(|h| h.value)
//!     }
//!     fn header_names(&self) -> Vec<&str> {
//!         self.0.iter().map(|h| h.key).collect()
//!     }
//! }
//!
//! // Producer: the step's own context goes into the message.
//! let mut headers = OwnedHeaders::new();
//! Step::new("booking.publish_confirmation").kind(SpanKind::Producer).run(|| {
//!     inject_into(&mut KafkaHeadersMut(&mut headers));
//!     // producer.send(FutureRecord::to("bookings").payload(&payload).headers(headers), ..)
//! });
//!
//! // Consumer: `message.headers()` gives `Option<&BorrowedHeaders>`.
//! let received: Option<&BorrowedHeaders> = Some(headers.as_borrowed());
//! if let Some(received) = received {
//!     Step::new("booking.notify")
//!         .kind(SpanKind::Consumer)
//!         .parent(extract_from(&KafkaHeaders(received)))
//!         .run(|| { /* send the confirmation email */ });
//! }
//! ```
//!
//! **lapin** (AMQP `FieldTable` headers, in `BasicProperties::with_headers` and
//! `delivery.properties.headers()`):
//!
//! ```
//! # mod lapin { pub mod types {
//! #     #[derive(Clone, PartialEq, Eq, PartialOrd, Ord)] pub struct ShortString(String);
//! #     impl ShortString { pub fn as_str(&self) -> &str { &self.0 } }
//! #     impl From<&str> for ShortString { fn from(s: &str) -> Self { ShortString(s.into()) } }
//! #     pub struct LongString(Vec<u8>);
//! #     impl LongString { pub fn as_bytes(&self) -> &[u8] { &self.0 } }
//! #     impl From<String> for LongString { fn from(s: String) -> Self { LongString(s.into_bytes()) } }
//! #     pub enum AMQPValue { LongString(LongString), Boolean(bool) }
//! #     #[derive(Default)] pub struct FieldTable(std::collections::BTreeMap<ShortString, AMQPValue>);
//! #     impl FieldTable {
//! #         pub fn insert(&mut self, k: ShortString, v: AMQPValue) { self.0.insert(k, v); }
//! #         pub fn inner(&self) -> &std::collections::BTreeMap<ShortString, AMQPValue> { &self.0 }
//! #     }
//! # } }
//! use booking_otel::propagation::{Headers, HeadersMut, extract_from, inject_into};
//! use lapin::types::{AMQPValue, FieldTable};
//!
//! struct AmqpHeadersMut<'a>(&'a mut FieldTable);
//!
//! impl HeadersMut for AmqpHeadersMut<'_> {
//!     fn set_header(&mut self, name: &str, value: String) {
//!         self.0.insert(name.into(), AMQPValue::LongString(value.into()));
//!     }
//! }
//!
//! struct AmqpHeaders<'a>(&'a FieldTable);
//!
//! impl Headers for AmqpHeaders<'_> {
//!     fn header(&self, name: &str) -> Option<&[u8]> {
//!         let (_, value) = self.0.inner().iter().find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))?;
//!         match value {
//!             AMQPValue::LongString(value) => Some(value.as_bytes()),
//!             _ => None,
//!         }
//!     }
//!     fn header_names(&self) -> Vec<&str> {
//!         self.0.inner().keys().map(|k| k.as_str()).collect()
//!     }
//! }
//!
//! let mut table = FieldTable::default();
//! inject_into(&mut AmqpHeadersMut(&mut table));
//! let _cx = extract_from(&AmqpHeaders(&table));
//! ```
//!
//! # Message queues
//!
//! - **Producer**: a step of kind `Producer` (`#[booking_step(kind = producer)]` or
//!   `Step::new(..).kind(SpanKind::Producer)`) calls [`inject_into`] inside its body:
//!   the current context there is the step's, so the message carries the producer span
//!   as its parent.
//! - **Consumer**: a step of kind `Consumer` starts as the child of the context the
//!   message carries: `Step::new(..).kind(SpanKind::Consumer).parent(extract_from(&headers))`
//!   (see [`Step::parent`](crate::Step::parent)). A `#[booking_step]` function takes
//!   its parent from the context current where it is called, so make the extracted
//!   context current around the call:
//!
//!   ```
//!   # use std::collections::HashMap;
//!   use booking_otel::{booking_step, propagation::extract_from};
//!
//!   #[booking_step(kind = consumer)]
//!   fn notify(message: &str) {}
//!
//!   #[booking_step(kind = consumer)]
//!   async fn notify_async(message: &str) {}
//!
//!   # let headers: HashMap<String, String> = HashMap::new();
//!   let remote = extract_from(&headers);
//!   {
//!       let _remote = remote.clone().attach();
//!       notify("K7Q2ZP");
//!   }
//!   // An async step captures its parent when it is called, not when it is awaited:
//!   let handled = {
//!       let _remote = remote.attach();
//!       notify_async("K7Q2ZP")
//!   };
//!   # let _ = handled;
//!   // handled.await
//!   ```
//! - **Batch consumer**: one step for many messages, from many traces, with one span
//!   link per message ([`batch_links`], [`message_link`]): link attributes
//!   `booking_otel.messaging.message.index` (position in the batch) and
//!   `messaging.message.id` when given.
//!
//! # Baggage
//!
//! Baggage (`booking.source`, a property or tenant id) travels with the trace context,
//! and [`BaggageToAttributes`] copies an allow-list of its keys onto spans. **Baggage is
//! visible to every downstream service, including third parties: never put personal
//! data, secrets or card data in it.** Copied values are attributes like any other and
//! go through the export-side redaction.
//!
//! # Bad input
//!
//! Incoming headers come from outside and are checked against the W3C specifications
//! before the propagator reads them. Nothing is ever returned as an error and nothing
//! panics: what is wrong is ignored, and counted in the
//! `booking_otel.propagation.rejected_headers` counter by
//! `booking_otel.propagation.reason` ([`Rejection`]), on the meter of the telemetry
//! current where the headers are read (the one [`setup`](crate::setup) installs, or the
//! test kit's), else the global meter. Each header is counted at most once, under the
//! first reason found.
//!
//! | header | what is ignored | reason | then |
//! |---|---|---|---|
//! | `traceparent` | not the W3C layout (length, dashes, lowercase hex, extra data on version 00) | `traceparent_malformed` | a fresh trace |
//! | `traceparent` | version `ff` | `traceparent_version` | a fresh trace |
//! | `traceparent` | all-zero trace id / parent id | `trace_id_zero` / `span_id_zero` | a fresh trace |
//! | `tracestate` | malformed, > 32 entries, repeated key, > [`MAX_TRACESTATE_BYTES`] | `tracestate_malformed` | trace continues without it |
//! | `baggage` | > [`MAX_BAGGAGE_BYTES`] | `baggage_oversized` | no baggage |
//! | `baggage` | entries past [`MAX_BAGGAGE_ENTRIES`] | `baggage_oversized` | the first ones kept |
//! | `baggage` | malformed entries | `baggage_malformed` | the valid entries kept |
//! | any of the three | not UTF-8 | `non_utf8` | as if absent |
//!
//! A `traceparent` of an unknown version (not `00`, not `ff`) is read the way the
//! specification asks ("Versioning of traceparent"): its first fields must have the
//! version-00 layout, followed by the end or a dash, and it is continued as version 00.
//! An empty header counts as absent. `tracestate` is only read with a valid
//! `traceparent` (the specification forbids otherwise), and baggage is independent of
//! both. Names are matched ignoring ASCII case; with several values for one name, the
//! first is read.
//!
//! The checks cost little on the valid path: one pass over each header, no allocation
//! for the common shapes. Measured with callgrind (`valid_path_cost` in
//! `tests/propagation_bad_input.rs`), extracting a `traceparent` and a two-entry
//! `baggage` from a `HashMap` costs 13,588 instructions against 13,233 for the global
//! W3C propagators alone (+355, +2.7%); with a `tracestate` too, 16,048 against 15,137
//! (+911, +6.0%).

use std::future::Future;

use opentelemetry::context::{FutureExt, WithContext};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue};

#[cfg(feature = "sdk")]
mod baggage;
mod carrier;
mod messaging;
mod validation;

#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub use baggage::BaggageToAttributes;
pub use carrier::{Headers, HeadersMut};
pub use messaging::{batch_links, message_link};
pub use validation::{MAX_BAGGAGE_BYTES, MAX_BAGGAGE_ENTRIES, MAX_TRACESTATE_BYTES, Rejection};

pub(crate) use validation::rejected_headers_counter;

use carrier::{ExtractorHeaders, InjectorHeaders, NonEmpty};
use validation::Checked;

/// Writes `cx`'s trace context and baggage into `carrier` (HTTP headers, message
/// headers: anything implementing [`Injector`], e.g. a `HashMap<String, String>`).
/// Empty values are not written.
pub fn inject(cx: &Context, carrier: &mut dyn Injector) {
    inject_context_into(cx, &mut InjectorHeaders(carrier));
}

/// Writes the current context into `carrier`; see [`inject`].
pub fn inject_current(carrier: &mut dyn Injector) {
    Context::map_current(|cx| inject(cx, carrier));
}

/// Writes the current context (inside a producer step: the step's) and its baggage
/// into `headers`. Empty values are not written.
///
/// ```
/// use booking_otel::{Step, propagation::inject_into};
/// use opentelemetry::trace::SpanKind;
///
/// let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
/// Step::new("booking.publish_confirmation")
///     .kind(SpanKind::Producer)
///     .run(|| inject_into(&mut headers));
/// // producer.send(topic, payload, headers)
/// ```
pub fn inject_into<H: HeadersMut + ?Sized>(headers: &mut H) {
    Context::map_current(|cx| inject_context_into(cx, headers));
}

/// Writes `cx`'s trace context and baggage into `headers`. Empty values are not
/// written.
pub fn inject_context_into<H: HeadersMut + ?Sized>(cx: &Context, headers: &mut H) {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut NonEmpty(headers));
    });
}

/// Reads a context from `carrier`, on top of the current one, after checking and
/// counting [bad input](self#bad-input). Make it the parent of a step with
/// [`Step::parent`](crate::Step::parent), or with [`Context::attach`] before the step
/// starts.
pub fn extract(carrier: &dyn Extractor) -> Context {
    extract_from(&ExtractorHeaders(carrier))
}

/// Reads the context `headers` carry (trace context and baggage), on top of the current
/// one, after checking and counting [bad input](self#bad-input): malformed headers give a
/// fresh trace, never an error. Make it the parent of a consumer step with
/// [`Step::parent`](crate::Step::parent).
///
/// ```
/// use booking_otel::propagation::extract_from;
/// use opentelemetry::trace::TraceContextExt;
/// # opentelemetry::global::set_text_map_propagator(
/// #     opentelemetry_sdk::propagation::TraceContextPropagator::new());
///
/// // Borrowed headers work as they are.
/// let headers = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")];
/// assert!(extract_from(&headers).span().span_context().is_remote());
///
/// let bad = [("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01")];
/// assert!(!extract_from(&bad).span().span_context().is_valid()); // a fresh trace
/// ```
pub fn extract_from<H: Headers + ?Sized>(headers: &H) -> Context {
    Context::map_current(|cx| extract_from_onto(cx, headers))
}

/// Reads the context `headers` carry on top of `cx`.
pub(crate) fn extract_from_onto<H: Headers + ?Sized>(cx: &Context, headers: &H) -> Context {
    let checked = Checked::new(headers);
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(cx, &checked)
    })
}

/// A span link to the trace in `carrier`, for batch consumers whose one span handles
/// messages from many traces. `None` when the carrier holds no valid trace context.
/// See also [`message_link`] and [`batch_links`].
///
/// ```
/// use std::collections::HashMap;
/// use booking_otel::propagation::link_from;
/// let no_context: HashMap<String, String> = HashMap::new();
/// assert!(link_from(&no_context, vec![]).is_none());
/// ```
pub fn link_from(carrier: &dyn Extractor, attributes: Vec<KeyValue>) -> Option<Link> {
    let cx = extract_from_onto(&Context::new(), &ExtractorHeaders(carrier));
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
