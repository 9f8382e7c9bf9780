//! The forge layer: one interface to the place releases, deployments and evidence live.
//!
//! Every concern needs some of it: `changelog` publishes releases, `gate` reads checks,
//! reviews and freezes, `promote` creates deployments and sets their status, `rollback` finds
//! the last good deployment and dispatches a redeploy; all of them write an audit trail. They
//! talk to a [`Forge`], never to an API, so that:
//!
//! - every concern runs offline against the [`LocalStore`] (records on the repository's
//!   state branch, [`relman_core::state`]), which is the default when no forge is configured;
//! - a GitHub or GitLab backend is one more implementation, not a change to four concerns;
//! - tests use the local store in a temporary directory: real code, no mocks.
//!
//! The trait is synchronous: the concerns are straight-line CLI programs. An async client
//! (octocrab, a GitLab HTTP client) is driven inside its backend with a private runtime.
//!
//! Writes are idempotent, because CI retries jobs: a release is identified by its tag,
//! a deployment and a dispatch by a caller-given idempotency key (`promote:<env>:<sha>:<run>`),
//! and every write says whether it [`Outcome::Created`], [`Outcome::Updated`] or left the
//! object [`Outcome::Unchanged`].
//!
//! Evidence reads (checks, reviews, pull requests, freezes, issues) have default
//! implementations that return [`Error::Unsupported`]: a backend that cannot answer says so,
//! and a gate can never mistake "no data" for "all green".

mod api_host;
mod capabilities;
mod claim;
mod delegate;
pub mod github;
pub mod gitlab;
mod local;
mod policy;
mod proxy;
pub mod run;
mod select;
#[cfg(test)]
pub(crate) mod standin;
pub mod time;
mod types;

pub use api_host::ENV_API_URL;
pub use capabilities::{Capabilities, Capability, lacks};
pub use github::GitHub;
pub use gitlab::{GitLab, GitLabToken};
pub use local::{LEGACY_DIR, LocalStore, import_legacy};
pub use run::{Clock, RunContext};
pub use select::{open, resolve_kind};
pub use types::*;

use std::collections::BTreeMap;

pub use relman_core::error::{Error, Result};

/// The one interface between the concerns and where their state lives.
///
/// `Send + Sync` so that a concern can share one backend across threads; `Debug` so that the
/// structs holding a `Box<dyn Forge>` can derive it.
///
/// The methods come in groups, one per kind of capability ([`Capabilities`]): releases,
/// deployments, dispatch, following and replaying runs, evidence, commit statuses, audit.
/// Callers hold one `&dyn Forge` and ask [`Forge::capabilities`] before they start; a group a
/// backend lacks answers [`Error::Unsupported`]. A test double implements the groups it uses and
/// fills the rest with [`unsupported_forge_methods!`] / forwards them with
/// [`delegate_forge_methods!`] (see ARCHITECTURE.md for why this is not one trait per group).
pub trait Forge: Send + Sync + std::fmt::Debug {
    /// Backend name for messages and audit records: `local`, `github`, `gitlab`.
    fn name(&self) -> &str;

    /// What this backend can do ([`Capabilities`]): asked by a concern before it starts
    /// anything it could not finish here, so it refuses up front naming what is missing.
    /// Required, so that every backend and test double states it.
    fn capabilities(&self) -> Capabilities;

    // --- releases (changelog) ---------------------------------------------------------------

    /// The release for `tag`, if there is one.
    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>>;

    /// Creates the release for `spec.tag`, or updates it if it exists with other content;
    /// `Unchanged` if it already has exactly this content (nothing is written).
    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>>;

    // --- deployments (promote, rollback) ----------------------------------------------------

    /// Deployments to `environment`, newest first, at most `limit`.
    fn deployments(&self, environment: &str, limit: usize) -> Result<Vec<Deployment>>;

    /// Creates a deployment, unless one with `spec.idempotency_key` exists: then that one is
    /// returned `Unchanged` (a retried job never deploys twice). Reusing a key for another
    /// environment, sha or ref is an [`Error::Conflict`]: that is a bug in the caller's keys.
    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>>;

