use booking_otel::booking_step;

// Parsing goes on past a bad option: every problem is reported at once.
#[booking_step(nme = "x", rollback = true, fields(booking.id = id), kind = client, kind = server)]
fn refund(id: u64) -> u64 {
    id
}

fn main() {
    refund(7);
}
