//! Checks incoming `traceparent`, `tracestate` and `baggage` headers against the W3C
//! specifications before the propagator sees them, and counts what it ignores.
//!
//! The common valid path allocates nothing: a `traceparent` is 55 bytes compared
//! against a fixed layout, a plain `baggage` header (`key=value` members, no properties,
//! white space or percent-encoding) one pass. Other baggage is checked member by
//! member (percent-encoded text is decoded to check it is UTF-8). Only a header that is
//! cut, or a `traceparent` of a future version, is rewritten.

use std::borrow::Cow;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Meter};
use opentelemetry::propagation::Extractor;

use super::carrier::Headers;
use crate::conventions::{attribute, metric};
use crate::metrics::{GLOBAL_STEP_INSTRUMENTS, StepInstruments};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const BAGGAGE: &str = "baggage";

/// The longest `baggage` header read, in bytes (W3C Baggage, "Limits": a platform must
/// propagate at least 8192 bytes). A longer one is ignored whole.
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// The most `baggage` entries kept (W3C Baggage, "Limits": at least 64; OpenTelemetry's
/// `Baggage` holds no more). Entries past it are dropped, the first ones kept.
pub const MAX_BAGGAGE_ENTRIES: usize = 64;

/// The longest `tracestate` header read, in bytes: 32 entries (the W3C maximum) of a
/// 256-character key, `=` and a 256-character value, and the commas between them. A
/// longer one is ignored whole.
pub const MAX_TRACESTATE_BYTES: usize = 32 * (256 + 1 + 256) + 31;

/// The most `tracestate` entries a valid header has (W3C Trace Context).
const MAX_TRACESTATE_ENTRIES: usize = 32;

/// Why an incoming header was ignored, wholly or in part: the `booking_otel.propagation.reason`
/// attribute of the `booking_otel.propagation.rejected_headers` counter. See
/// [bad input](super#bad-input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// `traceparent` does not have the W3C layout: wrong length, missing dashes,
    /// characters other than lowercase hex, anything after the flags of a version-00
    /// header. A fresh trace starts.
    TraceparentMalformed,
    /// `traceparent` has version `ff`, which the specification forbids. A fresh trace
    /// starts. (Other unknown versions are read as version 00 when their first fields
    /// have its layout, as the specification asks.)
    TraceparentVersion,
    /// `traceparent`'s trace id is all zeros. A fresh trace starts.
    TraceIdZero,
    /// `traceparent`'s parent (span) id is all zeros. A fresh trace starts.
    SpanIdZero,
    /// `tracestate` is malformed, has more than 32 entries or repeats a key, or is longer
    /// than [`MAX_TRACESTATE_BYTES`]: it is dropped, the trace continues.
    TracestateMalformed,
    /// `baggage` is longer than [`MAX_BAGGAGE_BYTES`] (dropped whole) or has more than
    /// [`MAX_BAGGAGE_ENTRIES`] valid entries (the first ones are kept).
    BaggageOversized,
    /// Some `baggage` entries are malformed (not `key=value` with a token key and
    /// baggage characters, or percent-encoding that is not UTF-8): those entries are
    /// dropped, the others kept.
    BaggageMalformed,
    /// A `traceparent`, `tracestate` or `baggage` value is not UTF-8: it is ignored.
    NonUtf8,
}

impl Rejection {
    /// Every reason, in documentation order.
    pub const ALL: [Rejection; 8] = [
        Rejection::TraceparentMalformed,
        Rejection::TraceparentVersion,
        Rejection::TraceIdZero,
        Rejection::SpanIdZero,
        Rejection::TracestateMalformed,
        Rejection::BaggageOversized,
        Rejection::BaggageMalformed,
        Rejection::NonUtf8,
    ];

