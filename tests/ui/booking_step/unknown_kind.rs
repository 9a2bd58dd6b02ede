use booking_otel::booking_step;

#[booking_step(kind = rpc)]
fn confirm() {}

fn main() {
    confirm();
}
