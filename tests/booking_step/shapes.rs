//! The shapes of function `#[booking_step]` accepts — sync, async, methods on `self`,
//! `&self`, `&mut self`, generics with where clauses, `impl Trait` arguments and
//! returns, early `return` and `?`, `#[async_trait]` methods — and how each kind of
//! return value is classified.

use std::fmt::Display;

use async_trait::async_trait;
use booking_otel::conventions::{attribute, event, standard};
use booking_otel::testing::{SpanDataExt, TestTelemetry, children};
use booking_otel::{StepError, booking_step, propagation::in_current_trace};
use opentelemetry::Value;
use opentelemetry::trace::Status;

#[derive(Debug, thiserror::Error, StepError)]
enum PaymentError {
    #[error("card declined: {reason}")]
    #[step_error(rejection)]
    Declined { reason: String },
    #[error("payment gateway timed out")]
    GatewayTimeout,
}

#[derive(Debug, thiserror::Error)]
#[error("inventory service unavailable")]
struct InventoryDown;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}

// ---- sync, Result with a StepError, early return and `?` ----

fn parse_amount(raw: &str) -> Result<u64, PaymentError> {
    raw.parse().map_err(|_| PaymentError::GatewayTimeout)
}

#[booking_step]
fn process_payment(raw_amount: &str) -> Result<String, PaymentError> {
    if raw_amount == "0" {
        return Err(PaymentError::Declined {
            reason: "zero amount".into(),
        });
    }
    let cents = parse_amount(raw_amount)?;
    Ok(format!("txn_{cents}"))
}

#[test]
fn sync_result_ok_err_rejection_and_question_mark() {
    let telemetry = TestTelemetry::install();
    assert_eq!(process_payment("1200").unwrap(), "txn_1200");
    assert!(process_payment("0").is_err());
    assert!(process_payment("abc").is_err());

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 3);
    let (ok, rejected, failed) = (&spans[0], &spans[1], &spans[2]);
    assert!(spans.iter().all(|s| s.name == "booking.process_payment"));

    assert_eq!(ok.status, Status::Unset);
    assert_eq!(ok.attribute(standard::ERROR_TYPE), None);

    assert_eq!(
        rejected.status,
        Status::Unset,
        "a rejection is not an error"
    );
    assert_eq!(
        rejected.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("rejected"))
    );
    assert_eq!(
        rejected.attribute(attribute::BOOKING_REJECTION_TYPE),
        Some(&Value::from("declined"))
    );
    assert!(rejected.event(event::REJECTION).is_some());

    assert_eq!(
        failed.status,
        Status::error("payment gateway timed out"),
        "`?` must flow through the step"
    );
    assert_eq!(
        failed.attribute(standard::ERROR_TYPE),
        Some(&Value::from("gateway_timeout"))
    );
    assert_eq!(
        failed.event_attribute(event::EXCEPTION, standard::EXCEPTION_MESSAGE),
        Some(&Value::from("payment gateway timed out"))
    );
}

// ---- return types without StepError ----

#[booking_step]
fn reserve_plain_error(fail: bool) -> Result<u8, InventoryDown> {
    if fail { Err(InventoryDown) } else { Ok(1) }
}

#[booking_step]
fn reserve_boxed(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if fail {
        Err(Box::new(InventoryDown))
    } else {
        Ok(1)
    }
}

#[booking_step]
fn reserve_string(fail: bool) -> Result<u8, String> {
    if fail {
        Err("sold out".to_string())
    } else {
        Ok(1)
    }
}

#[booking_step]
fn price_in_cents(nights: u32) -> u64 {
    u64::from(nights) * 12_900
}

#[booking_step]
fn notify_guest() {}

