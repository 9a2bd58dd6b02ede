//! [`Headers`] and [`HeadersMut`]: the two small traits a header type implements to
//! carry a trace, and their implementations for maps and lists of pairs.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use opentelemetry::propagation::{Extractor, Injector};

/// Headers a trace context can be read from: HTTP headers, Kafka or AMQP message
/// headers, a map of strings.
///
/// Values are bytes, so that a header that is not UTF-8 is seen (and counted, see
/// [bad input](super#bad-input)) rather than silently missing. Implemented for
/// `HashMap` and `BTreeMap` with string keys and `String`, `&str`, `Vec<u8>` or `&[u8]`
/// values, and for `Vec`s, slices and arrays of `(key, value)` pairs
/// (`Vec<(String, Vec<u8>)>` is the shape of Kafka headers). Names are matched ignoring
/// ASCII case, as the W3C specifications require; a list with several values for one
/// name gives the first.
///
/// Your own header type takes a few lines; wrap it in a newtype, since neither this
/// trait nor a broker client's type is defined in your crate. For `http::HeaderMap`:
///
/// ```text
/// struct HttpHeaders<'a>(&'a http::HeaderMap);
/// impl Headers for HttpHeaders<'_> {
///     fn header(&self, name: &str) -> Option<&[u8]> {
///         self.0.get(name).map(|value| value.as_bytes())
///     }
///     fn header_names(&self) -> Vec<&str> {
///         self.0.keys().map(|name| name.as_str()).collect()
///     }
/// }
/// ```
///
/// The [module docs](super#your-own-header-type) show complete ones for rdkafka and
/// lapin.
pub trait Headers {
    /// The value of header `name` as raw bytes; `name` is lowercase, match it ignoring
    /// ASCII case. With several values for one name, the first.
    fn header(&self, name: &str) -> Option<&[u8]>;

    /// Every header name present. Only propagators that look for names with a prefix
    /// (Jaeger's `uberctx-`) use it; the W3C ones do not, hence the empty default.
    fn header_names(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// Headers a trace context can be written to. [`inject_into`](super::inject_into)
/// never writes an empty value.
///
/// Implemented for `HashMap<String, V>`, `BTreeMap<String, V>` and `Vec<(String, V)>`
/// where `V` is `String` or `Vec<u8>` (anything `From<String>`).
pub trait HeadersMut {
    /// Sets header `name` (lowercase) to `value`, replacing any value it had. Values
    /// are ASCII text (`traceparent`, `tracestate`, percent-encoded `baggage`); write
    /// their bytes if the header type stores bytes.
    fn set_header(&mut self, name: &str, value: String);
}

impl<T: Headers + ?Sized> Headers for &T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
    fn header_names(&self) -> Vec<&str> {
        (**self).header_names()
    }
}

impl<T: Headers + ?Sized> Headers for &mut T {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
    fn header_names(&self) -> Vec<&str> {
        (**self).header_names()
    }
}

impl<T: HeadersMut + ?Sized> HeadersMut for &mut T {
    fn set_header(&mut self, name: &str, value: String) {
        (**self).set_header(name, value);
    }
}

impl<K, V, S> Headers for HashMap<K, V, S>
where
    K: Borrow<str> + Hash + Eq,
    V: AsRef<[u8]>,
    S: BuildHasher,
{
    fn header(&self, name: &str) -> Option<&[u8]> {
        match self.get(name) {
            Some(value) => Some(value.as_ref()),
            None => find_ignoring_case(self.iter(), name),
        }
    }
    fn header_names(&self) -> Vec<&str> {
        self.keys().map(Borrow::borrow).collect()
    }
}

impl<K, V> Headers for BTreeMap<K, V>
where
    K: Borrow<str> + Ord,
    V: AsRef<[u8]>,
{
    fn header(&self, name: &str) -> Option<&[u8]> {
        match self.get(name) {
            Some(value) => Some(value.as_ref()),
            None => find_ignoring_case(self.iter(), name),
        }
    }
    fn header_names(&self) -> Vec<&str> {
        self.keys().map(Borrow::borrow).collect()
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }
    fn header_names(&self) -> Vec<&str> {
        self.iter().map(|(key, _)| key.as_ref()).collect()
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
    fn header_names(&self) -> Vec<&str> {
        self.as_slice().header_names()
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
    fn header_names(&self) -> Vec<&str> {
        self.as_slice().header_names()
    }
}

fn find_ignoring_case<'a, K, V>(
    mut entries: impl Iterator<Item = (&'a K, &'a V)>,
    name: &str,
) -> Option<&'a [u8]>
where
    K: Borrow<str> + 'a,
    V: AsRef<[u8]> + 'a,
{
    entries
        .find(|(key, _)| (*key).borrow().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_ref())
}

impl<V: From<String>, S: BuildHasher> HeadersMut for HashMap<String, V, S> {
    fn set_header(&mut self, name: &str, value: String) {
        if !self.contains_key(name) {
            self.retain(|key, _| !key.eq_ignore_ascii_case(name));
        }
        self.insert(name.to_owned(), V::from(value));
    }
}

impl<V: From<String>> HeadersMut for BTreeMap<String, V> {
    fn set_header(&mut self, name: &str, value: String) {
        if !self.contains_key(name) {
            self.retain(|key, _| !key.eq_ignore_ascii_case(name));
        }
        self.insert(name.to_owned(), V::from(value));
    }
}

impl<V: From<String>> HeadersMut for Vec<(String, V)> {
    fn set_header(&mut self, name: &str, value: String) {
        self.retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        self.push((name.to_owned(), V::from(value)));
    }
}

/// Any OpenTelemetry [`Extractor`] seen as [`Headers`] (its values are already UTF-8),
/// so that [`extract`](super::extract) validates and counts like
/// [`extract_from`](super::extract_from).
pub(crate) struct ExtractorHeaders<'a>(pub(crate) &'a dyn Extractor);

impl Headers for ExtractorHeaders<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(str::as_bytes)
    }
    fn header_names(&self) -> Vec<&str> {
        self.0.keys()
    }
}

