//! Redaction: no card number, CVV or other secret leaves the process.
//!
//! PCI DSS counts logs and traces as storage: a card number may appear at most as its
//! last four digits, and card verification codes, PINs and track data never. Two layers
//! enforce it:
//!
//! 1. **Types** make the safe thing the easy thing: [`CardNumber`] records only brand +
//!    last four, [`Cvv`] and [`Pin`] cannot be recorded at all (compile error),
//!    [`Sensitive`] records a mask or a keyed [`Fingerprint`].
//! 2. **The export-side scanner**, [`RedactingExporter`] (feature `sdk`), applies a
//!    [`RedactionPolicy`] to everything exported, including spans made by other
//!    libraries and the resource.
//!
//! # Where it runs
//!
//! ```text
//!  booking thread                         │ export thread (BatchProcessor)
//!                                         │
//!  #[booking_step] / Step / tower layers  │
//!    build the span, set attributes       │
//!  span.end()                             │
//!    └─ BatchProcessor::on_end ──────── queue ──▶ RedactingExporter::export(batch)
//!       (one queue push, nothing else)    │        ├─ mask keys and values (policy)
//!                                         │        ├─ cut values to the length limit
//!                                         │        └─▶ OTLP / console / in-memory exporter
//!  set_resource (once) ─────────────────────────▶ resource masked the same way
//! ```
//!
//! The booking thread does not pay for scanning: spans wait unredacted in the batch
//! queue, in process memory, until the next export (at most the export interval, 1 s
//! by default in [`batch`](crate::batch)). A span processor registered beside the
//! batch processor sees spans unredacted; put every exporter behind a
//! [`RedactingExporter`] ([`setup`](crate::setup) does).
//!
//! # Files
//!
//! [`policy`](RedactionPolicy) decides (keys in `keys.rs`; values in `pan.rs`,
//! `verification_code.rs`, `iban.rs`, `email.rs`); `span.rs` applies it to the SDK's
//! span data and resource; `exporter.rs` is the [`RedactingExporter`]; `log.rs` applies
//! the same policy to log records (feature `logs`), in `RedactingLogExporter`, on the
//! batch log processor's export thread as for spans.

mod card;
mod email;
#[cfg(feature = "sdk")]
mod exporter;
mod iban;
mod keys;
#[cfg(feature = "logs")]
mod log;
mod pan;
mod policy;
mod sensitive;
#[cfg(feature = "sdk")]
mod span;
mod verification_code;

/// What a masked value becomes: a [`Sensitive`] value, a denied key's value, track data.
pub const MASK: &str = "[REDACTED]";

/// `text` with each of `ranges` (byte ranges, in order, not overlapping) replaced by
/// `with`; `None` when there are none.
fn replace_ranges(text: &str, ranges: &[(usize, usize)], with: &str) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &(start, end) in ranges {
        out.push_str(&text[last..start]);
        out.push_str(with);
        last = end;
    }
    out.push_str(&text[last..]);
    Some(out)
}

pub use card::{CardBrand, CardDataError, CardNumber, Cvv, Pin};
#[cfg(feature = "sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "sdk")))]
pub use exporter::RedactingExporter;
pub use keys::DEFAULT_DENIED_KEYS;
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub use log::RedactingLogExporter;
pub use policy::{RedactionPolicy, RedactionRule};
pub use sensitive::{Fingerprint, FingerprintKey, FingerprintKeyError, Sensitive};
