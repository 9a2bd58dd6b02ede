//! Compile-fail tests: every `#[booking_step]` and `#[derive(StepError)]` usage error,
//! and every forbidden conversion of a secret, fails to compile with the committed
//! message (`tests/ui/**/*.stderr`; regenerate with `TRYBUILD=overwrite`).

#[test]
fn usage_errors_and_forbidden_conversions_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/booking_step/*.rs");
    cases.compile_fail("tests/ui/step_error/*.rs");
    cases.compile_fail("tests/ui/redaction/*.rs");
}
