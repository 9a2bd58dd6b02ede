//! The export-side scanner: [`RedactionPolicy`] decides what in a value or key is a
//! secret and masks it.
//!
//! # What is masked
//!
//! - **Card numbers (PANs)** anywhere in a string, integer or float: 13–19 digits,
//!   optionally separated by single spaces or dashes, passing the Luhn check. All digits
//!   but the last four become `*`, separators are kept: `4111 1111 1111 1111` →
//!   `**** **** **** 1111`. A masked integer becomes a string.
//!   - A run of exactly 13–19 digits is masked when it passes Luhn, whatever its prefix.
//!   - Inside a longer digit run (or a 14–19 digit run that fails Luhn as a whole), every
//!     13–19 digit window that passes Luhn *and* starts with a card network's IIN at a
//!     length that network issues is masked: a card number glued to other digits is
//!     still caught, while random long numbers are mostly left alone.
//!   - **Trade-off: timestamps.** A bare digit run (no separators) of 13, 16 or 19 digits
//!     starting with `1` (or 19 digits starting with `2`) is read as a millisecond,
//!     microsecond or nanosecond Unix timestamp (years 2001–2065) and not masked: one in
//!     ten timestamps passes Luhn by chance, and no major card network issues numbers of
//!     those lengths with those leading digits. Such a run is still checked for card
//!     numbers inside it, like any longer run.
//! - **Denied keys**: an attribute whose key names a secret (`cvv`, `cvc`, `cvv2`, `cid`,
//!   `csc`, `security_code`, `pin`, `pin_block`, `track1`, `track2`, `card_number`, `pan`,
//!   `password`, `secret`, `token`, in any namespace and any case, as a whole key segment
//!   or a `_`/`-` separated part of one: `payment.CVV`, `http.auth_token`) has its
//!   whole value replaced by [`DENIED_VALUE`].
//! - **Email addresses** (on by default): the local part becomes `***`
//!   (`ada@example.com` → `***@example.com`).
//! - **Custom rules** added with [`RedactionPolicy::value_rule`].
//!
//! ```
//! use booking_otel::RedactionPolicy;
//! let policy = RedactionPolicy::default();
//! assert_eq!(
//!     policy.redact_str("charge failed for 4111-1111-1111-1111").unwrap(),
//!     "charge failed for ****-****-****-1111"
//! );
//! assert_eq!(policy.redact_str("room 204, 2 guests"), None); // clean: no copy
//! assert!(policy.is_denied_key("payment.cvv"));
//! assert!(!policy.is_denied_key("payment.card_last_four"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use opentelemetry::{Array, KeyValue, StringValue, Value};

use super::card::{CardBrand, luhn_valid};
use super::thread_cache::{
    Check, CleanString, Decisions, KeyClass, ShapeBuilder, ThreadCache, new_policy_id,
};
use super::words::{digits_and_at, has_at};

/// What replaces the value of an attribute whose key is denied.
pub const DENIED_VALUE: &str = "[REDACTED]";

/// The keys denied by default (matched per key segment, case-insensitively).
pub const DEFAULT_DENIED_KEYS: &[&str] = &[
    "cvv",
    "cvc",
    "cvv2",
    "cid",
    "csc",
    "security_code",
    "pin",
    "pin_block",
    "track1",
    "track2",
    "card_number",
    "pan",
    "password",
    "secret",
    "token",
];

/// The rule that masked a value; the `booking_otel.redaction.rule` metric attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedactionRule {
    /// A card number in a value.
    CardNumber,
    /// A denied key.
    DeniedKey,
    /// An email address.
    Email,
    /// A rule added with [`RedactionPolicy::value_rule`].
    Custom,
}

impl RedactionRule {
    /// The metric attribute value: `card_number`, `denied_key`, `email`, `custom_pattern`.
    pub fn as_str(self) -> &'static str {
        match self {
            RedactionRule::CardNumber => "card_number",
            RedactionRule::DeniedKey => "denied_key",
            RedactionRule::Email => "email",
            RedactionRule::Custom => "custom_pattern",
        }
    }
}

