//! [`RedactionPolicy`]: what is a secret, in a key or in a value, and how it is masked.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::{Array, StringValue, Value};

use super::MASK;
use super::email::mask_emails;
use super::iban::mask_ibans;
use super::keys::{DEFAULT_DENIED_KEYS, DeniedName, matches_any};
use super::pan::{MIN_PAN_DIGITS, mask_card_numbers, mask_float, mask_integer, mask_track_data};
use super::verification_code::mask_verification_codes;

/// The rule that masked a value; the `booking_otel.redaction.rule` metric attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedactionRule {
    /// A card number in a value.
    CardNumber,
    /// Magnetic-stripe track data in a value.
    TrackData,
    /// A card verification code next to its keyword in a value.
    VerificationCode,
    /// An IBAN in a value.
    Iban,
    /// A denied key: the whole value.
    DeniedKey,
    /// An email address in a value.
    Email,
    /// A rule added with [`RedactionPolicy::custom_rule`].
    Custom,
}

impl RedactionRule {
    /// The metric attribute value: `card_number`, `track_data`, `verification_code`,
    /// `iban`, `denied_key`, `email`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            RedactionRule::CardNumber => "card_number",
            RedactionRule::TrackData => "track_data",
            RedactionRule::VerificationCode => "verification_code",
            RedactionRule::Iban => "iban",
            RedactionRule::DeniedKey => "denied_key",
            RedactionRule::Email => "email",
            RedactionRule::Custom => "custom",
        }
    }
}

type CustomRule = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How an attribute key is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyClass {
    /// Exempt from every check ([`RedactionPolicy::allow_key`]).
    Allowed,
    /// Names a secret: the whole value is replaced.
    Denied,
    /// The value is scanned.
    Scanned,
}

/// What redaction masks. The default is safe; every change is additive except
/// [`allow_key`](RedactionPolicy::allow_key), [`mask_emails(false)`](RedactionPolicy::mask_emails)
/// and [`mask_ibans(false)`](RedactionPolicy::mask_ibans).
///
/// In keys: an attribute whose key names a secret ([`DEFAULT_DENIED_KEYS`], plus
/// [`deny_key`](RedactionPolicy::deny_key)), in any spelling (see
/// [`is_denied_key`](RedactionPolicy::is_denied_key)), has its whole value replaced by
/// [`MASK`](super::MASK).
///
/// In values (strings, integers, floats, arrays):
///
/// | what | becomes |
/// |---|---|
/// | a card number (13–19 digits, Luhn-valid, separated by spaces, dashes or dots or not) | `**** **** **** 1111`: the last four stay |
/// | track 1 or track 2 data | [`MASK`](super::MASK), cardholder name and all |
/// | `cvv 123`, `CVC: 987`, `security code 1234` | `cvv ***`: the digits after the keyword |
/// | an IBAN (country length and mod-97 checked) | `DE** **** **** **** **30 00` |
/// | an email address | `***@example.com` |
/// | what a [`custom_rule`](RedactionPolicy::custom_rule) returns | its replacement |
///
/// What survives by design (the false-positive budget, each tested): booking references
/// (`K7Q2ZP`, `res-00000081`), dates and times, Unix timestamps in milliseconds,
/// microseconds or nanoseconds, phone numbers in international form (`+44 20 7946
/// 0958`), amounts, and digit runs that fail the Luhn check (nine in ten random ones).
/// A phone number written without its `+` whose 13+ digits pass Luhn is masked.
///
/// ```
/// use booking_otel::RedactionPolicy;
/// let policy = RedactionPolicy::default();
/// assert_eq!(
///     policy.redact_str("charge failed for 4111-1111-1111-1111").unwrap(),
///     "charge failed for ****-****-****-1111"
/// );
/// assert_eq!(policy.redact_str("cvv 123 given").unwrap(), "cvv *** given");
/// assert_eq!(policy.redact_str("room 204, 2 guests"), None); // clean: no copy
/// assert!(policy.is_denied_key("payment.cardSecurityCode"));
/// assert!(!policy.is_denied_key("payment.card_last_four"));
/// ```
#[derive(Clone)]
pub struct RedactionPolicy {
    denied: Vec<DeniedName>,
    allowed_keys: Vec<String>,
    custom_rules: Vec<CustomRule>,
    mask_emails: bool,
    mask_ibans: bool,
}

