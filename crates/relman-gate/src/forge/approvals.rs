//! The `approvals` gate: who signed off on the pull / merge request the release comes from.
//!
//! Only each reviewer's latest decisive review counts (a later "changes requested" revokes an
//! approval, a comment does not), an approval of an older head is stale when
//! `dismiss_stale`, and the author cannot approve their own change when `exclude_author`.
//! The approvals cover the commit being gated only when it is the pull request's head (or has
//! its very tree), and code owners come from the target branch, not from the change itself.
//! Requests: the PR, its reviews, one per team named, plus one to find the PR when the run
//! does not know it — a fixed small number.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use relman_core::Error;
use relman_core::config::ApprovalsGate;
use relman_forge::{PullRequest, Review, ReviewState};

use super::codeowners::CodeOwners;
use crate::{Context, Finding, Status};

/// Evaluates the gate.
pub fn evaluate(spec: &ApprovalsGate, cx: &Context) -> Result<Finding, Error> {
    let mut explain = Vec::new();
    let number = match cx.pull_request {
        Some(n) => {
            explain.push(format!("pull request #{n} given by the run"));
            n
        }
        None => {
            let sha = cx.change.head_sha.as_str();
            let found = cx.forge.pull_requests_for_commits(&[sha])?;
            match found.get(sha).and_then(|prs| prs.first()) {
                Some(pr) => {
                    explain.push(format!(
                        "pull request #{} is where {sha} came from",
                        pr.number
                    ));
                    pr.number
                }
                None => {
                    let mut f = Finding::new(
                        Status::Fail,
                        format!("no pull request found for {sha}: nobody reviewed it"),
                    );
                    f.facts =
                        serde_json::json!({ "count": 0, "approvers": [], "pull_request": null });
                    f.explain = explain;
                    return Ok(f);
                }
            }
        }
    };
    let pr = cx.forge.pull_request(number)?;
    let reviews = cx.forge.reviews(number)?;
    explain.push(format!(
        "{} review(s) of #{number} (head {}) from {}",
        reviews.len(),
        short(&pr.head_sha),
        cx.forge.name()
    ));
    let tally = tally(spec, &pr, &reviews);
    let mut problems = Vec::new();
    if (tally.approvers.len() as u64) < u64::from(spec.min) {
        problems.push(format!(
            "{} approval(s), {} required",
            tally.approvers.len(),
            spec.min
        ));
    }
    for who in &tally.changes_requested {
        problems.push(format!("{who} requested changes"));
    }
    for user in &spec.users {
        if !tally.approvers.contains(user) {
            problems.push(format!("no approval from required reviewer {user}"));
        }
    }
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for team in &spec.teams {
        let list = team_members(cx, team, &mut members)?;
        if !list.iter().any(|m| tally.approvers.contains(m)) {
            problems.push(format!("no approval from a member of {team}"));
        }
    }
    if let Some(problem) = reviewed_head(cx, &pr, &mut explain) {
        problems.push(problem);
    }
    if spec.codeowners {
        match trusted_codeowners(cx, &pr, &mut explain) {
            Ok(owners) => {
                let files =
                    crate::diff::change(&cx.root, Some(&pr.base_sha), &pr.head_sha, "")?.files;
                explain.push(format!(
                    "{} file(s) changed in #{number}; owners from {}",
                    files.len(),
                    owners.path.as_deref().unwrap_or("CODEOWNERS")
                ));
                let mut unowned: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for file in &files {
                    for req in owners.owners(&file.path) {
                        let mut approved = BTreeSet::new();
                        for o in req.owners {
                            if o.contains('/') {
                                let list = team_members(cx, o, &mut members)?;
                                approved.extend(
                                    list.iter()
                                        .filter(|m| tally.approvers.contains(*m))
                                        .cloned(),
                                );
                            } else if tally.approvers.contains(o) {
                                approved.insert(o.clone());
                            }
                        }
                        if (approved.len() as u64) < u64::from(req.min) {
                            let mut who = req.owners.join(" ");
                            if let Some(section) = req.section {
                                who = format!("[{section}] {who}");
                            }
                            if req.min > 1 {
                                who = format!("{who}, {} of them", req.min);
                            }
                            unowned.entry(who).or_default().push(file.path.clone());
                        }
                    }
                }
                for (who, files) in unowned {
                    problems.push(format!(
                        "no code-owner approval ({who}) for {}",
                        list_some(&files, 3)
                    ));
                }
            }
            Err(problem) => problems.push(problem),
        }
    }
    let ok = problems.is_empty();
    let reason = if ok {
        format!(
            "#{number} approved by {}",
            tally
                .approvers
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!("#{number}: {}", problems.join("; "))
    };
    let mut f = Finding::new(if ok { Status::Pass } else { Status::Fail }, reason);
    f.evidence = tally.notes;
    f.facts = serde_json::json!({
        "count": tally.approvers.len(),
        "approvers": tally.approvers,
        "changes_requested": tally.changes_requested,
        "stale": tally.stale,
        "pull_request": number,
        "author": pr.author_login,
    });
    f.explain = explain;
    Ok(f)
}

struct Tally {
    approvers: BTreeSet<String>,
    changes_requested: Vec<String>,
    stale: Vec<String>,
    notes: Vec<String>,
}

fn tally(spec: &ApprovalsGate, pr: &PullRequest, reviews: &[Review]) -> Tally {
    let mut ordered: Vec<&Review> = reviews.iter().collect();
    // Forges list reviews oldest first; sort anyway (stable) so a later review wins.
    ordered.sort_by_key(|r| r.submitted_at);
    let mut latest: BTreeMap<&str, &Review> = BTreeMap::new();
    for r in ordered {
        if matches!(
            r.state,
            ReviewState::Approved | ReviewState::ChangesRequested | ReviewState::Dismissed
        ) {
            latest.insert(r.author.as_str(), r);
        }
    }
    let mut t = Tally {
        approvers: BTreeSet::new(),
        changes_requested: Vec::new(),
        stale: Vec::new(),
        notes: Vec::new(),
    };
    for (who, r) in latest {
        match r.state {
            ReviewState::Approved if spec.exclude_author && who == pr.author_login => {
                t.notes
                    .push(format!("{who}: approval by the author does not count"));
            }
            ReviewState::Approved
                if spec.dismiss_stale
                    && r.commit_id.as_deref().is_some_and(|c| c != pr.head_sha) =>
            {
                t.stale.push(who.to_string());
                t.notes.push(format!(
                    "{who}: approved {}, not the head {}: stale",
                    short(r.commit_id.as_deref().unwrap_or("")),
                    short(&pr.head_sha)
                ));
            }
            ReviewState::Approved => {
                t.approvers.insert(who.to_string());
                t.notes.push(format!("{who}: approved"));
            }
            ReviewState::ChangesRequested => {
                t.changes_requested.push(who.to_string());
                t.notes.push(format!("{who}: changes requested"));
            }
            _ => t.notes.push(format!("{who}: review dismissed")),
        }
    }
    t
}

/// `None` when the commit being gated is what was reviewed: the pull request's head, or a
/// commit with the very same tree (a merge or squash of an up-to-date branch). Otherwise the
/// problem: approvals of the pull request do not cover an unreviewed commit on top of it.
fn reviewed_head(cx: &Context, pr: &PullRequest, explain: &mut Vec<String>) -> Option<String> {
    let head = cx.change.head_sha.as_str();
    if pr.head_sha == head {
        return None;
    }
    match crate::diff::same_tree(&cx.root, head, &pr.head_sha) {
        Ok(true) => {
            explain.push(format!(
                "{} has the same content as #{}'s head {}: what was reviewed",
                short(head),
                pr.number,
                short(&pr.head_sha)
            ));
            None
        }
        Ok(false) => Some(format!(
            "the gated commit {} is not #{}'s reviewed head {} (its content differs): the approvals do not cover it",
            short(head),
            pr.number,
            short(&pr.head_sha)
        )),
        Err(e) => Some(format!(
            "cannot tell that {} is what #{} reviewed (head {}): {e}",
            short(head),
            pr.number,
            short(&pr.head_sha)
        )),
    }
}

/// CODEOWNERS as the target branch has it (the pull request's base, else the change's base:
/// a release already made), never the tree under review, which could rewrite or delete it.
/// The error is the no-go reason: no trusted revision, no file, or a file that cannot be read.
fn trusted_codeowners(
    cx: &Context,
    pr: &PullRequest,
    explain: &mut Vec<String>,
) -> Result<CodeOwners, String> {
    let mut tried = Vec::new();
    let candidates = [Some(pr.base_sha.as_str()), cx.change.base_sha.as_deref()];
    for rev in candidates.into_iter().flatten() {
        if rev.is_empty() || tried.iter().any(|(r, _)| r == rev) {
            continue;
        }
        match CodeOwners::load_at(&cx.root, rev) {
            Ok(Some(owners)) => return Ok(owners),
            Ok(None) => {
                return Err(format!(
                    "codeowners is required but {} has no CODEOWNERS file ({})",
                    short(rev),
                    super::codeowners::LOCATIONS.join(", ")
                ));
            }
            Err(e @ (Error::Revision(_) | Error::Git(_))) => {
                explain.push(format!("CODEOWNERS at {}: {e}", short(rev)));
                tried.push((rev.to_string(), e.to_string()));
            }
            Err(e) => return Err(format!("CODEOWNERS at {} cannot be read: {e}", short(rev))),
        }
    }
    Err(format!(
        "codeowners is required but no trusted revision to read CODEOWNERS from is in this clone{}",
        if tried.is_empty() {
            String::new()
        } else {
            format!(
                " (tried {})",
                tried
                    .iter()
                    .map(|(r, _)| short(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ))
}

fn team_members<'m>(
    cx: &Context,
    team: &str,
    cache: &'m mut HashMap<String, Vec<String>>,
) -> Result<&'m Vec<String>, Error> {
    if !cache.contains_key(team) {
        let list = cx.forge.team_members(team)?;
        cache.insert(team.to_string(), list);
    }
    Ok(&cache[team])
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn list_some(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(&format!(" and {} more", items.len() - n));
    }
    s
}
