//! Email addresses: the local part becomes `***` (`ada@example.com` →
//! `***@example.com`); the domain stays, for debugging deliverability.

use super::replace_ranges;

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Masks the local part of every email address in `text`; `None` when there is none.
pub(super) fn mask_emails(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
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
    replace_ranges(text, &ranges, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts_are_masked() {
        assert_eq!(
            mask_emails("guest ada.l@example.co.uk booked").unwrap(),
            "guest ***@example.co.uk booked"
        );
        assert_eq!(mask_emails("user@localhost"), None);
        assert_eq!(mask_emails("***@example.com"), None);
    }
}