impl fmt::Debug for RedactionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let denied: Vec<String> = self.denied.iter().map(DeniedName::snake_case).collect();
        f.debug_struct("RedactionPolicy")
            .field("denied_keys", &denied)
            .field("allowed_keys", &self.allowed_keys)
            .field("custom_rules", &self.custom_rules.len())
            .field("mask_emails", &self.mask_emails)
            .field("mask_ibans", &self.mask_ibans)
            .finish()
    }
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        RedactionPolicy {
            denied: DEFAULT_DENIED_KEYS
                .iter()
                .filter_map(|name| DeniedName::new(name))
                .collect(),
            allowed_keys: Vec::new(),
            custom_rules: Vec::new(),
            mask_emails: true,
            mask_ibans: true,
        }
    }
}

impl RedactionPolicy {
    /// Also denies keys containing the name `name`, in any spelling: `"iban"`,
    /// `"loyaltyPin"`, `"x-session-id"`.
    pub fn deny_key(mut self, name: &str) -> Self {
        if let Some(name) = DeniedName::new(name) {
            self.denied.push(name);
        }
        self
    }

    /// Exempts the exact attribute key `key` from every check. Use sparingly, for keys
    /// whose values are known to be safe and expensive or wrong to scan.
    pub fn allow_key(mut self, key: &str) -> Self {
        self.allowed_keys.push(key.to_owned());
        self
    }

    /// Adds a custom rule: given a string value (already masked by the built-in rules),
    /// return `Some(masked)` to replace it.
    ///
    /// ```
    /// use booking_otel::RedactionPolicy;
    /// let policy = RedactionPolicy::default().custom_rule(|v| {
    ///     v.contains("PNR:").then(|| "PNR:[REDACTED]".to_string())
    /// });
    /// assert_eq!(policy.redact_str("PNR:K7Q2ZP").unwrap(), "PNR:[REDACTED]");
    /// ```
    pub fn custom_rule(
        mut self,
        rule: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.custom_rules.push(Arc::new(rule));
        self
    }

    /// Masks the local part of email addresses (default: on).
    pub fn mask_emails(mut self, enabled: bool) -> Self {
        self.mask_emails = enabled;
        self
    }

    /// Masks IBANs (default: on).
    pub fn mask_ibans(mut self, enabled: bool) -> Self {
        self.mask_ibans = enabled;
        self
    }

    /// Whether `key` is exempt from scanning.
    pub fn is_allowed_key(&self, key: &str) -> bool {
        self.allowed_keys.iter().any(|k| k == key)
    }

    /// Whether `key` names a secret: one of the denied names appears among its words, in
    /// any spelling (snake_case, kebab-case, dotted, camelCase, any case, written
    /// together): `payment.card_cvv`, `cardSecurityCode`, `cardnumber`, `x-api-key`,
    /// `http.request.header.authorization` are all denied. The rules are in the
    /// [`DEFAULT_DENIED_KEYS`] docs.
    pub fn is_denied_key(&self, key: &str) -> bool {
        matches_any(key, &self.denied)
    }

    pub(super) fn classify_key(&self, key: &str) -> KeyClass {
        if self.is_allowed_key(key) {
            KeyClass::Allowed
        } else if self.is_denied_key(key) {
            KeyClass::Denied
        } else {
            KeyClass::Scanned
        }
    }

    /// Masks secrets in `text`; `None` when it is clean (the common case allocates
    /// nothing).
    pub fn redact_str(&self, text: &str) -> Option<String> {
        self.redact_text(text, &mut |_| {})
    }

    /// Masks secrets in the value of attribute `key`, in place. Returns whether it changed.
    pub fn redact_value(&self, key: &str, value: &mut Value) -> bool {
        self.redact_classified(self.classify_key(key), value, &mut |_| {})
    }

