//! One percent-encoder for path segments and query values (tags like `api/v1.2.0`, project
//! paths like `group/sub/project`, labels with spaces).

/// Percent-encodes everything but RFC 3986's unreserved characters, so that the value is one
/// path segment or one query value whatever it holds (`/`, `?`, `&`, `#`, `+`, spaces).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn reserved_characters_and_non_ascii_are_encoded_unreserved_ones_kept() {
        assert_eq!(encode("group/sub/project"), "group%2Fsub%2Fproject");
        assert_eq!(encode("v1.2.0+build"), "v1.2.0%2Bbuild");
        assert_eq!(encode("a b&c=d?e#f"), "a%20b%26c%3Dd%3Fe%23f");
        assert_eq!(encode("Az09-._~"), "Az09-._~");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode(""), "");
    }
}