/// The fewest digits a card number has.
const MIN_PAN_DIGITS: usize = 13;

type ValueRule = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the redaction guard masks. The default is safe; every change is additive except
/// [`allow_key`](RedactionPolicy::allow_key) and
/// [`mask_emails(false)`](RedactionPolicy::mask_emails).
#[derive(Clone)]
pub struct RedactionPolicy {
    denied_keys: Vec<String>,
    /// The first bytes of `denied_keys`: most key words are ruled out by one lookup.
    denied_first_bytes: ByteSet,
    allowed_keys: Vec<String>,
    value_rules: Vec<ValueRule>,
    mask_emails: bool,
    /// This policy's identity in the [per-thread cache](super::thread_cache); a new one
    /// whenever the policy changes.
    id: u64,
}

impl fmt::Debug for RedactionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactionPolicy")
            .field("denied_keys", &self.denied_keys)
            .field("allowed_keys", &self.allowed_keys)
            .field("value_rules", &self.value_rules.len())
            .field("mask_emails", &self.mask_emails)
            .finish()
    }
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        let denied_keys: Vec<String> = DEFAULT_DENIED_KEYS.iter().map(|k| k.to_string()).collect();
        RedactionPolicy {
            denied_first_bytes: ByteSet::of_first_bytes(&denied_keys),
            denied_keys,
            allowed_keys: Vec::new(),
            value_rules: Vec::new(),
            mask_emails: true,
            id: new_policy_id(),
        }
    }
}

impl RedactionPolicy {
    /// Also denies keys with the segment `name` (case-insensitive), e.g. `"iban"`.
    pub fn deny_key(mut self, name: &str) -> Self {
        let name = normalize(name);
        if !name.is_empty() {
            self.denied_keys.push(name);
            self.denied_first_bytes = ByteSet::of_first_bytes(&self.denied_keys);
            self.id = new_policy_id();
        }
        self
    }

    /// Exempts the exact attribute key `key` from every check. Use sparingly, for keys
    /// whose values are known to be safe and expensive or wrong to scan.
    pub fn allow_key(mut self, key: &str) -> Self {
        self.allowed_keys.push(key.to_owned());
        self.id = new_policy_id();
        self
    }

    /// Adds a value rule: given a string value, return `Some(masked)` to replace it.
    ///
    /// ```
    /// use booking_otel::RedactionPolicy;
    /// let policy = RedactionPolicy::default().value_rule(|v| {
    ///     v.contains("PNR:").then(|| "PNR:[REDACTED]".to_string())
    /// });
    /// assert_eq!(policy.redact_str("PNR:K7Q2ZP").unwrap(), "PNR:[REDACTED]");
    /// ```
    pub fn value_rule(
        mut self,
        rule: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.value_rules.push(Arc::new(rule));
        self.id = new_policy_id();
        self
    }

    /// Masks the local part of email addresses (default: on).
    pub fn mask_emails(mut self, enabled: bool) -> Self {
        self.mask_emails = enabled;
        self.id = new_policy_id();
        self
    }

    /// Whether `key` is exempt from scanning.
    pub fn is_allowed_key(&self, key: &str) -> bool {
        !self.allowed_keys.is_empty() && self.allowed_keys.iter().any(|k| k == key)
    }

    /// Whether `key` names a secret. Allocation-free and linear in the key (the guard
    /// also remembers the answer per thread). A denied name matches a whole word of the key, where
    /// words are bounded by the key's ends, `.`, `_` and `-` (`-` matches `_`), in any
    /// case: `payment.card_cvv`, `CVV2`, `x-security-code` are all denied.
    pub fn is_denied_key(&self, key: &str) -> bool {
        let key = key.as_bytes();
        let is_boundary = |b: u8| b == b'.' || b == b'_' || b == b'-';
        (0..key.len()).any(|start| {
            // Only word starts whose first letter begins some denied name.
            (start == 0 || is_boundary(key[start - 1]))
                && self
                    .denied_first_bytes
                    .contains(key[start].to_ascii_lowercase())
                && self.denied_keys.iter().any(|denied| {
                    let denied = denied.as_bytes();
                    let end = start + denied.len();
                    end <= key.len()
                        && (end == key.len() || is_boundary(key[end]))
                        && key[start..end].iter().zip(denied).all(|(a, d)| {
                            let a = if *a == b'-' {
                                b'_'
                            } else {
                                a.to_ascii_lowercase()
                            };
                            a == *d
                        })
                })
        })
    }

