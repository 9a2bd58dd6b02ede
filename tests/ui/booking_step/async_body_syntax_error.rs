use booking_otel::booking_step;

// A syntax error in the body is rustc's own, at its own place: the macro neither
// rejects the item nor drops the function, so the call below raises no second error.
#[booking_step]
async fn check_availability(guests: u32) -> u32 {
    let x = ;
    guests
}

fn main() {
    let _ = check_availability(2);
}
