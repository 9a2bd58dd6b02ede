use booking_otel::booking_step;

#[booking_step(name = "booking.confirm", kind = client, name = "booking.confirm_again")]
fn confirm() {}

fn main() {
    confirm();
}
