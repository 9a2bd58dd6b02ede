//! Card verification codes written in free text next to their keyword: `cvv 123`,
//! `CVC: 987`, `security code 1234`, `"cvv2":"123"`.
//!
//! After a keyword (`cvv`, `cvv2`, `cvc`, `cvc2`, `cid`, `csc`, `cvn`, `security code`,
//! `verification code`, in any case, spaced, snake_case, kebab-case or written together,
//! starting a word or a camelCase part: `cardCvv`, `"securityCode"`), up to 12
//! characters of punctuation, spaces, line breaks and the word `is` may stand before
//! the code; a code of 3 or 4 digits there,
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
    "securitycode",
    "verification code",
    "verification_code",
    "verificationcode",
];

/// How far after a keyword the code may start.
const MAX_GAP: usize = 12;

/// Masks the digits of every verification code that follows its keyword.
///
/// Looks at 3–4 digit runs only, then backwards for a keyword: the cost is one pass
/// over the digits, whatever the letters.
pub(super) fn mask_verification_codes(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if (3..=4).contains(&(i - start)) && keyword_before(bytes, start) {
            out.get_or_insert_with(|| bytes.to_vec())[start..i].fill(b'*');
        }
    }
    // Only ASCII digits were replaced by ASCII `*`.
    out.and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Whether a keyword stands before `code`, separated from it by at most [`MAX_GAP`]
/// bytes of separators and the word `is`.
fn keyword_before(bytes: &[u8], code: usize) -> bool {
    let mut end = code;
    loop {
        if end < code && keyword_ends_at(bytes, end) {
            return true;
        }
        if end == 0 || code - end > MAX_GAP {
            return false;
        }
        let b = bytes[end - 1];
        let is_word = end >= 2
            && bytes[end - 2..end].eq_ignore_ascii_case(b"is")
            && (end == 2 || !bytes[end - 3].is_ascii_alphanumeric());
        if matches!(
            b,
            b' ' | b':' | b'=' | b'#' | b'-' | b'"' | b'\'' | b'\t' | b'\n' | b'\r'
        ) {
            end -= 1;
        } else if is_word {
            end -= 2;
        } else {
            return false;
        }
    }
}

/// Whether a keyword ends at `end` and starts a word (after a non-alphanumeric byte,
/// or at a camelCase boundary: `cardCvv`, `cardSecurityCode`).
fn keyword_ends_at(bytes: &[u8], end: usize) -> bool {
    KEYWORDS.iter().any(|keyword| {
        let keyword = keyword.as_bytes();
        if end < keyword.len() || !bytes[end - keyword.len()..end].eq_ignore_ascii_case(keyword) {
            return false;
        }
        let start = end - keyword.len();
        start == 0
            || !bytes[start - 1].is_ascii_alphanumeric()
            || (bytes[start - 1].is_ascii_lowercase() && bytes[start].is_ascii_uppercase())
    })
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
            ("cvv 123, cvc 456", "cvv ***, cvc ***"),
            ("CVV2 is: 0042", "CVV2 is: ****"),
            ("{\"securityCode\":\"737\"}", "{\"securityCode\":\"***\"}"),
            ("{\"cardCvv\":\"123\"}", "{\"cardCvv\":\"***\"}"),
            ("CVV:\n123", "CVV:\n***"),
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
            "cvv123",
            "this 123",
            "cvv 1234567",
        ] {
            assert_eq!(mask_verification_codes(text), None, "{text}");
        }
    }
}