    /// Appends a status to deployment `id` and makes it its current state. Setting the state
    /// and description the deployment already has is `Unchanged` (a retried job does not
    /// double the history). An unknown id is [`Error::NotFound`].
    fn set_deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>>;

    /// The newest deployment to `environment` that is known-good ([`Deployment::is_good`]):
    /// what a rollback redeploys.
    fn last_successful_deployment(&self, environment: &str) -> Result<Option<Deployment>>;

    // --- dispatch (rollback redeploys, workflow runs) ---------------------------------------

    /// Starts a workflow run / pipeline, unless one with `spec.idempotency_key` was already
    /// dispatched: then that record is returned `Unchanged`. Reusing a key for another
    /// workflow, ref or inputs is an [`Error::Conflict`]. What `spec.workflow` names on each
    /// backend (a workflow file, `repository_dispatch:<event_type>`, `job:<id>`) is in
    /// [`DispatchSpec`]'s table.
    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>>;

    // --- following and replaying (rollback, promote) ---------------------------------------
    //
    // A rollback dispatches a redeploy, then watches it to the end; a drill checks beforehand
    // that the dispatch would be accepted. Backends that cannot answer return
    // [`Error::Unsupported`]: a caller never mistakes "cannot tell" for success.

    /// Where the run `record` started is now: the workflow run (GitHub: by id when the record
    /// has one, else the recent run whose title carries the idempotency key, `Pending` until it
    /// appears), the pipeline or the played / retried job (GitLab). A state the forge reports
    /// that relman does not know is [`RunState::Failed`], never success. Poll it: each call is
    /// a few requests at most.
    fn run_status(&self, record: &DispatchRecord) -> Result<RunStatus> {
        let _ = record;
        Err(self.unsupported("the status of a dispatched run"))
    }

    /// The job that made `deployment` (GitLab's deployable: what a rollback replays), with
    /// whether its artifacts are still there. `Ok(None)`: the deployment has no job (made
    /// through the API, or by a bridge job).
    fn deploy_job(&self, deployment: &Deployment) -> Result<Option<DeployJob>> {
        let _ = deployment;
        Err(self.unsupported("the job of a deployment"))
    }

    /// Checks, without sending any write, that [`Forge::dispatch`] of `spec` would be accepted:
    /// the workflow or job exists, the inputs it requires are given and no undeclared one is
    /// passed, the token may dispatch (a drill). What could not be verified is listed in
    /// [`DispatchCheck::unverified`], never claimed as checked.
    fn validate_dispatch(&self, spec: &DispatchSpec) -> Result<DispatchCheck> {
        let _ = spec;
        Err(self.unsupported("validating a dispatch"))
    }

    // --- evidence (gate); only real forges can answer ---------------------------------------

    /// Check runs and commit statuses on `sha`.
    fn checks_for_commit(&self, sha: &str) -> Result<Vec<Check>> {
        let _ = sha;
        Err(self.unsupported("checks for a commit"))
    }

    /// Reviews of pull / merge request `pr`.
    fn reviews(&self, pr: u64) -> Result<Vec<Review>> {
        let _ = pr;
        Err(self.unsupported("reviews of a pull request"))
    }

    /// The pull / merge requests each of `shas` came from, in one batched call (a release has
    /// hundreds of commits; one request each would hit rate limits). Every sha is a key of the
    /// result; a commit pushed directly maps to an empty list.
    fn pull_requests_for_commits(
        &self,
        shas: &[&str],
    ) -> Result<BTreeMap<String, Vec<PullRequestRef>>> {
        let _ = shas;
        Err(self.unsupported("pull requests for commits"))
    }

    /// Deploy freeze periods configured on the forge.
    fn freeze_periods(&self) -> Result<Vec<FreezePeriod>> {
        Err(self.unsupported("freeze periods"))
    }

    /// Open issues carrying `label` (release blockers, incidents).
    fn issues_with_label(&self, label: &str) -> Result<Vec<IssueRef>> {
        let _ = label;
        Err(self.unsupported("issues with a label"))
    }

