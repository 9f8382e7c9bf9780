//! The Conventional Commits 1.0.0 parser: bytes in, one or more [`Entry`]s out, never an error.
//!
//! The scanner is hand-written rather than built from regexes: it runs over millions of
//! messages, and a byte scan over a three-line message costs a fraction of a regex search
//! while making the "never panics" promise easy to check (every slice index sits on an ASCII
//! byte found by the scan itself).
//!
//! Layout of a message, as this parser sees it:
//!
//! ```text
//! feat(api)!: add the thing (#12)      <- header (leading blank lines skipped)
//!                                      <- blank line (tolerated when missing)
//! Body paragraphs, possibly a GitHub squash list:
//! * fix: squashed commit               <- split into its own entry (ParseOptions::split_squash)
//!
//! Closes #7                            <- footer block: trailing paragraphs that each start
//! Co-authored-by: A <a@example.com>       with a `Token: value` / `Token #value` line
//! ```
//!
//! This file holds the entry point and the assembly of an [`Entry`] from its parts; the parts
//! are read by sibling modules: [`super::header`] (the first line), [`super::footer`] (the
//! trailer block), [`super::refs`] (issue and merge-request references) and
//! [`super::squash`] (GitHub squash lists split into several entries).

use std::borrow::Cow;

use super::footer::{footer_start, is_breaking_token, parse_footers, parse_person, push_person};
use super::header::{Head, classify, is_merge, strip_pr_suffix};
use super::refs::{revert_commit, scan_refs};
use super::squash::{split_squash, squash_bullets};
use super::{Entry, Footer, Revert};

/// Options that change how messages split into entries.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Split squash-merge bodies that list several conventional commits into several entries.
    pub split_squash: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self { split_squash: true }
    }
}

/// `Reference::source` for references found in the header's description.
const SUBJECT: &str = "subject";
/// `Reference::source` for references found in the body.
const BODY: &str = "body";

/// Footer tokens whose value lists issue references (compared case-insensitively). GitHub's
/// closing keywords are included because they are what people actually write.
const REF_TOKENS: &[&str] = &[
    "closes",
    "close",
    "closed",
    "fixes",
    "fix",
    "fixed",
    "resolves",
    "resolve",
    "resolved",
    "refs",
    "ref",
    "references",
    "see-also",
];

/// Parses one commit message into its entries (at least one, even for an empty message).
///
/// Never panics and never fails: a message that is not conventional yields one entry with
/// `kind == None` whose description is the first non-blank line. Leading blank lines are
/// skipped, as `git commit` does.
pub fn parse_message(message: &[u8], opts: &ParseOptions) -> Vec<Entry> {
    let text = normalize_newlines(String::from_utf8_lossy(message));
    let lines: Vec<&str> = text.split('\n').collect();
    let Some(first) = lines.iter().position(|l| !is_blank(l)) else {
        return vec![Entry::default()];
    };
    let header = lines[first].trim();
    let rest = &lines[first + 1..];
    let (body, footer_lines) = rest.split_at(footer_start(rest));
    let footers = parse_footers(footer_lines);

    // Merge commits are never split: their bodies repeat commits that are in history anyway.
    if opts.split_squash && !is_merge(header) {
        let bullets = squash_bullets(body);
        if !bullets.is_empty() {
            return split_squash(header, body, &bullets, footers, footer_lines);
        }
    }
    vec![build_entry(header, body, footers, footer_lines, false)]
}

/// Turns CRLF and lone CR into LF, borrowing when there is nothing to change.
fn normalize_newlines(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.contains('\r') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Joins body lines and trims the result; `collapse` squeezes runs of blank lines that
/// removing squash bullets leaves behind.
fn join_body(lines: &[&str], collapse: bool) -> String {
    let Some(start) = lines.iter().position(|l| !is_blank(l)) else {
        return String::new();
    };
    let end = lines.iter().rposition(|l| !is_blank(l)).unwrap_or(start) + 1;
    let lines = &lines[start..end];
    let mut s = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    let mut prev_blank = false;
    for line in lines {
        let blank = is_blank(line);
        if collapse && blank && prev_blank {
            continue;
        }
        if !s.is_empty() {
            s.push('\n');
        }
        if !blank {
            s.push_str(line);
        }
        prev_blank = blank;
    }
    let t = s.trim();
    if t.len() == s.len() { s } else { t.to_owned() }
}

/// Builds one entry from a header line, its body lines and its parsed footer block.
pub(super) fn build_entry(
    header: &str,
    body_lines: &[&str],
    footers: Vec<Footer>,
    footer_lines: &[&str],
    collapse: bool,
) -> Entry {
    let mut entry = Entry::default();
    let mut revert_header = None;
    // Refs are scanned in the raw description: the ` (#12)` suffix is one of them.
    let (scanned, description) = match classify(header) {
        Head::Conventional(h) => {
            entry.kind = Some(h.kind.to_ascii_lowercase());
            entry.scope = h.scope.map(str::to_owned);
            entry.breaking = h.bang;
            let description = strip_pr_suffix(h.description);
            if entry.kind.as_deref() == Some("revert") {
                revert_header = Some(description);
            }
            (h.description, description)
        }
        Head::GitRevert(inner) => {
            entry.kind = Some("revert".to_owned());
            // The quoted header is kept as written (its own `(#12)` belongs to the original).
            revert_header = Some(inner);
            (header, strip_pr_suffix(inner))
        }
        Head::Merge => {
            entry.merge = true;
            (header, strip_pr_suffix(header))
        }
        Head::Plain => (header, strip_pr_suffix(header)),
    };
    scan_refs(scanned, SUBJECT, &mut entry.references);
    entry.description = description.to_owned();
    entry.body = join_body(body_lines, collapse);
    scan_refs(&entry.body, BODY, &mut entry.references);

    let mut breaking_texts: Vec<&str> = Vec::new();
    for f in &footers {
        let token = f.token.as_str();
        if is_breaking_token(token) {
            entry.breaking = true;
            breaking_texts.push(&f.value);
        } else if token.eq_ignore_ascii_case("co-authored-by") {
            if let Some(p) = parse_person(&f.value) {
                push_person(&mut entry.co_authors, p);
            }
        } else if token.eq_ignore_ascii_case("release-as") {
            entry.release_as = Some(f.value.trim().to_owned());
        }
        if f.separator == " #" {
            // `Token #12, #13`: the separator's `#` belongs to the first reference.
            scan_refs(&format!("#{}", f.value), token, &mut entry.references);
        } else if REF_TOKENS.iter().any(|t| t.eq_ignore_ascii_case(token)) {
            scan_refs(&f.value, token, &mut entry.references);
        }
    }
    if !breaking_texts.is_empty() {
        entry.breaking_description = Some(breaking_texts.join("\n\n"));
    }
    if let Some(h) = revert_header {
        entry.revert = Some(Revert {
            commit: revert_commit(body_lines).or_else(|| revert_commit(footer_lines)),
            header: Some(h.to_owned()),
        });
    }
    entry.footers = footers;
    entry
}
