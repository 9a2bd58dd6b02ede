use booking_otel::booking_step;

#[booking_step(fields(booking.guests))]
fn check_availability(guests: u32) -> u32 {
    guests
}

fn main() {
    check_availability(2);
}
