//! References in free text: `#12`, `GH-5`, `!34`, GitLab's `See merge request g/p!34`, and the
//! `This reverts commit <sha>.` line of a revert.
//!
//! A word-level scanner with its own rules about word boundaries and URLs; it knows nothing
//! of message structure, so entry assembly calls it on each part (subject, body, footers).

use super::{RefKind, Reference};

fn push_ref(out: &mut Vec<Reference>, kind: RefKind, number: u64, source: &str) {
    if !out.iter().any(|r| r.kind == kind && r.number == number) {
        out.push(Reference {
            kind,
            number,
            source: source.to_owned(),
        });
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Finds `#12`, `GH-5` (issues) and `!34` (GitLab merge requests) in free text.
///
/// A reference needs a non-word character (or the start) before it and digits that end at a
/// non-word character (so `#123abc`, a colour, is not one). Whitespace-separated words that
/// are URLs are skipped whole: `https://x/y#12` is an anchor, not an issue. GitLab's
/// `See merge request group/project!34` line is recognised despite the word before `!`.
pub(super) fn scan_refs(text: &str, source: &str, out: &mut Vec<Reference>) {
    for line in text.split('\n') {
        // Most lines hold no reference at all; skip them without splitting into words.
        if !line.bytes().any(|b| matches!(b, b'#' | b'!' | b'-')) {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("See merge request ")
            && let Some(n) = gitlab_merge_request(rest)
        {
            push_ref(out, RefKind::MergeRequest, n, source);
            continue;
        }
        for word in line.split_whitespace() {
            if word.contains("://") || word.starts_with("www.") {
                continue;
            }
            scan_word(word, source, out);
        }
    }
}

/// `group/project!34` (optionally followed by `.`) -> 34.
fn gitlab_merge_request(rest: &str) -> Option<u64> {
    let word = rest.split_whitespace().next()?.trim_end_matches('.');
    let bang = word.rfind('!')?;
    let digits = &word[bang + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn scan_word(word: &str, source: &str, out: &mut Vec<Reference>) {
    let b = word.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let (kind, skip) = match b[i] {
            b'#' => (RefKind::Issue, 1),
            b'!' => (RefKind::MergeRequest, 1),
            b'G' | b'g'
                if b.len() >= i + 3 && b[i + 1].eq_ignore_ascii_case(&b'h') && b[i + 2] == b'-' =>
            {
                (RefKind::Issue, 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at an ASCII byte, so both slices below sit on char boundaries.
        if word[..i].chars().next_back().is_some_and(is_word_char) {
            i += 1;
            continue;
        }
        let start = i + skip;
        let digits = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            i += 1;
            continue;
        }
        let end = start + digits;
        if !word[end..].chars().next().is_some_and(is_word_char)
            && let Ok(n) = word[start..end].parse::<u64>()
        {
            push_ref(out, kind, n, source);
        }
        i = end;
    }
}

/// `This reverts commit <hex>.` (or `,` as git writes for merges) -> the id as written.
pub(super) fn revert_commit(lines: &[&str]) -> Option<String> {
    lines.iter().find_map(|line| {
        let rest = line.trim().strip_prefix("This reverts commit ")?;
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        let after = &rest[hex..];
        (hex >= 4 && (after.is_empty() || after.starts_with(['.', ','])))
            .then(|| rest[..hex].to_owned())
    })
}
