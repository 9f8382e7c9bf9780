use relman_core::config::RollbackGate;
use relman_forge::{AuditRecord, DeploymentSpec, DeploymentState, Forge, LocalStore, Subject};
use serde_json::json;

use super::evaluate;
use crate::{Change, Context, Status};

const NOW: &str = "2026-09-20T12:00:00Z";
const HEAD: &str = "ccccccccccccccccccccccccccccccccccccccc3";

fn context(forge: &dyn Forge) -> Context<'_> {
    Context {
        now: NOW.parse().expect("now"),
        change: Change {
            head: "v1.3.0".into(),
            head_sha: HEAD.into(),
            ..Change::default()
        },
        ..Context::for_test(forge, &std::env::temp_dir())
    }
}

fn deploy(store: &LocalStore, env: &str, sha: &str, states: &[DeploymentState]) -> u64 {
    let id = store
        .create_deployment(&DeploymentSpec {
            environment: env.into(),
            sha: sha.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: format!("{env}:{sha}:{}", states.len()),
            payload: serde_json::Value::Null,
        })
        .expect("deploy")
        .value
        .id;
    for state in states {
        store
            .set_deployment_status(id, *state, state.as_str())
            .expect("status");
    }
    id
}

fn drill(store: &LocalStore, env: &str, when: &str, details: serde_json::Value) {
    store
        .append_audit(&AuditRecord {
            actor: "sre-bot".into(),
            action: "rollback.drill".into(),
            when: when.parse().expect("time"),
            reason: String::new(),
            subject: Subject {
                environment: Some(env.into()),
                ..Subject::default()
            },
            details,
            run: None,
        })
        .expect("audit");
}

fn store() -> (tempfile::TempDir, LocalStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::scratch(dir.path()).expect("open");
    (dir, store)
}

fn spec(days: Option<u32>) -> RollbackGate {
    RollbackGate {
        environment: None,
        drill_within_days: days,
    }
}

use DeploymentState::{Failure, InProgress, Inactive, Success};