#[test]
fn results_with_any_error_type_fail_and_plain_values_succeed() {
    let telemetry = TestTelemetry::install();
    assert!(reserve_plain_error(true).is_err());
    assert!(reserve_boxed(true).is_err());
    assert!(reserve_string(true).is_err());
    assert_eq!(reserve_string(false), Ok(1));
    assert_eq!(price_in_cents(2), 25_800);
    notify_guest();

    let spans = telemetry.spans();
    let error_types: Vec<Option<&Value>> = spans
        .iter()
        .map(|s| s.attribute(standard::ERROR_TYPE))
        .collect();
    assert_eq!(
        error_types,
        [
            Some(&Value::from("InventoryDown")),
            Some(&Value::from("_OTHER")),
            Some(&Value::from("_OTHER")),
            None,
            None,
            None,
        ]
    );
    assert_eq!(
        spans[1].status,
        Status::error("inventory service unavailable")
    );
    assert_eq!(spans[2].status, Status::error("sold out"));
    assert_eq!(spans[4].name, "booking.price_in_cents");
    assert_eq!(spans[4].status, Status::Unset);
    assert_eq!(spans[5].name, "booking.notify_guest");
}

// ---- methods, generics, impl Trait ----

struct Inventory {
    rooms: u32,
}

impl Inventory {
    #[booking_step]
    fn available(&self) -> u32 {
        self.rooms
    }

    #[booking_step]
    fn hold(&mut self, rooms: u32) -> Result<u32, InventoryDown> {
        if rooms > self.rooms {
            return Err(InventoryDown);
        }
        self.rooms -= rooms;
        Ok(self.rooms)
    }

    #[booking_step]
    fn into_rooms(self) -> u32 {
        self.rooms
    }

    #[booking_step]
    fn room_names(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.rooms).map(|n| format!("room-{n}"))
    }

    #[booking_step]
    fn describe(&self, label: impl Display) -> String {
        format!("{label}: {}", self.rooms)
    }
}

#[booking_step]
fn cheapest<T, I>(prices: I) -> Option<T>
where
    T: Ord + Copy,
    I: IntoIterator<Item = T>,
{
    prices.into_iter().min()
}

#[booking_step]
fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or(text)
}

#[test]
fn methods_generics_and_impl_trait() {
    let telemetry = TestTelemetry::install();
    let mut inventory = Inventory { rooms: 3 };
    assert_eq!(inventory.available(), 3);
    assert_eq!(inventory.hold(2).unwrap(), 1);
    assert!(inventory.hold(5).is_err());
    assert_eq!(inventory.room_names().count(), 1);
    assert_eq!(inventory.describe("left"), "left: 1");
    assert_eq!(inventory.into_rooms(), 1);
    assert_eq!(cheapest([129, 99, 149]), Some(99));
    assert_eq!(first_word("deluxe king room"), "deluxe");

    assert_eq!(
        telemetry.span_names(),
        [
            "booking.available",
            "booking.hold",
            "booking.hold",
            "booking.room_names",
            "booking.describe",
            "booking.into_rooms",
            "booking.cheapest",
            "booking.first_word",
        ]
    );
    let failed_hold = &telemetry.spans()[2];
    assert_eq!(
        failed_hold.attribute(standard::ERROR_TYPE),
        Some(&Value::from("InventoryDown"))
    );
}

// ---- async: span active across awaits, nesting, spawned work, cancellation ----

#[booking_step]
async fn confirm(code: &str) -> Result<String, PaymentError> {
    tokio::task::yield_now().await;
    notify_guest();
    tokio::task::yield_now().await;
    Ok(code.to_uppercase())
}

#[booking_step]
async fn create_booking(fail_payment: bool) -> Result<String, PaymentError> {
    tokio::task::yield_now().await;
    if fail_payment {
        async_process_payment().await?;
    }
    let spawned = tokio::spawn(in_current_trace(async {
        tokio::task::yield_now().await;
        notify_guest();
    }));
    spawned.await.expect("spawned task");
    confirm("k7q2zp").await
}

#[booking_step(name = "booking.process_payment")]
async fn async_process_payment() -> Result<(), PaymentError> {
    tokio::task::yield_now().await;
    Err(PaymentError::GatewayTimeout)
}