    /// The metric attribute value, e.g. `traceparent_malformed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rejection::TraceparentMalformed => "traceparent_malformed",
            Rejection::TraceparentVersion => "traceparent_version",
            Rejection::TraceIdZero => "trace_id_zero",
            Rejection::SpanIdZero => "span_id_zero",
            Rejection::TracestateMalformed => "tracestate_malformed",
            Rejection::BaggageOversized => "baggage_oversized",
            Rejection::BaggageMalformed => "baggage_malformed",
            Rejection::NonUtf8 => "non_utf8",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `booking_otel.propagation.rejected_headers` on `meter`.
pub(crate) fn rejected_headers_counter(meter: &Meter) -> Counter<u64> {
    meter
        .u64_counter(metric::PROPAGATION_REJECTED_HEADERS)
        .with_unit("{header}")
        .with_description(
            "Incoming trace context and baggage headers ignored, wholly or in part, by reason.",
        )
        .build()
}

/// Counts `rejections` on the meter of the telemetry current here (the installed one,
/// or the test kit's), else on the global meter.
#[cold]
#[inline(never)]
fn count(rejections: &[Rejection]) {
    let record = |counter: &Counter<u64>| {
        for reason in rejections {
            counter.add(
                1,
                &[KeyValue::new(
                    attribute::PROPAGATION_REASON,
                    reason.as_str(),
                )],
            );
        }
    };
    let telemetry = crate::telemetry::current();
    match telemetry.as_ref().and_then(|t| t.instruments()) {
        Some(instruments) => record(instruments.rejected_headers()),
        // The step instruments of the global meter provider, made once per installed
        // provider: malformed headers can come in floods.
        None => record(
            GLOBAL_STEP_INSTRUMENTS
                .get_or_make(StepInstruments::new)
                .rejected_headers(),
        ),
    }
}

/// A carrier as the propagator sees it: its three W3C headers checked (`tracestate`
/// only with a valid `traceparent`), cut or left out as the checks say; other headers
/// as they are (UTF-8 only), for other propagators.
pub(crate) struct Checked<'a, H: ?Sized> {
    headers: &'a H,
    traceparent: Option<Cow<'a, str>>,
    tracestate: Option<&'a str>,
    baggage: Option<Cow<'a, str>>,
}

impl<'a, H: Headers + ?Sized> Checked<'a, H> {
    /// Reads and checks `headers`, and counts what is rejected.
    pub(crate) fn new(headers: &'a H) -> Self {
        let mut rejections = [None; 3];
        let (traceparent, tracestate) = match headers.header(TRACEPARENT).map(check_traceparent) {
            None | Some(Ok(None)) => (None, None),
            Some(Err(reason)) => {
                // W3C: a vendor that failed to parse traceparent must not parse tracestate.
                rejections[0] = Some(reason);
                (None, None)
            }
            Some(Ok(Some(traceparent))) => {
                let tracestate = match headers.header(TRACESTATE).map(check_tracestate) {
                    None => None,
                    Some(Ok(tracestate)) => tracestate,
                    Some(Err(reason)) => {
                        rejections[1] = Some(reason);
                        None
                    }
                };
                (Some(traceparent), tracestate)
            }
        };
        let baggage = match headers.header(BAGGAGE).map(check_baggage) {
            None => None,
            Some((baggage, reason)) => {
                rejections[2] = reason;
                baggage
            }
        };
        if rejections.iter().any(Option::is_some) {
            let reasons: Vec<Rejection> = rejections.iter().flatten().copied().collect();
            count(&reasons);
        }
        Checked {
            headers,
            traceparent,
            tracestate,
            baggage,
        }
    }
}

impl<H: Headers + ?Sized> Extractor for Checked<'_, H> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case(TRACEPARENT) {
            self.traceparent.as_deref()
        } else if key.eq_ignore_ascii_case(TRACESTATE) {
            self.tracestate
        } else if key.eq_ignore_ascii_case(BAGGAGE) {
            self.baggage.as_deref()
        } else {
            self.headers
                .header(key)
                .and_then(|value| std::str::from_utf8(value).ok())
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.headers.header_names()
    }
}

/// Optional white space around a header value or a list member (RFC 7230: space, tab).
fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

fn utf8(value: &[u8]) -> Result<&str, Rejection> {
    std::str::from_utf8(value).map_err(|_| Rejection::NonUtf8)
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    all_in(&LOWER_HEX, bytes)
}

