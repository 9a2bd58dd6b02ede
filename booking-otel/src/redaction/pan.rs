//! Card numbers (PANs) and magnetic-stripe track data in text and numbers.
//!
//! - **A PAN** is 13–19 digits, optionally separated by single spaces, dashes, dots,
//!   `+` or `%20` (URL-encoded spaces), passing the Luhn check. All digits but the last
//!   four become `*`, separators stay: `4111.1111.1111.1111` → `****.****.****.1111`.
//!   - Inside a longer digit run (or a 14–19 digit run that fails Luhn as a whole), every
//!     13–19 digit window that passes Luhn *and* starts with a card network's IIN at a
//!     length that network issues is masked: a card number glued to other digits is
//!     still caught, while random long numbers are mostly left alone.
//!   - **Timestamps survive.** A bare run (no separators) of 13, 16 or 19 digits starting
//!     with `1` (or 19 digits starting with `2`) is read as a millisecond, microsecond or
//!     nanosecond Unix timestamp (years 2001–2065) and not masked as a whole: one in ten
//!     timestamps passes Luhn by chance, and no major network issues numbers of those
//!     lengths with those leading digits.
//!   - **Phone numbers survive** when written in international form with separators:
//!     a run of at most 15 digits, grouped, right after a `+` (`+49 30 1234 5678 94`) is
//!     not a card number. A phone number written without the `+` or without separators
//!     whose 13+ digits happen to pass Luhn (one in ten) is masked: `+378282246310005`
//!     could as well be a card number.
//! - **Track data** (PCI forbids storing any of it): track 1
//!   (`%B<PAN>^<NAME>^<YYMM><service code><discretionary data>?`), track 2
//!   (`;<PAN>=<YYMM><service code><discretionary data>?`) and the EMV track 2
//!   equivalent (`<PAN>D<YYMM>…F`), sentinels optional, are replaced whole by
//!   [`MASK`](super::MASK): the cardholder name and discretionary data go with the PAN.

use super::card::{CardBrand, luhn_valid};
use super::{MASK, replace_ranges};

/// The fewest digits a card number has.
pub(super) const MIN_PAN_DIGITS: usize = 13;

/// The smallest 13-digit number: below it, an integer cannot be a card number.
pub(super) const MIN_PAN: u64 = 1_000_000_000_000;

/// Masks every card number in `text`; `None` when there is none.
pub(super) fn mask_card_numbers(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut mask = vec![false; bytes.len()];
    let mut any = false;
    let mut positions: Vec<usize> = Vec::with_capacity(32);
    let mut digits: Vec<u8> = Vec::with_capacity(32);
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // A run: digits, with at most one space, dash or dot between two digits.
        positions.clear();
        digits.clear();
        let mut has_separators = false;
        let mut j = i;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                positions.push(j);
                digits.push(bytes[j]);
                j += 1;
            } else if let Some(width) = separator_at(bytes, j) {
                has_separators = true;
                j += width;
            } else {
                break;
            }
        }
        let phone = i > 0 && bytes[i - 1] == b'+' && has_separators && digits.len() <= 15;
        if !phone {
            any |= mask_run(&digits, &positions, has_separators, &mut mask);
        }
        i = j;
    }
    if !any {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (idx, ch) in text.char_indices() {
        out.push(if mask[idx] { '*' } else { ch });
    }
    Some(out)
}

/// The width of a separator between two digits at `at` (` `, `-`, `.`, `+`, `%20`).
fn separator_at(bytes: &[u8], at: usize) -> Option<usize> {
    let width = match bytes[at] {
        b' ' | b'-' | b'.' | b'+' => 1,
        b'%' if bytes.get(at + 1..at + 3) == Some(b"20") => 3,
        _ => return None,
    };
    bytes
        .get(at + width)
        .is_some_and(u8::is_ascii_digit)
        .then_some(width)
}

fn mask_run(digits: &[u8], positions: &[usize], has_separators: bool, mask: &mut [bool]) -> bool {
    let n = digits.len();
    if n < MIN_PAN_DIGITS {
        return false;
    }
    let mut masked = false;
    let mark = |start: usize, len: usize, mask: &mut [bool]| {
        for &p in &positions[start..start + len - 4] {
            mask[p] = true;
        }
    };
    let whole_run_is_card =
        n <= 19 && luhn_valid(digits) && !looks_like_timestamp(digits, has_separators);
    if whole_run_is_card {
        mark(0, n, mask);
        masked = true;
    }
    if n >= 14 && !whole_run_is_card {
        for start in 0..n {
            for len in MIN_PAN_DIGITS..=19.min(n - start) {
                if len == n {
                    continue; // the whole run, judged above
                }
                let window = &digits[start..start + len];
                if luhn_valid(window) && brand_issues_length(window) {
                    mark(start, len, mask);
                    masked = true;
                }
            }
        }
    }
    masked
}

