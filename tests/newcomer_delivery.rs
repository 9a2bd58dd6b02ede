//! The accounts as a newcomer meets them: `#[booking_step]` functions taking borrowed
//! `&str` fields, futures handed to `tokio::spawn`, a `Result<T, ()>` and a generic error
//! type, all through `setup` into a real OTLP receiver on 127.0.0.1. What the guard's
//! accounts say is what the receiver got. `setup` installs globals: own binary, one test.

mod support;

use std::time::Duration;

use booking_otel::booking_step;
use booking_otel::setup::{ExporterKind, Setup};
use support::receiver::Running;

#[booking_step(name = "booking.check_availability", fields(booking.property_id = property))]
async fn check_availability(property: &str, guests: u32) -> Option<u32> {
    tokio::task::yield_now().await;
    (guests <= 4).then_some(guests)
}

/// A unit error, as a newcomer writes before defining one.
#[booking_step(name = "booking.acquire_lock")]
async fn acquire_lock(room: &str) -> Result<String, ()> {
    if room.ends_with('7') {
        Err(())
    } else {
        Ok(format!("lock-{room}"))
    }
}

/// A generic error type.
#[booking_step(name = "booking.process_payment", kind = client)]
async fn pay<E: std::fmt::Debug>(fail_with: Option<E>) -> Result<u64, E> {
    match fail_with {
        Some(error) => Err(error),
        None => Ok(100),
    }
}

async fn booking(i: u32) -> bool {
    let property = format!("prop-{}", i % 5); // built per request, borrowed below
    let room = format!("room-{i}");
    if check_availability(&property, i % 6).await.is_none() {
        return false;
    }
    if acquire_lock(&room).await.is_err() {
        return false;
    }
    let failure = i.is_multiple_of(4).then(|| format!("declined {i}"));
    pay(failure).await.is_ok()
}

#[test]
fn every_span_of_spawned_newcomer_steps_is_accounted_for_at_a_real_receiver() {
    support::watchdog::abort_after(Duration::from_secs(60), "the newcomer delivery test");
    let receiver = Running::start();
    let guard = Setup::new("newcomer-delivery")
        .otlp_endpoint(format!("http://{}", receiver.address))
        .metrics_exporter(ExporterKind::None)
        .install()
        .expect("setup");
    let delivery = guard.delivery();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let confirmed = runtime.block_on(async {
        let tasks: Vec<_> = (0..200).map(|i| tokio::spawn(booking(i))).collect();
        let mut confirmed = 0;
        for task in tasks {
            confirmed += usize::from(task.await.expect("no booking panics"));
        }
        confirmed
    });
    guard.shutdown().expect("shutdown with the collector up");

    let spans = receiver.spans();
    let counts = delivery.counts();
    assert_eq!(counts.exported, spans.len() as u64, "{counts:?}");
    assert_eq!(
        counts.finished, counts.exported,
        "nothing dropped: {counts:?}"
    );
    assert_eq!(counts.in_flight, 0, "{counts:?}");
    // Every availability check, every lock attempt after one, every payment after one.
    let named = |name: &str| spans.iter().filter(|s| s.name == name).count();
    assert_eq!(named("booking.check_availability"), 200);
    let available = (0..200).filter(|i| i % 6 <= 4).count();
    assert_eq!(named("booking.acquire_lock"), available);
    let locked = (0..200)
        .filter(|i| i % 6 <= 4 && !format!("room-{i}").ends_with('7'))
        .count();
    assert_eq!(named("booking.process_payment"), locked);
    let paid = (0..200)
        .filter(|i| i % 6 <= 4 && !format!("room-{i}").ends_with('7') && i % 4 != 0)
        .count();
    assert_eq!(confirmed, paid);
    // `Err(())` and the generic error are failures, status Error (code 2 in OTLP).
    let errors = |name: &str| {
        spans
            .iter()
            .filter(|s| s.name == name && s.status.as_ref().is_some_and(|st| st.code == 2))
            .count()
    };
    assert_eq!(errors("booking.acquire_lock"), available - locked);
    assert_eq!(errors("booking.process_payment"), locked - paid);
    // The borrowed field arrived.
    assert!(spans.iter().any(|s| s.attributes.iter().any(|kv| {
        kv.key == "booking.property_id"
            && kv.value.as_ref().and_then(|v| v.value.clone())
                == Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                        "prop-3".into(),
                    ),
                )
    })));
}
