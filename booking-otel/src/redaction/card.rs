//! Card data types: [`CardNumber`] (recordable only as brand + last four), [`Cvv`] and
//! [`Pin`] (never recordable).

use std::fmt;

use opentelemetry::Value;

use super::sensitive::{Fingerprint, FingerprintKey};
use crate::value::StepValue;

/// Why a card number, CVV or PIN did not parse. Never contains the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardDataError {
    /// The input was empty.
    #[error("the value is empty")]
    Empty,
    /// A character other than a digit, space or dash (card numbers only) appeared.
    #[error("invalid character at position {position}")]
    InvalidCharacter {
        /// Zero-based character position of the first invalid character.
        position: usize,
    },
    /// The number of digits is out of range.
    #[error("expected {expected} digits, found {found}")]
    Length {
        /// Allowed digit counts, e.g. `13 to 19`.
        expected: &'static str,
        /// Digits found.
        found: usize,
    },
    /// The card number fails the Luhn check.
    #[error("the card number fails the Luhn check")]
    Luhn,
}

/// Whether `digits` (ASCII digits only) passes the Luhn check.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Card network, from the IIN (first digits) of a card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CardBrand {
    /// Visa (4).
    Visa,
    /// Mastercard (51–55, 2221–2720).
    Mastercard,
    /// American Express (34, 37).
    Amex,
    /// Discover (6011, 644–649, 65).
    Discover,
    /// JCB (3528–3589).
    Jcb,
    /// Diners Club (300–305, 36, 38, 39).
    Diners,
    /// UnionPay (62).
    UnionPay,
    /// Maestro (50, 56–58, 6 not otherwise assigned).
    Maestro,
    /// Not one of the above.
    Unknown,
}

impl CardBrand {
    /// The `payment.card_brand` value: `visa`, `mastercard`, …
    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Jcb => "jcb",
            CardBrand::Diners => "diners",
            CardBrand::UnionPay => "unionpay",
            CardBrand::Maestro => "maestro",
            CardBrand::Unknown => "unknown",
        }
    }

    pub(crate) fn from_digits(d: &str) -> Self {
        let prefix = |n: usize| d.get(..n).and_then(|p| p.parse::<u32>().ok()).unwrap_or(0);
        match (prefix(1), prefix(2), prefix(3), prefix(4)) {
            (4, ..) => CardBrand::Visa,
            (_, 51..=55, ..) | (.., 2221..=2720) => CardBrand::Mastercard,
            (_, 34 | 37, ..) => CardBrand::Amex,
            (.., 6011) | (_, _, 644..=649, _) | (_, 65, ..) => CardBrand::Discover,
            (.., 3528..=3589) => CardBrand::Jcb,
            (_, _, 300..=305, _) | (_, 36 | 38 | 39, ..) => CardBrand::Diners,
            (_, 62, ..) => CardBrand::UnionPay,
            (_, 50 | 56..=58, ..) | (6, ..) => CardBrand::Maestro,
            _ => CardBrand::Unknown,
        }
    }
}

impl fmt::Display for CardBrand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A primary account number (PAN), validated, that telemetry can only ever see as
/// brand + last four.
///
/// `Debug`, `Display` and [`StepValue`] all give `visa ****4242`. The digits are
/// available to the code that must send them to a gateway through the deliberately
/// greppable [`expose_digits`](CardNumber::expose_digits).
///
/// ```
/// use booking_otel::{CardNumber, CardBrand};
/// let card = CardNumber::parse("4242 4242 4242 4242").unwrap();
/// assert_eq!(card.brand(), CardBrand::Visa);
/// assert_eq!(card.last_four(), "4242");
/// assert_eq!(format!("{card}"), "visa ****4242");
/// assert_eq!(format!("{card:?}"), "CardNumber(visa ****4242)");
/// assert!(CardNumber::parse("4242 4242 4242 4241").is_err()); // Luhn
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardNumber {
    digits: String,
    brand: CardBrand,
}

impl CardNumber {
    /// Parses user input: 13–19 digits, optionally grouped with spaces or dashes, passing
    /// the Luhn check. The error never echoes the input.
    pub fn parse(input: &str) -> Result<Self, CardDataError> {
        let mut digits = String::with_capacity(19);
        for (position, c) in input.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(CardDataError::InvalidCharacter { position }),
            }
        }
        if digits.is_empty() {
            return Err(CardDataError::Empty);
        }
        if !(13..=19).contains(&digits.len()) {
            return Err(CardDataError::Length {
                expected: "13 to 19",
                found: digits.len(),
            });
        }
        if !luhn_valid(digits.as_bytes()) {
            return Err(CardDataError::Luhn);
        }
        let brand = CardBrand::from_digits(&digits);
        Ok(CardNumber { digits, brand })
    }

    /// The card network.
    pub fn brand(&self) -> CardBrand {
        self.brand
    }

    /// The last four digits: the only part of a PAN that may be recorded.
    pub fn last_four(&self) -> &str {
        &self.digits[self.digits.len() - 4..]
    }

    /// A keyed fingerprint (HMAC-SHA256) that correlates the same card across traces
    /// without revealing it. A plain hash of a PAN is brute-forced in well under a
    /// second, so only a keyed one is offered.
    pub fn fingerprint(&self, key: &FingerprintKey) -> Fingerprint {
        key.fingerprint(self.digits.as_bytes())
    }

    /// The full digits, for the payment gateway call and nothing else.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ****{}", self.brand, self.last_four())
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({self})")
    }
}