    /// [`redact_str`](Self::redact_str), reporting each rule that masked something.
    pub(super) fn redact_text(
        &self,
        text: &str,
        report: &mut dyn FnMut(RedactionRule),
    ) -> Option<String> {
        let (digits, at) = digits_and_at(text);
        let suspect = digits >= 3 || (at && self.mask_emails) || !self.custom_rules.is_empty();
        if !suspect {
            return None;
        }
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        let mut apply = |rule: RedactionRule,
                         current: &mut Cow<'_, str>,
                         mask: &dyn Fn(&str) -> Option<String>| {
            if let Some(masked) = mask(current) {
                report(rule);
                *current = Cow::Owned(masked);
            }
        };
        // Track data first: it holds a PAN, and goes whole. IBANs before PANs: an
        // IBAN's digits may hold a Luhn-valid window.
        if digits >= MIN_PAN_DIGITS {
            apply(RedactionRule::TrackData, &mut current, &mask_track_data);
        }
        if self.mask_ibans && digits >= 10 {
            apply(RedactionRule::Iban, &mut current, &mask_ibans);
        }
        if digits >= MIN_PAN_DIGITS {
            apply(RedactionRule::CardNumber, &mut current, &mask_card_numbers);
        }
        if digits >= 3 {
            apply(
                RedactionRule::VerificationCode,
                &mut current,
                &mask_verification_codes,
            );
        }
        if self.mask_emails && at {
            apply(RedactionRule::Email, &mut current, &mask_emails);
        }
        for rule in &self.custom_rules {
            apply(RedactionRule::Custom, &mut current, &**rule);
        }
        match current {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) => Some(s),
        }
    }

    /// Masks `value` as a key of class `class` requires. Returns whether it changed.
    pub(super) fn redact_classified(
        &self,
        class: KeyClass,
        value: &mut Value,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        match class {
            KeyClass::Allowed => false,
            KeyClass::Denied => {
                report(RedactionRule::DeniedKey);
                *value = Value::String(MASK.into());
                true
            }
            KeyClass::Scanned => self.redact_scanned(value, report),
        }
    }

    fn redact_scanned(&self, value: &mut Value, report: &mut dyn FnMut(RedactionRule)) -> bool {
        match value {
            Value::String(s) => self.redact_string_value(s, report),
            Value::Bool(_) => false,
            Value::I64(i) => {
                let masked = mask_integer(*i);
                replace_number(value, masked, report)
            }
            Value::F64(f) => {
                let masked = mask_float(*f);
                replace_number(value, masked, report)
            }
            Value::Array(Array::String(items)) => {
                let mut changed = false;
                for item in items.iter_mut() {
                    changed |= self.redact_string_value(item, report);
                }
                changed
            }
            Value::Array(Array::I64(items)) => match mask_each(items, |i| mask_integer(*i)) {
                Some(masked) => {
                    report(RedactionRule::CardNumber);
                    *value = Value::Array(Array::String(masked));
                    true
                }
                None => false,
            },
            Value::Array(Array::F64(items)) => match mask_each(items, |f| mask_float(*f)) {
                Some(masked) => {
                    report(RedactionRule::CardNumber);
                    *value = Value::Array(Array::String(masked));
                    true
                }
                None => false,
            },
            Value::Array(Array::Bool(_)) => false,
            // A future value type: masked whole rather than exported unchecked.
            _ => {
                report(RedactionRule::DeniedKey);
                *value = Value::String(MASK.into());
                true
            }
        }
    }

    pub(super) fn redact_string_value(
        &self,
        value: &mut StringValue,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        match self.redact_text(value.as_str(), report) {
            Some(masked) => {
                *value = StringValue::from(masked);
                true
            }
            None => false,
        }
    }
}

fn replace_number(
    value: &mut Value,
    masked: Option<String>,
    report: &mut dyn FnMut(RedactionRule),
) -> bool {
    match masked {
        Some(masked) => {
            report(RedactionRule::CardNumber);
            *value = Value::String(masked.into());
            true
        }
        None => false,
    }
}

/// The number of ASCII digits in `text`, and whether it holds an `@`: what decides
/// whether a string can hold anything the policy masks. One pass, which the compiler
/// vectorises.
fn digits_and_at(text: &str) -> (usize, bool) {
    let bytes = text.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let at = digits < bytes.len() && bytes.contains(&b'@');
    (digits, at)
}

