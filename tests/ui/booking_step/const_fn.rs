use booking_otel::booking_step;

#[booking_step]
const fn nights() -> u32 {
    3
}

fn main() {
    let _ = nights();
}
