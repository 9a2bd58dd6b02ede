//! Which attribute keys name a secret: keys are compared as words, so one denied name
//! matches every spelling clients use.
//!
//! A key is split into lower-case words at `.`, `_`, `-`, `/`, spaces and camelCase
//! boundaries: `payment.cardNumber`, `card_number`, `x-card-number` and
//! `CARD_NUMBER` are all the words `card number`. A denied name (itself split the
//! same way) matches where its words appear, in order and adjacent, in the key's
//! words: `card security code` contains `security code`; `set-cookie` contains
//! `cookie`. A word matches only a whole word: `tokens_used` is not `token`, `spinner`
//! is not `pin`.

/// The names denied by default: card data, and credentials (including the HTTP header
/// attributes the semantic conventions define, such as
/// `http.request.header.authorization`).
pub const DEFAULT_DENIED_KEYS: &[&str] = &[
    // Card verification codes, PINs, track data, card numbers.
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "cid",
    "csc",
    "cvn",
    "security_code",
    "card_verification",
    "pin",
    "pin_block",
    "track_data",
    "track1",
    "track2",
    "card_number",
    "pan",
    // Credentials.
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "credential",
    "credentials",
    "authorization",
    "cookie",
];

/// The lower-case words of `key`.
pub(super) fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut words, &mut current);
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // `cardNumber` → card|Number; `HTTPHeader` → HTTP|Header; `CVV2` stays.
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                flush(&mut words, &mut current);
            }
        }
        current.extend(c.to_lowercase());
    }
    flush(&mut words, &mut current);
    words
}

fn flush(words: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

/// The most words an ASCII key is split into without allocating.
const MAX_ASCII_WORDS: usize = 24;

/// Whether one of `phrases` (each as lower-case words) appears among the words of
/// `key`. ASCII keys (nearly all) are split into byte ranges on the stack and compared
/// case-insensitively, without allocating; others go through [`words`].
///
/// `starts` is [`first_bytes`] of `phrases`: a window whose first word starts with
/// another byte is skipped without comparing.
pub(super) fn contains_any_phrase(key: &str, phrases: &[Vec<String>], starts: u128) -> bool {
    let bytes = key.as_bytes();
    let mut ranges = [(0_usize, 0_usize); MAX_ASCII_WORDS];
    let Some(count) = ascii_word_ranges(bytes, &mut ranges) else {
        let key_words = words(key);
        return phrases
            .iter()
            .any(|phrase| contains_phrase(&key_words, phrase));
    };
    let ranges = &ranges[..count];
    (0..ranges.len()).any(|first| {
        let initial = bytes[ranges[first].0].to_ascii_lowercase();
        starts & (1 << initial) != 0
            && phrases.iter().any(|phrase| {
                ranges.len() - first >= phrase.len()
                    && ranges[first..first + phrase.len()].iter().zip(phrase).all(
                        |(&(start, end), word)| {
                            bytes[start..end].eq_ignore_ascii_case(word.as_bytes())
                        },
                    )
            })
    })
}

/// The set of first bytes of the first words of `phrases` (ASCII only; a phrase that
/// starts with another character is caught by the allocating path of non-ASCII keys).
pub(super) fn first_bytes(phrases: &[Vec<String>]) -> u128 {
    phrases
        .iter()
        .filter_map(|phrase| phrase.first()?.bytes().next())
        .filter(u8::is_ascii)
        .fold(0, |set, b| set | (1 << b))
}

/// The byte ranges of the words of an ASCII `key`, split as [`words`] splits; `None`
/// for a non-ASCII key or one of more than [`MAX_ASCII_WORDS`] words.
fn ascii_word_ranges(key: &[u8], ranges: &mut [(usize, usize); MAX_ASCII_WORDS]) -> Option<usize> {
    if !key.is_ascii() {
        return None;
    }
    let mut count = 0;
    let mut start: Option<usize> = None;
    let mut push = |from: usize, to: usize, count: &mut usize| -> Option<()> {
        *ranges.get_mut(*count)? = (from, to);
        *count += 1;
        Some(())
    };
    for (i, &b) in key.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if let Some(from) = start.take() {
                push(from, i, &mut count)?;
            }
            continue;
        }
        if let Some(from) = start
            && b.is_ascii_uppercase()
        {
            let previous = key[i - 1];
            let next_is_lower = key.get(i + 1).is_some_and(u8::is_ascii_lowercase);
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                push(from, i, &mut count)?;
                start = Some(i);
            }
        }
        if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(from) = start {
        push(from, key.len(), &mut count)?;
    }
    Some(count)
}

/// Whether the words of `phrase` appear, adjacent and in order, among `key_words`.
pub(super) fn contains_phrase(key_words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && key_words
            .windows(phrase.len())
            .any(|window| window == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_words_in_every_spelling() {
        for key in [
            "card_number",
            "cardNumber",
            "CardNumber",
            "card-number",
            "CARD_NUMBER",
            "card.number",
        ] {
            assert_eq!(words(key), ["card", "number"], "{key}");
        }
        assert_eq!(words("HTTPHeader"), ["http", "header"]);
        assert_eq!(words("card.cvc2"), ["card", "cvc2"]);
        assert_eq!(words("CVV2"), ["cvv2"]);
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("pinBlock"), ["pin", "block"]);
    }

    #[test]
    fn the_ascii_fast_path_splits_as_words_does() {
        for key in [
            "card_number",
            "cardNumber",
            "HTTPHeader",
            "card.cvc2",
            "CVV2",
            "x-api-key",
            "http.request.header.set-cookie",
            "a..b__c",
            "",
            "_",
            "cvv2Code",
            "payment.cardSecurityCode",
        ] {
            let mut ranges = [(0, 0); MAX_ASCII_WORDS];
            let count = ascii_word_ranges(key.as_bytes(), &mut ranges).unwrap();
            let fast: Vec<String> = ranges[..count]
                .iter()
                .map(|&(s, e)| key[s..e].to_ascii_lowercase())
                .collect();
            assert_eq!(fast, words(key), "{key}");
        }
        let long = "a.".repeat(MAX_ASCII_WORDS + 1);
        let mut ranges = [(0, 0); MAX_ASCII_WORDS];
        assert_eq!(ascii_word_ranges(long.as_bytes(), &mut ranges), None);
        let phrases = vec![words("card_number")];
        let starts = first_bytes(&phrases);
        assert!(contains_any_phrase(
            &format!("{long}cardNumber"),
            &phrases,
            starts
        ));
        assert!(contains_any_phrase("paymentCardNumber", &phrases, starts));
        assert!(contains_any_phrase(
            "Zahlung.kartenNummer.card_number",
            &phrases,
            starts
        ));
        assert!(contains_any_phrase("größe.card_number", &phrases, starts));
        assert!(!contains_any_phrase("größe.card", &phrases, starts));
        assert!(!contains_any_phrase("payment.card", &phrases, starts));
    }
}
