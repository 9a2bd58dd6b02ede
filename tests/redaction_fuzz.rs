//! Fuzzing the scanner with a large number of random inputs (proptest, bounded so CI
//! stays fast): arbitrary Unicode, and text dense in digits, separators, track and
//! IBAN-like shapes. Whatever the input:
//!
//! - redaction never panics;
//! - the output is never longer than the input by more than the masks it inserts;
//! - no Luhn-valid run of 13–19 digits in the input (digits joined by single
//!   separators, as written) reaches the output, unless it is one of the documented
//!   exemptions (a bare 13/16/19-digit run that reads as a Unix timestamp, or a grouped
//!   phone number after a `+`). Windows inside longer runs are masked only when they
//!   start with a card network's prefix, so they are not part of this invariant.

mod support;

use booking_otel::RedactionPolicy;
use proptest::prelude::*;
use support::pan::luhn_valid;

/// Every maximal run of digits joined by single separators (as the scanner reads them):
/// its digits, whether it had separators, the byte before it, and the run as written.
fn digit_runs(text: &str) -> Vec<(Vec<u8>, bool, Option<u8>, String)> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let before = i.checked_sub(1).map(|b| bytes[b]);
        let start = i;
        let mut digits = Vec::new();
        let mut separated = false;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                digits.push(bytes[i]);
                i += 1;
            } else if matches!(bytes[i], b' ' | b'-' | b'.' | b'+')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                separated = true;
                i += 1;
            } else if bytes[i] == b'%'
                && bytes.get(i + 1..i + 3) == Some(b"20")
                && bytes.get(i + 3).is_some_and(u8::is_ascii_digit)
            {
                separated = true;
                i += 3;
            } else {
                break;
            }
        }
        runs.push((digits, separated, before, text[start..i].to_string()));
    }
    runs
}

fn exempt(run: &[u8], separated: bool, before: Option<u8>) -> bool {
    let timestamp = !separated
        && matches!(
            (run.len(), run.first()),
            (13 | 16 | 19, Some(b'1')) | (19, Some(b'2'))
        );
    let phone = before == Some(b'+') && separated && run.len() <= 15;
    timestamp || phone
}

/// Text dense in what the scanner looks for.
fn suspicious() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[0-9]{1,20}",
            Just(" ".to_string()),
            Just("-".to_string()),
            Just(".".to_string()),
            Just("+".to_string()),
            Just("%20".to_string()),
            Just("^".to_string()),
            Just("=".to_string()),
            Just("?".to_string()),
            Just("%B".to_string()),
            Just(";".to_string()),
            Just("cvv ".to_string()),
            Just("DE".to_string()),
            Just("@x.io".to_string()),
            "[A-Za-z]{1,4}",
            "\\PC{1,3}",
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn arbitrary_unicode_never_panics_and_never_grows_without_masks(text in "\\PC{0,200}") {
        let policy = RedactionPolicy::default();
        if let Some(out) = policy.redact_str(&text) {
            // Masks may replace a short span by `[REDACTED]`: at most 10 bytes more per
            // masked region, and regions are separated by at least one byte.
            prop_assert!(out.len() <= text.len() * 11 + 10);
        }
    }

    #[test]
    fn no_luhn_valid_card_number_survives(text in suspicious()) {
        let policy = RedactionPolicy::default();
        let out = policy.redact_str(&text).unwrap_or_else(|| text.clone());
        for (run, separated, before, written) in digit_runs(&text) {
            let is_card = (13..=19).contains(&run.len())
                && luhn_valid(&run)
                && !exempt(&run, separated, before);
            if is_card {
                prop_assert!(
                    !out.contains(&written),
                    "a Luhn-valid run survived: {:?} in {:?} (from {:?})",
                    written, out, text
                );
            }
        }
    }
}
