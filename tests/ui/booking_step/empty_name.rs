use booking_otel::booking_step;

#[booking_step(name = "booking confirm")]
fn confirm() {}

fn main() {
    confirm();
}
