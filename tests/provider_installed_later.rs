//! With no SDK installed steps run untraced; a provider installed later is picked up.
//! Its own test binary: it changes the process's global tracer provider.

use booking_otel::{Step, Telemetry, telemetry};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

#[test]
fn a_provider_installed_after_untraced_steps_is_picked_up() {
    // No provider: the body runs, nothing is recorded anywhere.
    let value = Step::new("booking.price").run(|| Some(42));
    assert_eq!(value, Some(42));
    assert!(!Step::new("booking.price").start().is_recording());

    // Installed directly on the global, behind the library's back: seen within
    // RECHECK_INTERVAL steps on this thread, with no refresh call.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    for _ in 0..telemetry::RECHECK_INTERVAL {
        Step::new("booking.price").run(|| Some(1));
    }
    let seen = exporter.get_finished_spans().unwrap().len();
    assert!(seen >= 1, "the global provider was never picked up");
    assert!(
        seen < telemetry::RECHECK_INTERVAL as usize,
        "the first steps ran before it existed"
    );

    // refresh() makes it immediate.
    exporter.reset();
    let other = InMemorySpanExporter::default();
    let other_provider = SdkTracerProvider::builder()
        .with_simple_exporter(other.clone())
        .build();
    opentelemetry::global::set_tracer_provider(other_provider);
    telemetry::refresh();
    Step::new("booking.confirm").run(|| Some(()));
    assert_eq!(other.get_finished_spans().unwrap().len(), 1);

    // Telemetry::install wins over the global and is immediate on every thread.
    let installed = InMemorySpanExporter::default();
    let installed_provider = SdkTracerProvider::builder()
        .with_simple_exporter(installed.clone())
        .build();
    Telemetry::from_tracer_provider(&installed_provider).install();
    std::thread::spawn(|| Step::new("booking.notify").run(|| Some(())))
        .join()
        .unwrap();
    assert_eq!(
        installed.get_finished_spans().unwrap()[0].name,
        "booking.notify"
    );
    drop(provider);
}