    /// A pull / merge request: author, head and base commits (approvals, CODEOWNERS).
    fn pull_request(&self, number: u64) -> Result<PullRequest> {
        let _ = number;
        Err(self.unsupported("a pull request"))
    }

    /// Logins of the members of `team` (`org/team` on GitHub, a group path on GitLab).
    fn team_members(&self, team: &str) -> Result<Vec<String>> {
        let _ = team;
        Err(self.unsupported("team members"))
    }

    /// Open issues in the milestone titled `milestone` (release blockers).
    fn issues_in_milestone(&self, milestone: &str) -> Result<Vec<IssueRef>> {
        let _ = milestone;
        Err(self.unsupported("issues in a milestone"))
    }

    /// Sets a commit status on `sha` (the gate's `relman/gate` verdict), idempotently: the
    /// same context, state and description again is `Unchanged`.
    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        let _ = status;
        Err(self.unsupported("commit statuses"))
    }

    // --- audit (every concern) --------------------------------------------------------------

    /// Appends one record to the audit trail. Records are never rewritten or removed.
    fn append_audit(&self, record: &AuditRecord) -> Result<()>;

    /// The audit records matching `filter`, oldest first.
    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>>;

    // --- helpers ----------------------------------------------------------------------------

    /// The error a backend returns for something it cannot answer.
    fn unsupported(&self, what: &str) -> Error {
        Error::Unsupported {
            backend: self.name().to_string(),
            what: what.to_string(),
        }
    }
}

