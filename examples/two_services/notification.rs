//! The notification queue: the booking service publishes a message once a booking is
//! confirmed; a consumer task sends the guest's email.
//!
//! A broker (Kafka, RabbitMQ, SQS) carries bytes and headers, not the OpenTelemetry
//! context, so the producer writes the trace context into the message headers and the
//! consumer reads it back. Here the "broker" is an in-process tokio channel of
//! `(headers, payload)`, with Kafka-style headers (`Vec<(String, Vec<u8>)>`); the same
//! two small impls below work for a real client's header type.
//!
//! ```text
//! booking.notify (producer)        injects `traceparent` into the headers
//! └─ notification.deliver (consumer)  a child of the context extracted from them
//! ```

use booking_otel::booking_step;
use booking_otel::conventions::span;
use booking_otel::propagation::{extract, inject_current};
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::{Extractor, Injector};
use tokio::sync::mpsc;

/// The consumer's span.
pub const DELIVER: &str = "notification.deliver";

/// Kafka-style message headers: name and raw bytes, in order.
#[derive(Debug, Default, Clone)]
pub struct Headers(pub Vec<(String, Vec<u8>)>);

/// Lets `propagation::inject` write into the headers.
impl Injector for Headers {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into_bytes()));
    }
}

/// Lets `propagation::extract` read from them (a value that is not UTF-8 reads as
/// absent: the consumer then starts a fresh trace rather than failing).
impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// One message on the queue.
#[derive(Debug)]
pub struct Message {
    pub headers: Headers,
    pub payload: Vec<u8>,
}

/// The producer side of the queue.
pub type Publisher = mpsc::Sender<Message>;

#[derive(Debug, thiserror::Error)]
#[error("the notification queue is closed")]
pub struct QueueClosed;

/// Publishes the confirmation: a producer span, whose context travels in the headers.
#[booking_step(
    name = span::NOTIFY,
    kind = producer,
    fields(booking.reservation_id = reservation_id)
)]
pub async fn notify(reservation_id: &str, queue: &Publisher) -> Result<(), QueueClosed> {
    let mut headers = Headers::default();
    // The current context is this step's span: the consumer becomes its child.
    inject_current(&mut headers);
    let payload = format!("booking {reservation_id} confirmed").into_bytes();
    queue
        .send(Message { headers, payload })
        .await
        .map_err(|_| QueueClosed)
}

/// Consumes messages until every publisher is dropped; returns how many it delivered.
pub async fn consume(mut queue: mpsc::Receiver<Message>) -> usize {
    let mut delivered = 0;
    while let Some(message) = queue.recv().await {
        // The producer's context, from the headers, is the parent of the consumer step.
        let parent = extract(&message.headers);
        if deliver(&message.payload).with_context(parent).await.is_ok() {
            delivered += 1;
        }
    }
    delivered
}

/// Sends the guest's email: a consumer span.
#[booking_step(
    name = DELIVER,
    kind = consumer,
    fields(messaging.system = "in-process", messaging.operation.type = "process")
)]
async fn deliver(payload: &[u8]) -> Result<(), std::str::Utf8Error> {
    let _email_body = std::str::from_utf8(payload)?;
    // The email would be sent here (simulated).
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    Ok(())
}
