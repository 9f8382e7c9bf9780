//! The domain types every forge speaks: releases, deployments, dispatches, evidence and audit.
//!
//! They are plain serde structs so that a concern can print them (`--format json`), the local
//! store can keep them as human-readable JSON, and a GitHub or GitLab backend can map its own
//! API objects onto them. Times are [`Timestamp`]s, read once where they enter (a forge's
//! answer through [`crate::time`], a stored record) and compared as instants wherever a soak,
//! an expiry or an order needs them; on the wire and on disk they stay RFC 3339 UTC
//! (`2025-05-01T12:00:00Z`), so records written before times were typed read unchanged.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an idempotent write did. Concerns report it ("release v1.2.0 created") and a retried
/// CI job can tell that its first attempt already went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing matched: the object was made.
    Created,
    /// An object with the same identity existed with other content; it now has the new one.
    Updated,
    /// An object with the same identity and content existed; nothing was written.
    Unchanged,
}

/// The object an idempotent write left in place, and what the write did to get there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upserted<T> {
    pub outcome: Outcome,
    pub value: T,
}

impl<T> Upserted<T> {
    pub fn created(value: T) -> Self {
        Upserted {
            outcome: Outcome::Created,
            value,
        }
    }

    pub fn updated(value: T) -> Self {
        Upserted {
            outcome: Outcome::Updated,
            value,
        }
    }

    pub fn unchanged(value: T) -> Self {
        Upserted {
            outcome: Outcome::Unchanged,
            value,
        }
    }

    /// Whether the write changed anything (created or updated).
    pub fn changed(&self) -> bool {
        self.outcome != Outcome::Unchanged
    }

    pub fn into_value(self) -> T {
        self.value
    }
}

// ---------------------------------------------------------------------------------------------
// Releases
// ---------------------------------------------------------------------------------------------

/// What a release should look like. The tag is its identity: upserting the same tag again
/// updates that release instead of making a second one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// The release tag, e.g. `v1.2.0` or `api-v1.2.0`.
    pub tag: String,
    /// Title shown by the forge (often the tag itself).
    pub name: String,
    /// Release notes (markdown).
    pub body: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    /// Commit the tag points to (or should be created at), when known.
    #[serde(default)]
    pub target: Option<String>,
}

/// A release as the forge holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub tag: String,
    pub name: String,
    pub body: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub target: Option<String>,
    /// Web page of the release on a forge; `None` in the local store.
    #[serde(default)]
    pub url: Option<String>,
    pub created_at: Timestamp,
    /// The creation time until the release is first updated.
    pub updated_at: Timestamp,
}

impl Release {
    /// Whether this release already has the content `spec` asks for.
    pub fn matches(&self, spec: &ReleaseSpec) -> bool {
        self.tag == spec.tag
            && self.name == spec.name
            && self.body == spec.body
            && self.draft == spec.draft
            && self.prerelease == spec.prerelease
            && self.target == spec.target
    }
}

// ---------------------------------------------------------------------------------------------
// Deployments
// ---------------------------------------------------------------------------------------------

/// State of a deployment: the union of GitHub's deployment status states and GitLab's
/// deployment statuses, so that promote and rollback reason about one vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// Recorded, nothing started yet (GitHub `pending`, GitLab `created`).
    Pending,
    /// Waiting for a runner (GitHub `queued`, GitLab `blocked`/`waiting`).
    Queued,
    /// Being deployed (GitHub `in_progress`, GitLab `running`).
    InProgress,
    /// Deployed and verified.
    Success,
    /// The deployment itself failed (GitHub `failure`, GitLab `failed`).
    Failure,
    /// The deployment could not be attempted (GitHub `error`).
    Error,
    /// Superseded by a newer deployment to the same environment (GitHub `inactive`).
    Inactive,
    /// Stopped before it finished (GitLab `canceled`/`skipped`).
    Cancelled,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Pending => "pending",
            DeploymentState::Queued => "queued",
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
            DeploymentState::Inactive => "inactive",
            DeploymentState::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deployment to create. `idempotency_key` is its identity: a retried job passing the same
/// key (e.g. `promote:production:<sha>:<run-id>`) gets the deployment of its first attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentSpec {
    pub environment: String,
    /// Full commit id being deployed.
    pub sha: String,
    /// The ref it came from (`main`, `v1.2.0`).
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Who asked (CI actor). The local store records it; forges record the token's identity.
    pub creator: String,
    pub idempotency_key: String,
    /// Free-form data for the deploy job (image digests, the promoted-from environment, …).
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// One status a deployment went through, oldest first in [`Deployment::statuses`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    pub state: DeploymentState,
    #[serde(default)]
    pub description: String,
    pub created_at: Timestamp,
}

