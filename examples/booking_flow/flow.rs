//! The booking orchestrator: the guide's flow, each step a `#[booking_step]`.
//!
//! ```text
//! booking.create (server)
//! ├─ booking.check_availability     holds a room          ↺ booking.rollback.restore_inventory
//! ├─ booking.price
//! ├─ booking.acquire_lock           locks it              ↺ booking.rollback.release_lock
//! ├─ booking.process_payment (client) charges the card    ↺ booking.rollback.refund_payment
//! ├─ booking.confirm
//! └─ booking.notify (producer)
//! ```
//!
//! When a step fails or is rejected, what the booking holds so far is given back in
//! reverse order, each compensation a traced rollback step (a child of
//! `booking.create`, counted in `booking.rollbacks`), so a trace shows that the cleanup
//! happened, and a dashboard how often.

use booking_otel::conventions::{attribute, span};
use booking_otel::metrics::{
    BookingMetrics, BookingSource, BookingStatus, ContentionReason, Currency, PaymentMethod,
    PaymentStatus,
};
use booking_otel::{CardNumber, StepError, booking_step, events};
use opentelemetry::KeyValue;

use crate::services::{
    Backend, ChargeReply, LockReply, Price, Room, Scenario, ServiceError, simulated_booking,
};

/// What a guest asks for.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    /// Pseudonymous user id (`usr-55102`), never an email or a name.
    pub user_id: String,
    /// Where the booking came from.
    pub source: BookingSource,
    /// The hotel.
    pub property_id: String,
    /// First night, ISO 8601.
    pub check_in: String,
    /// Departure, ISO 8601.
    pub check_out: String,
    /// Nights between the two.
    pub nights: u64,
    /// Number of guests.
    pub guests: u32,
    /// The card: its `Display` is `visa ****1111`, its digits reach only the gateway.
    pub card: CardNumber,
}

