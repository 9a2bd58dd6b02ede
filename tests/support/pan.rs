//! Generators of card numbers embedded in text, for the redaction property tests.

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// One generated card number and the text that carries it.
#[derive(Debug, Clone)]
pub struct Case {
    /// The card number's digits.
    pub pan_digits: String,
    /// The card number as written: plain, or in groups of four separated by spaces,
    /// dashes or dots.
    pub rendered: String,
    /// `rendered` at a random position inside random text without digits.
    pub embedded: String,
}

impl Case {
    /// The four digits that may be exported.
    pub fn last_four(&self) -> String {
        self.pan_digits[self.pan_digits.len() - 4..].to_string()
    }

    /// `rendered` as the guard masks it: every digit but the last four replaced by `*`,
    /// separators kept.
    pub fn masked(&self) -> String {
        let total = self.pan_digits.len();
        let mut seen = 0;
        self.rendered
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    seen += 1;
                    if seen <= total - 4 { '*' } else { c }
                } else {
                    c
                }
            })
            .collect()
    }

    /// The card number as an integer attribute, when it fits an i64.
    pub fn as_i64(&self) -> Option<i64> {
        self.pan_digits.parse().ok()
    }

    /// The card number as a float attribute, when a float holds it exactly.
    pub fn as_f64(&self) -> Option<f64> {
        (self.pan_digits.len() <= 15).then(|| self.pan_digits.parse().unwrap())
    }
}

/// Issuer prefixes of the major networks, with the lengths each issues at.
const PREFIXES: &[(&str, &[usize])] = &[
    ("4", &[13, 16, 19]),
    ("51", &[16]),
    ("55", &[16]),
    ("2221", &[16]),
    ("2720", &[16]),
    ("34", &[15]),
    ("37", &[15]),
    ("36", &[14, 15, 16, 17, 18, 19]),
    ("6011", &[16, 17, 18, 19]),
    ("65", &[16, 17, 18, 19]),
    ("35", &[16, 17, 18, 19]),
    ("62", &[16, 17, 18, 19]),
    ("50", &[13, 14, 15, 16, 17, 18, 19]),
    ("67", &[13, 14, 15, 16, 17, 18, 19]),
];

/// The Luhn check digit that completes `body`.
pub fn luhn_check_digit(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Whether `digits` (ASCII) pass the Luhn check: the last is the check digit of the rest.
pub fn luhn_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&last, body)) => {
            let body = std::str::from_utf8(body).expect("ASCII digits");
            luhn_check_digit(body) == char::from(last)
        }
        None => false,
    }
}

/// A Luhn-valid card number: a network prefix at a length it issues, random digits.
pub fn pan() -> impl Strategy<Value = String> {
    (
        0..PREFIXES.len(),
        any::<prop::sample::Index>(),
        prop::collection::vec(0_u8..10, 19),
    )
        .prop_map(|(which, length, digits)| {
            let (prefix, lengths) = PREFIXES[which];
            let length = lengths[length.index(lengths.len())];
            let mut body = prefix.to_string();
            for d in digits.iter().take(length - 1 - prefix.len()) {
                body.push(char::from(b'0' + d));
            }
            let check = luhn_check_digit(&body);
            body.push(check);
            body
        })
}

/// Random text without digits: letters, spaces and the punctuation of URLs, JSON and
/// error messages.
pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z :,.;/?=&\"{}()_\\-]{0,24}"
}

/// A card number, written plain or grouped, inside random text.
pub fn case() -> impl Strategy<Value = Case> {
    (
        pan(),
        prop_oneof![Just(""), Just(" "), Just("-"), Just(".")],
        text(),
        text(),
    )
        .prop_map(|(pan_digits, separator, before, after)| {
            let rendered = pan_digits
                .as_bytes()
                .chunks(4)
                .map(|chunk| std::str::from_utf8(chunk).unwrap())
                .collect::<Vec<_>>()
                .join(separator);
            let embedded = format!("{before}{rendered}{after}");
            Case {
                pan_digits,
                rendered,
                embedded,
            }
        })
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
