//! The redaction guard: no card number, CVV or other secret leaves the process.
//!
//! PCI DSS counts logs and traces as storage: a card number may appear at most as its
//! last four digits, and card verification codes, PINs and track data never. Two layers
//! enforce it:
//!
//! 1. **Types** make the safe thing the easy thing: [`CardNumber`] records only brand +
//!    last four, [`Cvv`] and [`Pin`] cannot be recorded at all (compile error),
//!    [`Sensitive`] records a mask or a keyed [`Fingerprint`].
//! 2. **The export-side scanner** ([`RedactingSpanProcessor`], feature `sdk`) inspects
//!    everything exported, including spans made by other libraries, with a
//!    [`RedactionPolicy`].

mod card;
#[cfg(feature = "sdk")]
mod guard;
mod scanner;
mod sensitive;
// Used only by the span guard, which the `sdk` feature builds.
#[cfg_attr(not(feature = "sdk"), allow(dead_code))]
mod thread_cache;
mod words;

pub use card::{CardBrand, CardDataError, CardNumber, Cvv, Pin};
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub use guard::RedactingSpanProcessor;
pub use scanner::{DEFAULT_DENIED_KEYS, DENIED_VALUE, RedactionPolicy, RedactionRule};
pub use sensitive::{Fingerprint, FingerprintKey, FingerprintKeyError, MASK, Sensitive};