/// Implements the required [`Forge`] methods of the named groups (`releases`, `deployments`,
/// `dispatch`, `audit`) as [`Error::Unsupported`], inside an `impl Forge for …` block: a test
/// double then spells out only the answers its test is about. Its sibling
/// [`delegate_forge_methods!`] forwards groups or single methods to a real backend the double
/// holds (records kept in a local store, one write counted or refused).
#[doc(hidden)]
#[macro_export]
macro_rules! unsupported_forge_methods {
    ($($group:ident),+ $(,)?) => { $( $crate::unsupported_forge_methods!(@ $group); )+ };
    (@ releases) => {
        fn release_by_tag(&self, _: &str) -> $crate::Result<Option<$crate::Release>> {
            Err(self.unsupported("releases"))
        }
        fn upsert_release(
            &self,
            _: &$crate::ReleaseSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::Release>> {
            Err(self.unsupported("releases"))
        }
    };
    (@ deployments) => {
        fn deployments(&self, _: &str, _: usize) -> $crate::Result<Vec<$crate::Deployment>> {
            Err(self.unsupported("deployments"))
        }
        fn create_deployment(
            &self,
            _: &$crate::DeploymentSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::Deployment>> {
            Err(self.unsupported("deployments"))
        }
        fn set_deployment_status(
            &self,
            _: u64,
            _: $crate::DeploymentState,
            _: &str,
        ) -> $crate::Result<$crate::Upserted<$crate::Deployment>> {
            Err(self.unsupported("deployments"))
        }
        fn last_successful_deployment(
            &self,
            _: &str,
        ) -> $crate::Result<Option<$crate::Deployment>> {
            Err(self.unsupported("deployments"))
        }
    };
    (@ dispatch) => {
        fn dispatch(
            &self,
            _: &$crate::DispatchSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::DispatchRecord>> {
            Err(self.unsupported("dispatch"))
        }
    };
    (@ audit) => {
        fn append_audit(&self, _: &$crate::AuditRecord) -> $crate::Result<()> {
            Err(self.unsupported("audit"))
        }
        fn audit_log(
            &self,
            _: &$crate::AuditFilter,
        ) -> $crate::Result<Vec<$crate::AuditRecord>> {
            Err(self.unsupported("audit"))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use relman_core::ExitCode;

    #[test]
    fn evidence_reads_are_unsupported_by_the_local_store_never_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::scratch(dir.path()).expect("open");
        let forge: &dyn Forge = &store;
        assert_eq!(forge.name(), "local");
        let errors = [
            forge.checks_for_commit("abc").map(|_| ()),
            forge.reviews(12).map(|_| ()),
            forge.pull_requests_for_commits(&["abc", "def"]).map(|_| ()),
            forge.freeze_periods().map(|_| ()),
            forge.issues_with_label("release-blocker").map(|_| ()),
        ];
        let messages: Vec<String> = errors
            .into_iter()
            .map(|r| {
                let err = r.expect_err("unsupported");
                assert_eq!(err.exit_code(), ExitCode::BadInput);
                err.to_string()
            })
            .collect();
        assert_eq!(
            messages[0],
            "the local store cannot answer `checks for a commit`: configure a forge (github or gitlab)"
        );
        for (message, what) in messages.iter().zip([
            "checks for a commit",
            "reviews of a pull request",
            "pull requests for commits",
            "freeze periods",
            "issues with a label",
        ]) {
            assert!(message.contains(&format!("`{what}`")), "{message}");
        }
    }

    #[test]
    fn the_local_store_cannot_follow_a_run_and_never_says_it_succeeded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::scratch(dir.path()).expect("open");
        let spec = DispatchSpec {
            workflow: "deploy.yml".into(),
            git_ref: "main".into(),
            inputs: BTreeMap::new(),
            requested_by: "ci".into(),
            idempotency_key: "rollback:production:v1".into(),
        };
        let record = store.dispatch(&spec).expect("dispatch").into_value();
        let err = store.run_status(&record).expect_err("cannot follow");
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert_eq!(err.exit_code(), ExitCode::BadInput);
        assert!(err.to_string().contains("runs nothing"), "{err}");
        let deployment = store
            .create_deployment(&DeploymentSpec {
                environment: "production".into(),
                sha: "a".repeat(40),
                git_ref: "main".into(),
                creator: "ci".into(),
                idempotency_key: "k".into(),
                payload: serde_json::Value::Null,
            })
            .expect("deploy")
            .into_value();
        assert!(matches!(
            store.deploy_job(&deployment),
            Err(Error::Unsupported { .. })
        ));
        assert!(matches!(
            store.validate_dispatch(&spec),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn run_states_finish_and_only_succeeded_is_success() {
        use RunState::*;
        for (state, finished, text) in [
            (Pending, false, "pending"),
            (Running, false, "running"),
            (Succeeded, true, "succeeded"),
            (Failed, true, "failed"),
            (Cancelled, true, "cancelled"),
        ] {
            assert_eq!(state.is_finished(), finished, "{state}");
            assert_eq!(
                serde_json::to_string(&state).expect("json"),
                format!("\"{text}\"")
            );
            assert_eq!(state.to_string(), text);
        }
        let check = DispatchCheck {
            problems: vec![],
            checked: vec!["workflow exists".into()],
            unverified: vec!["token may write".into()],
        };
        assert!(check.accepted());
        let json = serde_json::to_value(&check).expect("json");
        let back: DispatchCheck = serde_json::from_value(json).expect("back");
        assert_eq!(back, check);
        let old: DispatchCheck =
            serde_json::from_str(r#"{"problems":["x"],"checked":[]}"#).expect("old shape");
        assert!(!old.accepted() && old.unverified.is_empty());
    }

    #[test]
    fn other_backends_name_themselves_in_unsupported_errors() {
        let err = Error::Unsupported {
            backend: "gitlab".into(),
            what: "freeze periods".into(),
        };
        assert_eq!(
            err.to_string(),
            "the gitlab forge cannot answer `freeze periods`"
        );
    }

    #[test]
    fn types_serialize_as_documented() {
        let up = Upserted::created(DeploymentStatus {
            state: DeploymentState::InProgress,
            description: String::new(),
            created_at: "2025-01-01T00:00:00Z".parse().expect("time"),
        });
        assert_eq!(
            serde_json::to_string(&up).expect("json"),
            r#"{"outcome":"created","value":{"state":"in_progress","description":"","created_at":"2025-01-01T00:00:00Z"}}"#
        );
        assert!(now_rfc3339().parse::<jiff::Timestamp>().is_ok());
        assert_eq!(now_second().subsec_nanosecond(), 0);
    }
}