/// Masks a numeric array: `None` when no item carries a card number, else every item as
/// a string (masked or as it was), since an attribute array has one type.
fn mask_each<T: ToString>(
    items: &[T],
    mask: impl Fn(&T) -> Option<String>,
) -> Option<Vec<StringValue>> {
    let masked: Vec<Option<String>> = items.iter().map(&mask).collect();
    if masked.iter().all(Option::is_none) {
        return None;
    }
    Some(
        items
            .iter()
            .zip(masked)
            .map(|(item, masked)| masked.unwrap_or_else(|| item.to_string()).into())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_keys_match_words_in_any_spelling_and_namespace() {
        let policy = RedactionPolicy::default();
        for key in [
            "cvv",
            "payment.CVV",
            "card.cvc",
            "card.cvc2",
            "cvv2",
            "payment.cid",
            "csc",
            "security_code",
            "payment.security-code",
            "securityCode",
            "cardSecurityCode",
            "pin",
            "pin_block",
            "pinBlock",
            "track1",
            "track2",
            "trackData",
            "card_number",
            "cardNumber",
            "payment.card_number",
            "pan",
            "panNumber",
            "user.password",
            "passwd",
            "db_password",
            "client_secret",
            "clientSecret",
            "secret",
            "token",
            "payment.token",
            "http.auth_token",
            "x.access-token",
            "apiKey",
            "api_key",
            "x-api-key",
            "http.request.header.authorization",
            "http.request.header.cookie",
            "http.response.header.set-cookie",
            "tls.private_key",
        ] {
            assert!(policy.is_denied_key(key), "{key} should be denied");
        }
        for key in [
            "payment.card_last_four",
            "booking.reservation_id",
            "shipping",
            "company",
            "booking.lock_ttl_ms",
            "payment.transaction_id",
            "spinner",
            "tokens_used",
            "booking.span_count",
            "booking.keyword",
            "http.request.header.user-agent",
        ] {
            assert!(!policy.is_denied_key(key), "{key} should be allowed");
        }
        let policy = policy.deny_key("IBAN");
        assert!(policy.is_denied_key("payment.iban"));
        assert!(policy.is_denied_key("payment.payoutIban"));
    }

    #[test]
    fn denied_key_values_are_replaced_whatever_their_type() {
        let policy = RedactionPolicy::default();
        let mut v = Value::I64(123);
        assert!(policy.redact_value("payment.cvv", &mut v));
        assert_eq!(v, Value::String(MASK.into()));
        let mut v = Value::Bool(true);
        assert!(policy.redact_value("pin", &mut v));
        assert_eq!(v, Value::String(MASK.into()));
    }

    #[test]
    fn allowed_keys_skip_scanning() {
        let policy = RedactionPolicy::default().allow_key("booking.raw_ref");
        let mut v = Value::String("4111111111111111".into());
        assert!(!policy.redact_value("booking.raw_ref", &mut v));
        assert!(policy.redact_value("booking.other", &mut v));
    }

    #[test]
    fn emails_and_ibans_are_masked_unless_disabled() {
        let policy = RedactionPolicy::default();
        assert!(policy.redact_str("ada@example.com").is_some());
        assert!(policy.redact_str("DE89 3704 0044 0532 0130 00").is_some());
        let policy = policy.mask_emails(false).mask_ibans(false);
        assert_eq!(policy.redact_str("ada@example.com"), None);
        assert_eq!(policy.redact_str("DE89 3704 0044 0532 0130 00"), None);
    }

    #[test]
    fn every_rule_reports_itself() {
        let policy = RedactionPolicy::default()
            .custom_rule(|v| v.contains("PNR").then(|| v.replace("PNR", "***")));
        let mut rules = Vec::new();
        let text = "PNR %B4111111111111111^DOE/JOHN^2512101? 5555 5555 5555 4444 cvv 123 \
                    DE89370400440532013000 ada@example.com";
        let masked = policy.redact_text(text, &mut |r| rules.push(r)).unwrap();
        assert_eq!(
            rules,
            [
                RedactionRule::TrackData,
                RedactionRule::Iban,
                RedactionRule::CardNumber,
                RedactionRule::VerificationCode,
                RedactionRule::Email,
                RedactionRule::Custom
            ]
        );
        assert_eq!(
            masked,
            "*** [REDACTED] **** **** **** 4444 cvv *** DE****************3000 ***@example.com"
        );
    }

    #[test]
    fn the_false_positive_budget_holds() {
        let policy = RedactionPolicy::default();
        for text in [
            "K7Q2ZP",
            "res-00000081",
            "BK-2026-000042",
            "2026-12-01T14:30:00.123456789Z",
            "1795000000123",
            "1795000000123456",
            "+44 20 7946 0958",
            "+1 (415) 555-2671",
            "+86 138 0013 8002",
            "EUR 1234.56",
            "amount_cents=123456",
            "room 204, 2 guests, 3 nights",
            "4111111111111112",
            "flight LH1234 FRA-JFK seat 23C",
        ] {
            assert_eq!(policy.redact_str(text), None, "{text}");
        }
    }
}
