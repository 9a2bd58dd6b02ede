//! The payment service: one route, `POST /payments`, behind `ServerLayer`.
//!
//! ```text
//! POST /payments (server)        from ServerLayer, a child of the caller's CLIENT span
//! └─ payment.authorize           a #[booking_step]: a child with no code in the handler
//! ```
//!
//! The request body carries the card number, as a payment API's does. It is parsed
//! straight into a `CardNumber`, which telemetry can only see as brand + last four; the
//! body itself is never recorded.

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use booking_otel::http::ServerLayer;
use booking_otel::{CardNumber, StepError, booking_step, events};
use serde::{Deserialize, Deserializer, Serialize};

/// The payment step's span.
pub const AUTHORIZE: &str = "payment.authorize";

/// What the booking service sends.
#[derive(Deserialize)]
pub struct ChargeRequest {
    pub reservation_id: String,
    pub amount_cents: u64,
    pub currency: String,
    /// Parsed on arrival: the digits never exist here as a plain `String`.
    #[serde(deserialize_with = "card_number")]
    pub card_number: CardNumber,
    /// A test hook: `decline` or `gateway_down`.
    #[serde(default)]
    pub simulate: Option<String>,
}

/// What the payment service answers: approved or declined (a decline is an answer,
/// not a failure: HTTP 200). A gateway failure is a 503 with no body.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChargeReply {
    Approved { transaction_id: String },
    Declined { code: String },
}

fn card_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<CardNumber, D::Error> {
    let input = String::deserialize(deserializer)?;
    // The error never echoes the input.
    CardNumber::parse(&input).map_err(|e| serde::de::Error::custom(format!("card_number: {e}")))
}

#[derive(Debug, thiserror::Error, StepError)]
pub enum PaymentError {
    /// The issuer said no: a business rejection, not a failure.
    #[error("card declined: {code}")]
    #[step_error(rejection)]
    Declined { code: &'static str },
    /// The card network did not answer: a failure.
    #[error("the card network is unavailable")]
    GatewayUnavailable,
}

/// The payment service's routes. The layer goes after the routes, so that spans are
/// named after the route (`POST /payments`), not the raw path.
pub fn router() -> Router {
    Router::new()
        .route("/payments", post(charge))
        .layer(ServerLayer::new())
}

/// `POST /payments`.
async fn charge(body: Bytes) -> Response {
    let request: ChargeRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    drop(body); // the only copy of the raw digits
    let reply = match authorize(&request).await {
        Ok(transaction_id) => ChargeReply::Approved { transaction_id },
        Err(PaymentError::Declined { code }) => ChargeReply::Declined {
            code: code.to_owned(),
        },
        Err(PaymentError::GatewayUnavailable) => {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let json = serde_json::to_vec(&reply).expect("a reply serializes");
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// Authorizes the charge with the card network (simulated). The card is recorded as
/// its brand and last four digits, never more.
#[booking_step(
    name = AUTHORIZE,
    fields(
        booking.reservation_id = request.reservation_id,
        payment.method = "card",
        payment.currency = request.currency,
        payment.card_brand = request.card_number.brand().as_str(),
        payment.card_last_four = request.card_number.last_four(),
    )
)]
async fn authorize(request: &ChargeRequest) -> Result<String, PaymentError> {
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    match request.simulate.as_deref() {
        Some("decline") => {
            events::payment_declined("insufficient_funds");
            Err(PaymentError::Declined {
                code: "insufficient_funds",
            })
        }
        Some("gateway_down") => Err(PaymentError::GatewayUnavailable),
        _ => Ok(format!(
            "txn_{}_{}",
            request.reservation_id, request.amount_cents
        )),
    }
}
