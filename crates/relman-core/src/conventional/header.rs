//! The header line: `type(scope)!: description`, merge headers, git's `Revert "…"` and the
//! GitHub ` (#123)` pull-request suffix.
//!
//! Kept apart because it is the one piece the rest of the parser asks questions of: entry
//! assembly classifies every header here, and the squash splitter uses the same grammar to
//! decide which list items are commits of their own.

/// Header prefixes git, GitHub and GitLab write for merge commits.
const MERGE_PREFIXES: &[&str] = &[
    "Merge branch ",
    "Merge branches ",
    "Merge pull request #",
    "Merge remote-tracking branch ",
    "Merge remote-tracking branches ",
    "Merge tag ",
    "Merge commit ",
];

/// A conventional header `type(scope)!: description`, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header<'a> {
    pub(super) kind: &'a str,
    pub(super) scope: Option<&'a str>,
    pub(super) bang: bool,
    /// Trimmed, non-empty, pull-request suffix still present.
    pub(super) description: &'a str,
}

/// Parses `type(scope)!: description`; `None` when the line is not conventional.
///
/// `type` is `[A-Za-z][A-Za-z0-9_-]*`; the scope is non-empty (after trimming) and holds no
/// parenthesis; `:` must be followed by at least one space; the description must be non-empty.
pub(super) fn parse_header(line: &str) -> Option<Header<'_>> {
    let line = line.trim();
    let b = line.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
        i += 1;
    }
    let kind = &line[..i];
    let mut scope = None;
    if b.get(i) == Some(&b'(') {
        let inner = &line[i + 1..];
        let close = inner.find([')', '(', '\n'])?;
        if !inner[close..].starts_with(')') {
            return None;
        }
        let s = inner[..close].trim();
        if s.is_empty() {
            return None;
        }
        scope = Some(s);
        i += 1 + close + 1;
    }
    let bang = b.get(i) == Some(&b'!');
    if bang {
        i += 1;
    }
    if b.get(i) != Some(&b':') || b.get(i + 1) != Some(&b' ') {
        return None;
    }
    let description = line[i + 2..].trim();
    if description.is_empty() {
        return None;
    }
    Some(Header {
        kind,
        scope,
        bang,
        description,
    })
}

/// What the header line says about the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Head<'a> {
    Conventional(Header<'a>),
    /// git's default `Revert "<header>"`; holds the text between the quotes.
    GitRevert(&'a str),
    Merge,
    Plain,
}

pub(super) fn is_merge(header: &str) -> bool {
    MERGE_PREFIXES.iter().any(|p| header.starts_with(p))
}

pub(super) fn classify(header: &str) -> Head<'_> {
    if is_merge(header) {
        return Head::Merge;
    }
    if let Some(h) = parse_header(header) {
        return Head::Conventional(h);
    }
    if let Some(r) = strip_pr_suffix(header).strip_prefix("Revert \"") {
        // git truncates nothing, but people edit; accept a missing closing quote.
        let inner = r.strip_suffix('"').unwrap_or(r).trim();
        if !inner.is_empty() {
            return Head::GitRevert(inner);
        }
    }
    Head::Plain
}

/// The numbers of the trailing ` (#123)` suffixes [`strip_pr_suffix`] removes, last first.
pub(super) fn pr_suffix_numbers(s: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = s.trim_end();
    loop {
        let stripped = strip_pr_suffix_once(rest);
        if stripped.len() == rest.len() {
            return out;
        }
        let digits = rest[stripped.len()..]
            .trim_start()
            .trim_start_matches("(#")
            .trim_end_matches(')');
        if let Ok(n) = digits.parse() {
            out.push(n);
        }
        rest = stripped;
    }
}

/// One ` (#123)` suffix removed, or `s` unchanged.
fn strip_pr_suffix_once(s: &str) -> &str {
    let s = s.trim_end();
    let Some(inner) = s.strip_suffix(')') else {
        return s;
    };
    let digits = inner.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return s;
    }
    match inner[..inner.len() - digits].strip_suffix(" (#") {
        Some(before) if !before.trim_end().is_empty() => before.trim_end(),
        _ => s,
    }
}

/// Removes trailing GitHub squash suffixes ` (#123)` (possibly several), then trailing spaces.
///
/// The suffix needs a space before it, so the result is never empty for a trimmed input.
pub(super) fn strip_pr_suffix(s: &str) -> &str {
    let mut s = s.trim_end();
    loop {
        let next = strip_pr_suffix_once(s);
        if next.len() == s.len() {
            return s;
        }
        s = next;
    }
}
