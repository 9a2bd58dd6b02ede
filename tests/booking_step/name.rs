//! `name = ".."`: the span name, as a literal or a path to a constant.

use booking_otel::booking_step;
use booking_otel::conventions::span;
use booking_otel::testing::TestTelemetry;

#[booking_step(name = "booking.process_payment")]
fn charge_card() -> Result<(), std::io::Error> {
    Ok(())
}

#[booking_step(name = span::CONFIRM)]
fn send_confirmation() {}

#[booking_step(name = "booking.create")]
async fn create() {
    send_confirmation();
}

#[test]
fn the_span_has_the_given_name() {
    let telemetry = TestTelemetry::install();
    charge_card().unwrap();
    send_confirmation();
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(create());

    assert_eq!(
        telemetry.span_names(),
        [
            "booking.process_payment",
            span::CONFIRM,
            span::CONFIRM,
            "booking.create"
        ]
    );
}
