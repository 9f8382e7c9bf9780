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

use std::borrow::Cow;

use super::{Entry, Footer, Person, RefKind, Reference, Revert};

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

/// Parses one commit message into its entries (at least one, even for an empty message).
///
/// Never panics and never fails: a message that is not conventional yields one entry with
/// `kind == None` whose description is the first non-blank line. Leading blank lines are
/// skipped, as `git commit` does.
pub fn parse_message(message: &[u8], opts: &ParseOptions) -> Vec<Entry> {
    let text = normalize_newlines(String::from_utf8_lossy(message));
    let lines: Vec<&str> = text.split('\n').collect();
    let Some(first) = lines.iter().position(|l| !is_blank(l)) else {
        return vec![empty_entry()];
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

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn empty_entry() -> Entry {
    Entry {
        kind: None,
        scope: None,
        breaking: false,
        description: String::new(),
        body: String::new(),
        footers: Vec::new(),
        breaking_description: None,
        references: Vec::new(),
        co_authors: Vec::new(),
        release_as: None,
        revert: None,
        merge: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------------------------

/// A conventional header `type(scope)!: description`, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header<'a> {
    kind: &'a str,
    scope: Option<&'a str>,
    bang: bool,
    /// Trimmed, non-empty, pull-request suffix still present.
    description: &'a str,
}

/// Parses `type(scope)!: description`; `None` when the line is not conventional.
///
/// `type` is `[A-Za-z][A-Za-z0-9_-]*`; the scope is non-empty (after trimming) and holds no
/// parenthesis; `:` must be followed by at least one space; the description must be non-empty.
fn parse_header(line: &str) -> Option<Header<'_>> {
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
enum Head<'a> {
    Conventional(Header<'a>),
    /// git's default `Revert "<header>"`; holds the text between the quotes.
    GitRevert(&'a str),
    Merge,
    Plain,
}

fn is_merge(header: &str) -> bool {
    MERGE_PREFIXES.iter().any(|p| header.starts_with(p))
}

fn classify(header: &str) -> Head<'_> {
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

/// Removes trailing GitHub squash suffixes ` (#123)` (possibly several), then trailing spaces.
///
/// The suffix needs a space before it, so the result is never empty for a trimmed input.
fn strip_pr_suffix(s: &str) -> &str {
    let mut s = s.trim_end();
    while let Some(inner) = s.strip_suffix(')') {
        let digits = inner.bytes().rev().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        let Some(before) = inner[..inner.len() - digits].strip_suffix(" (#") else {
            break;
        };
        let before = before.trim_end();
        if before.is_empty() {
            break;
        }
        s = before;
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Footers
// ---------------------------------------------------------------------------------------------

fn is_breaking_token(token: &str) -> bool {
    // The spec wants BREAKING CHANGE upper-case; BREAKING-CHANGE is its synonym.
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// Recognises the first line of a footer: `Token: value` or `Token #value`.
///
/// Returns `(token, separator, value)` with the value trimmed. The token is `BREAKING CHANGE`
/// or `[A-Za-z0-9][A-Za-z0-9-]*` (a leading `-` would make every `- #12` list item a footer).
/// Only the breaking-change tokens may have an empty first-line value (`BREAKING CHANGE:`
/// followed by an indented explanation), since `Changes:` above a list is ordinary prose.
fn footer_token(line: &str) -> Option<(&str, &'static str, &str)> {
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
fn is_reference_list(value: &str) -> bool {
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
fn footer_start(lines: &[&str]) -> usize {
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
fn parse_footers(lines: &[&str]) -> Vec<Footer> {
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
fn parse_person(value: &str) -> Option<Person> {
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
fn push_person(list: &mut Vec<Person>, p: Person) {
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

// ---------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------

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
fn scan_refs(text: &str, source: &str, out: &mut Vec<Reference>) {
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
fn revert_commit(lines: &[&str]) -> Option<String> {
    lines.iter().find_map(|line| {
        let rest = line.trim().strip_prefix("This reverts commit ")?;
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        let after = &rest[hex..];
        (hex >= 4 && (after.is_empty() || after.starts_with(['.', ','])))
            .then(|| rest[..hex].to_owned())
    })
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

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
fn build_entry(
    header: &str,
    body_lines: &[&str],
    footers: Vec<Footer>,
    footer_lines: &[&str],
    collapse: bool,
) -> Entry {
    let mut entry = empty_entry();
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

// ---------------------------------------------------------------------------------------------
// Squash bodies
// ---------------------------------------------------------------------------------------------

/// The text of a squash-list item: a line starting (column 0) with `* ` or `- `.
fn bullet_text(line: &str) -> Option<&str> {
    line.strip_prefix("* ").or_else(|| line.strip_prefix("- "))
}

/// Ranges `[start, end)` in `body` of bullets whose text is a conventional header; each range
/// holds the bullet line and its continuation lines (up to a blank line or the next bullet).
fn squash_bullets(body: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let Some(text) = bullet_text(body[i]) else {
            i += 1;
            continue;
        };
        let mut end = i + 1;
        while end < body.len() && !is_blank(body[end]) && bullet_text(body[end]).is_none() {
            end += 1;
        }
        if parse_header(text).is_some() {
            out.push((i, end));
        }
        i = end;
    }
    out
}

/// GitHub's `---------` line between the squash list and the co-author trailers.
fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && t.bytes().all(|b| b == b'-')
}

/// Removes the indentation common to all (non-blank) lines.
fn dedent<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let indent = |l: &str| l.bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
    let min = lines
        .iter()
        .filter(|l| !is_blank(l))
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| if is_blank(l) { "" } else { &l[min..] })
        .collect()
}

/// Where a bullet's continuation lines turn into footers. Continuation lines hold no blank
/// line, so besides the paragraph rule a trailing run of footer lines (`Closes #3` under the
/// bullet's text) counts as the footer block.
fn bullet_footer_start(lines: &[&str]) -> usize {
    let mut i = lines.len();
    while i > 0 && footer_token(lines[i - 1]).is_some() {
        i -= 1;
    }
    footer_start(lines).min(i)
}

/// Lower-cased, trimmed description with its PR suffix removed; part of the duplicate key.
fn same_change(a: &Entry, b: &Entry) -> bool {
    a.kind == b.kind
        && a.scope == b.scope
        && a.description.trim().to_lowercase() == b.description.trim().to_lowercase()
}

fn split_squash(
    header: &str,
    body: &[&str],
    bullets: &[(usize, usize)],
    footers: Vec<Footer>,
    footer_lines: &[&str],
) -> Vec<Entry> {
    let mut kept: Vec<&str> = Vec::with_capacity(body.len());
    let mut next = 0;
    for &(s, e) in bullets {
        kept.extend(body[next..s].iter().filter(|l| !is_rule(l)));
        next = e;
    }
    kept.extend(body[next..].iter().filter(|l| !is_rule(l)));

    let head = build_entry(header, &kept, footers, footer_lines, true);
    let shared_co_authors = head.co_authors.clone();
    let mut out = Vec::with_capacity(1 + bullets.len());
    out.push(head);
    for &(s, e) in bullets {
        let text = bullet_text(body[s]).unwrap_or(body[s]).trim();
        let cont = dedent(&body[s + 1..e]);
        let (b, f) = cont.split_at(bullet_footer_start(&cont));
        let mut entry = build_entry(text, b, parse_footers(f), f, false);
        for p in &shared_co_authors {
            push_person(&mut entry.co_authors, p.clone());
        }
        if let Some(existing) = out.iter_mut().find(|x| same_change(x, &entry)) {
            // A duplicate adds no entry, but must not lose a `!` only it carries.
            if entry.breaking && !existing.breaking {
                existing.breaking = true;
                if existing.breaking_description.is_none() {
                    existing.breaking_description = entry.breaking_description;
                }
            }
            continue;
        }
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Vec<Entry> {
        parse_message(s.as_bytes(), &ParseOptions::default())
    }

    fn one(s: &str) -> Entry {
        let mut v = parse(s);
        assert_eq!(v.len(), 1, "{v:#?}");
        v.remove(0)
    }

    fn issue(number: u64, source: &str) -> Reference {
        Reference {
            kind: RefKind::Issue,
            number,
            source: source.to_owned(),
        }
    }

    fn mr(number: u64, source: &str) -> Reference {
        Reference {
            kind: RefKind::MergeRequest,
            number,
            source: source.to_owned(),
        }
    }

    fn person(name: &str, email: &str) -> Person {
        Person {
            name: name.to_owned(),
            email: email.to_owned(),
        }
    }

    // --- headers --------------------------------------------------------------------------

    #[test]
    fn simple_header() {
        let e = one("feat: add the thing");
        assert_eq!(e.kind.as_deref(), Some("feat"));
        assert_eq!(e.scope, None);
        assert!(!e.breaking);
        assert_eq!(e.description, "add the thing");
        assert_eq!(e.body, "");
        assert!(e.footers.is_empty());
        assert!(e.references.is_empty());
        assert!(!e.merge);
        assert_eq!(e.revert, None);
    }

    #[test]
    fn full_header_with_scope_and_bang() {
        let e = one("Fix(API-v2)!:   drop the old route  \n");
        assert_eq!(e.kind.as_deref(), Some("fix"));
        assert_eq!(e.scope.as_deref(), Some("API-v2"));
        assert!(e.breaking);
        assert_eq!(e.breaking_description, None);
        assert_eq!(e.description, "drop the old route");
    }

    #[test]
    fn type_with_digits_underscore_and_dash() {
        let e = one("my_type-2: x");
        assert_eq!(e.kind.as_deref(), Some("my_type-2"));
        assert_eq!(e.description, "x");
    }

    #[test]
    fn leading_whitespace_on_header_tolerated() {
        let e = one("   \t feat(ui): button");
        assert_eq!(e.kind.as_deref(), Some("feat"));
        assert_eq!(e.scope.as_deref(), Some("ui"));
        assert_eq!(e.description, "button");
    }

    #[test]
    fn leading_blank_lines_skipped() {
        let e = one("\n\n  \nfix: y\n");
        assert_eq!(e.kind.as_deref(), Some("fix"));
        assert_eq!(e.description, "y");
    }

    #[test]
    fn not_conventional_headers() {
        for h in [
            "feat:no space",
            "feat : spaced colon",
            "feat(): empty scope",
            "feat( ): blank scope",
            "feat(a(b)): nested",
            "feat(a: unclosed",
            "1feat: digit first",
            "_feat: underscore first",
            "feat:   ",
            "feat!!: double bang",
            "feat(x)y: junk",
            "Update README.md",
            ": x",
        ] {
            let e = one(h);
            assert_eq!(e.kind, None, "{h}");
            assert_eq!(e.scope, None, "{h}");
            assert!(!e.breaking, "{h}");
            assert_eq!(e.description, h.trim(), "{h}");
        }
    }

    #[test]
    fn non_conventional_description_is_first_line_trimmed() {
        let e = one("  Update the docs  \n\nSome body\n");
        assert_eq!(e.kind, None);
        assert_eq!(e.description, "Update the docs");
        assert_eq!(e.body, "Some body");
    }

    #[test]
    fn empty_and_whitespace_messages() {
        for m in ["", " ", "\n\n", " \r\n\t\r "] {
            let v = parse(m);
            assert_eq!(v.len(), 1);
            assert_eq!(v[0], empty_entry(), "{m:?}");
        }
    }

    #[test]
    fn non_utf8_is_replaced() {
        let v = parse_message(b"feat: caf\xe9 \xff\n", &ParseOptions::default());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].kind.as_deref(), Some("feat"));
        assert_eq!(v[0].description, "caf\u{FFFD} \u{FFFD}");
    }

    #[test]
    fn crlf_and_cr_normalised() {
        let e = one("feat: a\r\n\r\nline one\r\nline two\rline three\r\n\r\nCloses #4\r\n");
        assert_eq!(e.description, "a");
        assert_eq!(e.body, "line one\nline two\nline three");
        assert_eq!(e.references, vec![issue(4, "Closes")]);
    }

    // --- PR suffix and references ------------------------------------------------------------

    #[test]
    fn pr_suffix_removed_and_recorded() {
        let e = one("feat(cli): add --json (#123)");
        assert_eq!(e.description, "add --json");
        assert_eq!(e.references, vec![issue(123, "subject")]);
    }

    #[test]
    fn several_pr_suffixes() {
        let e = one("fix: x (#12) (#13)");
        assert_eq!(e.description, "x");
        assert_eq!(
            e.references,
            vec![issue(12, "subject"), issue(13, "subject")]
        );
    }

    #[test]
    fn pr_suffix_on_non_conventional_header() {
        let e = one("Update deps (#7)");
        assert_eq!(e.kind, None);
        assert_eq!(e.description, "Update deps");
        assert_eq!(e.references, vec![issue(7, "subject")]);
    }

    #[test]
    fn pr_suffix_needs_space_and_digits() {
        assert_eq!(one("fix: x(#12)").description, "x(#12)");
        assert_eq!(one("fix: x (#)").description, "x (#)");
        assert_eq!(one("fix: x (#1a)").description, "x (#1a)");
        // The whole description is never removed.
        assert_eq!(one("fix: (#12)").description, "(#12)");
    }

    #[test]
    fn refs_in_subject_and_body() {
        let e = one(
            "fix: crash on #12 and GH-5\n\nSee !34, also (#12) again, gh-6.\nNot: a#1 x!2 #3abc C#4\n",
        );
        assert_eq!(
            e.references,
            vec![
                issue(12, "subject"),
                issue(5, "subject"),
                mr(34, "body"),
                issue(6, "body"),
            ]
        );
    }

    #[test]
    fn refs_not_in_urls_or_headings() {
        let e = one(
            "docs: links\n\n# Title\n## 2 things\nhttps://github.com/o/r/issues/12#issuecomment-9 \
             see https://example.com/#13 and www.example.com/#14\n#15",
        );
        assert_eq!(e.references, vec![issue(15, "body")]);
    }

    #[test]
    fn refs_deduplicated_keep_first() {
        let e = one("fix: x #12 (#12)\n\nAgain #12 and !12\n\nCloses #12");
        assert_eq!(e.references, vec![issue(12, "subject"), mr(12, "body")]);
    }

    #[test]
    fn huge_numbers_ignored() {
        let e = one("fix: #99999999999999999999999 #1");
        assert_eq!(e.references, vec![issue(1, "subject")]);
    }

    // --- body and footers -------------------------------------------------------------------

    #[test]
    fn body_and_footers() {
        let e = one(
            "feat: a\n\nFirst paragraph\nstill first.\n\n\nSecond.\n\nReviewed-by: Z\nRefs #7\n",
        );
        assert_eq!(e.body, "First paragraph\nstill first.\n\n\nSecond.");
        assert_eq!(
            e.footers,
            vec![
                Footer {
                    token: "Reviewed-by".into(),
                    separator: ": ".into(),
                    value: "Z".into()
                },
                Footer {
                    token: "Refs".into(),
                    separator: " #".into(),
                    value: "7".into()
                },
            ]
        );
        assert_eq!(e.references, vec![issue(7, "Refs")]);
    }

    #[test]
    fn body_paragraph_with_colon_is_not_a_footer_when_not_last() {
        let e = one("fix: a\n\nNote: this is prose.\n\nMore prose.");
        assert_eq!(e.body, "Note: this is prose.\n\nMore prose.");
        assert!(e.footers.is_empty());
    }

    #[test]
    fn footer_value_continues_on_following_lines() {
        let e =
            one("fix: a\n\nbody\n\nBREAKING CHANGE: the config\n  moved elsewhere\nAcked-by: B");
        assert_eq!(e.body, "body");
        assert_eq!(e.footers.len(), 2);
        assert_eq!(e.footers[0].value, "the config\n  moved elsewhere");
        assert!(e.breaking);
        assert_eq!(
            e.breaking_description.as_deref(),
            Some("the config\n  moved elsewhere")
        );
        assert_eq!(e.footers[1].token, "Acked-by");
    }

    #[test]
    fn several_footer_paragraphs() {
        let e = one("fix: a\n\nbody\n\nCloses: #1, #2\n\nSigned-off-by: A <a@x>");
        assert_eq!(e.body, "body");
        assert_eq!(e.footers.len(), 2);
        assert_eq!(e.references, vec![issue(1, "Closes"), issue(2, "Closes")]);
    }

    #[test]
    fn breaking_change_footer_spans_paragraphs() {
        let e = one("feat: a\n\nbody\n\nBREAKING CHANGE: first\n\nmore explanation");
        assert_eq!(e.body, "body");
        assert!(e.breaking);
        assert_eq!(
            e.breaking_description.as_deref(),
            Some("first\n\nmore explanation")
        );
    }

    #[test]
    fn breaking_change_with_empty_first_line() {
        let e = one("feat: a\n\nBREAKING CHANGE:\n  the API changed");
        assert!(e.breaking);
        assert_eq!(e.breaking_description.as_deref(), Some("the API changed"));
    }

    #[test]
    fn breaking_change_hyphen_synonym() {
        let e = one("refactor: a\n\nBREAKING-CHANGE: gone");
        assert!(e.breaking);
        assert_eq!(e.breaking_description.as_deref(), Some("gone"));
        assert_eq!(e.footers[0].token, "BREAKING-CHANGE");
    }

    #[test]
    fn breaking_change_must_be_upper_case() {
        let e = one("feat: a\n\nbreaking change: no");
        assert!(!e.breaking);
        assert_eq!(e.body, "breaking change: no");
    }

    #[test]
    fn bang_and_footer_together() {
        let e = one("feat!: a\n\nBREAKING CHANGE: why");
        assert!(e.breaking);
        assert_eq!(e.breaking_description.as_deref(), Some("why"));
    }

    #[test]
    fn footers_without_blank_line_after_header() {
        let e = one("fix: a\nCloses #9");
        assert_eq!(e.body, "");
        assert_eq!(e.references, vec![issue(9, "Closes")]);
    }

    #[test]
    fn co_authors_parsed_and_deduplicated() {
        let e = one(
            "feat: a\n\nCo-authored-by: Ann <ann@x.org>\nco-authored-by: Bob <bob@x.org>\n\
             CO-AUTHORED-BY: Ann Again <ANN@x.org>\nCo-authored-by: Carl",
        );
        assert_eq!(
            e.co_authors,
            vec![
                person("Ann", "ann@x.org"),
                person("Bob", "bob@x.org"),
                person("Carl", "")
            ]
        );
    }

    #[test]
    fn release_as_footer() {
        let e = one("chore: release\n\nRelease-As:  1.2.3  ");
        assert_eq!(e.release_as.as_deref(), Some("1.2.3"));
        let e = one("chore: release\n\nrelease-as: 2.0.0");
        assert_eq!(e.release_as.as_deref(), Some("2.0.0"));
    }

    #[test]
    fn reference_footers_keep_token_as_written() {
        let e = one(
            "fix: a\n\nfixes #1\nResolves: #2, GH-3\nRef: !4\nSee-also #5\nCLOSES #6\nPart-of #7",
        );
        assert_eq!(
            e.references,
            vec![
                issue(1, "fixes"),
                issue(2, "Resolves"),
                issue(3, "Resolves"),
                mr(4, "Ref"),
                issue(5, "See-also"),
                issue(6, "CLOSES"),
                issue(7, "Part-of"),
            ]
        );
    }

    #[test]
    fn hash_footer_needs_a_reference_list() {
        assert!(is_reference_list("12"));
        assert!(is_reference_list("12, #13 GH-4 !5."));
        assert!(!is_reference_list(""));
        assert!(!is_reference_list("12 is fixed"));
        assert!(!is_reference_list("abc"));
        let e = one("fix: a\n\nIssue #12 is fixed now.");
        assert!(e.footers.is_empty());
        assert_eq!(e.body, "Issue #12 is fixed now.");
        assert_eq!(e.references, vec![issue(12, "body")]);
    }

    #[test]
    fn non_reference_footer_values_are_not_scanned() {
        let e = one("fix: a\n\nReviewed-by: Someone #1 fan");
        assert!(e.references.is_empty());
    }

    // --- reverts and merges -----------------------------------------------------------------

    #[test]
    fn conventional_revert() {
        let e = one("revert: feat(api): add x (#44)\n\nThis reverts commit 1a2b3c4d5e6f.\n");
        assert_eq!(e.kind.as_deref(), Some("revert"));
        assert_eq!(e.description, "feat(api): add x");
        assert_eq!(
            e.revert,
            Some(Revert {
                commit: Some("1a2b3c4d5e6f".into()),
                header: Some("feat(api): add x".into()),
            })
        );
        assert_eq!(e.references, vec![issue(44, "subject")]);
    }

    #[test]
    fn git_revert() {
        let e = one("Revert \"feat: add x (#12)\" (#15)\n\nThis reverts commit \
             0123456789abcdef0123456789abcdef01234567.\n");
        assert_eq!(e.kind.as_deref(), Some("revert"));
        assert_eq!(e.scope, None);
        assert_eq!(e.description, "feat: add x");
        assert_eq!(
            e.revert,
            Some(Revert {
                commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                header: Some("feat: add x (#12)".into()),
            })
        );
        assert_eq!(
            e.references,
            vec![issue(12, "subject"), issue(15, "subject")]
        );
        assert_eq!(
            e.body,
            "This reverts commit 0123456789abcdef0123456789abcdef01234567."
        );
    }

    #[test]
    fn git_revert_without_sha() {
        let e = one("Revert \"fix: y\"");
        assert_eq!(
            e.revert,
            Some(Revert {
                commit: None,
                header: Some("fix: y".into())
            })
        );
        assert_eq!(one("Revert \"\"").kind, None);
    }

    #[test]
    fn merge_headers() {
        for h in [
            "Merge branch 'main' into feature",
            "Merge branches 'a' and 'b'",
            "Merge pull request #42 from someone/branch",
            "Merge remote-tracking branch 'origin/main'",
            "Merge tag 'v1.2.3'",
            "Merge commit 'abc123'",
        ] {
            let e = one(h);
            assert!(e.merge, "{h}");
            assert_eq!(e.kind, None, "{h}");
            assert_eq!(e.description, h, "{h}");
        }
        assert_eq!(
            one("Merge pull request #42 from someone/branch").references,
            vec![issue(42, "subject")]
        );
        assert!(!one("Merged the thing").merge);
    }

    #[test]
    fn gitlab_merge_commit() {
        let e = one(
            "Merge branch 'feature' into 'main'\n\nfeat: add thing\n\nSee merge request group/sub/proj!34",
        );
        assert!(e.merge);
        assert_eq!(e.kind, None);
        assert_eq!(e.references, vec![mr(34, "body")]);
        assert_eq!(
            e.body,
            "feat: add thing\n\nSee merge request group/sub/proj!34"
        );
    }

    #[test]
    fn merge_commits_are_not_split() {
        let v = parse("Merge pull request #5 from a/b\n\n* feat: x\n* fix: y");
        assert_eq!(v.len(), 1);
        assert!(v[0].merge);
    }

    // --- squash splitting -------------------------------------------------------------------

    const SQUASH: &str = "feat(api): big change (#100)

Intro text.

* feat(api): big change

* fix: handle nulls (#98)
  with a detail line
  Closes #3

* chore: not conventional? yes it is
* Update README
  more words
* feat!: drop v1

* FIX: Handle Nulls

---------

Co-authored-by: Ann <ann@x.org>
Co-authored-by: Bob <bob@x.org>
BREAKING CHANGE: v1 routes are gone";

    #[test]
    fn squash_body_split() {
        let v = parse(SQUASH);
        let kinds: Vec<_> = v
            .iter()
            .map(|e| (e.kind.as_deref(), e.description.as_str(), e.breaking))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (Some("feat"), "big change", true),
                (Some("fix"), "handle nulls", false),
                (Some("chore"), "not conventional? yes it is", false),
                (Some("feat"), "drop v1", true),
            ]
        );
        let head = &v[0];
        assert_eq!(head.scope.as_deref(), Some("api"));
        assert_eq!(head.body, "Intro text.\n\n* Update README\n  more words");
        assert_eq!(
            head.breaking_description.as_deref(),
            Some("v1 routes are gone")
        );
        assert_eq!(head.references, vec![issue(100, "subject")]);
        assert_eq!(head.footers.len(), 3);
        let both = vec![person("Ann", "ann@x.org"), person("Bob", "bob@x.org")];
        for e in &v {
            assert_eq!(e.co_authors, both, "{e:#?}");
        }
        let fix = &v[1];
        assert_eq!(fix.body, "with a detail line");
        assert_eq!(
            fix.references,
            vec![issue(98, "subject"), issue(3, "Closes")]
        );
        assert_eq!(fix.footers.len(), 1);
        assert_eq!(fix.breaking_description, None);
        assert!(v[2].footers.is_empty() && v[3].footers.is_empty());
        assert_eq!(v[3].breaking_description, None);
    }

    #[test]
    fn squash_split_disabled() {
        let v = parse_message(
            b"feat: a\n\n* fix: b\n* fix: c",
            &ParseOptions {
                split_squash: false,
            },
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].body, "* fix: b\n* fix: c");
    }

    #[test]
    fn squash_with_non_conventional_header_and_dash_bullets() {
        let v = parse("Big PR (#9)\n\n- fix: b\n- feat(x): c\n  - nested detail\n");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].kind, None);
        assert_eq!(v[0].description, "Big PR");
        assert_eq!(v[0].body, "");
        assert_eq!(v[1].kind.as_deref(), Some("fix"));
        assert_eq!(v[2].scope.as_deref(), Some("x"));
        assert_eq!(v[2].body, "- nested detail");
    }

    #[test]
    fn squash_without_conventional_bullets_is_not_split() {
        let v = parse("feat: a\n\n* one\n* two");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].body, "* one\n* two");
    }

    #[test]
    fn squash_bullet_with_breaking_footer() {
        let v = parse("feat: a\n\n* feat: b\n  BREAKING CHANGE: c is gone");
        assert_eq!(v.len(), 2);
        assert!(!v[0].breaking);
        assert!(v[1].breaking);
        assert_eq!(v[1].breaking_description.as_deref(), Some("c is gone"));
    }

    #[test]
    fn squash_duplicate_bullets_skipped() {
        let v = parse("fix: x (#1)\n\n* fix: x\n* fix: X \n* fix(s): x\n* feat: x");
        let keys: Vec<_> = v
            .iter()
            .map(|e| {
                (
                    e.kind.as_deref(),
                    e.scope.as_deref(),
                    e.description.as_str(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (Some("fix"), None, "x"),
                (Some("fix"), Some("s"), "x"),
                (Some("feat"), None, "x"),
            ]
        );
    }

    #[test]
    fn breaking_paragraph_before_bullets_stays_in_body() {
        let v = parse("feat: a\n\nBREAKING CHANGE: b\n\n* fix: c");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].body, "BREAKING CHANGE: b");
        assert!(!v[0].breaking);
        assert_eq!(v[1].description, "c");
    }

    /// Speed budget: a typical three-line message well under 2 µs. Timing is meaningless in a
    /// debug build, so run it on request:
    /// `cargo test -p relman-core --release --lib -- --ignored --nocapture typical_message_speed`.
    #[test]
    #[ignore = "timing; run in release with --ignored"]
    fn typical_message_speed() {
        let msg = b"feat(cli): add --json output (#123)\n\nPrints one JSON object per line.\n";
        let opts = ParseOptions::default();
        let n = 200_000u32;
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(parse_message(std::hint::black_box(msg), &opts));
        }
        let per = start.elapsed() / n;
        println!("parse_message: {per:?} per message");
        assert!(per < std::time::Duration::from_micros(2), "{per:?}");
    }

    // --- property tests ---------------------------------------------------------------------

    fn check(message: &[u8]) -> Result<(), TestCaseError> {
        for opts in [
            ParseOptions::default(),
            ParseOptions {
                split_squash: false,
            },
        ] {
            let v = parse_message(message, &opts);
            prop_assert!(!v.is_empty());
            for e in &v {
                prop_assert!(!e.description.contains('\n'));
                prop_assert!(!e.description.contains('\r'));
                prop_assert!(!e.body.contains('\r'));
            }
        }
        Ok(())
    }

    const PIECES: &[&[u8]] = &[
        b"feat",
        b"fix",
        b"revert",
        b"Revert \"",
        b"\"",
        b"Merge branch ",
        b"(",
        b")",
        b"!",
        b":",
        b" ",
        b"  ",
        b"\t",
        b"\n",
        b"\n\n",
        b"\r\n",
        b"\r",
        b"BREAKING CHANGE",
        b"BREAKING-CHANGE",
        b"Co-authored-by",
        b"Release-As",
        b"Closes",
        b" #",
        b"#12",
        b"#",
        b"GH-5",
        b"!34",
        b"(#7)",
        b"* ",
        b"- ",
        b"x",
        b"scope",
        b"<a@b>",
        b"This reverts commit abc123.",
        b"See merge request g/p!3",
        b"https://",
        b"---",
        b"\xff",
        b"\xe9",
        b"\xc3",
        "é".as_bytes(),
        "\u{3000}".as_bytes(),
        b"9999999999999999999999",
    ];

    fn message_like() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(PIECES), 0..60)
            .prop_map(|ps| ps.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(bytes in any::<Vec<u8>>()) {
            check(&bytes)?;
        }

        #[test]
        fn never_panics_on_message_like(bytes in message_like()) {
            check(&bytes)?;
        }
    }
}
