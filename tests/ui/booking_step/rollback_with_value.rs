use booking_otel::booking_step;

#[booking_step(rollback = true)]
fn release_lock() {}

fn main() {
    release_lock();
}
