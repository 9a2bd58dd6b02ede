//! Keeps docs/conventions.md in step with the constants: regenerate with
//! `BLESS=1 cargo test --test conventions_doc`.

#[test]
fn docs_conventions_md_matches_the_constants() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/conventions.md");
    let expected = format!(
        "# booking-otel conventions\n\n\
         Generated from `booking_otel::conventions::ALL` by `tests/conventions_doc.rs`; \
         do not edit by hand (run `BLESS=1 cargo test --test conventions_doc`).\n\n\
         Standard keys (`error.type`, `exception.type`, `exception.message`, `service.name`, \
         `service.version`) come from `opentelemetry-semantic-conventions`.\n\n{}",
        booking_otel::conventions::markdown_table()
    );
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/conventions.md is out of date; run `BLESS=1 cargo test --test conventions_doc`"
    );
}
