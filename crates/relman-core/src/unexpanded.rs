//! Text a CI should have replaced: a variable reference left as it was written.
//!
//! CI systems pass inputs as variables, and some arrive unexpanded: a GitLab component input
//! with `expand: false` keeps `$REASON` as literal text. A reason, an override, an incident
//! that is really a variable name must be refused, not recorded as if someone had said it.

/// The first variable reference in `text` that a CI should have replaced: `$NAME`, `${NAME}`,
/// `$[[ inputs.x ]]` (GitLab inputs), `${{ x }}` (GitHub expressions), `$(command)`.
pub fn unexpanded_variable(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('$') {
        let rest = &text[i..];
        let end = match bytes.get(i + 1) {
            Some(b'{') if rest.starts_with("${{") => rest.find("}}").map(|e| e + 2),
            Some(b'{') => rest.find('}').map(|e| e + 1),
            Some(b'[') if rest.starts_with("$[[") => rest.find("]]").map(|e| e + 2),
            Some(b'(') => rest.find(')').map(|e| e + 1),
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => Some(
                rest[1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(rest.len(), |e| e + 1),
            ),
            _ => None,
        };
        if let Some(end) = end {
            return Some(&rest[..end]);
        }
        // An unclosed `${` or `$[[` is still a reference the CI did not expand.
        if matches!(bytes.get(i + 1), Some(b'{' | b'[' | b'(')) {
            return Some(rest);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unexpanded_variable;

    #[test]
    fn references_are_found_and_dollar_text_is_not() {
        assert_eq!(unexpanded_variable("refund costs $5"), None);
        assert_eq!(unexpanded_variable("fix $ sign"), None);
        assert_eq!(unexpanded_variable("INC-1: $REASON here"), Some("$REASON"));
        assert_eq!(unexpanded_variable("${X}"), Some("${X}"));
        assert_eq!(
            unexpanded_variable("$[[ inputs.r ]]"),
            Some("$[[ inputs.r ]]")
        );
        assert_eq!(
            unexpanded_variable("${{ inputs.r }}"),
            Some("${{ inputs.r }}")
        );
        assert_eq!(unexpanded_variable("because ${OPEN"), Some("${OPEN"));
    }
}