/// How a booking can go wrong.
///
/// Rejections (`#[step_error(rejection)]`) are the booking system working as designed:
/// the step's `booking.outcome` is `rejected`, its status stays `Unset`, and no alert
/// fires. Everything else is a failure: status `Error`, `error.type` (the variant in
/// snake_case) and an `exception` event whose `booking.error.causes` lists the `source`.
#[derive(Debug, thiserror::Error, StepError)]
pub enum BookingError {
    /// No room left for the dates.
    #[error("no room left for these dates")]
    #[step_error(rejection)]
    SoldOut,
    /// Another reservation holds the room's lock.
    #[error("the room is being booked by another reservation")]
    #[step_error(rejection)]
    LockContention,
    /// The card was declined. The decline code is low-cardinality and safe to export;
    /// the card number never appears in an error.
    #[error("card declined: {code}")]
    #[step_error(rejection)]
    CardDeclined {
        /// The gateway's decline code.
        code: &'static str,
    },
    /// The inventory service failed.
    #[error("availability check failed")]
    InventoryUnavailable(#[source] ServiceError),
    /// The pricing engine failed.
    #[error("pricing failed")]
    PricingUnavailable(#[source] ServiceError),
    /// The lock service did not answer.
    #[error("reservation lock not acquired")]
    LockServiceTimeout(#[source] ServiceError),
    /// The payment gateway did not answer.
    #[error("payment gateway timed out")]
    GatewayTimeout(#[source] ServiceError),
    /// The confirmation service failed (after the charge).
    #[error("confirmation failed")]
    ConfirmationFailed(#[source] ServiceError),
    /// The notification service failed (after the confirmation).
    #[error("notification failed")]
    NotificationFailed(#[source] ServiceError),
}

/// A confirmed booking.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The reservation.
    pub reservation_id: String,
    /// The code the guest receives.
    pub code: String,
    /// The gateway's transaction.
    pub transaction_id: String,
    /// Whether the guest was notified (a failed notification is retried later).
    pub notified: bool,
}

/// The reservation lock's time-to-live (the guide's ten minutes).
pub const LOCK_TTL_MS: i64 = 600_000;

/// One booking, from request to confirmation: span `booking.create`, kind server, the
/// parent of every step below; `booking.attempts`, `booking.duration` and
/// `booking.active` through the booking guard.
#[booking_step(
    name = span::CREATE,
    kind = server,
    fields(
        booking.user_id = request.user_id,
        booking.source = request.source.as_str(),
    )
)]
pub async fn create_booking(
    request: BookingRequest,
    mut backend: Backend,
    metrics: BookingMetrics,
) -> Result<Confirmation, BookingError> {
    let booking = metrics.start_booking(request.source);
    let mut held = Held::default();
    let result = book(&request, &mut backend, &metrics, &mut held).await;
    if result.is_err() {
        roll_back(held, &mut backend).await;
    }
    let status = match &result {
        Ok(_) => BookingStatus::Success,
        Err(e) if e.is_rejection() => BookingStatus::Rejected,
        Err(_) => BookingStatus::Failed,
    };
    record(attribute::BOOKING_STATUS, status.as_str());
    booking.finish(status);
    result
}

/// What a booking holds so far: what a rollback must give back.
#[derive(Debug, Default)]
struct Held {
    /// The room the inventory holds for us.
    room: Option<Room>,
    /// The reservation whose lock we hold.
    lock: Option<String>,
    /// The charge on the guest's card.
    charge: Option<String>,
}

/// The forward path. Each `?` ends the booking with what `held` says must be undone.
async fn book(
    request: &BookingRequest,
    backend: &mut Backend,
    metrics: &BookingMetrics,
    held: &mut Held,
) -> Result<Confirmation, BookingError> {
    let room = check_availability(request, backend).await?;
    held.room = Some(room.clone());

    let price = calculate_price(request, &room, backend).await?;

    let reservation_id = backend.reservation_id();
    acquire_lock(&reservation_id, &room, backend, metrics).await?;
    held.lock = Some(reservation_id.clone());

    let transaction_id =
        process_payment(&reservation_id, &request.card, &price, backend, metrics).await?;
    held.charge = Some(transaction_id.clone());

    let code = confirm(&reservation_id, &transaction_id, backend).await?;
    // On `booking.create`, as in the guide. Our codes open a booking only together with
    // the guest's name; where a code alone does, it is a credential: do not record it.
    record(attribute::BOOKING_CONFIRMATION_CODE, code.clone());

    // The booking is confirmed: nothing is rolled back from here. A failed notification
    // shows as a failed step in the trace and is retried from a queue; it is no reason to
    // cancel a guest's room.
    let notified = notify(&reservation_id, backend).await.is_ok();

    Ok(Confirmation {
        reservation_id,
        code,
        transaction_id,
        notified,
    })
}

/// The compensations, newest first: refund, then release the lock, then restore the
/// inventory. A compensation that fails is recorded by its own step (status `Error`,
/// `booking.rollbacks{booking.outcome=error}`) and would go to a retry queue; the next
/// one runs all the same.
async fn roll_back(held: Held, backend: &mut Backend) {
    if let Some(transaction_id) = &held.charge {
        let _ = refund_payment(transaction_id, backend).await;
    }
    if let (Some(reservation_id), Some(room)) = (&held.lock, &held.room) {
        let _ = release_lock(reservation_id, room, backend).await;
    }
    if let Some(room) = &held.room {
        let _ = restore_inventory(room, backend).await;
    }
}

/// Sets an attribute on the running step's span, for what is known only once the step
/// has worked (a count, a transaction id); `fields(..)` records what is known when it
/// starts. A no-op when the trace is not sampled.
fn record(key: &'static str, value: impl Into<opentelemetry::Value>) {
    opentelemetry::trace::get_active_span(|span| span.set_attribute(KeyValue::new(key, value)));
}

// ---------------------------------------------------------------------------------------
// The forward steps.

/// Searches the inventory for the stay; the inventory holds the first free room for us.
#[booking_step(
    name = span::CHECK_AVAILABILITY,
    fields(
        booking.property_id = request.property_id,
        booking.check_in = request.check_in,
        booking.check_out = request.check_out,
        booking.guests = request.guests,
    )
)]
async fn check_availability(
    request: &BookingRequest,
    backend: &mut Backend,
) -> Result<Room, BookingError> {
    let rooms = backend
        .search_inventory(request)
        .await
        .map_err(BookingError::InventoryUnavailable)?;
    record(attribute::BOOKING_AVAILABLE_COUNT, rooms.len() as i64);
    rooms.into_iter().next().ok_or(BookingError::SoldOut)
}

/// Prices the stay.
#[booking_step(
    name = span::PRICE,
    fields(booking.room_id = room.room_id, booking.guests = request.guests)
)]
async fn calculate_price(
    request: &BookingRequest,
    room: &Room,
    backend: &mut Backend,
) -> Result<Price, BookingError> {
    backend
        .quote(room, request.nights)
        .await
        .map_err(BookingError::PricingUnavailable)
}

/// Locks the room so that no one else books it while we charge the card.
#[booking_step(
    name = span::ACQUIRE_LOCK,
    fields(
        booking.reservation_id = reservation_id,
        booking.room_id = room.room_id,
        booking.lock_type = "pessimistic",
        booking.lock_ttl_ms = LOCK_TTL_MS,
    )
)]
async fn acquire_lock(
    reservation_id: &str,
    room: &Room,
    backend: &mut Backend,
    metrics: &BookingMetrics,
) -> Result<(), BookingError> {
    match backend.acquire_lock(room).await {
        Ok(LockReply::Acquired) => {
            record(attribute::BOOKING_LOCK_ACQUIRED, true);
            Ok(())
        }
        Ok(LockReply::Held { by }) => {
            record(attribute::BOOKING_LOCK_ACQUIRED, false);
            // The guide's event, and the counter a dashboard plots.
            events::lock_contention("held", by);
            metrics.record_lock_contention(ContentionReason::Held);
            Err(BookingError::LockContention)
        }
        Err(timeout) => {
            record(attribute::BOOKING_LOCK_ACQUIRED, false);
            Err(BookingError::LockServiceTimeout(timeout))
        }
    }
}