/// A deployment of one commit to one environment, with its status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Increasing per store (local) or forge-assigned.
    pub id: u64,
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub created_at: Timestamp,
    pub creator: String,
    /// The latest status (`pending` before any status was set).
    pub state: DeploymentState,
    /// Every status set, oldest first.
    #[serde(default)]
    pub statuses: Vec<DeploymentStatus>,
    pub idempotency_key: String,
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl Deployment {
    /// Whether this deployment counts as known-good: its latest status other than `inactive` is
    /// `success`. A forge marks older deployments inactive when a newer one succeeds; that
    /// supersedes them but does not make them bad, which is exactly what a rollback looks for.
    pub fn is_good(&self) -> bool {
        self.statuses
            .iter()
            .rev()
            .find(|s| s.state != DeploymentState::Inactive)
            .is_some_and(|s| s.state == DeploymentState::Success)
    }
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// Prefix of a GitHub [`DispatchSpec::workflow`] that sends a `repository_dispatch` event
/// (`repository_dispatch:<event_type>`) instead of running a workflow file.
pub const REPOSITORY_DISPATCH_PREFIX: &str = "repository_dispatch:";

/// Prefix of a GitLab [`DispatchSpec::workflow`] that replays one job (`job:<job id>`):
/// played when the job is `manual`, retried otherwise.
pub const JOB_PREFIX: &str = "job:";

/// A request to run a workflow or pipeline (a rollback redeploy, a promotion job).
/// `idempotency_key` is its identity, as for deployments.
///
/// What [`DispatchSpec::workflow`] names, per backend:
///
/// | workflow                          | GitHub                                                | GitLab |
/// |-----------------------------------|-------------------------------------------------------|--------|
/// | `deploy.yml` (a file name or id)  | `workflow_dispatch` of that workflow on `ref`, the inputs as workflow inputs plus `relman_key` | a pipeline on `ref`, the inputs as variables plus `RELMAN_IDEMPOTENCY_KEY` and `RELMAN_WORKFLOW` (the name only labels it) |
/// | `repository_dispatch:<event_type>`| `POST /repos/{o}/{r}/dispatches` with `client_payload` = the inputs plus `relman_key` (at most 10 in all); `ref` is not sent: GitHub runs it on the default branch, so name what to deploy in the inputs | — (a usage error) |
/// | `job:<job id>`                    | — (a usage error)                                     | plays the job when it is `manual` with the inputs as its variables, else retries it (no inputs: a retry keeps its own variables) |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchSpec {
    /// What to run: a workflow file (`deploy.yml`), `repository_dispatch:<event_type>`
    /// (GitHub), `job:<id>` or a pipeline label (GitLab); see the table above.
    pub workflow: String,
    /// Ref to run it on.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// Workflow inputs / pipeline variables.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// Who asked (CI actor).
    pub requested_by: String,
    pub idempotency_key: String,
}

/// A dispatch that was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchRecord {
    /// Increasing per store (local) or forge-assigned.
    pub id: u64,
    pub workflow: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    pub requested_by: String,
    pub idempotency_key: String,
    /// When it was dispatched; `None` when the forge did not say (relman before typed times
    /// stored that as `""`, which still reads).
    #[serde(default, deserialize_with = "crate::time::optional_or_empty")]
    pub created_at: Option<Timestamp>,
    /// The run it started, when the forge says; `None` in the local store.
    #[serde(default)]
    pub run_url: Option<String>,
}

