use booking_otel::Pin;
use opentelemetry::KeyValue;

fn main() {
    let pin = Pin::parse("1234").unwrap();
    let _ = KeyValue::new("payment.pin", pin);
}
