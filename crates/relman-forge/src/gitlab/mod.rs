//! The GitLab backend: the [`Forge`] interface over GitLab's REST API v4.
//!
//! Why not the `gitlab` crate: its client (`client_api`, on by default) hard-enables reqwest
//! 0.13's `rustls` feature, which builds aws-lc-rs (a C/CMake build), and pulls tokio + hyper
//! (≈170 crates) for a sync client that may not run inside a tokio runtime; without
//! `client_api` it is only endpoint builders. relman needs its own retry, rate-limit and budget
//! handling anyway, so the backend is a small blocking client over `ureq` (rustls with *ring*,
//! the platform's trusted CAs through `rustls-platform-verifier`: self-managed GitLab uses
//! private CAs) with serde types for the few endpoints used.
//!
//! How the forge model maps onto GitLab, and its limits:
//! - Releases: GitLab has no drafts (a draft is [`Error::Unsupported`]) and no pre-release
//!   flag (read back from the tag's semver pre-release part). A release's target is its tag's
//!   commit and cannot be moved by an update, so only name and notes are compared and updated.
//! - Deployments carry no free-form data: the payload is not stored, and the idempotency key
//!   is kept on the state branch ([`keys`]; in memory when no store is attached),
//!   so a retried job or another job finds the deployment its key made, and a reused key is
//!   a conflict. The key is claimed there before the deployment is created
//!   ([`deployments_claim`]): a job dying between creating and recording leaves a claim, and
//!   its retry finds the deployment made since then that no other key owns. Without a store,
//!   a key unknown to the process takes the environment's newest deployment of the same sha
//!   and ref. A deployment has one status (no history, no description); `pending`/`queued`
//!   cannot be set through the API.
//! - Dispatch creates a pipeline with the inputs as variables plus `RELMAN_IDEMPOTENCY_KEY`
//!   and `RELMAN_WORKFLOW`; before creating, the newest [`pipelines::LOOKBACK`] pipelines of
//!   the ref are searched for that key (one request each for their variables). A workflow
//!   `job:<id>` replays that job instead (played when manual, else retried); its key is
//!   claimed on the state branch before GitLab is asked ([`crate::claim`]) and the replay
//!   recorded there ([`keys`]). Of two simultaneous replays one is sent; the other reports it
//!   once recorded, or, while the first is still replaying, fails naming the claim (GitLab
//!   keeps nothing on a job to find it by the key).
//! - Following: a pipeline or replayed job is read by id ([`jobs`]); a deployment's job (its
//!   `deployable`) with whether its artifacts last is what a rollback replays. Validation
//!   (drills) reads only: the token's access level, the ref or the job ([`validate`]).
//! - Merge requests do not say whether they are their author's first contribution:
//!   [`PullRequestRef::first_time`] is always `false` (see `evidence`).
//! - Audit: GitLab has no place for relman's trail; attach the state branch with
//!   [`GitLab::with_audit_store`], else audit calls are [`Error::Unsupported`].

mod client;
mod deployments;
mod deployments_claim;
mod details;
mod evidence;
mod jobs;
mod keys;
mod pipelines;
mod releases;
#[cfg(test)]
mod tests;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use self::client::{Policy, Sleeper, Transport, enc};
use super::{
    AuditFilter, AuditRecord, Capabilities, Capability, Check, CommitStatusSpec, DeployJob,
    Deployment, DeploymentSpec, DeploymentState, DispatchCheck, DispatchRecord, DispatchSpec,
    Forge, FreezePeriod, IssueRef, Outcome, PullRequest, PullRequestRef, Release, ReleaseSpec,
    Review, RunStatus, Upserted,
};
use relman_core::ci::Secret;
use relman_core::error::{Error, Result};

/// A GitLab credential and the header it travels in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitLabToken {
    /// `CI_JOB_TOKEN`, sent as `JOB-TOKEN`.
    Job(Secret),
    /// A personal, project or group access token, sent as `PRIVATE-TOKEN`.
    Private(Secret),
}

impl GitLabToken {
    fn header_name(&self) -> &'static str {
        match self {
            GitLabToken::Job(_) => "JOB-TOKEN",
            GitLabToken::Private(_) => "PRIVATE-TOKEN",
        }
    }

    fn secret(&self) -> &Secret {
        match self {
            GitLabToken::Job(s) | GitLabToken::Private(s) => s,
        }
    }
}

/// The GitLab forge for one project.
pub struct GitLab {
    http: Transport,
    /// `group/sub/project`.
    project: String,
    /// The URL-encoded project path: the `:id` of every project endpoint.
    id: String,
    /// Deployment idempotency keys seen by this process → deployment id (the state branch,
    /// when attached, is where they last: [`keys`]).
    deployment_keys: Mutex<HashMap<String, u64>>,
    /// Job-retry dispatches made by this process, by key.
    job_retries: Mutex<HashMap<String, DispatchRecord>>,
    audit: Option<std::sync::Arc<relman_core::state::StateStore>>,
}