/// A `traceparent` value: `Ok(None)` when empty, else the value the W3C propagator
/// reads as this header's context (the header itself for version 00).
///
/// Versions other than 00 and `ff` are read as the specification's "Versioning of
/// traceparent" asks: at least 55 characters, the version-00 fields in place, and the
/// flags followed by the end or a dash; they are rewritten as version 00.
fn check_traceparent(raw: &[u8]) -> Result<Option<Cow<'_, str>>, Rejection> {
    let value = trim_ows(raw);
    if value.is_empty() {
        return Ok(None);
    }
    let value = utf8(value)?;
    let bytes = value.as_bytes();
    let malformed = Err(Rejection::TraceparentMalformed);
    if bytes.len() < 55 || !is_lower_hex(&bytes[..2]) || bytes[2] != b'-' {
        return malformed;
    }
    let version = &bytes[..2];
    if version == b"ff" {
        return Err(Rejection::TraceparentVersion);
    }
    let layout = is_lower_hex(&bytes[3..35])
        && bytes[35] == b'-'
        && is_lower_hex(&bytes[36..52])
        && bytes[52] == b'-'
        && is_lower_hex(&bytes[53..55]);
    let end = if version == b"00" {
        bytes.len() == 55
    } else {
        bytes.len() == 55 || bytes[55] == b'-'
    };
    if !layout || !end {
        return malformed;
    }
    if bytes[3..35].iter().all(|&b| b == b'0') {
        return Err(Rejection::TraceIdZero);
    }
    if bytes[36..52].iter().all(|&b| b == b'0') {
        return Err(Rejection::SpanIdZero);
    }
    Ok(Some(if version == b"00" {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("00-{}", &value[3..55]))
    }))
}

/// A `tracestate` value: `Ok(None)` when empty (which the specification allows).
fn check_tracestate(raw: &[u8]) -> Result<Option<&str>, Rejection> {
    let value = trim_ows(raw);
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > MAX_TRACESTATE_BYTES {
        return Err(Rejection::TracestateMalformed);
    }
    let value = utf8(value)?;
    let mut keys: [&[u8]; MAX_TRACESTATE_ENTRIES] = [&[]; MAX_TRACESTATE_ENTRIES];
    let mut entries = 0;
    for member in value.as_bytes().split(|&b| b == b',') {
        let member = trim_ows(member);
        if member.is_empty() {
            continue;
        }
        let Some(eq) = member.iter().position(|&b| b == b'=') else {
            return Err(Rejection::TracestateMalformed);
        };
        let (key, value) = (&member[..eq], &member[eq + 1..]);
        if entries == MAX_TRACESTATE_ENTRIES
            || !tracestate_key(key)
            || !tracestate_value(value)
            || keys[..entries].contains(&key)
        {
            return Err(Rejection::TracestateMalformed);
        }
        keys[entries] = key;
        entries += 1;
    }
    Ok(Some(value))
}

/// W3C Trace Context: `simple-key` (a lowercase letter or digit, then up to 255 of
/// `a-z 0-9 _ - * /`) or `tenant@system` (tenant up to 241 of those, starting with a
/// letter or digit; system a lowercase letter then up to 13 of them).
fn tracestate_key(key: &[u8]) -> bool {
    let starts_well = |part: &[u8]| {
        part.first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match key.iter().position(|&b| b == b'@') {
        None => key.len() <= 256 && starts_well(key) && all_in(&TRACESTATE_KEYCHAR, key),
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            (1..=241).contains(&tenant.len())
                && starts_well(tenant)
                && all_in(&TRACESTATE_KEYCHAR, tenant)
                && (1..=14).contains(&system.len())
                && system[0].is_ascii_lowercase()
                && all_in(&TRACESTATE_KEYCHAR, system)
        }
    }
}

/// W3C Trace Context: 1 to 256 printable ASCII characters other than `,` and `=`, the
/// last one not a space.
fn tracestate_value(value: &[u8]) -> bool {
    (1..=256).contains(&value.len())
        && all_in(&TRACESTATE_VALUE_CHAR, value)
        && value.last() != Some(&b' ')
}

/// A `baggage` value: what to pass on (`None` when nothing is left) and why part or all
/// of it was dropped.
fn check_baggage(raw: &[u8]) -> (Option<Cow<'_, str>>, Option<Rejection>) {
    let value = trim_ows(raw);
    if value.is_empty() {
        return (None, None);
    }
    if value.len() > MAX_BAGGAGE_BYTES {
        return (None, Some(Rejection::BaggageOversized));
    }
    let value = match utf8(value) {
        Ok(value) => value,
        Err(reason) => return (None, Some(reason)),
    };
    if plain_baggage(value.as_bytes()) {
        return (Some(Cow::Borrowed(value)), None);
    }
    let (mut malformed, mut oversized) = (false, false);
    // While every member is kept, the header is passed on as it is and `kept` stays
    // empty; from the first member dropped, `kept` collects what is passed on.
    let mut whole = true;
    let mut kept: Vec<&str> = Vec::new();
    let mut kept_count = 0;
    let bytes = value.as_bytes();
    let (mut start, mut index) = (0, 0);
    while start <= bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b',')
            .map_or(bytes.len(), |at| start + at);
        // Commas are ASCII: both ends are character boundaries.
        let member = &value[start..end];
        start = end + 1;
        index += 1;
        let trimmed = trim_ows(member.as_bytes());
        let keep = if trimmed.is_empty() {
            // RFC 7230 lists tolerate empty elements; there is nothing to keep.
            false
        } else if !baggage_member(trimmed) {
            malformed = true;
            false
        } else if kept_count == MAX_BAGGAGE_ENTRIES {
            oversized = true;
            false
        } else {
            true
        };
        if keep {
            kept_count += 1;
            if !whole {
                kept.push(member);
            }
        } else if whole {
            whole = false;
            kept = value.split(',').take(index - 1).collect();
        }
    }
    let reason = if malformed {
        Some(Rejection::BaggageMalformed)
    } else if oversized {
        Some(Rejection::BaggageOversized)
    } else {
        None
    };
    let passed = if whole {
        Some(Cow::Borrowed(value))
    } else if kept.is_empty() {
        None
    } else {
        Some(Cow::Owned(kept.join(",")))
    };
    (passed, reason)
}

