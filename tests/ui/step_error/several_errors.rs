use booking_otel::StepError;

// Every problem is reported at once, each at its own token.
#[derive(Debug, thiserror::Error, StepError)]
enum PaymentError {
    #[error("declined")]
    #[step_error(rejected)]
    Declined,
    #[error("gateway timeout")]
    #[step_error(error_type = "gateway timeout")]
    GatewayTimeout,
}

fn needs<E: StepError>(_: &E) {}

fn main() {
    needs(&PaymentError::Declined);
    needs(&PaymentError::GatewayTimeout);
}
