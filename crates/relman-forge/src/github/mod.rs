//! The GitHub backend: releases, deployments, workflow dispatches and evidence through
//! GitHub's REST API (and one GraphQL query where it saves requests), via octocrab.
//!
//! - `api_url` is `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3` on
//!   GitHub Enterprise Server (GraphQL then lives at `https://HOST/api/graphql`).
//! - The trait is synchronous; octocrab runs on a private current-thread tokio runtime, one
//!   request at a time ([`client`]). Do not call a `GitHub` from inside another tokio runtime.
//! - TLS is rustls (ring) with the platform's trusted CAs (`rustls-native-certs`), so a
//!   self-hosted GHES behind a private CA works when that CA is installed on the runner.
//! - `HTTPS_PROXY` / `NO_PROXY` and friends are honoured ([`crate::proxy`]): octocrab's
//!   own client ignores them, so octocrab is given one that does ([`connect`]).
//! - Writes are idempotent ([`releases`], [`deployments`], [`dispatch`], commit statuses in
//!   [`details`]); reads of evidence are paginated to the end ([`evidence`], [`details`]).
//!   A dispatch claims its key on the state branch before it is sent ([`crate::claim`]), is
//!   followed to the end by its key or run id ([`runs`]) and can be checked beforehand
//!   without writing ([`validate`]). Deployments have no job on GitHub: `deploy_job` is
//!   unsupported.
//! - The audit trail is not kept on GitHub (it has no place for it): attach a
//!   state branch ([`relman_core::state::StateStore`]) with [`GitHub::with_audit_store`]; without one, audit calls are
//!   [`Error::Unsupported`], never silently dropped.
//! - Freeze periods stay unsupported: GitHub has no deploy freezes.
//! - Answers are decoded by octocrab ([`client`]); octocrab's typed models read them where
//!   they accept every answer GitHub documents (workflows and files in [`validate`]), relman's
//!   own types elsewhere (ARCHITECTURE.md, "The forge libraries", says which and why).

mod client;
mod connect;
mod deployments;
mod details;
mod dispatch;
mod evidence;
mod releases;
mod runs;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::BTreeMap;

use crate::proxy::{self, Env};
use crate::types::*;
use crate::{Capabilities, Capability, Forge};
use client::Client;
use relman_core::ci::Secret;
use relman_core::error::{Error, Result};
use relman_core::state::StateStore;

/// A GitHub repository as a [`Forge`].
pub struct GitHub {
    client: Client,
    /// REST base without a trailing slash.
    api_url: String,
    graphql_url: String,
    owner: String,
    repo: String,
    audit: Option<std::sync::Arc<relman_core::state::StateStore>>,
}

impl std::fmt::Debug for GitHub {
    // Never the token: octocrab holds it, and it is not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("repository", &format_args!("{}/{}", self.owner, self.repo))
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// A client for `repository` (`owner/name`) at `api_url`, authenticated with `token` when
    /// given, allowed at most `budget` HTTP requests over its life (one CI run).
    pub fn new(
        api_url: &str,
        repository: &str,
        token: Option<Secret>,
        budget: u32,
    ) -> Result<GitHub> {
        Self::with_env(api_url, repository, token, budget, &proxy::process_env)
    }

    /// [`GitHub::new`] with the proxy variables looked up in `env`.
    fn with_env(
        api_url: &str,
        repository: &str,
        token: Option<Secret>,
        budget: u32,
        env: Env<'_>,
    ) -> Result<GitHub> {
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "github: repository `{repository}` is not of the form owner/name"
                ))
            })?;
        let api_url = api_url.trim_end_matches('/').to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(Error::Usage(format!(
                "github: API URL `{api_url}` must start with https:// (GITHUB_API_URL)"
            )));
        }
        let graphql_url = match api_url.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{api_url}/graphql"),
        };
        let client = Client::new(&api_url, token.as_ref().map(Secret::expose), budget, env)?;
        Ok(GitHub {
            client,
            api_url,
            graphql_url,
            owner: owner.to_string(),
            repo: repo.to_string(),
            audit: None,
        })
    }

    /// From the runner's environment: `GITHUB_API_URL` (default `https://api.github.com`),
    /// `GITHUB_REPOSITORY`, and `token` or else `GITHUB_TOKEN`.
    pub fn from_env(token: Option<Secret>, budget: u32) -> Result<GitHub> {
        let api_url = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "https://api.github.com".into());
        let repository = std::env::var("GITHUB_REPOSITORY").map_err(|_| {
            Error::Usage("github: GITHUB_REPOSITORY is not set (expected owner/name)".into())
        })?;
        let token = token.or_else(|| {
            std::env::var("GITHUB_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .map(Secret::new)
        });
        GitHub::new(&api_url, &repository, token, budget)
    }

    /// Keeps the audit trail (and a record of dispatches) in `store`.
    pub fn with_audit_store(
        mut self,
        store: std::sync::Arc<relman_core::state::StateStore>,
    ) -> GitHub {
        self.audit = Some(store);
        self
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests_sent(&self) -> u32 {
        self.client.requests()
    }

    /// `{api}/repos/{owner}/{repo}{path}`.
    fn repo_url(&self, path: &str) -> String {
        format!("{}/repos/{}/{}{path}", self.api_url, self.owner, self.repo)
    }

    fn audit_store(&self) -> Result<&StateStore> {
        self.audit
            .as_deref()
            .ok_or_else(|| self.unsupported("an audit trail (attach a local store)"))
    }
}

