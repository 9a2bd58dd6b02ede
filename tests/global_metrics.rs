//! Metrics through the global meter provider, the way an application that installs
//! its own providers uses them: `BookingMetrics::global()` called in each handler, and
//! steps that find their telemetry through the globals. The instruments are made once
//! per installed provider and cached; these tests check the cache never sends a value
//! to a provider that is no longer installed and never loses one.
//! Its own test binary: it changes the process's global providers.

use std::time::Duration;

use booking_otel::conventions::{attribute, metric};
use booking_otel::metrics::{BookingMetrics, BookingStatus};
use booking_otel::propagation::extract_from;
use booking_otel::{Step, telemetry};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;

mod support;
use support::metrics::{counter_sum, histogram_count, in_memory_provider};

/// One provider and what it exported.
struct Installed {
    provider: SdkMeterProvider,
    exporter: InMemoryMetricExporter,
}

impl Installed {
    /// A new in-memory meter provider, installed as the global one.
    fn install() -> Self {
        let (provider, exporter) = in_memory_provider();
        opentelemetry::global::set_meter_provider(provider.clone());
        Installed { provider, exporter }
    }

    /// `booking.duration` recordings of successful bookings, collected now.
    fn bookings(&self) -> u64 {
        let success = KeyValue::new(attribute::BOOKING_STATUS, "success");
        histogram_count(
            &self.provider,
            &self.exporter,
            metric::BOOKING_DURATION,
            Some(&success),
        )
    }

    /// Incoming headers counted as rejected, collected now.
    fn rejected_headers(&self) -> u64 {
        counter_sum(
            &self.provider,
            &self.exporter,
            metric::PROPAGATION_REJECTED_HEADERS,
        )
    }

    /// `booking.step.duration` recordings of `booking.confirm`, collected now.
    fn confirm_steps(&self) -> u64 {
        let confirm = KeyValue::new(attribute::BOOKING_STEP, "booking.confirm");
        histogram_count(
            &self.provider,
            &self.exporter,
            metric::BOOKING_STEP_DURATION,
            Some(&confirm),
        )
    }
}

fn confirm(times: u32) {
    for i in 0..times {
        let _ = Step::new("booking.confirm").run(|| Ok::<_, std::io::Error>(i));
    }
}

/// One test, because the global providers are process-wide and the steps run in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_instruments_follow_the_installed_provider_and_lose_nothing() {
    // 1. `BookingMetrics::global()` in every spawned request handler.
    let first = Installed::install();
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
    assert_eq!(first.bookings(), 500);

    // 2. Another provider installed: the next call records there, not in the first.
    let second = Installed::install();
    BookingMetrics::global().record_booking(
        BookingStatus::Success,
        Duration::from_millis(80),
        "api",
    );
    assert_eq!(second.bookings(), 1);
    assert_eq!(
        first.bookings(),
        500,
        "nothing more reaches the provider that was replaced"
    );

    // Headers extracted with no telemetry anywhere (the global tracer is the no-op
    // one) count their rejections with the installed meter provider.
    let malformed = vec![("traceparent".to_string(), b"00-not-a-trace".to_vec())];
    for _ in 0..5 {
        let _ = extract_from(&malformed);
    }
    assert_eq!(second.rejected_headers(), 5);
    assert_eq!(first.rejected_headers(), 0);

    // 3. Steps that find their telemetry through the global providers record their
    //    duration with the installed meter provider, and follow a replacement.
    let tracer_provider = SdkTracerProvider::builder().build();
    opentelemetry::global::set_tracer_provider(tracer_provider.clone());
    telemetry::refresh();
    confirm(10);
    assert_eq!(second.confirm_steps(), 10);
    let third = Installed::install();
    telemetry::refresh();
    confirm(3);
    assert_eq!(third.confirm_steps(), 3);
    assert_eq!(second.confirm_steps(), 10);

    for installed in [first, second, third] {
        installed.provider.shutdown().expect("shut down");
    }
    tracer_provider.shutdown().expect("shut down");
}
