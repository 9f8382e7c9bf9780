//! What a forge can do, asked before acting: [`Forge::capabilities`](crate::Forge::capabilities).
//!
//! A concern that starts a rollout it cannot finish leaves a half-done change behind (a claim
//! with a run nobody can follow, a dispatch the local store records and nothing runs). So each
//! concern asks first and refuses, naming the capability and the forge, before it writes
//! anything; an [`Error::Unsupported`](crate::Error::Unsupported) from a call stays the
//! backstop for what was not asked.
//!
//! The list is what the backends really differ in (each backend's test states its values):
//!
//! | capability                  | local | github | gitlab |
//! |-----------------------------|-------|--------|--------|
//! | releases                    | ✓     | ✓      | ✓      |
//! | draft_releases              | ✓     | ✓      | —      |
//! | deployments                 | ✓     | ✓      | ✓      |
//! | deployment_payloads         | ✓     | ✓      | —      |
//! | deployment_status_history   | ✓     | ✓      | —      |
//! | deployment_events           | —     | ✓      | —      |
//! | deploy_jobs                 | —     | —      | ✓      |
//! | dispatch_runs               | —     | ✓      | ✓      |
//! | repository_dispatch         | —     | ✓      | —      |
//! | job_replay                  | —     | —      | ✓      |
//! | dispatch_run_ids            | —     | —      | ✓      |
//! | follow_runs                 | —     | ✓      | ✓      |
//! | validate_dispatch           | —     | ✓      | ✓      |
//! | checks, pull_requests, approvals, team_members, issues | — | ✓ | ✓ |
//! | first_contributions         | —     | ✓      | —      |
//! | freeze_periods              | —     | —      | ✓      |
//! | commit_statuses             | ✓     | ✓      | ✓      |
//! | audit                       | ✓     | with a state branch attached | with a state branch attached |

use serde::{Deserialize, Serialize};

/// Declares [`Capabilities`] (one `bool` per capability) and [`Capability`] (one variant
/// each) from one list, so the two cannot drift.
macro_rules! capabilities {
    ($( $(#[doc = $doc:literal])* $field:ident / $variant:ident : $what:literal ;)+) => {
        /// What one forge backend can do. `Default` is nothing: a backend (or a test double)
        /// states each capability it has.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Capabilities {
            $( $(#[doc = $doc])* pub $field: bool, )+
        }

        /// One capability, to ask [`Capabilities::has`] and to name in messages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Capability {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl Capability {
            /// Every capability, in declaration order.
            pub const ALL: &'static [Capability] = &[$(Capability::$variant),+];

            /// Its name in configuration, messages and JSON (`follow_runs`).
            pub fn name(self) -> &'static str {
                match self { $(Capability::$variant => stringify!($field)),+ }
            }

            /// What it lets a forge do, to follow "the X forge cannot …".
            pub fn what(self) -> &'static str {
                match self { $(Capability::$variant => $what),+ }
            }
        }

        impl Capabilities {
            /// Whether the forge has `capability`.
            pub fn has(&self, capability: Capability) -> bool {
                match capability { $(Capability::$variant => self.$field),+ }
            }

            /// These capabilities and `capability`.
            pub fn with(mut self, capability: Capability) -> Self {
                match capability { $(Capability::$variant => self.$field = true),+ }
                self
            }
        }
    };
}

capabilities! {
    /// Read and publish releases by tag.
    releases / Releases: "publish releases";
    /// Keep a release as a draft (GitLab has no drafts).
    draft_releases / DraftReleases: "keep a release as a draft";
    /// Create and list deployments and set their state.
    deployments / Deployments: "record deployments";
    /// Keep a deployment's free-form payload (GitLab drops it).
    deployment_payloads / DeploymentPayloads: "keep a deployment's payload";
    /// Keep every status a deployment went through, with its description (GitLab keeps one
    /// state).
    deployment_status_history / DeploymentStatusHistory:
        "keep a deployment's status history";
    /// A deployment created through the API starts whatever deploys it (GitHub's `deployment`
    /// event runs workflows; a GitLab or local deployment is only a record: nothing acts on it,
    /// and following it would wait for a status nobody sets).
    deployment_events / DeploymentEvents: "start a deployer when a deployment is created";
    /// Name the job that made a deployment, to replay it (GitLab's `deployable`).
    deploy_jobs / DeployJobs: "name the job that made a deployment";
    /// A dispatch starts a workflow run or pipeline (the local store only records it and runs
    /// nothing).
    dispatch_runs / DispatchRuns: "start a workflow run or pipeline";
    /// `repository_dispatch:<event_type>` dispatches (GitHub).
    repository_dispatch / RepositoryDispatch: "send a repository_dispatch event";
    /// `job:<id>` dispatches: play a manual job, retry another (GitLab).
    job_replay / JobReplay: "replay a job";
    /// The dispatch answers with the id of the run it started (GitLab's pipeline or job;
    /// GitHub answers 204 and the run is found later by its key).
    dispatch_run_ids / DispatchRunIds: "name the run a dispatch started when it is sent";
    /// Follow a dispatched run to its end ([`Forge::run_status`](crate::Forge::run_status)).
    follow_runs / FollowRuns: "follow a dispatched run to its end";
    /// Check a dispatch without sending it
    /// ([`Forge::validate_dispatch`](crate::Forge::validate_dispatch), drills).
    validate_dispatch / ValidateDispatch: "validate a dispatch without sending it";
    /// Check runs and commit statuses of a commit.
    checks / Checks: "read the checks of a commit";
    /// Pull / merge requests: one by number, and those each commit came from.
    pull_requests / PullRequests: "read pull requests";
    /// Reviews and approvals of a pull / merge request.
    approvals / Approvals: "read the reviews of a pull request";
    /// Whether a pull request is its author's first contribution (GitLab does not say).
    first_contributions / FirstContributions: "tell first contributions";
    /// Members of a team or group.
    team_members / TeamMembers: "list the members of a team";
    /// Issues by label and by milestone (release blockers).
    issues / Issues: "list issues";
    /// Deploy freeze periods configured on the forge (GitLab).
    freeze_periods / FreezePeriods: "list deploy freeze periods";
    /// Set a commit status (the gate's verdict).
    commit_statuses / CommitStatuses: "set commit statuses";
    /// Append to and read relman's audit trail.
    audit / Audit: "keep an audit trail";
}

impl Capabilities {
    /// Exactly `list`: how a test double states what it answers.
    pub fn of(list: &[Capability]) -> Self {
        list.iter().fold(Self::default(), |c, &one| c.with(one))
    }

    /// The capabilities it has, in declaration order.
    pub fn list(&self) -> Vec<Capability> {
        Capability::ALL
            .iter()
            .copied()
            .filter(|&c| self.has(c))
            .collect()
    }

    /// Those of `needed` it lacks, in the order given.
    pub fn missing(&self, needed: &[Capability]) -> Vec<Capability> {
        needed.iter().copied().filter(|&c| !self.has(c)).collect()
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// "the local forge cannot follow a dispatched run to its end (capability `follow_runs`)":
/// the one phrasing every concern refuses with.
pub fn lacks(backend: &str, capability: Capability) -> String {
    format!(
        "the {backend} forge cannot {} (capability `{}`)",
        capability.what(),
        capability.name()
    )
}

#[cfg(test)]
mod tests;
