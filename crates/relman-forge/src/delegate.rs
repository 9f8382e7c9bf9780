//! [`delegate_forge_methods!`](crate::delegate_forge_methods): a test double that keeps its
//! records in a real backend (the local store in a temporary repository) forwards the methods
//! it does not change, instead of spelling each one out.

/// Implements [`Forge`](crate::Forge) methods by calling the same method on the field `$field`
/// (any `Forge`), inside an `impl Forge for …` block, beside
/// [`unsupported_forge_methods!`](crate::unsupported_forge_methods):
///
/// ```ignore
/// impl Forge for Counting {
///     fn name(&self) -> &str { "counting" }
///     relman_forge::delegate_forge_methods!(local => capabilities, releases, audit,
///         fn deployments, fn last_successful_deployment);
///     fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> { … }
///     …
/// }
/// ```
///
/// A bare name is a group — `releases`, `deployments`, `dispatch`, `audit` (the groups of
/// `unsupported_forge_methods!`), `runs` (`run_status`, `deploy_job`, `validate_dispatch`),
/// `evidence` (checks, reviews, pull requests, freeze periods, issues, team members),
/// `statuses` — or `capabilities`; `fn <method>` is one method, so that a double can forward
/// a group but one method it counts or refuses.
#[doc(hidden)]
#[macro_export]
macro_rules! delegate_forge_methods {
    ($f:ident => $($rest:tt)+) => { $crate::delegate_forge_methods!(@munch $f; $($rest)+); };
    (@munch $f:ident; ) => {};
    (@munch $f:ident; fn $m:ident $(, $($rest:tt)*)?) => {
        $crate::delegate_forge_methods!(@fn $f $m);
        $( $crate::delegate_forge_methods!(@munch $f; $($rest)*); )?
    };
    (@munch $f:ident; $g:ident $(, $($rest:tt)*)?) => {
        $crate::delegate_forge_methods!(@group $f $g);
        $( $crate::delegate_forge_methods!(@munch $f; $($rest)*); )?
    };

    (@group $f:ident capabilities) => { $crate::delegate_forge_methods!(@fn $f capabilities); };
    (@group $f:ident releases) => {
        $crate::delegate_forge_methods!(@fn $f release_by_tag);
        $crate::delegate_forge_methods!(@fn $f upsert_release);
    };
    (@group $f:ident deployments) => {
        $crate::delegate_forge_methods!(@fn $f deployments);
        $crate::delegate_forge_methods!(@fn $f create_deployment);
        $crate::delegate_forge_methods!(@fn $f set_deployment_status);
        $crate::delegate_forge_methods!(@fn $f last_successful_deployment);
    };
    (@group $f:ident dispatch) => { $crate::delegate_forge_methods!(@fn $f dispatch); };
    (@group $f:ident runs) => {
        $crate::delegate_forge_methods!(@fn $f run_status);
        $crate::delegate_forge_methods!(@fn $f deploy_job);
        $crate::delegate_forge_methods!(@fn $f validate_dispatch);
    };
    (@group $f:ident evidence) => {
        $crate::delegate_forge_methods!(@fn $f checks_for_commit);
        $crate::delegate_forge_methods!(@fn $f reviews);
        $crate::delegate_forge_methods!(@fn $f pull_requests_for_commits);
        $crate::delegate_forge_methods!(@fn $f freeze_periods);
        $crate::delegate_forge_methods!(@fn $f issues_with_label);
        $crate::delegate_forge_methods!(@fn $f pull_request);
        $crate::delegate_forge_methods!(@fn $f team_members);
        $crate::delegate_forge_methods!(@fn $f issues_in_milestone);
    };
    (@group $f:ident statuses) => { $crate::delegate_forge_methods!(@fn $f set_commit_status); };
    (@group $f:ident audit) => {
        $crate::delegate_forge_methods!(@fn $f append_audit);
        $crate::delegate_forge_methods!(@fn $f audit_log);
    };

    (@fn $f:ident capabilities) => {
        fn capabilities(&self) -> $crate::Capabilities {
            $crate::Forge::capabilities(&self.$f)
        }
    };
    (@fn $f:ident release_by_tag) => {
        fn release_by_tag(&self, tag: &str) -> $crate::Result<Option<$crate::Release>> {
            $crate::Forge::release_by_tag(&self.$f, tag)
        }
    };
    (@fn $f:ident upsert_release) => {
        fn upsert_release(
            &self,
            spec: &$crate::ReleaseSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::Release>> {
            $crate::Forge::upsert_release(&self.$f, spec)
        }
    };
    (@fn $f:ident deployments) => {
        fn deployments(
            &self,
            environment: &str,
            limit: usize,
        ) -> $crate::Result<Vec<$crate::Deployment>> {
            $crate::Forge::deployments(&self.$f, environment, limit)
        }
    };
    (@fn $f:ident create_deployment) => {
        fn create_deployment(
            &self,
            spec: &$crate::DeploymentSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::Deployment>> {
            $crate::Forge::create_deployment(&self.$f, spec)
        }
    };
    (@fn $f:ident set_deployment_status) => {
        fn set_deployment_status(
            &self,
            id: u64,
            state: $crate::DeploymentState,
            description: &str,
        ) -> $crate::Result<$crate::Upserted<$crate::Deployment>> {
            $crate::Forge::set_deployment_status(&self.$f, id, state, description)
        }
    };
    (@fn $f:ident last_successful_deployment) => {
        fn last_successful_deployment(
            &self,
            environment: &str,
        ) -> $crate::Result<Option<$crate::Deployment>> {
            $crate::Forge::last_successful_deployment(&self.$f, environment)
        }
    };
    (@fn $f:ident dispatch) => {
        fn dispatch(
            &self,
            spec: &$crate::DispatchSpec,
        ) -> $crate::Result<$crate::Upserted<$crate::DispatchRecord>> {
            $crate::Forge::dispatch(&self.$f, spec)
        }
    };
    (@fn $f:ident run_status) => {
        fn run_status(&self, record: &$crate::DispatchRecord) -> $crate::Result<$crate::RunStatus> {
            $crate::Forge::run_status(&self.$f, record)
        }
    };
    (@fn $f:ident deploy_job) => {
        fn deploy_job(
            &self,
            deployment: &$crate::Deployment,
        ) -> $crate::Result<Option<$crate::DeployJob>> {
            $crate::Forge::deploy_job(&self.$f, deployment)
        }
    };
    (@fn $f:ident validate_dispatch) => {
        fn validate_dispatch(
            &self,
            spec: &$crate::DispatchSpec,
        ) -> $crate::Result<$crate::DispatchCheck> {
            $crate::Forge::validate_dispatch(&self.$f, spec)
        }
    };
    (@fn $f:ident checks_for_commit) => {
        fn checks_for_commit(&self, sha: &str) -> $crate::Result<Vec<$crate::Check>> {
            $crate::Forge::checks_for_commit(&self.$f, sha)
        }
    };
    (@fn $f:ident reviews) => {
        fn reviews(&self, pr: u64) -> $crate::Result<Vec<$crate::Review>> {
            $crate::Forge::reviews(&self.$f, pr)
        }
    };
    (@fn $f:ident pull_requests_for_commits) => {
        fn pull_requests_for_commits(
            &self,
            shas: &[&str],
        ) -> $crate::Result<std::collections::BTreeMap<String, Vec<$crate::PullRequestRef>>> {
            $crate::Forge::pull_requests_for_commits(&self.$f, shas)
        }
    };
    (@fn $f:ident freeze_periods) => {
        fn freeze_periods(&self) -> $crate::Result<Vec<$crate::FreezePeriod>> {
            $crate::Forge::freeze_periods(&self.$f)
        }
    };
    (@fn $f:ident issues_with_label) => {
        fn issues_with_label(&self, label: &str) -> $crate::Result<Vec<$crate::IssueRef>> {
            $crate::Forge::issues_with_label(&self.$f, label)
        }
    };
    (@fn $f:ident pull_request) => {
        fn pull_request(&self, number: u64) -> $crate::Result<$crate::PullRequest> {
            $crate::Forge::pull_request(&self.$f, number)
        }
    };
    (@fn $f:ident team_members) => {
        fn team_members(&self, team: &str) -> $crate::Result<Vec<String>> {
            $crate::Forge::team_members(&self.$f, team)
        }
    };
    (@fn $f:ident issues_in_milestone) => {
        fn issues_in_milestone(&self, milestone: &str) -> $crate::Result<Vec<$crate::IssueRef>> {
            $crate::Forge::issues_in_milestone(&self.$f, milestone)
        }
    };
    (@fn $f:ident set_commit_status) => {
        fn set_commit_status(
            &self,
            status: &$crate::CommitStatusSpec,
        ) -> $crate::Result<$crate::Outcome> {
            $crate::Forge::set_commit_status(&self.$f, status)
        }
    };
    (@fn $f:ident append_audit) => {
        fn append_audit(&self, record: &$crate::AuditRecord) -> $crate::Result<()> {
            $crate::Forge::append_audit(&self.$f, record)
        }
    };
    (@fn $f:ident audit_log) => {
        fn audit_log(
            &self,
            filter: &$crate::AuditFilter,
        ) -> $crate::Result<Vec<$crate::AuditRecord>> {
            $crate::Forge::audit_log(&self.$f, filter)
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{Capabilities, Capability, DeploymentSpec, DeploymentState, Forge, LocalStore};
    use relman_core::error::{Error, Result};

    /// Forwards deployments and audit to a store, counts creations, answers nothing else.
    #[derive(Debug)]
    struct Counting {
        store: LocalStore,
        made: std::sync::atomic::AtomicUsize,
    }

    impl Forge for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::of(&[Capability::Deployments, Capability::Audit])
        }
        crate::delegate_forge_methods!(store => audit, fn deployments, fn set_deployment_status,
            fn last_successful_deployment);
        crate::unsupported_forge_methods!(releases, dispatch);
        fn create_deployment(
            &self,
            spec: &DeploymentSpec,
        ) -> Result<crate::Upserted<crate::Deployment>> {
            self.made.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.store.create_deployment(spec)
        }
    }

    #[test]
    fn a_double_forwards_what_it_names_and_keeps_its_own_methods() {
        let dir = tempfile::tempdir().expect("tempdir");
        let forge = Counting {
            store: LocalStore::scratch(dir.path()).expect("store"),
            made: Default::default(),
        };
        let made = forge
            .create_deployment(&DeploymentSpec {
                environment: "production".into(),
                sha: "a".repeat(40),
                git_ref: "main".into(),
                creator: "ci".into(),
                idempotency_key: "k".into(),
                payload: serde_json::Value::Null,
            })
            .expect("made")
            .into_value();
        forge
            .set_deployment_status(made.id, DeploymentState::Success, "")
            .expect("status");
        // Read back through the forwarded methods: the store has it.
        let good = forge
            .last_successful_deployment("production")
            .expect("read")
            .expect("one");
        assert_eq!(good.id, made.id);
        assert_eq!(forge.deployments("production", 5).expect("list").len(), 1);
        assert_eq!(forge.made.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(
            forge
                .audit_log(&crate::AuditFilter::default())
                .expect("audit")
                .is_empty()
        );
        // What it neither forwards nor answers is unsupported, never empty.
        assert!(matches!(
            forge.release_by_tag("v1"),
            Err(Error::Unsupported { .. })
        ));
        assert!(matches!(
            forge.checks_for_commit("abc"),
            Err(Error::Unsupported { .. })
        ));
    }
}
