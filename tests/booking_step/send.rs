//! An async step's future is `Send` (and `'static` when the original was): it can be
//! given to `tokio::spawn` and used as an axum handler. This module proves it by
//! compiling; the test also runs the spawned steps.

use booking_otel::booking_step;
use booking_otel::testing::TestTelemetry;

fn assert_send_static<F: std::future::Future + Send + 'static>(future: F) -> F {
    future
}

fn assert_send<F: std::future::Future + Send>(future: F) -> F {
    future
}

#[booking_step]
async fn hold_room(room: String, nights: u32) -> Result<String, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(format!("{room}x{nights}"))
}

struct Gateway {
    name: String,
}

impl Gateway {
    #[booking_step(fields(payment.gateway = self.name))]
    async fn charge(&self, cents: u64) -> Option<u64> {
        tokio::task::yield_now().await;
        Some(cents)
    }
}

#[test]
fn async_step_futures_are_send_and_static() {
    let telemetry = TestTelemetry::install();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let held = runtime
        .block_on(async {
            let future = assert_send_static(hold_room("deluxe".into(), 2));
            tokio::spawn(booking_otel::propagation::in_current_trace(future)).await
        })
        .expect("join")
        .expect("held");
    assert_eq!(held, "deluxex2");

    let gateway = Gateway {
        name: "stripe".into(),
    };
    let charged = runtime.block_on(assert_send(gateway.charge(100)));
    assert_eq!(charged, Some(100));
    assert_eq!(
        telemetry.span_names(),
        ["booking.hold_room", "booking.charge"]
    );
}
