//! URL attributes with secrets removed: `url.query`, `url.full`, `url.path`, and
//! `server.address` / `server.port` from an authority or a `Host` header.
//!
//! Nothing here panics or fails: odd input is recorded as it is (then scanned by the
//! redaction policy) or left out.

use std::borrow::Cow;

use ::http::Uri;

use crate::RedactionPolicy;

/// What a masked query value, and the credentials of a `url.full`, become: the
/// semantic conventions' `REDACTED`.
pub const REDACTED: &str = "REDACTED";

/// Query keys masked when they match exactly (any case): the ones the semantic
/// conventions name for `url.query`, and a few of their kind. Keys matched by words
/// (`card`, `token`, `password`, the policy's denied keys) are in
/// [`query_policy`].
const EXACT_SENSITIVE_KEYS: &[&str] = &[
    "AWSAccessKeyId",
    "Signature",
    "sig",
    "X-Goog-Signature",
    "X-Goog-Credential",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "code",
    "cc",
    "ccv",
];

/// The policy used on query keys and values: `policy`, also denying keys with the
/// words `card`, `cvv`, `token`, `password`, `signature`, `otp`.
pub(crate) fn query_policy(policy: RedactionPolicy) -> RedactionPolicy {
    ["card", "cvv", "token", "password", "signature", "otp"]
        .into_iter()
        .fold(policy, RedactionPolicy::deny_key)
}

fn is_sensitive_key(key: &str, policy: &RedactionPolicy) -> bool {
    EXACT_SENSITIVE_KEYS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
        || policy.is_denied_key(key)
}

/// `query` with the value of each sensitive parameter replaced by [`REDACTED`]: a
/// parameter is sensitive when its (percent-decoded) key is denied by `policy` or one
/// of the conventions' signature keys, or when `policy` would change its decoded value
/// (a card number, an email, `cvv 123`). A bare parameter (`?4111…`) that `policy`
/// would change is replaced whole. Borrowed when nothing is masked.
pub fn mask_query<'q>(query: &'q str, policy: &RedactionPolicy) -> Cow<'q, str> {
    let mut masked: Option<String> = None;
    let mut start = 0;
    for (index, pair) in query.split('&').enumerate() {
        let pair_start = start;
        start += pair.len() + 1;
        let replacement = match pair.split_once('=') {
            Some((key, value)) => {
                let sensitive = !value.is_empty()
                    && (is_sensitive_key(&percent_decode(key), policy)
                        || policy.redact_str(&percent_decode(value)).is_some());
                sensitive.then(|| format!("{key}={REDACTED}"))
            }
            None => policy
                .redact_str(&percent_decode(pair))
                .map(|_| REDACTED.to_owned()),
        };
        match (replacement, &mut masked) {
            (Some(replacement), Some(out)) => {
                out.push('&');
                out.push_str(&replacement);
            }
            (Some(replacement), None) => {
                let mut out = String::with_capacity(query.len());
                out.push_str(&query[..pair_start.saturating_sub(1)]);
                if index > 0 {
                    out.push('&');
                }
                out.push_str(&replacement);
                masked = Some(out);
            }
            (None, Some(out)) => {
                out.push('&');
                out.push_str(pair);
            }
            (None, None) => {}
        }
    }
    masked.map_or(Cow::Borrowed(query), Cow::Owned)
}

/// `path` with what `policy` masks in it (a card number in `/cards/4111…`).
pub(crate) fn mask_path<'p>(path: &'p str, policy: &RedactionPolicy) -> Cow<'p, str> {
    policy
        .redact_str(path)
        .map_or(Cow::Borrowed(path), Cow::Owned)
}

/// `url.full` for an absolute `uri`: the user info replaced by `REDACTED:REDACTED`,
/// secrets in the path and the query masked. `None` when `uri` has no scheme or no
/// authority (a relative URI: the caller has nothing better to record).
///
/// ```
/// use booking_otel::RedactionPolicy;
/// use booking_otel::http::full_url;
///
/// let uri = "https://alice:s3cret@pay.example.com:8443/charge?card=4111111111111111&page=2"
///     .parse()
///     .unwrap();
/// assert_eq!(
///     full_url(&uri, &RedactionPolicy::default()).unwrap(),
///     "https://REDACTED:REDACTED@pay.example.com:8443/charge?card=REDACTED&page=2"
/// );
/// ```
pub fn full_url(uri: &Uri, policy: &RedactionPolicy) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    let path = mask_path(uri.path(), policy);
    let query = uri.query().map(|q| mask_query(q, policy));
    let mut full = String::with_capacity(
        scheme.len() + authority.len() + path.len() + query.as_ref().map_or(0, |q| q.len()) + 24,
    );
    full.push_str(scheme);
    full.push_str("://");
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            full.push_str(REDACTED);
            full.push(':');
            full.push_str(REDACTED);
            full.push('@');
            full.push_str(host);
        }
        None => full.push_str(authority),
    }
    full.push_str(&path);
    if let Some(query) = query {
        full.push('?');
        full.push_str(&query);
    }
    Some(full)
}

