//! [`http::HeaderMap`] as a propagation carrier.

use ::http::HeaderMap;
use ::http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector};

/// Writes propagation fields into an [`http::HeaderMap`](::http::HeaderMap), for
/// [`propagation::inject`](crate::propagation::inject).
///
/// A field whose name or value is not a valid header, or whose value is empty, is
/// skipped: nothing here panics, and no empty header is sent. A field already present
/// is replaced.
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            return;
        };
        self.0.insert(name, value);
    }
}

/// Reads propagation fields from an [`http::HeaderMap`](::http::HeaderMap), for
/// [`propagation::extract`](crate::propagation::extract).
///
/// A value that is not visible ASCII (non-UTF-8 bytes, control characters) reads as
/// absent: the request starts a fresh trace instead of failing.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes the current trace context (and baggage) into `headers`: the one line for an
/// HTTP client that is not tower-based.
///
/// With reqwest (not a dependency of this crate; reqwest 0.12 uses `http` 1.x):
///
/// ```ignore
/// let mut request = client.post(url).json(&payment).build()?;
/// booking_otel::http::inject_current_into(request.headers_mut());
/// let response = client.execute(request).await?;
/// ```
pub fn inject_current_into(headers: &mut HeaderMap) {
    crate::propagation::inject_current(&mut HeaderInjector(headers));
}

/// The current trace context (and baggage) as headers, to add to any request.
///
/// With reqwest (not a dependency of this crate; reqwest 0.12 uses `http` 1.x):
///
/// ```ignore
/// let response = client
///     .post(url)
///     .headers(booking_otel::http::current_trace_headers())
///     .json(&payment)
///     .send()
///     .await?;
/// ```
///
/// Empty (no header at all) when no trace is current or no propagator is installed.
///
/// ```
/// use booking_otel::http::current_trace_headers;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use opentelemetry::Context;
///
/// opentelemetry::global::set_text_map_propagator(
///     opentelemetry_sdk::propagation::TraceContextPropagator::new(),
/// );
/// assert!(current_trace_headers().is_empty());
///
/// let sc = SpanContext::new(TraceId::from(7_u128), SpanId::from(9_u64), TraceFlags::SAMPLED, false, TraceState::NONE);
/// let _active = Context::new().with_remote_span_context(sc).attach();
/// let headers = current_trace_headers();
/// assert_eq!(
///     headers["traceparent"],
///     "00-00000000000000000000000000000007-0000000000000009-01"
/// );
/// assert!(headers.get("tracestate").is_none(), "empty values are not sent");
/// ```
pub fn current_trace_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    inject_current_into(&mut headers);
    headers
}

/// The trace context (and baggage) in `headers`, on top of the current context: for a
/// server that is not tower-based. Attach it before the first step of the request.
/// Malformed and non-UTF-8 values start a fresh trace and are counted (see
/// [`propagation`](crate::propagation)).
pub fn extract_from(headers: &HeaderMap) -> Context {
    crate::propagation::extract_from(headers)
}

/// `http::HeaderMap` as a [`Headers`](crate::propagation::Headers) carrier: raw bytes,
/// so a value that is not UTF-8 is seen (and counted) rather than read as absent.
impl crate::propagation::Headers for HeaderMap {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(|value| value.as_bytes())
    }

    fn header_names(&self) -> Vec<&str> {
        self.keys().map(|name| name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_values_and_empty_values_are_skipped() {
        let mut headers = HeaderMap::new();
        let mut injector = HeaderInjector(&mut headers);
        injector.set("traceparent", "00-abc".into());
        injector.set("tracestate", String::new());
        injector.set("bad name", "v".into());
        injector.set("baggage", "a=b\nc".into());
        assert_eq!(headers.len(), 1);
        assert_eq!(headers["traceparent"], "00-abc");
    }

    #[test]
    fn non_utf8_values_read_as_absent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_bytes(b"00-\xff\xfe").unwrap(),
        );
        headers.append("baggage", HeaderValue::from_static("a=1"));
        headers.append("baggage", HeaderValue::from_bytes(b"\xffb=2").unwrap());
        let extractor = HeaderExtractor(&headers);
        assert_eq!(extractor.get("traceparent"), None);
        assert_eq!(extractor.get_all("baggage"), Some(vec!["a=1"]));
        assert_eq!(extractor.get_all("tracestate"), None);
        let mut keys = extractor.keys();
        keys.sort_unstable();
        assert_eq!(keys, ["baggage", "traceparent"]);
    }
}
