//! `crate = path`: the expansion reaches the runtime through a re-export.

mod my_reexport {
    pub use booking_otel;
}

use booking_otel::booking_step;
use booking_otel::testing::TestTelemetry;

#[booking_step(crate = my_reexport::booking_otel, name = "booking.confirm")]
fn confirm() -> Result<&'static str, std::io::Error> {
    Ok("K7Q2ZP")
}

#[test]
fn a_re_exported_runtime_works() {
    let telemetry = TestTelemetry::install();
    assert_eq!(confirm().unwrap(), "K7Q2ZP");
    assert_eq!(telemetry.spans()[0].name, "booking.confirm");
}