#[test]
fn async_steps_stay_active_across_awaits_and_nest() {
    let telemetry = TestTelemetry::install();
    let code = runtime().block_on(create_booking(false)).unwrap();
    assert_eq!(code, "K7Q2ZP");

    let spans = telemetry.spans();
    assert_eq!(spans.len(), 4, "{}", booking_otel::testing::tree(&spans));
    let create = telemetry.span("booking.create_booking");
    let confirm = telemetry.span("booking.confirm");
    let kids: Vec<&str> = children(&spans, &create)
        .iter()
        .map(|s| s.name.as_ref())
        .collect();
    assert_eq!(kids, ["booking.notify_guest", "booking.confirm"]);
    let confirm_kids = children(&spans, &confirm);
    assert_eq!(confirm_kids.len(), 1, "the step is current after an await");
    assert_eq!(confirm_kids[0].name, "booking.notify_guest");
    assert!(
        spans
            .iter()
            .all(|s| s.span_context.trace_id() == create.span_context.trace_id())
    );
}

#[test]
fn async_errors_propagate_with_question_mark() {
    let telemetry = TestTelemetry::install();
    assert!(runtime().block_on(create_booking(true)).is_err());
    let create = telemetry.span("booking.create_booking");
    let payment = telemetry.span("booking.process_payment");
    assert_eq!(payment.parent_span_id, create.span_context.span_id());
    assert_eq!(create.status, Status::error("payment gateway timed out"));
    assert_eq!(payment.status, Status::error("payment gateway timed out"));
}

#[booking_step]
async fn wait_for_gateway() -> Result<(), PaymentError> {
    std::future::pending::<()>().await;
    Ok(())
}

#[test]
fn a_dropped_async_step_is_cancelled() {
    let telemetry = TestTelemetry::install();
    let timed_out = runtime().block_on(async {
        tokio::time::timeout(std::time::Duration::from_millis(5), wait_for_gateway()).await
    });
    assert!(timed_out.is_err());
    let span = telemetry.span("booking.wait_for_gateway");
    assert_eq!(span.status, Status::error("cancelled"));
    assert_eq!(
        span.attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("cancelled"))
    );
}

#[booking_step]
fn release_with_bug(rooms: u32) -> u32 {
    if rooms == 0 {
        panic!("no rooms to release");
    }
    rooms
}

#[test]
fn a_panic_is_recorded_and_keeps_unwinding() {
    let telemetry = TestTelemetry::install();
    let caught = std::panic::catch_unwind(|| release_with_bug(0));
    assert!(caught.is_err(), "the panic must reach the caller");
    let span = telemetry.span("booking.release_with_bug");
    assert_eq!(span.status, Status::error("panicked: no rooms to release"));
    assert_eq!(
        span.attribute(standard::ERROR_TYPE),
        Some(&Value::from("panic"))
    );
}

// ---- #[async_trait] ----

#[async_trait]
trait PaymentGateway {
    async fn authorize(&self, amount_cents: u64) -> Result<String, PaymentError>;
}

struct FakeGateway {
    limit_cents: u64,
}

#[async_trait]
impl PaymentGateway for FakeGateway {
    #[booking_step(name = "booking.authorize", fields(payment.amount = amount_cents))]
    async fn authorize(&self, amount_cents: u64) -> Result<String, PaymentError> {
        tokio::task::yield_now().await;
        notify_guest();
        if amount_cents > self.limit_cents {
            return Err(PaymentError::Declined {
                reason: "limit".into(),
            });
        }
        Ok(format!("auth_{amount_cents}"))
    }
}

#[test]
fn async_trait_methods_are_instrumented() {
    let telemetry = TestTelemetry::install();
    let gateway: Box<dyn PaymentGateway + Send + Sync> = Box::new(FakeGateway { limit_cents: 500 });
    let rt = runtime();
    assert_eq!(rt.block_on(gateway.authorize(100)).unwrap(), "auth_100");
    assert!(rt.block_on(gateway.authorize(900)).is_err());

    let spans = telemetry.spans();
    let authorize: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "booking.authorize")
        .collect();
    assert_eq!(authorize.len(), 2);
    assert_eq!(
        authorize[0].attribute("payment.amount"),
        Some(&Value::I64(100))
    );
    assert_eq!(
        authorize[1].attribute(attribute::BOOKING_OUTCOME),
        Some(&Value::from("rejected"))
    );
    for auth in &authorize {
        let kids = children(&spans, auth);
        assert_eq!(
            kids.len(),
            1,
            "the step is active inside the async_trait body"
        );
    }
}
