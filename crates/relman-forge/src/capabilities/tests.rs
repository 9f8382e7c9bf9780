use super::*;

#[test]
fn struct_and_enum_are_one_list() {
    let all = Capabilities::of(Capability::ALL);
    assert_eq!(all.list(), Capability::ALL);
    assert!(Capabilities::default().list().is_empty());
    // Field names in JSON are the capabilities' names.
    let json = serde_json::to_value(all).expect("json");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut names: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
    names.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, names);
    assert_eq!(
        serde_json::to_string(&Capability::FollowRuns).expect("json"),
        "\"follow_runs\""
    );
}

#[test]
fn missing_keeps_the_order_asked_and_lacks_names_forge_and_capability() {
    let c = Capabilities::of(&[Capability::Deployments, Capability::Audit]);
    assert_eq!(
        c.missing(&[
            Capability::FollowRuns,
            Capability::Deployments,
            Capability::DispatchRuns
        ]),
        [Capability::FollowRuns, Capability::DispatchRuns]
    );
    assert_eq!(
        lacks("local", Capability::FollowRuns),
        "the local forge cannot follow a dispatched run to its end (capability `follow_runs`)"
    );
}

// --- per backend: the values, and that every method agrees with them ----------------------
//
// Each backend is asked one question per capability that a call can show. The remote ones get
// a request budget of zero and an address nothing listens on: a capability they claim must be
// tried (it fails on the budget, never as unsupported), one they lack must be refused before
// any request ([`Error::Unsupported`], or a usage error for a dispatch kind that is not
// theirs).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{
    AuditFilter, CommitState, CommitStatusSpec, Deployment, DeploymentState, DispatchRecord,
    DispatchSpec, Forge, GitHub, GitLab, LocalStore, ReleaseSpec,
};
use Capability::*;
use relman_core::error::{Error, Result};

const NOWHERE: &str = "http://127.0.0.1:9";

fn dispatch_spec(workflow: &str) -> DispatchSpec {
    DispatchSpec {
        workflow: workflow.into(),
        git_ref: "main".into(),
        inputs: BTreeMap::new(),
        requested_by: "ci".into(),
        idempotency_key: format!("capabilities:{workflow}"),
    }
}

fn deployment() -> Deployment {
    Deployment {
        id: 1,
        environment: "production".into(),
        sha: "a".repeat(40),
        git_ref: "main".into(),
        created_at: "2026-01-01T00:00:00Z".parse().expect("time"),
        creator: "ci".into(),
        state: DeploymentState::Success,
        statuses: Vec::new(),
        idempotency_key: "k".into(),
        payload: serde_json::Value::Null,
    }
}

/// Whether the call was answered or tried: anything but "not this forge".
fn tried<T>(r: Result<T>) -> bool {
    !matches!(r, Err(Error::Unsupported { .. } | Error::Usage(_)))
}

/// The capabilities a call can show, as `forge` answers them.
fn shown(forge: &dyn Forge) -> BTreeMap<Capability, bool> {
    let sha = "a".repeat(40);
    let record = DispatchRecord::of(&dispatch_spec("deploy.yml"), 7, None, None);
    let mut m = BTreeMap::new();
    m.insert(Releases, tried(forge.release_by_tag("v1.0.0")));
    m.insert(
        DraftReleases,
        tried(forge.upsert_release(&ReleaseSpec {
            tag: "v0.0.1-draft".into(),
            name: "draft".into(),
            body: String::new(),
            draft: true,
            prerelease: false,
            target: None,
        })),
    );
    m.insert(Deployments, tried(forge.deployments("production", 1)));
    m.insert(DeployJobs, tried(forge.deploy_job(&deployment())));
    m.insert(FollowRuns, tried(forge.run_status(&record)));
    m.insert(
        ValidateDispatch,
        tried(forge.validate_dispatch(&dispatch_spec("deploy.yml"))),
    );
    m.insert(Checks, tried(forge.checks_for_commit(&sha)));
    m.insert(PullRequests, tried(forge.pull_request(1)));
    m.insert(Approvals, tried(forge.reviews(1)));
    m.insert(TeamMembers, tried(forge.team_members("org/team")));
    m.insert(Issues, tried(forge.issues_with_label("release-blocker")));
    m.insert(FreezePeriods, tried(forge.freeze_periods()));
    m.insert(
        CommitStatuses,
        tried(forge.set_commit_status(&CommitStatusSpec {
            sha,
            context: "relman/gate".into(),
            state: CommitState::Success,
            description: String::new(),
            target_url: None,
        })),
    );
    m.insert(Audit, tried(forge.audit_log(&AuditFilter::default())));
    // The dispatch kinds are told apart only where dispatching runs something.
    if forge.capabilities().dispatch_runs {
        m.insert(
            RepositoryDispatch,
            tried(forge.dispatch(&dispatch_spec("repository_dispatch:rollback"))),
        );
        m.insert(JobReplay, tried(forge.dispatch(&dispatch_spec("job:12"))));
    }
    m
}

fn agrees(forge: &dyn Forge) {
    let caps = forge.capabilities();
    for (capability, answered) in shown(forge) {
        assert_eq!(
            caps.has(capability),
            answered,
            "{}: capabilities say {capability} is {}, the call says otherwise",
            forge.name(),
            caps.has(capability)
        );
    }
}

#[test]
fn the_local_store_records_and_runs_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    assert_eq!(
        store.capabilities().list(),
        [
            Releases,
            DraftReleases,
            Deployments,
            DeploymentPayloads,
            DeploymentStatusHistory,
            CommitStatuses,
            Audit
        ]
    );
    agrees(&store);
}

#[test]
fn github_has_everything_but_gitlabs_own() {
    let github = GitHub::new(NOWHERE, "octocat/hello-world", None, 0).expect("client");
    let expected = [
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
    ];
    assert_eq!(github.capabilities().list(), expected);
    agrees(&github);
    // The audit trail comes with a state branch.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let github = GitHub::new(NOWHERE, "octocat/hello-world", None, 0)
        .expect("client")
        .with_audit_store(Arc::clone(store.state()));
    assert_eq!(
        github.capabilities(),
        Capabilities::of(&expected).with(Audit)
    );
    agrees(&github);
}

#[test]
fn gitlab_lacks_drafts_payloads_history_and_github_events() {
    let gitlab = GitLab::new(NOWHERE, "group/project", None, 0).expect("client");
    let expected = [
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
    ];
    assert_eq!(gitlab.capabilities().list(), expected);
    agrees(&gitlab);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("store");
    let gitlab = GitLab::new(NOWHERE, "group/project", None, 0)
        .expect("client")
        .with_audit_store(Arc::clone(store.state()));
    assert_eq!(
        gitlab.capabilities(),
        Capabilities::of(&expected).with(Audit)
    );
    agrees(&gitlab);
}
