//! An async step's parent is the context current where the function was *called* (the
//! future created), whichever task or thread polls it (issue 11.2). All on a
//! multi-thread runtime, with no wrapper around the futures.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use booking_otel::booking_step;
use booking_otel::testing::{TestTelemetry, children, parent_of, tree};
use futures_util::future::join_all;

#[derive(Debug, thiserror::Error)]
#[error("smtp down")]
struct NotifyError;

#[booking_step]
async fn notify(booking_id: u64) -> Result<(), NotifyError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let _ = booking_id;
    Ok(())
}

#[booking_step]
async fn create(booking_id: u64) -> Result<u64, NotifyError> {
    // Fire and forget, as the guide's notification step: no `in_current_trace` needed.
    let handle = tokio::spawn(notify(booking_id));
    tokio::task::yield_now().await;
    handle.await.expect("notify task")?;
    Ok(booking_id)
}

#[booking_step]
async fn check_room(room: u32) -> Option<u32> {
    tokio::task::yield_now().await;
    Some(room)
}

#[booking_step]
async fn check_availability(rooms: Vec<u32>) -> Option<usize> {
    let checks: Vec<_> = rooms.iter().map(|room| check_room(*room)).collect();
    let found = join_all(checks).await;
    Some(found.len())
}

#[booking_step]
async fn prepare_receipt() -> Option<&'static str> {
    // Created here, awaited by `send_receipt`.
    Some("receipt")
}

#[booking_step]
async fn plan()
-> Option<std::pin::Pin<Box<dyn std::future::Future<Output = Option<&'static str>> + Send>>> {
    Some(Box::pin(prepare_receipt()))
}

#[booking_step]
async fn send_receipt(
    receipt: std::pin::Pin<Box<dyn std::future::Future<Output = Option<&'static str>> + Send>>,
) -> Option<&'static str> {
    receipt.await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_step_stays_in_its_bookings_trace() {
    let telemetry = TestTelemetry::install();
    assert_eq!(create(42).await.unwrap(), 42);
    let spans = telemetry.spans();
    assert_eq!(spans.len(), 2, "{}", tree(&spans));
    let parent = parent_of(&spans, "booking.notify").expect("notify has its parent");
    assert_eq!(parent.name, "booking.create", "{}", tree(&spans));
    assert_eq!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_created_in_a_loop_and_joined_are_children_of_their_creator() {
    let telemetry = TestTelemetry::install();
    assert_eq!(check_availability(vec![101, 102, 103]).await, Some(3));
    let spans = telemetry.spans();
    let parent = telemetry.span("booking.check_availability");
    let kids = children(&spans, &parent);
    assert_eq!(kids.len(), 3, "{}", tree(&spans));
    assert!(kids.iter().all(|k| k.name == "booking.check_room"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_created_in_one_step_and_awaited_in_another_belongs_to_its_creator() {
    let telemetry = TestTelemetry::install();
    let receipt = plan().await.unwrap();
    assert_eq!(send_receipt(receipt).await, Some("receipt"));
    let spans = telemetry.spans();
    assert_eq!(
        parent_of(&spans, "booking.prepare_receipt").map(|s| s.name.as_ref()),
        Some("booking.plan"),
        "{}",
        tree(&spans)
    );
}

#[async_trait]
trait Notifier {
    async fn send(self: Arc<Self>, booking_id: u64) -> Result<(), NotifyError>;
}

struct Smtp;

#[async_trait]
impl Notifier for Smtp {
    #[booking_step(name = "booking.notify.smtp")]
    async fn send(self: Arc<Self>, booking_id: u64) -> Result<(), NotifyError> {
        tokio::task::yield_now().await;
        let _ = booking_id;
        Ok(())
    }
}

#[booking_step]
async fn confirm(notifier: Arc<dyn Notifier + Send + Sync>) -> Result<(), NotifyError> {
    // Called here, polled on another task: still this step's child.
    let sending = notifier.send(7);
    tokio::spawn(sending).await.expect("notifier task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_trait_step_called_in_a_step_and_spawned_is_its_child() {
    let telemetry = TestTelemetry::install();
    confirm(Arc::new(Smtp)).await.unwrap();
    let spans = telemetry.spans();
    assert_eq!(
        parent_of(&spans, "booking.notify.smtp").map(|s| s.name.as_ref()),
        Some("booking.confirm"),
        "{}",
        tree(&spans)
    );
}

/// A native `async fn` in a trait (no `#[async_trait]`): the decorated impl method
/// still satisfies the trait, and its step starts where it is called.
trait Availability {
    async fn rooms_left(&self, property_id: &str) -> Option<u32>;
}

struct Inventory;

impl Availability for Inventory {
    #[booking_step(fields(booking.property_id = property_id))]
    async fn rooms_left(&self, property_id: &str) -> Option<u32> {
        tokio::task::yield_now().await;
        (property_id == "prop-1").then_some(3)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_async_trait_method_is_instrumented() {
    use booking_otel::testing::SpanDataExt;
    let telemetry = TestTelemetry::install();
    let property = String::from("prop-1");
    assert_eq!(Inventory.rooms_left(&property).await, Some(3));
    let span = telemetry.span("booking.rooms_left");
    assert_eq!(
        span.attribute("booking.property_id"),
        Some(&opentelemetry::Value::from("prop-1"))
    );
}

#[booking_step]
async fn hold(_: tokio::sync::OwnedSemaphorePermit, booking_id: u64) -> Option<u64> {
    tokio::task::yield_now().await;
    Some(booking_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_never_polled_records_nothing() {
    let telemetry = TestTelemetry::install();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(1));
    let permit = semaphore.clone().acquire_owned().await.unwrap();
    // Created and dropped unpolled, as `tokio::select!` does with a disabled branch.
    drop(hold(permit, 1));
    assert_eq!(
        telemetry.spans().len(),
        0,
        "no span for a future never polled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_underscore_argument_lives_until_the_step_ends_as_in_an_async_fn() {
    let _telemetry = TestTelemetry::install();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(1));
    let permit = semaphore.clone().acquire_owned().await.unwrap();
    let holding = hold(permit, 2);
    assert_eq!(
        semaphore.available_permits(),
        0,
        "the future holds the permit"
    );
    assert_eq!(holding.await, Some(2));
    assert_eq!(
        semaphore.available_permits(),
        1,
        "released when the step ended"
    );
}

#[booking_step(fields(booking.id = id, booking.note = note))]
async fn destructured((id, note): (u64, String), #[cfg(any())] never: u8) -> Option<u64> {
    tokio::task::yield_now().await;
    Some(id + note.len() as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_can_name_bindings_of_argument_patterns_and_cfg_parameters_compile() {
    use booking_otel::testing::SpanDataExt;
    let telemetry = TestTelemetry::install();
    assert_eq!(destructured((40, "ab".to_string())).await, Some(42));
    let span = telemetry.span("booking.destructured");
    assert_eq!(
        span.attribute("booking.id"),
        Some(&opentelemetry::Value::I64(40))
    );
    assert_eq!(
        span.attribute("booking.note"),
        Some(&opentelemetry::Value::from("ab"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_spawned_where_no_span_is_active_keeps_the_callers_context() {
    // No span here, only the test kit's scope in the context: the step must still
    // belong to this test although a worker thread polls it.
    let telemetry = TestTelemetry::install();
    tokio::spawn(notify(3)).await.unwrap().unwrap();
    assert_eq!(telemetry.span_names(), ["booking.notify"]);
}
