use booking_otel::{Step, StepError};

#[derive(Debug, thiserror::Error, StepError)]
enum MyError {
    // Typo: the derive reports it once and still implements `StepError` (with the
    // trait's defaults), so the uses below raise no second error.
    #[error("sold out")]
    #[step_error(rejcetion)]
    A,
}

fn needs<E: booking_otel::StepError>(_: &E) {}

fn main() {
    needs(&MyError::A);
    needs(&MyError::A);
    let _ = Step::new("booking.x").run(|| Err::<(), _>(MyError::A));
}
