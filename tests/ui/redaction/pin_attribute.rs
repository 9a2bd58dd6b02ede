use booking_otel::{Pin, Step};

fn main() {
    let pin = Pin::parse("1234").unwrap();
    Step::new("booking.verify_pin")
        .attributes(|a| {
            a.set("payment.pin", &pin);
        })
        .run(|| ());
}
