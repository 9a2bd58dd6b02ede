use booking_otel::booking_step;

struct Guest {
    name: String,
}

#[booking_step(fields(booking.guest = guest))]
fn confirm(guest: &Guest) {}

fn main() {
    confirm(&Guest { name: "Ada".into() });
}
