use booking_otel::booking_step;

#[booking_step]
struct Booking {
    id: u64,
}

fn main() {
    let booking = Booking { id: 1 };
    let _ = booking.id;
}