impl std::fmt::Debug for GitLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitLab")
            .field("project", &self.project)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl GitLab {
    /// A client for `project` (`group/sub/project`) at `api_v4_url`
    /// (`https://gitlab.com/api/v4`, i.e. `CI_API_V4_URL`). No request is sent here; at most
    /// `budget` requests (retries included) are sent over the client's life.
    pub fn new(
        api_v4_url: &str,
        project: &str,
        token: Option<GitLabToken>,
        budget: u32,
    ) -> Result<GitLab> {
        Self::with_policy(
            api_v4_url,
            project,
            token,
            budget,
            Policy::default(),
            std::sync::Arc::new(std::thread::sleep),
            &super::proxy::process_env,
        )
    }

    fn with_policy(
        api_v4_url: &str,
        project: &str,
        token: Option<GitLabToken>,
        budget: u32,
        policy: Policy,
        sleep: Sleeper,
        env: super::proxy::Env<'_>,
    ) -> Result<GitLab> {
        let project = project.trim().trim_matches('/');
        if project.is_empty() {
            return Err(Error::Usage(
                "gitlab: the project path is empty (set CI_PROJECT_PATH or forge.project)".into(),
            ));
        }
        if token
            .as_ref()
            .is_some_and(|t| t.secret().expose().is_empty())
        {
            return Err(Error::Usage("gitlab: the token is empty".into()));
        }
        Ok(GitLab {
            http: Transport::new(api_v4_url, token, budget, policy, sleep, env)?,
            project: project.to_string(),
            id: enc(project),
            deployment_keys: Mutex::new(HashMap::new()),
            job_retries: Mutex::new(HashMap::new()),
            audit: None,
        })
    }

    /// Keeps the audit trail and the deployment idempotency keys in `store` (GitLab has no
    /// place for them).
    pub fn with_audit_store(
        mut self,
        store: std::sync::Arc<relman_core::state::StateStore>,
    ) -> Self {
        self.audit = Some(store);
        self
    }

    /// `/projects/<id><rest>`.
    fn project_path(&self, rest: &str) -> String {
        format!("/projects/{}{rest}", self.id)
    }
}

fn required(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::Usage(format!("gitlab: `{what}` must not be empty")))
    } else {
        Ok(())
    }
}

impl Forge for GitLab {
    fn name(&self) -> &str {
        client::BACKEND
    }

    /// No drafts, no deployment payloads or status history, no `repository_dispatch`, no
    /// first-contribution flag (see the module's limits); deploy jobs, job replay, run ids at
    /// dispatch and freeze periods are GitLab's own. The audit trail only with a state branch
    /// attached.
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        let mut c = Capabilities::of(&[
            Releases,
            Deployments,
            DeployJobs,
            DispatchRuns,
            JobReplay,
            DispatchRunIds,
            FollowRuns,
            ValidateDispatch,
            Checks,
            PullRequests,
            Approvals,
            TeamMembers,
            Issues,
            FreezePeriods,
            CommitStatuses,
        ]);
        c.audit = self.audit.is_some();
        c
    }

    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        self.release(tag)
    }

    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        self.upsert(spec)
    }

    fn deployments(&self, environment: &str, limit: usize) -> Result<Vec<Deployment>> {
        self.list_deployments(environment, limit)
    }

    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        self.deploy(spec)
    }

    fn set_deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>> {
        self.set_status(id, state, description)
    }

    fn last_successful_deployment(&self, environment: &str) -> Result<Option<Deployment>> {
        self.last_success(environment)
    }

    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        self.run_dispatch(spec)
    }

    fn run_status(&self, record: &DispatchRecord) -> Result<RunStatus> {
        self.follow(record)
    }

    fn deploy_job(&self, deployment: &Deployment) -> Result<Option<DeployJob>> {
        self.deployment_job(deployment)
    }

    fn validate_dispatch(&self, spec: &DispatchSpec) -> Result<DispatchCheck> {
        self.check_dispatch(spec)
    }

    fn checks_for_commit(&self, sha: &str) -> Result<Vec<Check>> {
        self.checks(sha)
    }

    fn reviews(&self, pr: u64) -> Result<Vec<Review>> {
        self.approvals(pr)
    }

    fn pull_requests_for_commits(
        &self,
        shas: &[&str],
    ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
        self.merge_requests_for(shas)
    }

    fn freeze_periods(&self) -> Result<Vec<FreezePeriod>> {
        self.freezes()
    }

    fn issues_with_label(&self, label: &str) -> Result<Vec<IssueRef>> {
        self.issues(label)
    }

    fn pull_request(&self, number: u64) -> Result<PullRequest> {
        self.merge_request(number)
    }

    fn team_members(&self, team: &str) -> Result<Vec<String>> {
        self.group_members(team)
    }

    fn issues_in_milestone(&self, milestone: &str) -> Result<Vec<IssueRef>> {
        self.milestone_issues(milestone)
    }

    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        self.commit_status(status)
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        match &self.audit {
            Some(store) => store.append_audit(record),
            None => Err(self.unsupported("an audit trail (attach a local store)")),
        }
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        match &self.audit {
            Some(store) => store.audit_log(filter),
            None => Err(self.unsupported("an audit trail (attach a local store)")),
        }
    }
}