/// The host and port of an authority (`host`, `host:port`, `[v6]:port`, with or
/// without user info); `None` for an empty one. The host is returned without IPv6
/// brackets; a port that is not a number is left out.
pub(crate) fn host_and_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (!host.is_empty()).then_some((host, port));
    }
    let (host, port) = match authority.rsplit_once(':') {
        // More than one colon and no brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => (authority, None),
        Some((host, port)) => (host, port.parse().ok()),
        None => (authority, None),
    };
    (!host.is_empty()).then_some((host, port))
}

/// The port a scheme implies when the URI names none.
pub(crate) fn default_port(scheme: Option<&str>) -> Option<u16> {
    match scheme {
        Some(s) if s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("wss") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("ws") => Some(80),
        _ => None,
    }
}

/// Percent-decodes `s` (and `+` as a space, as in forms), lossily: bytes that are not
/// UTF-8 become U+FFFD, a `%` not followed by two hex digits stays.
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RedactionPolicy {
        query_policy(RedactionPolicy::default())
    }

    #[test]
    fn sensitive_keys_and_values_are_masked() {
        let p = policy();
        assert_eq!(
            mask_query("card=4111111111111111&cvv=123&page=2", &p),
            "card=REDACTED&cvv=REDACTED&page=2"
        );
        assert_eq!(
            mask_query("page=2&access_token=abc&Password=x&sig=1", &p),
            "page=2&access_token=REDACTED&Password=REDACTED&sig=REDACTED"
        );
        // A card number under an innocent key, percent-encoded, and a bare one.
        assert_eq!(
            mask_query("q=4111%201111%201111%201111&4111111111111111&x=1", &p),
            "q=REDACTED&REDACTED&x=1"
        );
        assert_eq!(mask_query("email=a%40example.com", &p), "email=REDACTED");
        assert_eq!(mask_query("card%5Fnumber=1", &p), "card%5Fnumber=REDACTED");
        assert_eq!(
            mask_query("cardNumber=1&X-Amz-Signature=f", &p),
            "cardNumber=REDACTED&X-Amz-Signature=REDACTED"
        );
    }

    #[test]
    fn clean_queries_are_borrowed_unchanged() {
        let p = policy();
        for query in [
            "",
            "page=2",
            "a=&token=",
            "=&&==",
            "%",
            "%zz=%",
            "room=204&guests=2",
        ] {
            assert!(
                matches!(mask_query(query, &p), Cow::Borrowed(q) if q == query),
                "{query}"
            );
        }
    }

    #[test]
    fn odd_queries_do_not_panic() {
        let p = policy();
        for query in [
            "&&&",
            "token",
            "token=%FF%FE",
            "é=ü&cvv=é",
            "%%%%",
            "=4111111111111111",
            "a==b=c",
        ] {
            let _ = mask_query(query, &p);
        }
        assert_eq!(mask_query("=4111111111111111", &p), "=REDACTED");
        assert_eq!(mask_query("token=%FF", &p), "token=REDACTED");
    }

    #[test]
    fn full_url_removes_credentials() {
        let p = policy();
        let full = |s: &str| full_url(&s.parse().unwrap(), &p);
        assert_eq!(
            full("http://u:p@h/x").unwrap(),
            "http://REDACTED:REDACTED@h/x"
        );
        assert_eq!(
            full("http://u@h:81").unwrap(),
            "http://REDACTED:REDACTED@h:81/"
        );
        assert_eq!(
            full("http://[::1]:8080/a?b=1").unwrap(),
            "http://[::1]:8080/a?b=1"
        );
        assert_eq!(full("/relative"), None);
        assert_eq!(
            full("http://h/cards/4111111111111111").unwrap(),
            "http://h/cards/************1111"
        );
    }

    #[test]
    fn hosts_and_ports() {
        assert_eq!(host_and_port("example.com"), Some(("example.com", None)));
        assert_eq!(
            host_and_port("example.com:8080"),
            Some(("example.com", Some(8080)))
        );
        assert_eq!(
            host_and_port("u:p@example.com:1"),
            Some(("example.com", Some(1)))
        );
        assert_eq!(host_and_port("[::1]:3000"), Some(("::1", Some(3000))));
        assert_eq!(host_and_port("[::1]"), Some(("::1", None)));
        assert_eq!(host_and_port("::1"), Some(("::1", None)));
        assert_eq!(host_and_port("h:99999"), Some(("h", None)));
        assert_eq!(host_and_port("h:x"), Some(("h", None)));
        assert_eq!(host_and_port(""), None);
        assert_eq!(host_and_port("[]:1"), None);
        assert_eq!(host_and_port("[::1"), None);
        assert_eq!(host_and_port(":80"), None);
    }
}