impl DispatchRecord {
    /// The record of `spec`, dispatched as `id` at `created_at` (every backend names the same
    /// request fields; only the id, time and run link are its own).
    pub fn of(
        spec: &DispatchSpec,
        id: u64,
        created_at: Option<Timestamp>,
        run_url: Option<String>,
    ) -> Self {
        Self {
            id,
            workflow: spec.workflow.clone(),
            git_ref: spec.git_ref.clone(),
            inputs: spec.inputs.clone(),
            requested_by: spec.requested_by.clone(),
            idempotency_key: spec.idempotency_key.clone(),
            created_at,
            run_url,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Following and replaying (rollback, promote)
// ---------------------------------------------------------------------------------------------

/// Where a dispatched run (GitHub workflow run, GitLab pipeline or job) is.
///
/// Only [`RunState::Succeeded`] is success: a state a forge reports that relman does not know
/// (a new conclusion, `action_required`, `skipped`, …) maps to [`RunState::Failed`], never to
/// success (fail closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Queued, waiting (for a runner, an approval), or not visible yet: GitHub lists a
    /// dispatched run a few seconds after the dispatch.
    Pending,
    /// Started and not finished.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished unsuccessfully, or in a state relman cannot read as success.
    Failed,
    /// Stopped before it finished (cancelled, skipped).
    Cancelled,
}

impl RunState {
    /// Whether the run will not change any more (succeeded, failed or cancelled).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dispatched run as the forge sees it now ([`crate::Forge::run_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStatus {
    pub state: RunState,
    /// The run / pipeline / job id, once known (GitHub learns it when the run appears).
    pub id: Option<u64>,
    /// Its web page, once known: where a person looks when it failed.
    pub url: Option<String>,
    /// The forge's own words, e.g. `completed/timed_out`, `pipeline failed`, `not listed yet`.
    /// Forge text: print it through the runtime's untrusted channel.
    pub detail: String,
}

/// The job that made a deployment ([`crate::Forge::deploy_job`]): what a GitLab rollback
/// plays or retries, while its artifacts last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployJob {
    pub id: u64,
    pub name: String,
    /// The forge's job status (`success`, `failed`, `manual`, `canceled`, …).
    pub status: String,
    /// A manual job (`when: manual`): replayed with play, not retry.
    pub manual: bool,
    /// The job has artifacts and they have not expired (or never expire): a replay can use
    /// them. `false` when the forge did not say.
    pub artifacts_available: bool,
    /// `None` when the artifacts never expire or there are none.
    pub artifacts_expire_at: Option<Timestamp>,
    pub url: Option<String>,
}

/// What [`crate::Forge::validate_dispatch`] found, without sending any write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchCheck {
    /// Why the forge would refuse the dispatch (or the run would fail at once); empty when it
    /// would be accepted as far as relman could verify.
    pub problems: Vec<String>,
    /// What was verified, in words, for the drill record.
    pub checked: Vec<String>,
    /// What could not be verified without writing (e.g. a token's permission to send a
    /// `repository_dispatch`): never counted as checked. A drill that needs proof of these
    /// treats them as not proven.
    #[serde(default)]
    pub unverified: Vec<String>,
}

impl DispatchCheck {
    /// Whether the dispatch would be accepted as far as relman could verify (no problems).
    /// Look at [`DispatchCheck::unverified`] too before calling a drill proven.
    pub fn accepted(&self) -> bool {
        self.problems.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Evidence (read-only; only real forges can answer)
// ---------------------------------------------------------------------------------------------

/// Where a check run or commit status is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Queued,
    InProgress,
    Completed,
}

/// How a completed check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckConclusion {
    Success,
    Failure,
    Neutral,
    Cancelled,
    Skipped,
    TimedOut,
    ActionRequired,
    Stale,
}

/// A check run (GitHub) or commit status / pipeline job (GitLab) on a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    /// `None` until the check completes.
    pub conclusion: Option<CheckConclusion>,
    pub url: Option<String>,
}

/// What a reviewer said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    Dismissed,
    Pending,
}

/// A review of a pull / merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Login of the reviewer.
    pub author: String,
    pub state: ReviewState,
    /// `None` for a pending review.
    pub submitted_at: Option<Timestamp>,
    /// The commit the review was made on: an approval of an older head may not count.
    pub commit_id: Option<String>,
}

/// A pull / merge request a commit came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    pub number: u64,
    pub title: String,
    pub author_login: String,
    pub url: String,
    /// `None` if not merged.
    pub merged_at: Option<Timestamp>,
    /// The author's first contribution to the repository (GitHub's `authorAssociation`
    /// `FIRST_TIME_CONTRIBUTOR` or `FIRST_TIMER`). Always `false` on GitLab, which does not say.
    #[serde(default)]
    pub first_time: bool,
}

/// A pull / merge request in detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub author_login: String,
    pub url: String,
    /// Current head commit: approvals of another commit are stale.
    pub head_sha: String,
    /// Commit of the target branch it is compared with (its diff is `base_sha...head_sha`).
    pub base_sha: String,
    /// `open`, `closed` or `merged`.
    pub state: String,
}

/// State of a commit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitState {
    Pending,
    Success,
    Failure,
    Error,
}

/// A commit status to set (`relman/gate` with the verdict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatusSpec {
    pub sha: String,
    /// Status name, e.g. `relman/gate` (GitHub `context`, GitLab `name`).
    pub context: String,
    pub state: CommitState,
    /// One line; forges cut it (GitHub at 140 characters).
    pub description: String,
    /// Link to the CI run with the full report.
    pub target_url: Option<String>,
}

/// A deploy freeze (GitLab deploy freezes; configured ones on GitHub).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreezePeriod {
    /// Cron expression of the freeze start, e.g. `0 23 * * 5`.
    pub cron_start: String,
    /// Cron expression of the freeze end, e.g. `0 7 * * 1`.
    pub cron_end: String,
    /// IANA time zone the cron expressions are in, e.g. `Europe/Berlin`.
    pub timezone: String,
}

/// An issue (a release blocker, an incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRef {
    pub number: u64,
    pub title: String,
    pub url: String,
    pub labels: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Audit: the records live in the core (the state branch keeps them); every backend writes them.
// ---------------------------------------------------------------------------------------------

pub use relman_core::audit::{AuditFilter, AuditRecord, Subject, now_rfc3339, now_second};