/// A byte class as a lookup table: one load per byte on the hot path.
type ByteClass = [bool; 256];

/// The common shape of a `baggage` header, checked in one pass: `key=value` members
/// joined by bare commas, at most [`MAX_BAGGAGE_ENTRIES`] of them, without properties,
/// white space or percent-encoding. Anything else takes the member-by-member path.
fn plain_baggage(bytes: &[u8]) -> bool {
    let (mut i, mut members) = (0, 0);
    loop {
        members += 1;
        let key = i;
        while i < bytes.len() && TCHAR_PLAIN[usize::from(bytes[i])] {
            i += 1;
        }
        if i == key || bytes.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        // `=` is a baggage octet: values may contain it. `,` is not: it ends the member.
        while i < bytes.len() && BAGGAGE_OCTET_PLAIN[usize::from(bytes[i])] {
            i += 1;
        }
        if i == bytes.len() {
            return members <= MAX_BAGGAGE_ENTRIES;
        }
        if bytes[i] != b',' {
            return false;
        }
        i += 1;
    }
}

/// RFC 7230 `tchar`: what a baggage key (a `token`) is made of.
const TCHAR: ByteClass = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    class
};

/// W3C Baggage `baggage-octet`: printable ASCII except space, `"`, `,`, `;` and `\`.
const BAGGAGE_OCTET: ByteClass = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
        b += 1;
    }
    class
};

/// W3C Trace Context key characters: `a-z 0-9 _ - * /`.
const TRACESTATE_KEYCHAR: ByteClass = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] =
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/');
        b += 1;
    }
    class
};

/// Lowercase hexadecimal digits, as `traceparent` fields are written.
const LOWER_HEX: ByteClass = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = c.is_ascii_digit() || matches!(c, b'a'..=b'f');
        b += 1;
    }
    class
};

/// W3C Trace Context value characters: printable ASCII and space, except `,` and `=`.
const TRACESTATE_VALUE_CHAR: ByteClass = {
    let mut class = [false; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = matches!(b, 0x20..=0x7e) && b != b',' as usize && b != b'=' as usize;
        b += 1;
    }
    class
};

/// [`TCHAR`] and [`BAGGAGE_OCTET`] without `%`: a key or value made only of these
/// needs no percent-decoding check.
const TCHAR_PLAIN: ByteClass = without(TCHAR, b'%');
const BAGGAGE_OCTET_PLAIN: ByteClass = without(BAGGAGE_OCTET, b'%');

const fn without(mut class: ByteClass, byte: u8) -> ByteClass {
    class[byte as usize] = false;
    class
}

fn all_in(class: &ByteClass, bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| class[usize::from(b)])
}

/// `key OWS "=" OWS value *( OWS ";" OWS property )`, where the key and the value also
/// percent-decode to UTF-8 (what OpenTelemetry's propagator requires, dropping the
/// entry otherwise).
fn baggage_member(member: &[u8]) -> bool {
    // The common shape first, in one pass: `key=value`, without properties, white
    // space or percent-encoding.
    if let Some(eq) = member.iter().position(|&b| b == b'=') {
        let (key, value) = (&member[..eq], &member[eq + 1..]);
        if !key.is_empty() && all_in(&TCHAR_PLAIN, key) && all_in(&BAGGAGE_OCTET_PLAIN, value) {
            return true;
        }
    }
    let mut parts = member.split(|&b| b == b';');
    let Some(pair) = parts.next() else {
        return false;
    };
    let Some(eq) = pair.iter().position(|&b| b == b'=') else {
        return false;
    };
    let (key, value) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
    let key_ok = !key.is_empty() && all_in(&TCHAR, key);
    let value_ok = all_in(&BAGGAGE_OCTET, value);
    if !(key_ok && value_ok && decodes_to_utf8(key) && decodes_to_utf8(value)) {
        return false;
    }
    parts.all(|property| {
        let property = trim_ows(property);
        if property.is_empty() {
            // `k=v;` is common and harmless.
            return true;
        }
        let (key, value) = match property.iter().position(|&b| b == b'=') {
            Some(eq) => (trim_ows(&property[..eq]), trim_ows(&property[eq + 1..])),
            None => (property, &[][..]),
        };
        !key.is_empty() && all_in(&TCHAR, key) && all_in(&BAGGAGE_OCTET, value)
    })
}

