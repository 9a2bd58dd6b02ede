use booking_otel::booking_step;

#[booking_step(nme = "booking.confirm")]
fn confirm() {}

fn main() {
    // Fail soft: the function is still emitted, so this call raises no second error.
    confirm();
}
