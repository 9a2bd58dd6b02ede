//! What the end-to-end log tests emit and check: card numbers in `tracing` events and
//! in exceptions, from failing steps, and the received bytes free of them.

#![allow(dead_code)]

use booking_otel::booking_step;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::pan::{Case, case};

#[derive(Debug, thiserror::Error)]
#[error("declined: {0}")]
pub struct Declined(pub String);

/// A failing step that logs the card text in the message, a string field and (when it
/// fits) an integer field, and fails with it.
#[booking_step(name = "booking.process_payment")]
pub fn declined_payment(case: &Case) -> Result<(), Declined> {
    match case.as_i64() {
        Some(number) => tracing::warn!(
            card.text = %case.embedded,
            card.raw = number,
            "charge failed for {}",
            case.embedded
        ),
        None => tracing::warn!(card.text = %case.embedded, "charge failed for {}", case.embedded),
    }
    Err(Declined(case.embedded.clone()))
}

/// `n` generated cases, the same every run.
pub fn cases(n: usize) -> Vec<Case> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| case().new_tree(&mut runner).expect("a case").current())
        .collect()
}

/// Panics when `bytes` hold any hidden digits of a case, as text or as an integer's
/// varint; checks the masked form arrived.
pub fn assert_no_card_number(bytes: &[u8], cases: &[Case]) {
    let received = String::from_utf8_lossy(bytes);
    for case in cases {
        let hidden = &case.pan_digits[..case.pan_digits.len() - 4];
        assert!(
            !received.contains(hidden) && !received.contains(&case.rendered),
            "the receiver got digits of {} ({})",
            case.pan_digits,
            case.rendered
        );
        if let Some(number) = case.as_i64() {
            let mut encoded = Vec::new();
            prost::encoding::encode_varint(number as u64, &mut encoded);
            assert!(
                !bytes
                    .windows(encoded.len())
                    .any(|w| w == encoded.as_slice()),
                "the receiver got {number} as an integer"
            );
        }
        assert!(
            received.contains(&case.masked()),
            "the masked form {} arrived",
            case.masked()
        );
    }
}
