use booking_otel::Cvv;

fn main() {
    let cvv = Cvv::parse("123").unwrap();
    println!("{cvv}");
}