/// Whether `text` (ASCII) percent-decodes to UTF-8. A `%` not followed by two hex
/// digits stays as it is, as OpenTelemetry's propagator leaves it.
fn decodes_to_utf8(text: &[u8]) -> bool {
    if !text.contains(&b'%') {
        return true;
    }
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut decoded = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                text.get(i + 1).copied().and_then(hex),
                text.get(i + 2).copied().and_then(hex),
            )
        {
            decoded.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            decoded.push(text[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_reasons() {
        let check = |v: &str| check_traceparent(v.as_bytes()).map(|o| o.map(Cow::into_owned));
        assert_eq!(check(VALID), Ok(Some(VALID.into())));
        assert_eq!(check(&format!(" {VALID}\t")), Ok(Some(VALID.into())));
        assert_eq!(check(""), Ok(None));
        use Rejection::*;
        for (value, reason) in [
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
                TraceparentMalformed,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
                TraceparentMalformed,
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                TraceparentMalformed,
            ),
            (
                "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                TraceparentMalformed,
            ),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                TraceparentVersion,
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                TraceIdZero,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                SpanIdZero,
            ),
            (
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
                TraceparentMalformed,
            ),
        ] {
            assert_eq!(check(value), Err(reason), "{value}");
        }
        assert_eq!(check_traceparent(&[b'0', 0xff]).map(|_| ()), Err(NonUtf8));
        // A future version with the version-00 prefix is read as version 00.
        for future in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
        ] {
            assert_eq!(check(future), Ok(Some(VALID.into())), "{future}");
        }
    }

    #[test]
    fn tracestate_members() {
        let ok = |v: &str| check_tracestate(v.as_bytes()).is_ok_and(|s| s.is_some());
        assert!(ok("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
        assert!(ok("tenant@vendor=x, ,other=y z"));
        assert!(!ok("Rojo=1"));
        assert!(!ok("rojo"));
        assert!(!ok("rojo=1,rojo=2"));
        assert!(!ok("rojo="));
        assert!(!ok("rojo=a=b"));
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert!(!ok(&many.join(",")));
        assert!(ok(&many[..32].join(",")));
        assert_eq!(check_tracestate(b"  ").unwrap(), None);
    }

    #[test]
    fn baggage_keeps_what_is_valid() {
        let check = |v: &str| {
            let (passed, reason) = check_baggage(v.as_bytes());
            (passed.map(Cow::into_owned), reason)
        };
        assert_eq!(check("a=1,b=2;p;q=r"), (Some("a=1,b=2;p;q=r".into()), None));
        assert_eq!(check("a = 1 , b=2"), (Some("a = 1 , b=2".into()), None));
        assert_eq!(
            check("a=1,bad,c=%FF,d=4"),
            (Some("a=1,d=4".into()), Some(Rejection::BaggageMalformed))
        );
        assert_eq!(check("a=1,,b=2"), (Some("a=1,b=2".into()), None));
        assert_eq!(check("a=x y"), (None, Some(Rejection::BaggageMalformed)));
        assert_eq!(check("a=caf%C3%A9"), (Some("a=caf%C3%A9".into()), None));
        let entries: Vec<String> = (0..70).map(|i| format!("k{i}=v")).collect();
        let (passed, reason) = check(&entries.join(","));
        assert_eq!(reason, Some(Rejection::BaggageOversized));
        assert_eq!(passed.unwrap(), entries[..64].join(","));
        let huge = format!("k={}", "v".repeat(MAX_BAGGAGE_BYTES));
        assert_eq!(check(&huge), (None, Some(Rejection::BaggageOversized)));
        assert_eq!(check_baggage(b"k=\xff").1, Some(Rejection::NonUtf8));
    }
}