/// Card network lengths, for windows inside longer digit runs.
fn brand_issues_length(digits: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(digits) else {
        return false;
    };
    let len = digits.len();
    match CardBrand::from_digits(text) {
        CardBrand::Visa => matches!(len, 13 | 16 | 19),
        CardBrand::Mastercard => len == 16,
        CardBrand::Amex => len == 15,
        CardBrand::Discover | CardBrand::Jcb | CardBrand::UnionPay => (16..=19).contains(&len),
        CardBrand::Diners => (14..=19).contains(&len),
        CardBrand::Maestro => (12..=19).contains(&len),
        _ => false,
    }
}

fn looks_like_timestamp(run: &[u8], has_separators: bool) -> bool {
    !has_separators
        && matches!(
            (run.len(), run.first()),
            (13 | 16 | 19, Some(b'1')) | (19, Some(b'2'))
        )
}

/// An integer that carries a card number, masked (as a string).
pub(super) fn mask_integer(i: i64) -> Option<String> {
    // Fewer than 13 digits cannot be a card number; most integers stop here.
    if i.unsigned_abs() < MIN_PAN {
        return None;
    }
    let digits = i.unsigned_abs().to_string();
    let masked = mask_card_numbers(&digits)?;
    Some(if i < 0 { format!("-{masked}") } else { masked })
}

/// A float that carries a card number in its integral digits, masked (as a string).
pub(super) fn mask_float(f: f64) -> Option<String> {
    // Only integral floats can carry a PAN; 1e12..1e20 covers 13–19 digits.
    if !f.is_finite() || f.fract() != 0.0 || f.abs() < 1e12 || f.abs() >= 1e20 {
        return None;
    }
    mask_integer(f as i64).or_else(|| mask_card_numbers(&format!("{:.0}", f.abs())))
}

/// Replaces every track 1 and track 2 in `text` by [`MASK`]; `None` when there is none.
pub(super) fn mask_track_data(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut tracks: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let pan_end = i + bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let pan = &bytes[i..pan_end];
        let track = if (MIN_PAN_DIGITS..=19).contains(&pan.len()) && luhn_valid(pan) {
            match bytes.get(pan_end) {
                Some(b'^') => track1_end(bytes, pan_end).map(|end| (track1_start(bytes, i), end)),
                // `D` separates the fields of the EMV track 2 equivalent.
                Some(b'=' | b'D' | b'd') => {
                    track2_end(bytes, pan_end).map(|end| (track2_start(bytes, i), end))
                }
                _ => None,
            }
        } else {
            None
        };
        match track {
            Some((start, end)) => {
                tracks.push((start, end));
                i = end;
            }
            None => i = pan_end,
        }
    }
    replace_ranges(text, &tracks, MASK)
}

/// Track 1 starts at its format code `B` (and the `%` sentinel before it) when present.
fn track1_start(bytes: &[u8], pan_start: usize) -> usize {
    let mut start = pan_start;
    if start > 0 && bytes[start - 1].eq_ignore_ascii_case(&b'b') {
        start -= 1;
        if start > 0 && bytes[start - 1] == b'%' {
            start -= 1;
        }
    }
    start
}

/// After `^`: a name of at most 26 characters, `^`, then at least the expiry (4
/// digits); the track ends at the `?` sentinel, or where its characters end.
fn track1_end(bytes: &[u8], caret: usize) -> Option<usize> {
    let name_len = bytes[caret + 1..]
        .iter()
        .take(27)
        .position(|b| *b == b'^')?;
    let data = caret + 1 + name_len + 1;
    let expiry = bytes.get(data..data + 4)?;
    if !expiry.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Discretionary data may hold any printable character: it ends at the `?`
    // sentinel, or at a space or a quote when there is none.
    Some(track_data_end(bytes, data, |b| {
        b.is_ascii_graphic() && !matches!(b, b'?' | b'"' | b'\'')
    }))
}

/// Track 2 starts at its `;` sentinel when present.
fn track2_start(bytes: &[u8], pan_start: usize) -> usize {
    if pan_start > 0 && bytes[pan_start - 1] == b';' {
        pan_start - 1
    } else {
        pan_start
    }
}

/// After `=` (or `D`): at least the expiry (4 digits), then digits (and the EMV
/// form's `F` padding) up to the `?` sentinel.
fn track2_end(bytes: &[u8], separator: usize) -> Option<usize> {
    let data = separator + 1;
    let expiry = bytes.get(data..data + 4)?;
    if !expiry.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(track_data_end(bytes, data, |b| {
        b.is_ascii_digit() || matches!(b, b'F' | b'f')
    }))
}

