//! GitHub squash-merge bodies: a `* type: description` list whose items become entries of
//! their own, sharing the squash commit's co-authors and pull-request link, with duplicates
//! folded together and reverts inside the list cancelled (they undo work in progress of the
//! same pull request, which never reached the branch).
//!
//! Only used when [`super::ParseOptions::split_squash`] is on and the header is not a merge;
//! kept apart so the single-commit path in `parse.rs` reads without it.

use super::footer::{footer_start, footer_token, parse_footers, push_person};
use super::header::{Head, classify, parse_header, pr_suffix_numbers, strip_pr_suffix};
use super::parse::{build_entry, is_blank};
use super::{Entry, Footer, RefKind, Reference};

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
        if parse_header(text).is_some() || matches!(classify(text), Head::GitRevert(_)) {
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
fn same_text(a: &Entry, b: &Entry) -> bool {
    a.scope == b.scope && a.description.trim().to_lowercase() == b.description.trim().to_lowercase()
}

/// Whether a list item repeats an entry already kept: the same change, or the pull request's
/// own title under another type (`feat: x` titled `fix: x` by the reviewer).
fn same_change(kept: &Entry, is_title: bool, item: &Entry) -> bool {
    same_text(kept, item) && (is_title || kept.kind == item.kind)
}

/// A list item's text as a revert would quote it: PR suffix removed, trimmed.
fn revert_key(s: &str) -> String {
    strip_pr_suffix(s.trim()).trim().to_lowercase()
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
    // The pull request the squash came from: every item is part of it.
    let pr_refs: Vec<Reference> = pr_suffix_numbers(header)
        .into_iter()
        .rev()
        .map(|number| Reference {
            kind: RefKind::Issue,
            number,
            source: "subject".to_owned(),
        })
        .collect();
    let items: Vec<(&str, Entry)> = bullets
        .iter()
        .map(|&(s, e)| {
            let text = bullet_text(body[s]).unwrap_or(body[s]).trim();
            let cont = dedent(&body[s + 1..e]);
            let (b, f) = cont.split_at(bullet_footer_start(&cont));
            (text, build_entry(text, b, parse_footers(f), f, false))
        })
        .collect();
    // A revert inside the list undoes an earlier item of the same pull request: both go.
    // An item that reverts nothing in the list is dropped too: what the pull request reverts
    // on the branch is said by its title.
    let reverted: Vec<String> = items
        .iter()
        .filter_map(|(_, e)| e.revert.as_ref()?.header.as_deref().map(revert_key))
        .collect();
    let mut out = Vec::with_capacity(1 + bullets.len());
    out.push(head);
    for (text, mut entry) in items {
        if entry.revert.is_some() || reverted.contains(&revert_key(text)) {
            continue;
        }
        for p in &shared_co_authors {
            push_person(&mut entry.co_authors, p.clone());
        }
        // An item without a pull-request suffix of its own links to the squash's.
        if !entry.references.iter().any(|x| x.source == "subject") {
            entry.references.extend(pr_refs.iter().cloned());
        }
        if let Some(existing) = out
            .iter_mut()
            .enumerate()
            .find(|(i, x)| same_change(x, *i == 0, &entry))
            .map(|(_, x)| x)
        {
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