/// Percent-encodes a path segment or query value: the policy's one encoder.
pub(crate) use crate::policy::encode;

impl Forge for GitHub {
    fn name(&self) -> &str {
        client::BACKEND
    }

    /// Everything but GitLab's: deploy jobs and job replay, freeze periods, and run ids at
    /// dispatch (GitHub answers `204`; the run is found afterwards by its key). The audit
    /// trail only with a state branch attached.
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        let mut c = Capabilities::of(&[
            Releases,
            DraftReleases,
            Deployments,
            DeploymentPayloads,
            DeploymentStatusHistory,
            DeploymentEvents,
            DispatchRuns,
            RepositoryDispatch,
            FollowRuns,
            ValidateDispatch,
            Checks,
            PullRequests,
            Approvals,
            FirstContributions,
            TeamMembers,
            Issues,
            CommitStatuses,
        ]);
        c.audit = self.audit.is_some();
        c
    }

    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        releases::by_tag(self, tag)
    }

    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        releases::upsert(self, spec)
    }

    fn deployments(&self, environment: &str, limit: usize) -> Result<Vec<Deployment>> {
        deployments::list(self, environment, limit)
    }

    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        deployments::create(self, spec)
    }

    fn set_deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>> {
        deployments::set_status(self, id, state, description)
    }

    fn last_successful_deployment(&self, environment: &str) -> Result<Option<Deployment>> {
        deployments::last_successful(self, environment)
    }

    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        dispatch::dispatch(self, spec)
    }

    fn run_status(&self, record: &DispatchRecord) -> Result<RunStatus> {
        runs::run_status(self, record)
    }

    fn validate_dispatch(&self, spec: &DispatchSpec) -> Result<DispatchCheck> {
        validate::validate(self, spec)
    }

    fn checks_for_commit(&self, sha: &str) -> Result<Vec<Check>> {
        evidence::checks(self, sha)
    }

    fn reviews(&self, pr: u64) -> Result<Vec<Review>> {
        evidence::reviews(self, pr)
    }

    fn pull_requests_for_commits(
        &self,
        shas: &[&str],
    ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
        evidence::pull_requests_for_commits(self, shas)
    }

    fn issues_with_label(&self, label: &str) -> Result<Vec<IssueRef>> {
        evidence::issues_with_label(self, label)
    }

    fn pull_request(&self, number: u64) -> Result<PullRequest> {
        details::pull_request(self, number)
    }

    fn team_members(&self, team: &str) -> Result<Vec<String>> {
        details::team_members(self, team)
    }

    fn issues_in_milestone(&self, milestone: &str) -> Result<Vec<IssueRef>> {
        details::issues_in_milestone(self, milestone)
    }

    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        details::set_commit_status(self, status)
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        self.audit_store()?.append_audit(record)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        self.audit_store()?.audit_log(filter)
    }
}

/// A string field of a JSON object, `""` when absent or null.
fn str_field(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An optional string field.
fn opt_str(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// A time GitHub must send, read once (RFC 3339, to the second); absent, or text that is not a
/// time, is a malformed answer from `url`, never a default.
fn time_field(v: &serde_json::Value, key: &str, url: &str) -> Result<jiff::Timestamp> {
    opt_time(v, key, url)?.ok_or_else(|| {
        client::malformed(&answer_of(url), format!("malformed response: no `{key}`"))
    })
}

/// A time GitHub may leave out or set to `null` (a pending review's `submitted_at`); text that
/// is not a time is a malformed answer from `url`.
fn opt_time(v: &serde_json::Value, key: &str, url: &str) -> Result<Option<jiff::Timestamp>> {
    match v.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => crate::time::parse(text).map(Some).map_err(|e| {
            client::malformed(
                &answer_of(url),
                format!(
                    "malformed response: {}",
                    crate::time::not_a_time(key, text, &e)
                ),
            )
        }),
        Some(other) => Err(client::malformed(
            &answer_of(url),
            format!("malformed response: `{key}` is {other}, not an RFC 3339 time"),
        )),
    }
}

/// The path an answer came from (`/repos/o/r/releases/tags/v1`: no host, no query), for the
/// error naming it.
fn answer_of(url: &str) -> String {
    let endpoint = client::endpoint(&http::Method::GET, url);
    endpoint
        .strip_prefix("GET ")
        .map_or(endpoint.clone(), str::to_string)
}

/// A required unsigned field, else a malformed-response error for `endpoint`.
fn u64_field(v: &serde_json::Value, key: &str, what: &str) -> Result<u64> {
    v.get(key)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| client::malformed(what, format!("malformed response: no `{key}`")))
}
