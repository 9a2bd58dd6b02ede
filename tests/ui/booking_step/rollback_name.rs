use booking_otel::booking_step;

#[booking_step(rollback, name = "booking.release_lock")]
fn release_lock() {}

fn main() {
    release_lock();
}