impl StepValue for CardNumber {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

fn parse_secret_digits(
    input: &str,
    min: usize,
    max: usize,
    expected: &'static str,
) -> Result<String, CardDataError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(CardDataError::Empty);
    }
    if let Some(position) = input.chars().position(|c| !c.is_ascii_digit()) {
        return Err(CardDataError::InvalidCharacter { position });
    }
    if !(min..=max).contains(&input.len()) {
        return Err(CardDataError::Length {
            expected,
            found: input.len(),
        });
    }
    Ok(input.to_owned())
}

macro_rules! secret_digits {
    ($(#[$meta:meta])* $name:ident, $min:literal, $max:literal, $expected:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name {
            digits: String,
        }

        impl $name {
            /// Parses the digits; the error never echoes the input.
            pub fn parse(input: &str) -> Result<Self, CardDataError> {
                parse_secret_digits(input, $min, $max, $expected).map(|digits| $name { digits })
            }

            /// The digits, for the payment gateway call and nothing else.
            pub fn expose_digits(&self) -> &str {
                &self.digits
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_digits!(
    /// A card verification code (CVV, CVC, CID): 3 or 4 digits that PCI DSS forbids
    /// storing after authorization, so it can never be recorded: no `Display`, a masked
    /// `Debug`, and no [`StepValue`] (recording one is a compile error).
    ///
    /// ```
    /// let cvv = booking_otel::Cvv::parse("123").unwrap();
    /// assert_eq!(format!("{cvv:?}"), "Cvv(***)");
    /// assert_eq!(cvv.expose_digits(), "123");
    /// ```
    Cvv, 3, 4, "3 or 4"
);

secret_digits!(
    /// A card or account PIN: 4–12 digits, never recordable (see [`Cvv`]).
    ///
    /// ```
    /// let pin = booking_otel::Pin::parse("0000").unwrap();
    /// assert_eq!(format!("{pin:?}"), "Pin(***)");
    /// ```
    Pin, 4, 12, "4 to 12"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_follow_iin_ranges() {
        let cases = [
            ("4111111111111111", CardBrand::Visa),
            ("5555555555554444", CardBrand::Mastercard),
            ("2223003122003222", CardBrand::Mastercard),
            ("378282246310005", CardBrand::Amex),
            ("6011111111111117", CardBrand::Discover),
            ("3530111333300000", CardBrand::Jcb),
            ("30569309025904", CardBrand::Diners),
            ("6200000000000005", CardBrand::UnionPay),
            ("6759649826438453", CardBrand::Maestro),
        ];
        for (pan, brand) in cases {
            assert_eq!(CardNumber::parse(pan).unwrap().brand(), brand, "{pan}");
        }
    }

    #[test]
    fn parse_errors_never_echo_the_input() {
        let bad = "4111 1111 1111 111x";
        let err = CardNumber::parse(bad).unwrap_err();
        assert_eq!(err, CardDataError::InvalidCharacter { position: 18 });
        assert!(!err.to_string().contains("4111"));
        assert_eq!(CardNumber::parse("").unwrap_err(), CardDataError::Empty);
        assert!(matches!(
            CardNumber::parse("4111").unwrap_err(),
            CardDataError::Length { found: 4, .. }
        ));
        let luhn = CardNumber::parse("4111111111111112").unwrap_err();
        assert_eq!(luhn, CardDataError::Luhn);
        assert!(!format!("{luhn:?}").contains("4111"));
    }

    #[test]
    fn card_number_is_masked_everywhere() {
        let card = CardNumber::parse("5555-5555-5555-4444").unwrap();
        for shown in [
            format!("{card}"),
            format!("{card:?}"),
            format!("{:?}", card.clone().into_step_value()),
        ] {
            assert!(!shown.contains("555555"), "{shown}");
            assert!(shown.contains("4444"), "{shown}");
            assert!(shown.contains("mastercard"), "{shown}");
        }
        assert_eq!(card.expose_digits(), "5555555555554444");
    }

    #[test]
    fn cvv_and_pin_are_validated_and_masked() {
        assert!(Cvv::parse("12").is_err());
        assert!(Cvv::parse("12a").is_err());
        assert!(Cvv::parse("12345").is_err());
        let cvv = Cvv::parse("1234").unwrap();
        assert_eq!(format!("{cvv:?}"), "Cvv(***)");
        let pin = Pin::parse("987654").unwrap();
        assert_eq!(format!("{pin:?}"), "Pin(***)");
        assert!(Pin::parse("123").is_err());
    }
}
