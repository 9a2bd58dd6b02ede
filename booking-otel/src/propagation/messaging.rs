//! Span links for batch consumers: one link per message, to the trace that message
//! carries.

use opentelemetry::trace::{Link, TraceContextExt};
use opentelemetry::{Context, KeyValue};

use super::carrier::Headers;
use super::extract_from_onto;
use crate::conventions::{attribute, standard};

/// A span link to the trace `headers` carry, for a consumer step that handles a batch:
/// attributes `booking_otel.messaging.message.index = index` and, when given,
/// `messaging.message.id`. `None` when the headers carry no valid trace context
/// (malformed headers are [counted](super#bad-input)).
///
/// ```
/// use booking_otel::propagation::message_link;
///
/// let headers = vec![(
///     "traceparent".to_string(),
///     b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec(),
/// )];
/// # opentelemetry::global::set_text_map_propagator(
/// #     opentelemetry_sdk::propagation::TraceContextPropagator::new());
/// let link = message_link(&headers, 0, Some("msg-17")).unwrap();
/// assert_eq!(link.attributes.len(), 2);
/// assert!(message_link(&Vec::<(String, Vec<u8>)>::new(), 1, None).is_none());
/// ```
pub fn message_link<H: Headers + ?Sized>(
    headers: &H,
    index: usize,
    message_id: Option<&str>,
) -> Option<Link> {
    let cx = extract_from_onto(&Context::new(), headers);
    let span_context = cx.span().span_context().clone();
    if !span_context.is_valid() {
        return None;
    }
    let mut attributes = Vec::with_capacity(2);
    attributes.push(KeyValue::new(
        attribute::MESSAGING_MESSAGE_INDEX,
        i64::try_from(index).unwrap_or(i64::MAX),
    ));
    if let Some(id) = message_id {
        attributes.push(KeyValue::new(standard::MESSAGING_MESSAGE_ID, id.to_owned()));
    }
    Some(Link::new(span_context, attributes, 0))
}

/// One [`message_link`] per message of a batch, `index` being each message's position
/// in `messages` (messages without a valid trace context get no link, and do not shift
/// the others' indexes). Give the links to the batch consumer's step with
/// [`Step::links`](crate::Step::links).
///
/// A span keeps at most 128 links by default (the SDK's `OTEL_SPAN_LINK_COUNT_LIMIT`);
/// links past it are dropped and counted in the span's `dropped_links_count`.
///
/// ```
/// use booking_otel::{Step, propagation::batch_links};
/// use opentelemetry::trace::SpanKind;
///
/// struct Message { id: String, headers: Vec<(String, Vec<u8>)> }
/// let batch: Vec<Message> = Vec::new(); // from the broker
///
/// Step::new("booking.notify_batch")
///     .kind(SpanKind::Consumer)
///     .links(batch_links(batch.iter().map(|m| (&m.headers, Some(m.id.as_str())))))
///     .run(|| { /* handle the batch */ });
/// ```
pub fn batch_links<'m, H, I>(messages: I) -> Vec<Link>
where
    H: Headers + ?Sized + 'm,
    I: IntoIterator<Item = (&'m H, Option<&'m str>)>,
{
    messages
        .into_iter()
        .enumerate()
        .filter_map(|(index, (headers, id))| message_link(headers, index, id))
        .collect()
}
