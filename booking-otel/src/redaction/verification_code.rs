//! Card verification codes written in free text next to their keyword: `cvv 123`,
//! `CVC: 987`, `security code 1234`, `"cvv2":"123"`.
//!
//! After a keyword (`cvv`, `cvv2`, `cvc`, `cvc2`, `cid`, `csc`, `cvn`, `security code`,
//! `verification code`, any case, as a whole word), up to 12 characters of punctuation,
//! spaces and the word `is` may stand before the code; a code of 3 or 4 digits there,
//! not followed by another digit, has its digits replaced by `*`. Digits elsewhere are
//! left alone: `room 123` survives.

const KEYWORDS: &[&str] = &[
    "cvv2",
    "cvc2",
    "cvv",
    "cvc",
    "cid",
    "csc",
    "cvn",
    "security code",
    "security_code",
    "security-code",
    "verification code",
];

/// How far after a keyword the code may start.
const MAX_GAP: usize = 12;

/// Masks the digits of every verification code that follows its keyword.
pub(super) fn mask_verification_codes(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut codes: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let keyword = at_word_start
            .then(|| {
                KEYWORDS.iter().find(|k| {
                    bytes.len() >= i + k.len()
                        && bytes[i..i + k.len()].eq_ignore_ascii_case(k.as_bytes())
                        && bytes
                            .get(i + k.len())
                            .is_none_or(|b| !b.is_ascii_alphanumeric())
                })
            })
            .flatten();
        let Some(keyword) = keyword else {
            i += 1;
            continue;
        };
        let after = i + keyword.len();
        match code_after(bytes, after) {
            Some((start, end)) => {
                codes.push((start, end));
                i = end;
            }
            None => i = after,
        }
    }
    if codes.is_empty() {
        return None;
    }
    let mut out = text.as_bytes().to_vec();
    for (start, end) in codes {
        out[start..end].fill(b'*');
    }
    // Only ASCII digits were replaced by ASCII `*`.
    String::from_utf8(out).ok()
}

/// The 3–4 digit code within [`MAX_GAP`] bytes of separators after a keyword.
fn code_after(bytes: &[u8], after: usize) -> Option<(usize, usize)> {
    let mut start = after;
    while start < bytes.len() && start - after <= MAX_GAP {
        let b = bytes[start];
        if b.is_ascii_digit() {
            break;
        }
        let is_word = bytes[start..].len() >= 2
            && bytes[start..start + 2].eq_ignore_ascii_case(b"is")
            && bytes
                .get(start + 2)
                .is_none_or(|b| !b.is_ascii_alphanumeric());
        if is_word {
            start += 2;
        } else if matches!(b, b' ' | b':' | b'=' | b'#' | b'-' | b'"' | b'\'' | b'\t') {
            start += 1;
        } else {
            return None;
        }
    }
    let digits = bytes[start.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (3..=4).contains(&digits).then_some((start, start + digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_after_their_keyword_are_masked() {
        for (text, masked) in [
            ("cvv 123", "cvv ***"),
            ("CVC: 987 ok", "CVC: *** ok"),
            ("security code 1234", "security code ****"),
            ("{\"cvv2\":\"123\"}", "{\"cvv2\":\"***\"}"),
            ("the CID is 4321.", "the CID is ****."),
            ("verification code=555", "verification code=***"),
        ] {
            assert_eq!(
                mask_verification_codes(text).as_deref(),
                Some(masked),
                "{text}"
            );
        }
    }

    #[test]
    fn other_digits_survive() {
        for text in [
            "room 123",
            "cvv missing",
            "cvv 12",
            "cvv 12345",
            "cvvs 123",
            "acid 123",
            "cvv then a long explanation 123",
        ] {
            assert_eq!(mask_verification_codes(text), None, "{text}");
        }
    }
}