/// [`HeadersMut`] seen as an OpenTelemetry [`Injector`], skipping empty values: the W3C
/// propagator injects an empty `tracestate`, which some brokers and proxies reject.
pub(crate) struct NonEmpty<'a, H: ?Sized>(pub(crate) &'a mut H);

impl<H: HeadersMut + ?Sized> Injector for NonEmpty<'_, H> {
    fn set(&mut self, key: &str, value: String) {
        if !value.is_empty() {
            self.0.set_header(key, value);
        }
    }
}

/// Any OpenTelemetry [`Injector`] seen as [`HeadersMut`], for [`inject`](super::inject).
pub(crate) struct InjectorHeaders<'a>(pub(crate) &'a mut dyn Injector);

impl HeadersMut for InjectorHeaders<'_> {
    fn set_header(&mut self, name: &str, value: String) {
        self.0.set(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_case_and_the_first_value_wins() {
        let list = vec![
            ("TraceParent".to_string(), b"a".to_vec()),
            ("traceparent".to_string(), b"b".to_vec()),
        ];
        assert_eq!(list.header("traceparent"), Some(&b"a"[..]));

        let map: HashMap<&str, &str> = HashMap::from([("Baggage", "k=v")]);
        assert_eq!(map.header("baggage"), Some(&b"k=v"[..]));
        assert_eq!(map.header("tracestate"), None);

        let map: BTreeMap<String, Vec<u8>> = BTreeMap::from([("BAGGAGE".into(), vec![0xff])]);
        assert_eq!(map.header("baggage"), Some(&[0xff][..]));
    }

    #[test]
    fn setting_replaces_every_spelling_of_the_name() {
        let mut list: Vec<(String, Vec<u8>)> = vec![
            ("TraceParent".into(), b"old".to_vec()),
            ("other".into(), b"x".to_vec()),
        ];
        list.set_header("traceparent", "new".into());
        assert_eq!(
            list,
            [
                ("other".to_string(), b"x".to_vec()),
                ("traceparent".to_string(), b"new".to_vec())
            ]
        );

        let mut map: HashMap<String, String> =
            HashMap::from([("TRACEPARENT".into(), "old".into())]);
        map.set_header("traceparent", "new".into());
        assert_eq!(map.len(), 1);
        assert_eq!(map["traceparent"], "new");
    }
}
