//! Metrics through the global meter provider, the way an application that installs
//! its own providers uses them: `BookingMetrics::global()` called in each handler, and
//! steps that find their telemetry through the globals. The instruments are made once
//! per installed provider and cached; these tests check the cache never sends a value
//! to a provider that is no longer installed and never loses one.
//! Its own test binary: it changes the process's global providers.

use std::time::Duration;

use booking_otel::conventions::{attribute, metric};
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::{Step, telemetry};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracerProvider;

mod support;
use support::metrics::{histogram_count, in_memory_provider as meter_provider};

/// One test, because the global providers are process-wide and the steps run in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_instruments_follow_the_installed_provider_and_lose_nothing() {
    let success = KeyValue::new(attribute::BOOKING_STATUS, "success");

    // 1. `BookingMetrics::global()` in every spawned request handler.
    let (first, first_exporter) = meter_provider();
    opentelemetry::global::set_meter_provider(first.clone());
    let handlers: Vec<_> = (0..500)
        .map(|_| {
            tokio::spawn(async {
                tokio::task::yield_now().await;
                BookingMetrics::global().record_booking(
                    BookingStatus::Success,
                    Duration::from_millis(120),
                    "web",
                );
            })
        })
        .collect();
    for handler in handlers {
        handler.await.expect("handler ran");
    }
    assert_eq!(
        histogram_count(
            &first,
            &first_exporter,
            metric::BOOKING_DURATION,
            Some(&success)
        ),
        500
    );

    // 2. Another provider installed: the next call records there, not in the first.
    let (second, second_exporter) = meter_provider();
    opentelemetry::global::set_meter_provider(second.clone());
    BookingMetrics::global().record_booking(
        BookingStatus::Success,
        Duration::from_millis(80),
        "api",
    );
    assert_eq!(
        histogram_count(
            &second,
            &second_exporter,
            metric::BOOKING_DURATION,
            Some(&success)
        ),
        1
    );
    assert_eq!(
        histogram_count(
            &first,
            &first_exporter,
            metric::BOOKING_DURATION,
            Some(&success)
        ),
        500,
        "nothing more reaches the provider that was replaced"
    );

    // 3. Steps that find their telemetry through the global providers record their
    //    duration with the installed meter provider, and follow a replacement.
    let tracer_provider = SdkTracerProvider::builder().build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    telemetry::refresh();
    let confirm = KeyValue::new(attribute::BOOKING_STEP, "booking.confirm");
    for i in 0..10 {
        let _ = Step::new("booking.confirm").run(|| Ok::<_, std::io::Error>(i));
    }
    assert_eq!(
        histogram_count(
            &second,
            &second_exporter,
            metric::BOOKING_STEP_DURATION,
            Some(&confirm)
        ),
        10
    );
    let (third, third_exporter) = meter_provider();
    opentelemetry::global::set_meter_provider(third.clone());
    telemetry::refresh();
    for i in 0..3 {
        let _ = Step::new("booking.confirm").run(|| Ok::<_, std::io::Error>(i));
    }
    assert_eq!(
        histogram_count(
            &third,
            &third_exporter,
            metric::BOOKING_STEP_DURATION,
            Some(&confirm)
        ),
        3
    );
    assert_eq!(
        histogram_count(
            &second,
            &second_exporter,
            metric::BOOKING_STEP_DURATION,
            Some(&confirm)
        ),
        10
    );

    for provider in [first, second, third] {
        provider.shutdown().expect("shut down");
    }
    tracer_provider.shutdown().expect("shut down");
}
