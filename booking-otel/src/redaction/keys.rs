//! Which attribute keys name a secret: see [`DEFAULT_DENIED_KEYS`] for the rules.

/// The names denied by default: card data, and credentials (including the HTTP header
/// attributes the semantic conventions define, such as
/// `http.request.header.authorization`).
///
/// Keys are compared as words, so one denied name matches every spelling clients use.
///
/// A key is split into lower-case words at `.`, `_`, `-`, `/`, spaces and camelCase
/// boundaries: `payment.cardNumber`, `card_number`, `x-card-number` and
/// `CARD_NUMBER` are all the words `card number`. A denied name (itself split the
/// same way) matches a key when:
///
/// - its words appear, in order and adjacent, among the key's words (`card security
///   code` contains `security code`; `set-cookie` contains `cookie`);
/// - one word of the key ends with the name written together (`cardnumber`,
///   `cardsecuritycode`, `accesstoken`, `CLIENTSECRET`), for names of two or more words
///   and single words of four letters or more (and `cvv`, `cvc`); shorter single words
///   (`pin`, `pan`, `cid`, `csc`, `cvn`, `pwd`) match whole words only, so `spinner` is
///   not `pin` and `span` is not `pan`;
/// - a key word is the name's last word with an `s` added, for names of six letters or
///   more or of several words (`secrets`, `cookies`, `api_keys`), but not `tokens`
///   (`tokens_used` counts tokens).
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

/// A denied name, ready to match: its words, and the forms it matches in.
#[derive(Debug, Clone)]
pub(super) struct DeniedName {
    words: Vec<String>,
    /// The words written together: `cardnumber`.
    compact: String,
    /// Whether a key word ending with `compact` matches (`accesstoken`).
    as_suffix: bool,
    /// Whether the last word with an `s` matches (`api_keys`).
    plural: bool,
}

/// Single words too short or too common to match inside other words.
const WHOLE_WORD_ONLY: &[&str] = &["pin", "pan", "cid", "csc", "cvn", "pwd"];

impl DeniedName {
    /// `None` for a name with no letters or digits.
    pub(super) fn new(name: &str) -> Option<Self> {
        let words = words(name);
        if words.is_empty() {
            return None;
        }
        let compact: String = words.concat();
        let several = words.len() > 1;
        Some(DeniedName {
            as_suffix: several
                || (compact.len() >= 3 && !WHOLE_WORD_ONLY.contains(&compact.as_str())),
            plural: several || compact.len() >= 6,
            words,
            compact,
        })
    }

    /// The name as written in snake_case, for `Debug`.
    pub(super) fn snake_case(&self) -> String {
        self.words.join("_")
    }

    /// Whether the key word `word` (any case) is this name's compact form or ends with
    /// it, as the rules allow.
    fn matches_word(&self, word: &[u8]) -> bool {
        let compact = self.compact.as_bytes();
        if word.eq_ignore_ascii_case(compact) {
            return true;
        }
        if self.as_suffix
            && word.len() > compact.len()
            && word[word.len() - compact.len()..].eq_ignore_ascii_case(compact)
        {
            return true;
        }
        self.plural
            && word.len() == compact.len() + 1
            && word[..compact.len()].eq_ignore_ascii_case(compact)
            && word[compact.len()].eq_ignore_ascii_case(&b's')
    }

    /// Whether the key words from `words` on start with this name's words (the last
    /// one possibly plural).
    fn matches_words_at(&self, key: &[u8], ranges: &[(usize, usize)]) -> bool {
        ranges.len() >= self.words.len()
            && self.words.iter().enumerate().all(|(i, name_word)| {
                let (start, end) = ranges[i];
                let word = &key[start..end];
                let name_word = name_word.as_bytes();
                word.eq_ignore_ascii_case(name_word)
                    || (self.plural
                        && i + 1 == self.words.len()
                        && word.len() == name_word.len() + 1
                        && word[..name_word.len()].eq_ignore_ascii_case(name_word)
                        && word[name_word.len()].eq_ignore_ascii_case(&b's'))
            })
    }
}

/// Whether one of `names` matches `key`. ASCII keys (nearly all) are split into byte
/// ranges on the stack, without allocating; others go through [`words`].
pub(super) fn matches_any(key: &str, names: &[DeniedName]) -> bool {
    let mut ranges = [(0_usize, 0_usize); MAX_ASCII_WORDS];
    match ascii_word_ranges(key.as_bytes(), &mut ranges) {
        Some(count) => matches_ranges(key.as_bytes(), &ranges[..count], names),
        None => {
            let words = words(key);
            let mut joined = String::new();
            let mut owned_ranges = Vec::with_capacity(words.len());
            for word in &words {
                owned_ranges.push((joined.len(), joined.len() + word.len()));
                joined.push_str(word);
            }
            matches_ranges(joined.as_bytes(), &owned_ranges, names)
        }
    }
}

fn matches_ranges(key: &[u8], ranges: &[(usize, usize)], names: &[DeniedName]) -> bool {
    (0..ranges.len()).any(|first| {
        let (start, end) = ranges[first];
        names.iter().any(|name| {
            name.matches_word(&key[start..end]) || name.matches_words_at(key, &ranges[first..])
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(key: &str) -> bool {
        let names: Vec<DeniedName> = DEFAULT_DENIED_KEYS
            .iter()
            .filter_map(|n| DeniedName::new(n))
            .collect();
        matches_any(key, &names)
    }

    #[test]
    fn compounds_and_plurals_match_short_words_do_not_leak_into_others() {
        for key in [
            "payment.cardnumber",
            "securitycode",
            "cardcvv",
            "accesstoken",
            "CLIENTSECRET",
            "api_keys",
            "app.secrets",
            "http.response.header.set-cookies",
            "user.passwords",
            "cardsecuritycode",
            "pinblock",
        ] {
            assert!(denied(key), "{key} should be denied");
        }
        for key in [
            "booking.spinner",
            "span.count",
            "tokens_used",
            "booking.acid_test",
            "payment.company",
            "booking.keyword",
            "booking.pans",
        ] {
            assert!(!denied(key), "{key} should be allowed");
        }
    }

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
        let names: Vec<DeniedName> = ["card_number"]
            .iter()
            .filter_map(|n| DeniedName::new(n))
            .collect();
        assert!(matches_any(&format!("{long}cardNumber"), &names));
        assert!(matches_any("paymentCardNumber", &names));
        assert!(matches_any("Zahlung.kartenNummer.card_number", &names));
        assert!(matches_any("größe.card_number", &names));
        assert!(matches_any("größe.CARDNUMBER", &names));
        assert!(!matches_any("größe.card", &names));
        assert!(!matches_any("payment.card", &names));
    }
}
