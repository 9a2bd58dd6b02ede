use booking_otel::{Cvv, StepValue};

fn main() {
    let cvv = Cvv::parse("123").unwrap();
    let _ = cvv.into_step_value();
}
