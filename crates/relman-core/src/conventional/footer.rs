//! The footer block: trailing `Token: value` / `Token #value` paragraphs, and the people in
//! `Co-authored-by` trailers.
//!
//! Deciding where the body ends and the footers begin is the subtle part of the format (prose
//! such as `Note: …` must stay in the body), so it lives here with its own rules, shared by
//! whole messages and by the items of a squash list.

use super::parse::is_blank;
use super::squash::bullet_text;
use super::{Footer, Person};

pub(super) fn is_breaking_token(token: &str) -> bool {
    // The spec wants BREAKING CHANGE upper-case; BREAKING-CHANGE is its synonym.
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// Recognises the first line of a footer: `Token: value` or `Token #value`.
///
/// Returns `(token, separator, value)` with the value trimmed. The token is `BREAKING CHANGE`
/// or `[A-Za-z0-9][A-Za-z0-9-]*` (a leading `-` would make every `- #12` list item a footer).
/// Only the breaking-change tokens may have an empty first-line value (`BREAKING CHANGE:`
/// followed by an indented explanation), since `Changes:` above a list is ordinary prose.
pub(super) fn footer_token(line: &str) -> Option<(&str, &'static str, &str)> {
    let line = line.trim_end();
    let (token, after) = if line.starts_with("BREAKING CHANGE") {
        line.split_at("BREAKING CHANGE".len())
    } else {
        let b = line.as_bytes();
        if !b.first()?.is_ascii_alphanumeric() {
            return None;
        }
        let n = b
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .count();
        line.split_at(n)
    };
    let breaking = is_breaking_token(token);
    if let Some(v) = after.strip_prefix(": ") {
        let v = v.trim();
        return (!v.is_empty() || breaking).then_some((token, ": ", v));
    }
    if let Some(v) = after.strip_prefix(" #") {
        let v = v.trim();
        return is_reference_list(v).then_some((token, " #", v));
    }
    (breaking && after == ":").then_some((token, ": ", ""))
}

/// The value of a `Token #value` footer: `12`, `12, #13`, `12 GH-4 !5.`
///
/// The spec allows any value after ` #`, but in practice it is always a list of references,
/// and accepting anything would turn prose such as `Issue #12 is fixed.` into a footer.
pub(super) fn is_reference_list(value: &str) -> bool {
    let mut pieces = value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let Some(first) = pieces.next() else {
        return false;
    };
    digits(first.trim_end_matches('.'))
        && pieces.all(|p| {
            let p = p.trim_end_matches('.');
            let n = p
                .strip_prefix('#')
                .or_else(|| p.strip_prefix('!'))
                .or_else(|| p.strip_prefix("GH-"))
                .or_else(|| p.strip_prefix("gh-"));
            n.is_some_and(digits)
        })
}

/// Index in `lines` (the lines after the header) where the footer block starts, or
/// `lines.len()` when there is none.
///
/// The block is the run of trailing paragraphs whose first line is a footer line. Reading the
/// spec literally (the first footer-looking line after a blank line starts the block) would
/// swallow any body paragraph that opens with `Note: …`; the one exception kept from the
/// literal reading is `BREAKING CHANGE`, an unambiguous token whose value may span paragraphs,
/// unless a squash bullet follows it (the bullet must stay in the body to be split).
pub(super) fn footer_start(lines: &[&str]) -> usize {
    let starts_paragraph = |i: usize| !is_blank(lines[i]) && (i == 0 || is_blank(lines[i - 1]));
    let mut start = lines.len();
    let mut i = lines.len();
    while i > 0 {
        i -= 1;
        if starts_paragraph(i) {
            if footer_token(lines[i]).is_some() {
                start = i;
            } else {
                break;
            }
        }
    }
    let breaking_paragraph = (0..start).find(|&p| {
        starts_paragraph(p) && footer_token(lines[p]).is_some_and(|(t, _, _)| is_breaking_token(t))
    });
    if let Some(p) = breaking_paragraph {
        let bullet_follows =
            (p + 1..lines.len()).any(|q| starts_paragraph(q) && bullet_text(lines[q]).is_some());
        if !bullet_follows {
            start = p;
        }
    }
    start
}

/// Parses the footer block; lines that do not start a footer continue the previous value.
pub(super) fn parse_footers(lines: &[&str]) -> Vec<Footer> {
    let mut out: Vec<Footer> = Vec::new();
    for line in lines {
        if let Some((token, separator, value)) = footer_token(line) {
            out.push(Footer {
                token: token.to_owned(),
                separator: separator.to_owned(),
                value: value.to_owned(),
            });
        } else if let Some(last) = out.last_mut() {
            last.value.push('\n');
            last.value.push_str(line.trim_end());
        }
    }
    for f in &mut out {
        let t = f.value.trim();
        if t.len() != f.value.len() {
            f.value = t.to_owned();
        }
    }
    out
}

/// `Name <email>`; without angle brackets the whole value is the name.
pub(super) fn parse_person(value: &str) -> Option<Person> {
    let value = value.lines().next().unwrap_or("").trim();
    let (name, email) = match (value.find('<'), value.rfind('>')) {
        (Some(lt), Some(gt)) if lt < gt => (value[..lt].trim(), value[lt + 1..gt].trim()),
        _ => (value, ""),
    };
    if name.is_empty() && email.is_empty() {
        return None;
    }
    Some(Person {
        name: name.to_owned(),
        email: email.to_owned(),
    })
}

/// Adds a co-author unless already present (same e-mail, ignoring case; or same name when
/// neither has an e-mail): GitHub repeats trailers when several squashed commits share them.
pub(super) fn push_person(list: &mut Vec<Person>, p: Person) {
    let dup = list.iter().any(|q| {
        if p.email.is_empty() {
            q.email.is_empty() && q.name == p.name
        } else {
            q.email.eq_ignore_ascii_case(&p.email)
        }
    });
    if !dup {
        list.push(p);
    }
}
