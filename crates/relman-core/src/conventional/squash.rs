//! GitHub squash-merge bodies: a `* type: description` list whose items become entries of
//! their own, sharing the squash commit's co-authors, with duplicates folded together.
//!
//! Only used when [`super::ParseOptions::split_squash`] is on and the header is not a merge;
//! kept apart so the single-commit path in `parse.rs` reads without it.

use super::footer::{footer_start, footer_token, parse_footers, push_person};
use super::header::parse_header;
use super::parse::{build_entry, is_blank};
use super::{Entry, Footer};

/// The text of a squash-list item: a line starting (column 0) with `* ` or `- `.
pub(super) fn bullet_text(line: &str) -> Option<&str> {
    line.strip_prefix("* ").or_else(|| line.strip_prefix("- "))
}

/// Ranges `[start, end)` in `body` of bullets whose text is a conventional header; each range
/// holds the bullet line and its continuation lines (up to a blank line or the next bullet).
pub(super) fn squash_bullets(body: &[&str]) -> Vec<(usize, usize)> {
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

pub(super) fn split_squash(
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
