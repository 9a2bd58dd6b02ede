use booking_otel::CardNumber;

fn main() {
    // A CardNumber does not deref to its digits; the only way out is the explicit,
    // greppable `expose_digits`.
    let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
    let digits: &str = &card;
    let _ = digits;
}
