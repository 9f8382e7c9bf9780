//! What the gate asks besides evidence lists: one merge request, the members of a group,
//! the open issues of a milestone, and the commit status that carries its verdict.
//!
//! - An unknown milestone title is an empty list, not an error: GitLab's issue filter does
//!   not tell a missing milestone from an empty one, and looking it up would cost a request.
//! - GitLab has no `error` commit state: [`CommitState::Error`] is sent as `failed`.

use serde::{Deserialize, Serialize};

use super::client::{enc, malformed, not_ready};
use super::deployments::GlUser;
use super::{GitLab, required};
use crate::{CommitState, CommitStatusSpec, IssueRef, Outcome, PullRequest};
use relman_core::error::{Error, Result};

#[derive(Debug, Deserialize)]
struct GlMergeRequest {
    iid: u64,
    title: String,
    #[serde(default)]
    author: Option<GlUser>,
    web_url: String,
    state: String,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    diff_refs: Option<GlDiffRefs>,
}

#[derive(Debug, Deserialize)]
struct GlDiffRefs {
    #[serde(default)]
    base_sha: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlMember {
    username: String,
}

#[derive(Debug, Deserialize)]
struct GlStatus {
    name: String,
    status: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Serialize)]
struct NewStatus<'a> {
    state: &'a str,
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_url: Option<&'a str>,
}

fn not_found(what: String) -> Error {
    Error::NotFound {
        backend: "gitlab".into(),
        what,
    }
}

fn state_name(state: CommitState) -> &'static str {
    match state {
        CommitState::Pending => "pending",
        CommitState::Success => "success",
        CommitState::Failure | CommitState::Error => "failed",
    }
}

impl GitLab {
    pub(super) fn merge_request(&self, iid: u64) -> Result<PullRequest> {
        let path = self.project_path(&format!("/merge_requests/{iid}"));
        let mr: GlMergeRequest = self
            .http
            .get_opt(&path)?
            .ok_or_else(|| not_found(format!("merge request !{iid}")))?;
        let refs = mr.diff_refs.as_ref();
        // `diff_refs` is null while GitLab still prepares the diff; `sha` is the head anyway.
        let head_sha = refs
            .and_then(|r| r.head_sha.clone())
            .or(mr.sha)
            .ok_or_else(|| malformed(&path, "malformed response: no head sha".into()))?;
        let base_sha = refs.and_then(|r| r.base_sha.clone()).ok_or_else(|| {
            not_ready(
                &path,
                format!("merge request !{iid} has no diff yet (no `diff_refs.base_sha`)"),
            )
        })?;
        let state = match mr.state.as_str() {
            "opened" => "open",
            "merged" => "merged",
            // closed, locked
            _ => "closed",
        };
        Ok(PullRequest {
            number: mr.iid,
            title: mr.title,
            author_login: mr.author.map(|a| a.username).unwrap_or_default(),
            url: mr.web_url,
            head_sha,
            base_sha,
            state: state.to_string(),
        })
    }

    pub(super) fn group_members(&self, group: &str) -> Result<Vec<String>> {
        let group = group.trim().trim_matches('/');
        required("group", group)?;
        // `/all` includes members inherited from parent groups: they can approve too.
        let members: Vec<GlMember> = self
            .http
            .list(&format!("/groups/{}/members/all", enc(group)), 100_000)?;
        Ok(members.into_iter().map(|m| m.username).collect())
    }

    pub(super) fn milestone_issues(&self, milestone: &str) -> Result<Vec<IssueRef>> {
        required("milestone", milestone)?;
        self.open_issues(&format!("milestone={}", enc(milestone)))
    }

    /// The latest status named `name` on `sha` (GitLab lists only the latest per name).
    fn latest_status(&self, sha: &str, name: &str) -> Result<Option<GlStatus>> {
        let statuses: Vec<GlStatus> = self.http.list(
            &self.project_path(&format!(
                "/repository/commits/{}/statuses?name={}",
                enc(sha),
                enc(name)
            )),
            100,
        )?;
        Ok(statuses.into_iter().find(|s| s.name == name))
    }

    pub(super) fn commit_status(&self, spec: &CommitStatusSpec) -> Result<Outcome> {
        required("sha", &spec.sha)?;
        required("context", &spec.context)?;
        let state = state_name(spec.state);
        let same = |s: &GlStatus| {
            s.status == state && s.description.as_deref().unwrap_or("") == spec.description
        };
        let current = self.latest_status(&spec.sha, &spec.context)?;
        if current.as_ref().is_some_and(same) {
            return Ok(Outcome::Unchanged);
        }
        let body = NewStatus {
            state,
            name: &spec.context,
            description: &spec.description,
            target_url: spec.target_url.as_deref(),
        };
        // A lost attempt that went through left the status in place: found, not resent.
        let recheck = || {
            let found = self.latest_status(&spec.sha, &spec.context)?;
            Ok(found.filter(same).map(|_| serde_json::Value::Null))
        };
        self.http.create::<serde_json::Value>(
            &self.project_path(&format!("/statuses/{}", enc(&spec.sha))),
            &body,
            &recheck,
        )?;
        Ok(if current.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        })
    }
}
