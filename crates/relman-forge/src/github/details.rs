//! What the gate asks besides evidence lists: one pull request, the members of a team, the
//! open issues of a milestone, and the commit status that carries its verdict.

use http::Method;
use serde_json::{Value, json};

use super::client::{Idempotent, malformed};
use super::evidence::issues_only;
use super::{GitHub, encode, opt_str, str_field, u64_field};
use crate::types::{CommitState, CommitStatusSpec, IssueRef, Outcome, PullRequest};
use relman_core::error::{Error, Result};

/// GitHub refuses longer status descriptions (422).
const DESCRIPTION_LIMIT: usize = 140;

fn not_found(what: String) -> Error {
    Error::NotFound {
        backend: "github".into(),
        what,
    }
}

pub(super) fn pull_request(gh: &GitHub, number: u64) -> Result<PullRequest> {
    let url = gh.repo_url(&format!("/pulls/{number}"));
    let pr: Value = gh
        .client
        .get_json(&url)?
        .ok_or_else(|| not_found(format!("pull request #{number}")))?;
    let what = format!("GET /pulls/{number}");
    let sha = |side: &str| {
        pr.get(side)
            .and_then(|s| opt_str(s, "sha"))
            .ok_or_else(|| malformed(&what, format!("malformed response: no `{side}.sha`")))
    };
    // The REST `state` is only open/closed; a merged pull request is closed with `merged_at`.
    let state = if pr.get("merged_at").is_some_and(|m| !m.is_null()) {
        "merged".to_string()
    } else {
        str_field(&pr, "state")
    };
    Ok(PullRequest {
        number: u64_field(&pr, "number", &what)?,
        title: str_field(&pr, "title"),
        author_login: pr
            .get("user")
            .and_then(|u| opt_str(u, "login"))
            .unwrap_or_else(|| "ghost".into()),
        url: str_field(&pr, "html_url"),
        head_sha: sha("head")?,
        base_sha: sha("base")?,
        state,
    })
}

pub(super) fn team_members(gh: &GitHub, team: &str) -> Result<Vec<String>> {
    let (org, slug) = team
        .split_once('/')
        .filter(|(o, s)| !o.is_empty() && !s.is_empty() && !s.contains('/'))
        .ok_or_else(|| {
            Error::Usage(format!(
                "github: team `{team}` is not of the form org/team-slug"
            ))
        })?;
    let url = format!(
        "{}/orgs/{}/teams/{}/members?per_page=100",
        gh.api_url,
        encode(org),
        encode(slug)
    );
    let members: Vec<Value> = gh
        .client
        .paginate(&url, Some, |_: &[Value]| false)?
        .ok_or_else(|| not_found(format!("team {team}")))?;
    Ok(members.iter().filter_map(|m| opt_str(m, "login")).collect())
}

pub(super) fn issues_in_milestone(gh: &GitHub, title: &str) -> Result<Vec<IssueRef>> {
    // The issues endpoint filters by milestone number only: find it by title first.
    let url = gh.repo_url("/milestones?state=open&per_page=100");
    let titled = |m: &Value| m.get("title").and_then(Value::as_str) == Some(title);
    let milestones: Vec<Value> = gh
        .client
        .paginate(&url, Some, |seen: &[Value]| seen.iter().any(titled))?
        .unwrap_or_default();
    let number = milestones
        .iter()
        .find(|m| titled(m))
        .and_then(|m| m.get("number").and_then(Value::as_u64))
        .ok_or_else(|| not_found(format!("open milestone `{title}`")))?;
    let url = gh.repo_url(&format!(
        "/issues?milestone={number}&state=open&per_page=100"
    ));
    let list: Vec<Value> = gh
        .client
        .paginate(&url, Some, |_: &[Value]| false)?
        .unwrap_or_default();
    Ok(issues_only(&list))
}

fn state_name(state: CommitState) -> &'static str {
    match state {
        CommitState::Pending => "pending",
        CommitState::Success => "success",
        CommitState::Failure => "failure",
        CommitState::Error => "error",
    }
}

pub(super) fn set_commit_status(gh: &GitHub, status: &CommitStatusSpec) -> Result<Outcome> {
    if status.sha.trim().is_empty() || status.context.trim().is_empty() {
        return Err(Error::Usage(
            "github: a commit status needs a sha and a context".into(),
        ));
    }
    let description: String = status.description.chars().take(DESCRIPTION_LIMIT).collect();
    let state = state_name(status.state);
    // Newest first: the first one with this context is the commit's current one.
    let url = gh.repo_url(&format!(
        "/commits/{}/statuses?per_page=100",
        encode(&status.sha)
    ));
    let ours = |s: &Value| s.get("context").and_then(Value::as_str) == Some(&status.context);
    let statuses: Vec<Value> = gh
        .client
        .paginate(&url, Some, |seen: &[Value]| seen.iter().any(ours))?
        .ok_or_else(|| not_found(format!("commit {}", status.sha)))?;
    let current = statuses.iter().find(|s| ours(s));
    if let Some(current) = current
        && current.get("state").and_then(Value::as_str) == Some(state)
        && str_field(current, "description") == description
    {
        return Ok(Outcome::Unchanged);
    }
    let mut body = json!({
        "state": state,
        "description": description,
        "context": status.context,
    });
    if let Some(target) = &status.target_url {
        body["target_url"] = json!(target);
    }
    // Sending the same status twice only repeats it in the history: safe to retry.
    let url = gh.repo_url(&format!("/statuses/{}", encode(&status.sha)));
    let response = gh
        .client
        .send(Method::POST, &url, Some(&body), Idempotent::Yes)?;
    match response.status.as_u16() {
        200 | 201 => Ok(if current.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        }),
        404 => Err(not_found(format!("commit {}", status.sha))),
        _ => Err(response.unexpected()),
    }
}
