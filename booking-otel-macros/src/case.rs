//! Identifier case conversion.

/// `GatewayTimeout` → `gateway_timeout`, `HTTPError` → `http_error`.
pub(crate) fn snake_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None => false,
                Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn converts_camel_case() {
        assert_eq!(snake_case("GatewayTimeout"), "gateway_timeout");
        assert_eq!(snake_case("Declined"), "declined");
        assert_eq!(snake_case("HTTPError"), "http_error");
        assert_eq!(snake_case("Sold2Out"), "sold2_out");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("r#Type"), "type");
    }
}
