//! Evidence reads: checks and statuses of a commit, reviews, the pull requests commits came
//! from (GraphQL, 50 commits per query: ⌈N/50⌉ requests; halved when GitHub times out; the
//! author's association comes with them, so first-time contributors cost nothing more),
//! issues with a label. Every list is read to its last page: a gate must never judge on the
//! first 30 checks.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Value, json};

use super::client::{self, Idempotent};
use super::{GitHub, encode, opt_str, opt_time, str_field};
use crate::types::{
    Check, CheckConclusion, CheckStatus, IssueRef, PullRequestRef, Review, ReviewState,
};
use relman_core::error::{Error, ForgeErrorKind, Result};

/// Commits per GraphQL query.
pub(super) const BATCH: usize = 50;
/// The smallest batch the adaptive size goes down to before a timeout is an error.
const MIN_BATCH: usize = 5;

/// A GraphQL answer without the repository: its errors, typed by their `type`s so that a
/// caller can tell a repository the token cannot see from a spent rate limit; with no errors
/// either, an answer GitHub does not document.
fn without_data(endpoint: &str, v: &Value) -> Error {
    let Some(errors) = v
        .get("errors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    else {
        return client::malformed(endpoint, "GraphQL answered without data or errors".into());
    };
    let types = errors
        .iter()
        .filter_map(|e| e.get("type").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    client::api(
        endpoint,
        ForgeErrorKind::GraphQl { types },
        format!(
            "{endpoint}: GraphQL answered without data: {}",
            Value::Array(errors.clone())
        ),
    )
}

/// GraphQL's way of saying a query took too long: HTTP 200 with an error about a timeout and
/// no data.
fn graphql_timed_out(v: &Value) -> bool {
    v.pointer("/data/repository").is_none_or(Value::is_null)
        && v.get("errors")
            .and_then(Value::as_array)
            .is_some_and(|errs| {
                errs.iter().any(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .is_some_and(|m| m.to_ascii_lowercase().contains("timeout"))
                })
            })
}

pub(super) fn checks(gh: &GitHub, sha: &str) -> Result<Vec<Check>> {
    let not_found = || Error::NotFound {
        backend: "github".into(),
        what: format!("commit {sha}"),
    };
    let url = gh.repo_url(&format!("/commits/{}/check-runs?per_page=100", encode(sha)));
    let runs: Vec<Value> = gh
        .client
        .paginate(&url, |v| v.get("check_runs").cloned(), |_: &[Value]| false)?
        .ok_or_else(not_found)?;
    let mut out: Vec<Check> = runs
        .iter()
        .map(|r| Check {
            name: str_field(r, "name"),
            status: match r.get("status").and_then(Value::as_str) {
                Some("completed") => CheckStatus::Completed,
                Some("in_progress") => CheckStatus::InProgress,
                _ => CheckStatus::Queued,
            },
            conclusion: r.get("conclusion").and_then(Value::as_str).map(conclusion),
            url: opt_str(r, "html_url"),
        })
        .collect();
    let url = gh.repo_url(&format!("/commits/{}/status?per_page=100", encode(sha)));
    let statuses: Vec<Value> = gh
        .client
        .paginate(&url, |v| v.get("statuses").cloned(), |_: &[Value]| false)?
        .ok_or_else(not_found)?;
    out.extend(statuses.iter().map(|s| {
        let (status, conclusion) = match s.get("state").and_then(Value::as_str) {
            Some("success") => (CheckStatus::Completed, Some(CheckConclusion::Success)),
            Some("failure") | Some("error") => {
                (CheckStatus::Completed, Some(CheckConclusion::Failure))
            }
            _ => (CheckStatus::InProgress, None),
        };
        Check {
            name: str_field(s, "context"),
            status,
            conclusion,
            url: opt_str(s, "target_url"),
        }
    }));
    Ok(out)
}

fn conclusion(c: &str) -> CheckConclusion {
    match c {
        "success" => CheckConclusion::Success,
        "neutral" => CheckConclusion::Neutral,
        "cancelled" => CheckConclusion::Cancelled,
        "skipped" => CheckConclusion::Skipped,
        "timed_out" => CheckConclusion::TimedOut,
        "action_required" => CheckConclusion::ActionRequired,
        "stale" => CheckConclusion::Stale,
        // `failure`, `startup_failure` and anything new count against.
        _ => CheckConclusion::Failure,
    }
}

pub(super) fn reviews(gh: &GitHub, pr: u64) -> Result<Vec<Review>> {
    let url = gh.repo_url(&format!("/pulls/{pr}/reviews?per_page=100"));
    let list: Vec<Value> = gh
        .client
        .paginate(&url, Some, |_: &[Value]| false)?
        .ok_or_else(|| Error::NotFound {
            backend: "github".into(),
            what: format!("pull request #{pr}"),
        })?;
    list.iter()
        .map(|r| {
            Ok(Review {
                author: r
                    .get("user")
                    .and_then(|u| opt_str(u, "login"))
                    .unwrap_or_default(),
                state: match r.get("state").and_then(Value::as_str) {
                    Some("APPROVED") => ReviewState::Approved,
                    Some("CHANGES_REQUESTED") => ReviewState::ChangesRequested,
                    Some("DISMISSED") => ReviewState::Dismissed,
                    Some("PENDING") => ReviewState::Pending,
                    _ => ReviewState::Commented,
                },
                submitted_at: opt_time(r, "submitted_at", &url)?,
                commit_id: opt_str(r, "commit_id"),
            })
        })
        .collect()
}

