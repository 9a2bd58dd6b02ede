//! The booking service: the orchestrator, each step a `#[booking_step]`, calling the
//! payment service over HTTP and publishing the confirmation to the notification queue.
//!
//! ```text
//! booking.create (server)
//! ├─ booking.check_availability
//! ├─ booking.acquire_lock
//! ├─ booking.process_payment
//! │  └─ POST (client)                    ClientLayer: writes `traceparent` into the request
//! │     └─ POST /payments (server)       ── in the payment service's process
//! │        └─ payment.authorize
//! ├─ booking.confirm
//! └─ booking.notify (producer)          writes `traceparent` into the message headers
//!    └─ notification.deliver (consumer)  ── on the consumer task
//! ```
//!
//! A declined card or a failed payment call gives the lock back
//! (`booking.rollback.release_lock`) instead of confirming.

use booking_otel::conventions::{attribute, span};
use booking_otel::http::{ClientLayer, ClientService};
use booking_otel::{CardNumber, StepError, booking_step};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::KeyValue;
use tower::{ServiceBuilder, ServiceExt};

use crate::notification::{self, Publisher};
use crate::payment::ChargeReply;

/// What a guest asks for.
pub struct BookingRequest {
    /// Pseudonymous user id, never an email or a name.
    pub user_id: String,
    pub property_id: String,
    pub guests: u32,
    pub amount_cents: u64,
    /// `Display` is `visa ****1111`; the digits go to the payment service only.
    pub card: CardNumber,
    /// Passed to the payment service: `decline` or `gateway_down`.
    pub simulate: Option<&'static str>,
}

/// A confirmed booking.
#[derive(Debug)]
pub struct Confirmation {
    pub reservation_id: String,
    pub transaction_id: String,
}

#[derive(Debug, thiserror::Error, StepError)]
pub enum BookingError {
    /// A business rejection: status stays Unset, `booking.outcome = rejected`.
    #[error("card declined: {code}")]
    #[step_error(rejection)]
    CardDeclined { code: String },
    /// The payment service failed or could not be reached.
    #[error("payment failed")]
    PaymentFailed(#[source] CallError),
}

/// Why a call to the payment service failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("payment service unreachable")]
    Unreachable(#[source] hyper_util::client::legacy::Error),
    #[error("payment service answered {0}")]
    Status(http::StatusCode),
    #[error("unreadable reply from the payment service")]
    BadReply,
}

/// hyper-util's client wrapped in `ClientLayer`: every request gets a CLIENT span, and
/// the span's context in its `traceparent` header.
pub type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

/// The payment service's client.
#[derive(Clone)]
pub struct PaymentClient {
    http: HttpClient,
    url: String,
}

impl PaymentClient {
    /// A client of the payment service at `address` (`127.0.0.1:34567`).
    pub fn new(address: &str) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        PaymentClient {
            http: ServiceBuilder::new()
                .layer(ClientLayer::new())
                .service(client),
            url: format!("http://{address}/payments"),
        }
    }

    /// `POST /payments`. The body holds the card's digits; the CLIENT span records the
    /// method, the URL and the status code, never the body.
    async fn charge(
        &self,
        reservation_id: &str,
        request: &BookingRequest,
    ) -> Result<ChargeReply, CallError> {
        let body = serde_json::json!({
            "reservation_id": reservation_id,
            "amount_cents": request.amount_cents,
            "currency": "EUR",
            "card_number": request.card.expose_digits(),
            "simulate": request.simulate,
        });
        let http_request = http::Request::post(&self.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        let response = self
            .http
            .clone()
            .oneshot(http_request)
            .await
            .map_err(CallError::Unreachable)?;
        if !response.status().is_success() {
            return Err(CallError::Status(response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|_| CallError::BadReply)?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|_| CallError::BadReply)
    }
}

/// One booking: the root span (kind server: it stands for the guest's request).
#[booking_step(
    name = span::CREATE,
    kind = server,
    fields(booking.user_id = request.user_id, booking.source = "web")
)]
pub async fn create_booking(
    request: BookingRequest,
    payments: PaymentClient,
    notifications: Publisher,
) -> Result<Confirmation, BookingError> {
    let reservation_id = check_availability(&request).await;
    acquire_lock(&reservation_id).await;
    let transaction_id = match process_payment(&reservation_id, &request, &payments).await {
        Ok(transaction_id) => transaction_id,
        Err(e) => {
            release_lock(&reservation_id).await;
            record(
                attribute::BOOKING_STATUS,
                if e.is_rejection() {
                    "rejected"
                } else {
                    "failed"
                },
            );
            return Err(e);
        }
    };
    confirm(&reservation_id, &transaction_id).await;
    // Confirmed: a lost notification is retried from the queue, not a failed booking.
    let _ = notification::notify(&reservation_id, &notifications).await;
    record(attribute::BOOKING_STATUS, "success");
    Ok(Confirmation {
        reservation_id,
        transaction_id,
    })
}

/// Sets an attribute on the running step's span.
fn record(key: &'static str, value: impl Into<opentelemetry::Value>) {
    opentelemetry::trace::get_active_span(|span| span.set_attribute(KeyValue::new(key, value)));
}

/// Finds a room (simulated); returns the reservation it is held for.
#[booking_step(
    name = span::CHECK_AVAILABILITY,
    fields(booking.property_id = request.property_id, booking.guests = request.guests)
)]
async fn check_availability(request: &BookingRequest) -> String {
    tokio::time::sleep(std::time::Duration::from_millis(8)).await;
    record(attribute::BOOKING_AVAILABLE_COUNT, 3_i64);
    format!("res-{}", request.user_id.trim_start_matches("usr-"))
}

/// Locks the room while the card is charged (simulated).
#[booking_step(
    name = span::ACQUIRE_LOCK,
    fields(booking.reservation_id = reservation_id, booking.lock_type = "pessimistic")
)]
async fn acquire_lock(reservation_id: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    record(attribute::BOOKING_LOCK_ACQUIRED, true);
}

/// Charges the card through the payment service. The HTTP call below is the CLIENT
/// span (from `ClientLayer`), so this step stays internal.
#[booking_step(
    name = span::PROCESS_PAYMENT,
    fields(
        booking.reservation_id = reservation_id,
        payment.method = "card",
        payment.card_brand = request.card.brand().as_str(),
        payment.card_last_four = request.card.last_four(),
    )
)]
async fn process_payment(
    reservation_id: &str,
    request: &BookingRequest,
    payments: &PaymentClient,
) -> Result<String, BookingError> {
    let reply = payments
        .charge(reservation_id, request)
        .await
        .map_err(BookingError::PaymentFailed)?;
    match reply {
        ChargeReply::Approved { transaction_id } => {
            record(attribute::PAYMENT_STATUS, "approved");
            record(attribute::PAYMENT_TRANSACTION_ID, transaction_id.clone());
            Ok(transaction_id)
        }
        ChargeReply::Declined { code } => {
            record(attribute::PAYMENT_STATUS, "declined");
            Err(BookingError::CardDeclined { code })
        }
    }
}

/// Confirms the reservation (simulated).
#[booking_step(
    name = span::CONFIRM,
    fields(
        booking.reservation_id = reservation_id,
        payment.transaction_id = transaction_id,
    )
)]
async fn confirm(reservation_id: &str, transaction_id: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(4)).await;
}

/// Gives the room's lock back after a failed or declined payment.
#[booking_step(
    rollback,
    name = span::ROLLBACK_RELEASE_LOCK,
    fields(booking.reservation_id = reservation_id)
)]
async fn release_lock(reservation_id: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}
