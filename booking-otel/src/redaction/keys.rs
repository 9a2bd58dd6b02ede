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
}