/// Charges the card through the gateway: a client span, since it crosses a trust
/// boundary. Only the brand and the last four digits are recorded.
#[booking_step(
    name = span::PROCESS_PAYMENT,
    kind = client,
    fields(
        booking.reservation_id = reservation_id,
        payment.method = "card",
        payment.currency = price.currency,
        payment.card_brand = card.brand().as_str(),
        payment.card_last_four = card.last_four(),
    )
)]
async fn process_payment(
    reservation_id: &str,
    card: &CardNumber,
    price: &Price,
    backend: &mut Backend,
    metrics: &BookingMetrics,
) -> Result<String, BookingError> {
    let started = std::time::Instant::now();
    let reply = backend
        .charge(card, price.total_cents, price.currency)
        .await;
    let currency = Currency::parse(price.currency);
    let (status, result) = match reply {
        Ok(ChargeReply::Approved {
            transaction_id,
            gateway_latency_ms,
        }) => {
            record(attribute::PAYMENT_TRANSACTION_ID, transaction_id.clone());
            record(
                attribute::PAYMENT_GATEWAY_LATENCY_MS,
                gateway_latency_ms as i64,
            );
            (PaymentStatus::Approved, Ok(transaction_id))
        }
        Ok(ChargeReply::Declined { code }) => {
            events::payment_declined(code);
            (
                PaymentStatus::Declined,
                Err(BookingError::CardDeclined { code }),
            )
        }
        Err(timeout) => (
            PaymentStatus::Error,
            Err(BookingError::GatewayTimeout(timeout)),
        ),
    };
    record(attribute::PAYMENT_STATUS, status.as_str());
    metrics.record_payment(status, PaymentMethod::Card, currency, started.elapsed());
    result
}

/// Records the reservation with the confirmation service.
#[booking_step(
    name = span::CONFIRM,
    fields(
        booking.reservation_id = reservation_id,
        payment.transaction_id = transaction_id,
    )
)]
async fn confirm(
    reservation_id: &str,
    transaction_id: &str,
    backend: &mut Backend,
) -> Result<String, BookingError> {
    backend
        .confirm(reservation_id)
        .await
        .map_err(BookingError::ConfirmationFailed)
}

/// Queues the confirmation email: a producer span.
#[booking_step(
    name = span::NOTIFY,
    kind = producer,
    fields(booking.reservation_id = reservation_id)
)]
async fn notify(reservation_id: &str, backend: &mut Backend) -> Result<(), BookingError> {
    backend
        .notify(reservation_id)
        .await
        .map_err(BookingError::NotificationFailed)
}

// ---------------------------------------------------------------------------------------
// The compensations: `rollback` makes each a `booking.rollback.*` span with
// `booking.rollback = true`, counted in `booking.rollbacks`.

/// Refunds the charge.
#[booking_step(
    rollback,
    name = span::ROLLBACK_REFUND_PAYMENT,
    kind = client,
    fields(payment.transaction_id = transaction_id)
)]
async fn refund_payment(transaction_id: &str, backend: &mut Backend) -> Result<(), ServiceError> {
    backend.refund(transaction_id).await
}

/// Releases the room's lock.
#[booking_step(
    rollback,
    name = span::ROLLBACK_RELEASE_LOCK,
    fields(booking.reservation_id = reservation_id, booking.room_id = room.room_id)
)]
async fn release_lock(
    reservation_id: &str,
    room: &Room,
    backend: &mut Backend,
) -> Result<(), ServiceError> {
    backend.release_lock(room).await
}

/// Gives the held room back to the inventory.
#[booking_step(
    rollback,
    name = span::ROLLBACK_RESTORE_INVENTORY,
    fields(booking.room_id = room.room_id)
)]
async fn restore_inventory(room: &Room, backend: &mut Backend) -> Result<(), ServiceError> {
    backend.restore_inventory(room).await
}

// ---------------------------------------------------------------------------------------
// Driving bookings.

/// Runs booking `index` of `seed`.
pub async fn run_one(
    seed: u64,
    index: u64,
    scenario: &Scenario,
    metrics: &BookingMetrics,
) -> Result<Confirmation, BookingError> {
    let (request, backend) = simulated_booking(seed, index, scenario);
    create_booking(request, backend, metrics.clone()).await
}

/// Runs `count` bookings at once, each its own task (and its own trace), and returns
/// their results in order.
pub async fn run_many(
    count: u64,
    seed: u64,
    scenario: &Scenario,
    metrics: &BookingMetrics,
) -> Vec<Result<Confirmation, BookingError>> {
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let (request, backend) = simulated_booking(seed, index, scenario);
            // A step takes its parent where it is called, here, whichever worker runs
            // it: each booking is a root, and stays one trace across the runtime.
            tokio::spawn(create_booking(request, backend, metrics.clone()))
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("a booking task panicked"));
    }
    results
}
