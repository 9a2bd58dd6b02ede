//! IBANs (International Bank Account Numbers): European properties take bank transfers,
//! and GDPR treats account numbers as personal financial data.
//!
//! An IBAN is recognised by its country code (two letters, any case), two check digits
//! and the length that country's IBANs have, written whole or in groups separated by
//! single spaces or dashes, and confirmed by the ISO 13616 mod-97 check (a random string of the
//! right shape passes it once in 97 times). The country code and the last four
//! characters are kept, the rest becomes `*`: `DE89 3704 0044 0532 0130 00` →
//! `DE** **** **** **** **30 00`. Countries missing from the table are not recognised.

/// IBAN length by country (ISO 13616 registry).
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

fn length_for(country: &[u8]) -> Option<usize> {
    LENGTHS
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(country))
        .map(|(_, len)| *len)
}

/// Masks every IBAN in `text`; `None` when there is none.
pub(super) fn mask_ibans(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let shaped = starts_word
            && bytes[i].is_ascii_alphabetic()
            && bytes[i + 1].is_ascii_alphabetic()
            && bytes[i + 2].is_ascii_digit()
            && bytes[i + 3].is_ascii_digit();
        let found = shaped
            .then(|| length_for(&bytes[i..i + 2]))
            .flatten()
            .and_then(|len| iban_at(bytes, i, len));
        match found {
            Some(positions) => {
                let masked = out.get_or_insert_with(|| bytes.to_vec());
                // Keep the country code and the last four characters.
                for &p in &positions[2..positions.len() - 4] {
                    masked[p] = b'*';
                }
                i = positions[positions.len() - 1] + 1;
            }
            None => i += 1,
        }
    }
    // Only ASCII characters were replaced by ASCII `*`.
    out.and_then(|bytes| String::from_utf8(bytes).ok())
}

/// The byte positions of the `len` characters of an IBAN starting at `start`, when one
/// is there: letters and digits, single spaces or dashes allowed between them, not
/// followed by another letter or digit, passing mod-97.
fn iban_at(bytes: &[u8], start: usize, len: usize) -> Option<Vec<usize>> {
    let mut positions = Vec::with_capacity(len);
    let mut j = start;
    while positions.len() < len {
        let b = *bytes.get(j)?;
        if b.is_ascii_alphanumeric() {
            positions.push(j);
            j += 1;
        } else if matches!(b, b' ' | b'-')
            && bytes.get(j + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            j += 1;
        } else {
            return None;
        }
    }
    if bytes.get(j).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    mod97_is_one(positions.iter().map(|&p| bytes[p]), len).then_some(positions)
}

/// ISO 13616: move the first four characters to the end, read letters as 10–35, and
/// the number mod 97 must be 1.
fn mod97_is_one(characters: impl Iterator<Item = u8> + Clone, len: usize) -> bool {
    let rotated = characters.clone().skip(4).chain(characters.take(4));
    let mut remainder: u32 = 0;
    for c in rotated.take(len) {
        let value = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c.to_ascii_uppercase() - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_keep_country_and_last_four() {
        assert_eq!(
            mask_ibans("refund to DE89 3704 0044 0532 0130 00 today").unwrap(),
            "refund to DE** **** **** **** **30 00 today"
        );
        assert_eq!(
            mask_ibans("GB29NWBK60161331926819").unwrap(),
            "GB****************6819"
        );
        assert_eq!(
            mask_ibans("iban=FR1420041010050500013M02606;").unwrap(),
            "iban=FR*********************2606;"
        );
        assert_eq!(mask_ibans("NO9386011117947").unwrap(), "NO*********7947");
        // Lower case and dashes, as people type them.
        assert_eq!(
            mask_ibans("de89370400440532013000").unwrap(),
            "de****************3000"
        );
        assert_eq!(
            mask_ibans("DE89-3704-0044-0532-0130-00").unwrap(),
            "DE**-****-****-****-**30-00"
        );
    }

    #[test]
    fn lookalikes_survive() {
        for text in [
            // One check digit off.
            "DE88 3704 0044 0532 0130 00",
            // Wrong length for the country.
            "DE89 3704 0044 0532 0130",
            // Glued to more characters.
            "DE89370400440532013000X",
            // A booking reference, a flight number.
            "BK-DE89-K7Q2ZP",
            "LH1234 FRA-JFK",
        ] {
            assert_eq!(mask_ibans(text), None, "{text}");
        }
    }
}