/// The end of the track's data from `from`: past the `?` end sentinel when there is
/// one, else where `is_data` stops.
fn track_data_end(bytes: &[u8], from: usize, is_data: impl Fn(u8) -> bool) -> usize {
    let mut end = from;
    while end < bytes.len() && is_data(bytes[end]) {
        end += 1;
    }
    if bytes.get(end) == Some(&b'?') {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_separated_and_bare_pans() {
        assert_eq!(
            mask_card_numbers("4111111111111111").unwrap(),
            "************1111"
        );
        assert_eq!(
            mask_card_numbers("card 4111 1111 1111 1111 ok").unwrap(),
            "card **** **** **** 1111 ok"
        );
        assert_eq!(
            mask_card_numbers("{\"pan\":\"5555-5555-5555-4444\"}").unwrap(),
            "{\"pan\":\"****-****-****-4444\"}"
        );
        assert_eq!(
            mask_card_numbers("amex 378282246310005").unwrap(),
            "amex ***********0005"
        );
        assert_eq!(
            mask_card_numbers("4111.1111.1111.1111").unwrap(),
            "****.****.****.1111"
        );
    }

    #[test]
    fn url_encoded_separators_are_separators() {
        assert_eq!(
            mask_card_numbers("pan=4111+1111+1111+1111&x=1").unwrap(),
            "pan=****+****+****+1111&x=1"
        );
        assert_eq!(
            mask_card_numbers("4111%201111%201111%201111").unwrap(),
            "****%20****%20****%201111"
        );
    }

    #[test]
    fn leaves_non_pans_alone() {
        // Fails Luhn.
        assert_eq!(mask_card_numbers("4111111111111112"), None);
        // Too short.
        assert_eq!(mask_card_numbers("order 411111111111"), None);
        // Double separators break a run.
        assert_eq!(mask_card_numbers("4111  1111  1111  1111"), None);
        assert_eq!(mask_card_numbers("no digits here"), None);
    }

    #[test]
    fn nanosecond_timestamps_are_not_masked_even_when_luhn_valid() {
        // Find a Luhn-valid 19-digit ns timestamp near 2026 to prove the exemption.
        let mut ts: u64 = 1_795_000_000_000_000_000;
        while !luhn_valid(ts.to_string().as_bytes()) {
            ts += 1;
        }
        assert_eq!(mask_card_numbers(&ts.to_string()), None, "{ts}");
        // The same digits with a card-like separator are masked.
        let s = ts.to_string();
        let grouped = format!("{} {}", &s[..4], &s[4..]);
        assert!(mask_card_numbers(&grouped).is_some());
    }

    #[test]
    fn international_phone_numbers_are_not_masked() {
        // 13 and 14 digits, each Luhn-valid, after a `+`.
        for phone in ["+86 138 0013 8002", "+49 30 1234 5678 94"] {
            let digits: Vec<u8> = phone.bytes().filter(u8::is_ascii_digit).collect();
            assert!(luhn_valid(&digits), "{phone} must pass Luhn for this test");
            assert_eq!(mask_card_numbers(phone), None, "{phone}");
        }
        // Without separators a `+` proves nothing: this is an Amex number.
        assert_eq!(
            mask_card_numbers("+378282246310005").unwrap(),
            "+***********0005"
        );
    }

    #[test]
    fn pans_glued_to_other_digits_are_caught() {
        let masked = mask_card_numbers("id=7411111111111111119").unwrap();
        assert!(!masked.contains("41111111"), "{masked}");
        assert!(masked.contains("1111"), "{masked}");
    }

    #[test]
    fn integers_and_floats_carrying_pans_are_masked() {
        assert_eq!(mask_integer(4111111111111111).unwrap(), "************1111");
        assert_eq!(mask_integer(1234), None);
        assert_eq!(mask_float(4111111111111111.0).unwrap(), "************1111");
        assert_eq!(mask_float(12.5), None);
    }

    #[test]
    fn track_one_and_two_are_masked_whole() {
        assert_eq!(
            mask_track_data("swipe %B4111111111111111^DOE/JOHN^2512101000000000000?; ok").unwrap(),
            "swipe [REDACTED]; ok"
        );
        assert_eq!(
            mask_track_data("B4111111111111111^DOE/JOHN Q^25121010000").unwrap(),
            "[REDACTED]"
        );
        assert_eq!(
            mask_track_data("t2=;4111111111111111=25121010000000000000? end").unwrap(),
            "t2=[REDACTED] end"
        );
        assert_eq!(
            mask_track_data("4111111111111111=2512101").unwrap(),
            "[REDACTED]"
        );
        // The EMV track 2 equivalent, and track 1 discretionary data with punctuation.
        assert_eq!(
            mask_track_data("t2e 4111111111111111D25121010000000000F end").unwrap(),
            "t2e [REDACTED] end"
        );
        assert_eq!(
            mask_track_data("%B4111111111111111^DOE/JOHN^2512101/00-A:9?").unwrap(),
            "[REDACTED]"
        );
        // A PAN alone, or an equation, is not track data.
        assert_eq!(mask_track_data("4111111111111111"), None);
        assert_eq!(mask_track_data("4111111111111112=2512"), None);
        assert_eq!(mask_track_data("x=1234567890123=12"), None);
    }
}
