use booking_otel::{Cvv, booking_step};

#[booking_step(fields(payment.cvv = cvv))]
fn process_payment(cvv: &Cvv) {}

fn main() {
    process_payment(&Cvv::parse("123").unwrap());
}
