//! Evidence for the gate: pipelines and commit statuses of a sha, MR approvals, freeze
//! periods, issues by label, and the MRs commits came from (listing the merged MRs of the
//! window, not one request per commit).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::client::enc;
use super::deployments::GlUser;
use super::{GitLab, required};
use crate::{
    Check, CheckConclusion, CheckStatus, FreezePeriod, IssueRef, PullRequestRef, Review,
    ReviewState,
};
use relman_core::error::Result;

/// Bound on the MRs whose commits are listed to map non-merge commits.
const MAX_MR_COMMIT_LISTINGS: usize = 100;

#[derive(Debug, Deserialize)]
struct GlStatus {
    name: String,
    status: String,
    #[serde(default)]
    target_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlPipeline {
    id: u64,
    status: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlApprovals {
    #[serde(default)]
    approved_by: Vec<GlApprover>,
}

#[derive(Debug, Deserialize)]
struct GlApprover {
    user: GlUser,
}

#[derive(Debug, Deserialize)]
struct GlFreeze {
    freeze_start: String,
    freeze_end: String,
    #[serde(default)]
    cron_timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlIssue {
    iid: u64,
    title: String,
    web_url: String,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GlMergeRequest {
    iid: u64,
    title: String,
    #[serde(default)]
    author: Option<GlUser>,
    web_url: String,
    #[serde(default, deserialize_with = "crate::time::optional")]
    merged_at: Option<jiff::Timestamp>,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    squash_commit_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlCommit {
    id: String,
    #[serde(default, deserialize_with = "crate::time::optional")]
    committed_date: Option<jiff::Timestamp>,
}

/// A GitLab job / pipeline / commit status → check status and conclusion.
fn check_state(status: &str) -> (CheckStatus, Option<CheckConclusion>) {
    use CheckConclusion as C;
    match status {
        "running" => (CheckStatus::InProgress, None),
        "success" => (CheckStatus::Completed, Some(C::Success)),
        "failed" => (CheckStatus::Completed, Some(C::Failure)),
        "canceled" | "canceling" => (CheckStatus::Completed, Some(C::Cancelled)),
        "skipped" => (CheckStatus::Completed, Some(C::Skipped)),
        "manual" => (CheckStatus::Completed, Some(C::ActionRequired)),
        // created, waiting_for_resource, preparing, pending, scheduled, …
        _ => (CheckStatus::Queued, None),
    }
}

impl GitLab {
    pub(super) fn checks(&self, sha: &str) -> Result<Vec<Check>> {
        required("sha", sha)?;
        let pipelines: Vec<GlPipeline> = self.http.list(
            &self.project_path(&format!(
                "/pipelines?sha={}&order_by=id&sort=desc",
                enc(sha)
            )),
            100,
        )?;
        let mut checks: Vec<Check> = pipelines
            .into_iter()
            .map(|p| {
                let (status, conclusion) = check_state(&p.status);
                Check {
                    name: format!(
                        "pipeline #{}{}",
                        p.id,
                        p.source.map(|s| format!(" ({s})")).unwrap_or_default()
                    ),
                    status,
                    conclusion,
                    url: p.web_url,
                }
            })
            .collect();
        let statuses: Vec<GlStatus> = self.http.list(
            &self.project_path(&format!(
                "/repository/commits/{}/statuses?all=true",
                enc(sha)
            )),
            10_000,
        )?;
        checks.extend(statuses.into_iter().map(|s| {
            let (status, conclusion) = check_state(&s.status);
            Check {
                name: s.name,
                status,
                conclusion,
                url: s.target_url,
            }
        }));
        Ok(checks)
    }

    pub(super) fn approvals(&self, mr: u64) -> Result<Vec<Review>> {
        let approvals: GlApprovals = self
            .http
            .get(&self.project_path(&format!("/merge_requests/{mr}/approvals")))?;
        Ok(approvals
            .approved_by
            .into_iter()
            .map(|a| Review {
                author: a.user.username,
                state: ReviewState::Approved,
                submitted_at: None,
                commit_id: None,
            })
            .collect())
    }

    pub(super) fn freezes(&self) -> Result<Vec<FreezePeriod>> {
        let freezes: Vec<GlFreeze> = self
            .http
            .list(&self.project_path("/freeze_periods"), 10_000)?;
        Ok(freezes
            .into_iter()
            .map(|f| FreezePeriod {
                cron_start: f.freeze_start,
                cron_end: f.freeze_end,
                timezone: f.cron_timezone.unwrap_or_else(|| "UTC".into()),
            })
            .collect())
    }

    pub(super) fn issues(&self, label: &str) -> Result<Vec<IssueRef>> {
        required("label", label)?;
        self.open_issues(&format!("labels={}", enc(label)))
    }

    /// Open issues of the project matching `query` (`labels=…`, `milestone=…`), all pages.
    pub(super) fn open_issues(&self, query: &str) -> Result<Vec<IssueRef>> {
        let issues: Vec<GlIssue> = self.http.list(
            &self.project_path(&format!("/issues?state=opened&{query}")),
            10_000,
        )?;
        Ok(issues
            .into_iter()
            .map(|i| IssueRef {
                number: i.iid,
                title: i.title,
                url: i.web_url,
                labels: i.labels,
            })
            .collect())
    }

    /// The window starts at the older committed date of the first and last sha (callers pass
    /// commits newest first, as the release walk yields them); merged MRs updated since then
    /// are listed, and matched by merge, squash and head sha. MRs merged with a merge commit
    /// also have their commits listed (one request per such MR, bounded) while shas are left.
    pub(super) fn merge_requests_for(
        &self,
        shas: &[&str],
    ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
        let mut result: BTreeMap<String, Vec<PullRequestRef>> =
            shas.iter().map(|s| (s.to_string(), Vec::new())).collect();
        let (Some(first), Some(last)) = (shas.first(), shas.last()) else {
            return Ok(result);
        };
        let mut since: Option<jiff::Timestamp> = None;
        let ends: BTreeSet<&str> = [*first, *last].into_iter().collect();
        for sha in ends {
            let commit: GlCommit = self
                .http
                .get(&self.project_path(&format!("/repository/commits/{}", enc(sha))))?;
            if let Some(t) = commit.committed_date {
                since = Some(since.map_or(t, |s| s.min(t)));
            }
        }
        let mut path =
            self.project_path("/merge_requests?state=merged&order_by=updated_at&sort=desc");
        if let Some(since) = since {
            // An hour of slack for clock skew between committers and the server.
            let since = since
                .checked_sub(jiff::SignedDuration::from_hours(1))
                .unwrap_or(since);
            path.push_str(&format!("&updated_after={}", enc(&since.to_string())));
        }
        let mrs: Vec<GlMergeRequest> = self.http.list(&path, 20_000)?;

        let wanted: BTreeSet<&str> = shas.iter().copied().collect();
        let mut unmatched: BTreeSet<&str> = wanted.clone();
        let mut merge_commit_mrs = Vec::new();
        for mr in &mrs {
            let reference = pr_ref(mr);
            let candidates = [&mr.merge_commit_sha, &mr.squash_commit_sha, &mr.sha];
            for sha in candidates.into_iter().flatten() {
                if wanted.contains(sha.as_str()) {
                    push_unique(&mut result, sha, &reference);
                    unmatched.remove(sha.as_str());
                }
            }
            if mr
                .merge_commit_sha
                .as_deref()
                .is_some_and(|m| wanted.contains(m))
            {
                merge_commit_mrs.push(mr);
            }
        }
        for mr in merge_commit_mrs.into_iter().take(MAX_MR_COMMIT_LISTINGS) {
            if unmatched.is_empty() {
                break;
            }
            let commits: Vec<GlCommit> = self.http.list(
                &self.project_path(&format!("/merge_requests/{}/commits", mr.iid)),
                10_000,
            )?;
            let reference = pr_ref(mr);
            for c in commits {
                if unmatched.remove(c.id.as_str()) {
                    push_unique(&mut result, &c.id, &reference);
                }
            }
        }
        Ok(result)
    }
}

fn pr_ref(mr: &GlMergeRequest) -> PullRequestRef {
    PullRequestRef {
        number: mr.iid,
        title: mr.title.clone(),
        author_login: mr
            .author
            .as_ref()
            .map(|a| a.username.clone())
            .unwrap_or_default(),
        url: mr.web_url.clone(),
        merged_at: mr.merged_at,
        // GitLab's merge requests do not say whether it is the author's first contribution;
        // finding out would take a request per author (their contributed projects or events).
        first_time: false,
    }
}

fn push_unique(
    result: &mut BTreeMap<String, Vec<PullRequestRef>>,
    sha: &str,
    reference: &PullRequestRef,
) {
    if let Some(list) = result.get_mut(sha)
        && !list.iter().any(|r| r.number == reference.number)
    {
        list.push(reference.clone());
    }
}