#[test]
fn passes_with_an_earlier_good_deployment_and_no_drill_required() {
    let (_dir, store) = store();
    let good = deploy(&store, "production", "a1", &[InProgress, Success, Inactive]);
    deploy(&store, "production", "b2", &[InProgress, Failure]);
    let f = evaluate(&spec(None), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(
        f.reason,
        format!("can roll back production to a1 (deployment {good})")
    );
    assert_eq!(f.facts["target"]["id"], good);
    assert_eq!(f.facts["target"]["sha"], "a1");
    assert_eq!(f.facts["last_drill"], serde_json::Value::Null);
    assert!(f.explain[0].contains("local forge"), "{:?}", f.explain);
}

#[test]
fn fails_without_deployments_and_when_only_the_gated_release_is_good() {
    let (_dir, store) = store();
    let f = evaluate(&spec(None), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "no earlier successful deployment to production to roll back to"
    );
    assert_eq!(f.facts["target"], serde_json::Value::Null);

    deploy(&store, "production", "a1", &[Failure]);
    deploy(&store, "production", HEAD, &[Success]);
    deploy(&store, "staging", "b2", &[Success]);
    let f = evaluate(&spec(None), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert!(
        f.evidence[0].contains("only the release being gated"),
        "{f:?}"
    );
}

#[test]
fn spec_environment_overrides_the_context() {
    let (_dir, store) = store();
    deploy(&store, "staging", "b2", &[Success]);
    let spec = RollbackGate {
        environment: Some("staging".into()),
        drill_within_days: None,
    };
    let f = evaluate(&spec, &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.facts["environment"], "staging");
}

#[test]
fn a_recent_successful_drill_passes() {
    let (_dir, store) = store();
    deploy(&store, "production", "a1", &[Success]);
    drill(
        &store,
        "production",
        "2026-09-10T08:00:00Z",
        json!({"result": "failure"}),
    );
    drill(
        &store,
        "production",
        "2026-09-15T08:00:00Z",
        json!({"outcome": "success"}),
    );
    drill(
        &store,
        "staging",
        "2026-09-19T08:00:00Z",
        json!({"result": "success"}),
    );
    let f = evaluate(&spec(Some(30)), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(
        f.reason,
        "can roll back production to a1 (deployment 1); last drill 5 days ago"
    );
    assert_eq!(
        f.facts["last_drill"],
        json!({"when": "2026-09-15T08:00:00Z", "result": "success"})
    );
    assert_eq!(f.facts["drill_age_days"], 5);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("2026-09-10T08:00:00Z failed (failure)")),
        "{f:?}"
    );
}

#[test]
fn only_failed_drills_in_the_window_fail_with_the_last_one() {
    let (_dir, store) = store();
    deploy(&store, "production", "a1", &[Success]);
    drill(
        &store,
        "production",
        "2026-07-01T08:00:00Z",
        json!({"result": "success"}),
    );
    drill(
        &store,
        "production",
        "2026-09-01T08:00:00Z",
        json!({"result": "failure"}),
    );
    // After `now`: not evidence of anything yet.
    drill(
        &store,
        "production",
        "2026-09-21T08:00:00Z",
        json!({"result": "success"}),
    );
    let f = evaluate(&spec(Some(30)), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.reason,
        "no successful rollback drill for production in the last 30 days (last: 2026-09-01, failure)"
    );
    assert_eq!(f.facts["last_drill"]["result"], "failure");
    assert_eq!(f.facts["drill_age_days"], 19);
}

#[test]
fn a_drill_older_than_the_window_is_named_but_does_not_count() {
    let (_dir, store) = store();
    deploy(&store, "production", "a1", &[Success]);
    drill(
        &store,
        "production",
        "2026-07-01T08:00:00Z",
        json!({"result": "success"}),
    );
    let f = evaluate(&spec(Some(30)), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.reason,
        "no successful rollback drill for production in the last 30 days (last: 2026-07-01, success)"
    );
    assert_eq!(f.facts["drill_age_days"], 81);

    let (_dir, empty) = self::store();
    deploy(&empty, "production", "a1", &[Success]);
    let f = evaluate(&spec(Some(7)), &context(&empty)).expect("evaluate");
    assert!(
        f.reason.ends_with("in the last 7 days (last: never)"),
        "{f:?}"
    );
}

#[test]
fn both_failures_are_reported_together() {
    let (_dir, store) = store();
    let f = evaluate(&spec(Some(30)), &context(&store)).expect("evaluate");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.reason,
        "no earlier successful deployment to production to roll back to; \
         no successful rollback drill for production in the last 30 days (last: never)"
    );
}

/// A forge that cannot list deployments.
#[derive(Debug)]
struct Mute;

impl Forge for Mute {
    fn name(&self) -> &str {
        "mute"
    }
    fn capabilities(&self) -> relman_forge::Capabilities {
        relman_forge::Capabilities::default()
    }
    relman_forge::unsupported_forge_methods!(releases, deployments, dispatch, audit);
}

#[test]
fn a_forge_that_cannot_answer_is_an_error_not_a_verdict() {
    let err = evaluate(&spec(Some(30)), &context(&Mute)).expect_err("unsupported");
    assert!(
        matches!(err, relman_core::Error::Unsupported { ref what, .. } if what == "deployments"),
        "{err}"
    );
}

#[test]
fn the_deployment_the_run_already_read_is_not_asked_for_again() {
    let (_dir, store) = store();
    let good = deploy(&store, "production", "a1", &[InProgress, Success]);
    let known = store
        .last_successful_deployment("production")
        .expect("read")
        .expect("deployment");
    // Mute fails every deployment read: a pass proves the gate used what the run knew.
    let cx = Context {
        deployment: Some(Some(known)),
        ..context(&Mute)
    };
    let f = evaluate(&spec(None), &cx).expect("evaluate");
    assert_eq!(f.status, Status::Pass, "{f:?}");
    assert_eq!(f.facts["target"]["id"], good);
    // For another environment the run's answer does not apply: the forge is asked.
    let other = RollbackGate {
        environment: Some("staging".into()),
        ..spec(None)
    };
    assert!(evaluate(&other, &cx).is_err());
}
