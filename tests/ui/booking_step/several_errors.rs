use booking_otel::booking_step;

// Every problem is reported at once, each at its own token.
#[booking_step(kind = rpc, rollback, name = "booking.refund")]
fn refund() {}

fn main() {
    refund();
}
