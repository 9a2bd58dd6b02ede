use booking_otel::booking_step;

#[booking_step(kind = "client")]
fn confirm() {}

fn main() {
    confirm();
}
