//! [`Sensitive<T>`] for personal data, and keyed [`Fingerprint`]s.

use std::fmt;

use hmac::{Hmac, Mac};
use opentelemetry::Value;
use sha2::Sha256;

use crate::value::StepValue;

use super::MASK;

/// Personal data in a booking (guest name, email, phone, passport or ID number, date of
/// birth): displayed, debugged and recorded as [`MASK`], never raw.
///
/// To correlate the same value across traces, record its keyed
/// [`fingerprint`](Sensitive::fingerprint) instead.
///
/// ```
/// use booking_otel::{FingerprintKey, Sensitive, StepValue};
/// let email = Sensitive::new("ada@example.com".to_string());
/// assert_eq!(format!("{email} {email:?}"), "[REDACTED] Sensitive([REDACTED])");
/// assert_eq!(email.expose(), "ada@example.com");
///
/// let key = FingerprintKey::new(b"application secret, 16+ bytes").unwrap();
/// let fp = email.fingerprint(&key);
/// assert_eq!(fp, Sensitive::new("ada@example.com").fingerprint(&key));
/// assert!(fp.to_string().starts_with("fp:"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The raw value, for the business logic that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the raw value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsRef<[u8]>> Sensitive<T> {
    /// A keyed fingerprint of the value, safe to record.
    pub fn fingerprint(&self, key: &FingerprintKey) -> Fingerprint {
        key.fingerprint(self.0.as_ref())
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sensitive({MASK})")
    }
}

impl<T> StepValue for Sensitive<T> {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(MASK.into()))
    }
}

/// Why a [`FingerprintKey`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a fingerprint key needs at least 16 bytes, got {0}")]
pub struct FingerprintKeyError(pub usize);

/// The application's secret key for [`Fingerprint`]s (HMAC-SHA256). Load it from your
/// secret store; anyone holding it can test guesses against fingerprints.
#[derive(Clone)]
pub struct FingerprintKey(Hmac<Sha256>);

impl FingerprintKey {
    /// A key from at least 16 bytes of secret material.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, FingerprintKeyError> {
        let secret = secret.as_ref();
        if secret.len() < 16 {
            return Err(FingerprintKeyError(secret.len()));
        }
        Hmac::<Sha256>::new_from_slice(secret)
            .map(FingerprintKey)
            .map_err(|_| FingerprintKeyError(secret.len()))
    }

    pub(crate) fn fingerprint(&self, data: &[u8]) -> Fingerprint {
        let mut mac = self.0.clone();
        mac.update(data);
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Fingerprint(bytes)
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(***)")
    }
}

/// A keyed fingerprint (the first 128 bits of an HMAC-SHA256), shown as `fp:` and 32 hex
/// digits. Recordable.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 16]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fp:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl StepValue for Fingerprint {
    fn to_step_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CardNumber;

    #[test]
    fn same_key_same_fingerprint_different_key_different_fingerprint() {
        let card = CardNumber::parse("4111111111111111").unwrap();
        let k1 = FingerprintKey::new([7u8; 32]).unwrap();
        let k2 = FingerprintKey::new([8u8; 32]).unwrap();
        assert_eq!(card.fingerprint(&k1), card.fingerprint(&k1));
        assert_ne!(card.fingerprint(&k1), card.fingerprint(&k2));
        let other = CardNumber::parse("5555555555554444").unwrap();
        assert_ne!(card.fingerprint(&k1), other.fingerprint(&k1));
        let shown = card.fingerprint(&k1).to_string();
        assert_eq!(shown.len(), 3 + 32);
        assert!(!shown.contains("4111111111111111"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            FingerprintKey::new(b"short").unwrap_err(),
            FingerprintKeyError(5)
        );
        assert_eq!(
            format!("{:?}", FingerprintKey::new([1u8; 16]).unwrap()),
            "FingerprintKey(***)"
        );
    }

    #[test]
    fn sensitive_values_record_only_the_mask() {
        let passport = Sensitive::new("X1234567");
        assert_eq!(
            (&passport).into_step_value(),
            Some(Value::String(MASK.into()))
        );
        assert_eq!(format!("{passport}"), MASK);
        assert!(!format!("{passport:?}").contains("X123"));
    }
}
