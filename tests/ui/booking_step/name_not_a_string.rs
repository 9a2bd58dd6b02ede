use booking_otel::booking_step;

#[booking_step(name = 42)]
fn confirm() {}

fn main() {
    confirm();
}