pub(super) fn issues_with_label(gh: &GitHub, label: &str) -> Result<Vec<IssueRef>> {
    let url = gh.repo_url(&format!(
        "/issues?state=open&labels={}&per_page=100",
        encode(label)
    ));
    let list: Vec<Value> = gh
        .client
        .paginate(&url, Some, |_: &[Value]| false)?
        .unwrap_or_default();
    Ok(issues_only(&list))
}

/// Issues of an `/issues` listing, which lists pull requests too.
pub(super) fn issues_only(list: &[Value]) -> Vec<IssueRef> {
    list.iter()
        .filter(|i| i.get("pull_request").is_none())
        .map(|i| IssueRef {
            number: i.get("number").and_then(Value::as_u64).unwrap_or(0),
            title: str_field(i, "title"),
            url: str_field(i, "html_url"),
            labels: i
                .get("labels")
                .and_then(Value::as_array)
                .map(|ls| ls.iter().map(|l| str_field(l, "name")).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// The GraphQL query for one batch: one aliased `object(oid:)` per commit.
fn batch_query(shas: &[&str]) -> String {
    let mut q = String::from("query($owner: String!, $name: String!) {\n");
    q.push_str("  repository(owner: $owner, name: $name) {\n");
    for (i, sha) in shas.iter().enumerate() {
        q.push_str(&format!(
            "    c{i}: object(oid: \"{sha}\") {{ ... on Commit {{ associatedPullRequests(first: 5) \
             {{ nodes {{ number title url mergedAt authorAssociation author {{ login }} }} }} }} }}\n"
        ));
    }
    q.push_str("  }\n}\n");
    q
}

pub(super) fn pull_requests_for_commits(
    gh: &GitHub,
    shas: &[&str],
) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
    if let Some(bad) = shas
        .iter()
        .find(|s| s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Error::Usage(format!(
            "github: `{bad}` is not a full commit id (40 hex digits)"
        )));
    }
    let mut out: BTreeMap<String, Vec<PullRequestRef>> =
        shas.iter().map(|s| (s.to_string(), Vec::new())).collect();
    let mut unique: Vec<&str> = shas.to_vec();
    unique.sort_unstable();
    unique.dedup();
    // GitHub's GraphQL gives up on heavy queries (502/504, or an error saying it timed out):
    // halve the batch and ask again, and keep the smaller size for the rest of the run.
    let mut size = BATCH;
    let mut rest: &[&str] = &unique;
    while !rest.is_empty() {
        let batch = &rest[..size.min(rest.len())];
        let body = json!({
            "query": batch_query(batch),
            "variables": { "owner": gh.owner, "name": gh.repo },
        });
        let response = gh.client.send(
            Method::POST,
            &gh.graphql_url,
            Some(&body),
            Idempotent::YesButLighterOnTimeout,
        )?;
        let timed_out = matches!(response.status.as_u16(), 502 | 504)
            || (response.status.as_u16() == 200 && graphql_timed_out(&response.json()?));
        if timed_out && size > MIN_BATCH {
            size = (size / 2).max(MIN_BATCH);
            tracing::debug!("github: GraphQL timed out; asking for {size} commits per query");
            continue;
        }
        if response.status.as_u16() != 200 {
            return Err(response.unexpected());
        }
        if timed_out {
            // Too heavy even at the smallest batch: GitHub's timeout, worth asking again later
            // like a 504, not a refusal (its error carries no `type` to tell them apart).
            return Err(client::api(
                &response.endpoint,
                ForgeErrorKind::Transport,
                format!(
                    "{}: GraphQL timed out even at {size} commits per query",
                    response.endpoint
                ),
            ));
        }
        let v: Value = response.json()?;
        let repo = v.pointer("/data/repository").filter(|r| !r.is_null());
        let Some(repo) = repo else {
            return Err(without_data(&response.endpoint, &v));
        };
        for (i, sha) in batch.iter().enumerate() {
            let nodes = repo
                .pointer(&format!("/c{i}/associatedPullRequests/nodes"))
                .and_then(Value::as_array);
            let prs: Vec<PullRequestRef> = nodes
                .into_iter()
                .flatten()
                .map(|n| {
                    Ok(PullRequestRef {
                        number: n.get("number").and_then(Value::as_u64).unwrap_or(0),
                        title: str_field(n, "title"),
                        author_login: n
                            .get("author")
                            .and_then(|a| opt_str(a, "login"))
                            .unwrap_or_else(|| "ghost".into()),
                        url: str_field(n, "url"),
                        merged_at: opt_time(n, "mergedAt", &gh.graphql_url)?,
                        first_time: matches!(
                            n.get("authorAssociation").and_then(Value::as_str),
                            Some("FIRST_TIME_CONTRIBUTOR" | "FIRST_TIMER")
                        ),
                    })
                })
                .collect::<Result<_>>()?;
            out.insert(sha.to_string(), prs);
        }
        rest = &rest[batch.len()..];
    }
    Ok(out)
}