    /// Masks secrets in `text`; `None` when it is clean (the common case allocates
    /// nothing).
    pub fn redact_str(&self, text: &str) -> Option<String> {
        self.redact_str_with(text, &mut |_| {})
    }

    /// [`redact_str`](Self::redact_str), reporting each rule that masked something.
    /// The guard's own paths check [`is_clean`](Self::is_clean) first themselves, so
    /// that they can remember clean strings.
    fn redact_str_with(&self, text: &str, report: &mut dyn FnMut(RedactionRule)) -> Option<String> {
        if self.is_clean(text) {
            return None;
        }
        self.redact_suspect_str(text, report)
    }

    /// Whether `text` cannot hold anything this policy masks: fewer than 13 digits, no
    /// `@` (when emails are masked), and no custom rules to run.
    #[inline(always)]
    fn is_clean(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        if !self.value_rules.is_empty() {
            return false;
        }
        if bytes.len() < MIN_PAN_DIGITS {
            return !(self.mask_emails && has_at(bytes));
        }
        let (digits, at) = digits_and_at(bytes);
        digits < MIN_PAN_DIGITS && !(self.mask_emails && at)
    }

    #[cold]
    #[inline(never)]
    fn redact_suspect_str(
        &self,
        text: &str,
        report: &mut dyn FnMut(RedactionRule),
    ) -> Option<String> {
        let (digits, _) = digits_and_at(text.as_bytes());
        let mut current: Cow<'_, str> = Cow::Borrowed(text);
        if digits >= MIN_PAN_DIGITS
            && let Some(masked) = mask_card_numbers(&current)
        {
            report(RedactionRule::CardNumber);
            current = Cow::Owned(masked);
        }
        if self.mask_emails
            && let Some(masked) = mask_emails(&current)
        {
            report(RedactionRule::Email);
            current = Cow::Owned(masked);
        }
        for rule in &self.value_rules {
            if let Some(masked) = rule(&current) {
                report(RedactionRule::Custom);
                current = Cow::Owned(masked);
            }
        }
        match current {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) => Some(s),
        }
    }

    /// Masks secrets in the value of attribute `key`, in place. Returns whether it changed.
    pub fn redact_value(&self, key: &str, value: &mut Value) -> bool {
        let report = &mut |_| {};
        match self.classify_key(key) {
            KeyClass::Allowed => false,
            KeyClass::Denied => deny(value, report),
            KeyClass::Scanned => self.redact_scanned_value(value, report),
        }
    }

    /// Masks secrets in a list of attributes named `name` (a span's or an event's),
    /// and in the name: the guard's path, with this thread's `cache`.
    ///
    /// The attributes of a span or event named by a constant are the same keys and
    /// often the same constant values each time: from the second time on, the list's
    /// shape is remembered, and what it knows is skipped. The rest goes the long way.
    // The span guard's path: only the `sdk` feature builds the guard.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    #[inline(always)]
    pub(super) fn redact_named_list(
        &self,
        cache: &mut ThreadCache<'_>,
        name: &mut Cow<'static, str>,
        attributes: &mut [KeyValue],
        report: &mut dyn FnMut(RedactionRule),
    ) {
        if let Cow::Borrowed(static_name) = *name {
            if let Some(shape) = cache.shapes.find(self.id, static_name, attributes.len()) {
                // Only clean names get a shape: the name is done too.
                for (attribute, known) in attributes.iter_mut().zip(shape.known()) {
                    match known.check(attribute) {
                        Check::Clean => {}
                        Check::ScanValue => {
                            self.redact_scanned_value(&mut attribute.value, report);
                        }
                        Check::Unknown => {
                            self.redact_unknown_attribute(&mut cache.decisions, attribute, report);
                        }
                    }
                }
                return;
            }
            if cache.decisions.is_known_clean(self.id, static_name)
                && cache.shapes.may_learn(static_name)
            {
                let mut shape = ShapeBuilder::new(self.id, static_name, attributes.len());
                for attribute in attributes.iter_mut() {
                    let (class, changed) =
                        self.redact_classified_attribute(&mut cache.decisions, attribute, report);
                    shape.push(&cache.decisions, attribute, class, changed);
                }
                cache.shapes.learn(shape);
                return;
            }
        }
        self.redact_name(&mut cache.decisions, name, report);
        for attribute in attributes.iter_mut() {
            self.redact_attribute(&mut cache.decisions, attribute, report);
        }
    }

    /// Masks secrets in one attribute, with this thread's `decisions`.
    // The span guard's path: only the `sdk` feature builds the guard.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    #[inline(always)]
    pub(super) fn redact_attribute(
        &self,
        decisions: &mut Decisions<'_>,
        attribute: &mut KeyValue,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        self.redact_classified_attribute(decisions, attribute, report)
            .1
    }

    /// [`redact_attribute`](Self::redact_attribute) out of line, so that the loop over
    /// known attributes stays small.
    // The span guard's path: only the `sdk` feature builds the guard.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    #[inline(never)]
    fn redact_unknown_attribute(
        &self,
        decisions: &mut Decisions<'_>,
        attribute: &mut KeyValue,
        report: &mut dyn FnMut(RedactionRule),
    ) {
        self.redact_attribute(decisions, attribute, report);
    }

    /// Masks secrets in the value of an attribute whose key is scanned, without the
    /// thread cache: for values that change from span to span (ids, messages).
    #[inline(never)]
    fn redact_scanned_value(
        &self,
        value: &mut Value,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        match value {
            Value::String(s) => !self.is_clean(s.as_str()) && self.mask_string(s, report),
            Value::I64(i) if i.unsigned_abs() < MIN_PAN => false,
            Value::Bool(_) => false,
            value => self.redact_other_value(&mut Decisions::none(), value, report),
        }
    }

    /// [`redact_attribute`](Self::redact_attribute), also returning the key's class.
    // The span guard's path: only the `sdk` feature builds the guard.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    #[inline(always)]
    fn redact_classified_attribute(
        &self,
        decisions: &mut Decisions<'_>,
        attribute: &mut KeyValue,
        report: &mut dyn FnMut(RedactionRule),
    ) -> (KeyClass, bool) {
        let class = decisions.key_class(self.id, &attribute.key, |key| self.classify_key(key));
        let changed = match class {
            KeyClass::Allowed => false,
            KeyClass::Denied => deny(&mut attribute.value, report),
            // The common values (a string, a small integer, a boolean) are decided
            // inline; the rest out of line.
            KeyClass::Scanned => match &mut attribute.value {
                Value::String(s) => self.redact_string_value(decisions, s, report),
                Value::I64(i) if i.unsigned_abs() < MIN_PAN => false,
                Value::Bool(_) => false,
                value => self.redact_other_value(decisions, value, report),
            },
        };
        (class, changed)
    }

    /// Masks secrets in a span name, event name or status description.
    // The span guard's path: only the `sdk` feature builds the guard.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    #[inline(always)]
    pub(super) fn redact_name(
        &self,
        decisions: &mut Decisions<'_>,
        name: &mut Cow<'static, str>,
        report: &mut dyn FnMut(RedactionRule),
    ) {
        if let Cow::Borrowed(text) = name
            && decisions.is_known_clean(self.id, text)
        {
            return;
        }
        if self.is_clean(name) {
            if let Cow::Borrowed(text) = name {
                decisions.found_clean(self.id, CleanString::Static(text));
            }
            return;
        }
        if let Some(masked) = self.redact_suspect_str(name, report) {
            *name = masked.into();
        }
    }

    #[inline(always)]
    fn redact_string_value(
        &self,
        cache: &mut Decisions<'_>,
        value: &mut StringValue,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        if cache.is_known_clean(self.id, value.as_str()) {
            return false;
        }
        if self.is_clean(value.as_str()) {
            cache.found_clean(self.id, CleanString::Value(value));
            return false;
        }
        self.mask_string(value, report)
    }

    /// Masks what the scanner finds in `value`, a string that failed the fast check.
    fn mask_string(&self, value: &mut StringValue, report: &mut dyn FnMut(RedactionRule)) -> bool {
        match self.redact_suspect_str(value.as_str(), report) {
            Some(masked) => {
                *value = StringValue::from(masked);
                true
            }
            None => false,
        }
    }

    fn classify_key(&self, key: &str) -> KeyClass {
        if self.is_allowed_key(key) {
            KeyClass::Allowed
        } else if self.is_denied_key(key) {
            KeyClass::Denied
        } else {
            KeyClass::Scanned
        }
    }

    #[inline(never)]
    fn redact_other_value(
        &self,
        cache: &mut Decisions<'_>,
        value: &mut Value,
        report: &mut dyn FnMut(RedactionRule),
    ) -> bool {
        match value {
            Value::String(s) => self.redact_string_value(cache, s, report),
            Value::I64(i) => match mask_integer(*i) {
                Some(masked) => {
                    report(RedactionRule::CardNumber);
                    *value = Value::String(masked.into());
                    true
                }
                None => false,
            },
            Value::F64(f) => match mask_float(*f) {
                Some(masked) => {
                    report(RedactionRule::CardNumber);
                    *value = Value::String(masked.into());
                    true
                }
                None => false,
            },
            Value::Array(Array::String(items)) => {
                let mut changed = false;
                for item in items.iter_mut() {
                    changed |= self.redact_string_value(cache, item, report);
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
            _ => false,
        }
    }
}

/// Replaces the value of a denied key.
fn deny(value: &mut Value, report: &mut dyn FnMut(RedactionRule)) -> bool {
    report(RedactionRule::DeniedKey);
    *value = Value::String(DENIED_VALUE.into());
    true
}

/// A set of bytes, for one-lookup membership tests.
#[derive(Clone, Copy, Default)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn of_first_bytes(words: &[String]) -> Self {
        let mut set = ByteSet::default();
        for word in words {
            if let Some(&b) = word.as_bytes().first() {
                set.0[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
        set
    }

    #[inline]
    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }
}

fn normalize(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('-', "_")
}

/// Masks a numeric array: `None` when no item carries a card number, else every item as
/// a string (masked or as it was), since an attribute array has one type.
fn mask_each<T: ToString>(
    items: &[T],
    mask: impl Fn(&T) -> Option<String>,
) -> Option<Vec<StringValue>> {
    if !items.iter().any(|item| mask(item).is_some()) {
        return None;
    }
    Some(
        items
            .iter()
            .map(|item| mask(item).unwrap_or_else(|| item.to_string()).into())
            .collect(),
    )
}

/// The smallest 13-digit number: below it, an integer cannot be a card number.
pub(super) const MIN_PAN: u64 = 1_000_000_000_000;

fn mask_integer(i: i64) -> Option<String> {
    // Fewer than 13 digits cannot be a card number; most integers stop here.
    if i.unsigned_abs() < MIN_PAN {
        return None;
    }
    let digits = i.unsigned_abs().to_string();
    if digits.len() < 13 {
        return None;
    }
    let masked = mask_card_numbers(&digits)?;
    Some(if i < 0 { format!("-{masked}") } else { masked })
}

fn mask_float(f: f64) -> Option<String> {
    // Only integral floats can carry a PAN; 1e12..1e20 covers 13–19 digits.
    if !f.is_finite() || f.fract() != 0.0 || f.abs() < 1e12 || f.abs() >= 1e20 {
        return None;
    }
    mask_integer(f as i64).or_else(|| mask_card_numbers(&format!("{:.0}", f.abs())))
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

/// Masks every card number in `text`; `None` when there is none. Callers only reach it
/// for text with at least [`MIN_PAN_DIGITS`] digits (the string prefilter, integers of
/// 13+ digits), so it does not count them again.
pub(crate) fn mask_card_numbers(text: &str) -> Option<String> {
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
        // A run: digits, with at most one space or dash between two digits.
        positions.clear();
        digits.clear();
        let mut has_separators = false;
        let mut j = i;
        while j < bytes.len() {
            if bytes[j].is_ascii_digit() {
                positions.push(j);
                digits.push(bytes[j]);
                j += 1;
            } else if (bytes[j] == b' ' || bytes[j] == b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
            {
                has_separators = true;
                j += 1;
            } else {
                break;
            }
        }
        any |= mask_run(&digits, &positions, has_separators, &mut mask);
        i = j;
    }
    if !any {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (idx, ch) in text.char_indices() {
        out.push(if mask.get(idx).copied().unwrap_or(false) {
            '*'
        } else {
            ch
        });
    }
    Some(out)
}

fn mask_run(digits: &[u8], positions: &[usize], has_separators: bool, mask: &mut [bool]) -> bool {
    let n = digits.len();
    if n < 13 {
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
            for len in 13..=19.min(n - start) {
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

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Masks the local part of every email address in `text`.
pub(crate) fn mask_emails(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'@') {
        return None;
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'@') {
        let mut start = at;
        while start > 0 && is_local_char(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain_char(bytes[end]) {
            end += 1;
        }
        let domain = &text[at + 1..end];
        let has_tld = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
        });
        let local = &text[start..at];
        if start < at && has_tld && local != "***" {
            ranges.push((start, at));
        }
    }
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str("***");
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
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
    fn denied_keys_match_segments_in_any_case_and_namespace() {
        let policy = RedactionPolicy::default();
        for key in [
            "cvv",
            "payment.CVV",
            "card.cvc",
            "cvv2",
            "payment.cid",
            "csc",
            "security_code",
            "payment.security-code",
            "pin",
            "pin_block",
            "track1",
            "track2",
            "card_number",
            "payment.card_number",
            "pan",
            "user.password",
            "db_password",
            "client_secret",
            "secret",
            "token",
            "payment.token",
            "http.auth_token",
            "x.access-token",
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
        ] {
            assert!(!policy.is_denied_key(key), "{key} should be allowed");
        }
        let policy = policy.deny_key("IBAN");
        assert!(policy.is_denied_key("payment.iban"));
    }

    #[test]
    fn denied_key_values_are_replaced_whatever_their_type() {
        let policy = RedactionPolicy::default();
        let mut v = Value::I64(123);
        assert!(policy.redact_value("payment.cvv", &mut v));
        assert_eq!(v, Value::String(DENIED_VALUE.into()));
        let mut v = Value::Bool(true);
        assert!(policy.redact_value("pin", &mut v));
        assert_eq!(v, Value::String(DENIED_VALUE.into()));
    }

    #[test]
    fn allowed_keys_skip_scanning() {
        let policy = RedactionPolicy::default().allow_key("booking.raw_ref");
        let mut v = Value::String("4111111111111111".into());
        assert!(!policy.redact_value("booking.raw_ref", &mut v));
        assert!(policy.redact_value("booking.other", &mut v));
    }

    #[test]
    fn emails_are_masked_unless_disabled() {
        let policy = RedactionPolicy::default();
        assert_eq!(
            policy
                .redact_str("guest ada.l@example.co.uk booked")
                .unwrap(),
            "guest ***@example.co.uk booked"
        );
        assert_eq!(policy.redact_str("user@localhost"), None);
        let policy = policy.mask_emails(false);
        assert_eq!(policy.redact_str("ada@example.com"), None);
    }

    #[test]
    fn rules_are_reported() {
        let policy = RedactionPolicy::default();
        let mut seen = Vec::new();
        let out = policy.redact_str_with("4111111111111111 ada@example.com", &mut |r| seen.push(r));
        assert_eq!(out.unwrap(), "************1111 ***@example.com");
        assert_eq!(seen, vec![RedactionRule::CardNumber, RedactionRule::Email]);
    }
}
