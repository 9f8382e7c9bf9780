use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use relman_core::config::{Config, parse_str};
use relman_forge::{DeployJob, DeploymentState::*, Forge};

use super::*;
use crate::reason::why;
use crate::testing::{Double, deployed, jobs};

fn config(dispatch: &str) -> Config {
    parse_str(
        &format!("rollback:\n  environments:\n    production:\n      dispatch: {dispatch}\n"),
        std::path::Path::new(".relman.yml"),
    )
    .expect("config")
}

fn question(to: Option<&str>) -> Question {
    Question {
        environment: "production".into(),
        to: to.map(String::from),
        why: why(Some("INC-7"), Some("errors up"), None).expect("why"),
        drill: false,
        timeout: None,
    }
}

fn env(k: &str) -> Option<String> {
    match k {
        "GITHUB_ACTOR" => Some("oncall".into()),
        _ => None,
    }
}

#[test]
fn decide_renders_the_dispatch_for_the_target_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let double = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    let a = "a".repeat(40);
    let b = "b".repeat(40);
    let c = "c".repeat(40);
    let good = deployed(
        &double.local,
        "production",
        &a,
        "v1.0.0",
        &[Success, Inactive],
    );
    deployed(&double.local, "production", &b, "v1.1.0", &[Failure]);
    let current = deployed(&double.local, "production", &c, "v1.2.0", &[Success]);
    let cfg = config(
        "{ workflow: deploy.yml, ref: \"{{ target.ref }}\", inputs: { sha: \"{{ target.sha }}\", from: \"{{ current.id }}\", why: \"{{ incident }}: {{ reason }}\" } }",
    );
    let tip = store.tip().expect("tip");
    let facts = Facts {
        config: &cfg,
        forge: &double,
        state: store,
        env: &env,
    };
    let d = decide(&facts, &question(None)).expect("decided");
    assert_eq!(store.tip().expect("tip"), tip, "decide wrote nothing");
    assert_eq!(double.count(), 0);
    let Resolution::Target(r) = &d.resolution else {
        panic!("{:?}", d.resolution)
    };
    assert_eq!(r.target.id, good);
    assert_eq!(r.current.as_ref().map(|c| c.id), Some(current));
    assert_eq!(
        r.key,
        format!("rollback:production:{good}:{}", d.why.digest())
    );
    let spec = r.dispatch.spec().expect("a forge dispatch");
    assert_eq!(spec.workflow, "deploy.yml");
    assert_eq!(spec.git_ref, "v1.0.0");
    assert_eq!(spec.inputs["sha"], a);
    assert_eq!(spec.inputs["from"], current.to_string());
    assert_eq!(spec.inputs["why"], "INC-7: errors up");
    assert_eq!(spec.idempotency_key, r.key);
    assert_eq!(spec.requested_by, "oncall");
    assert_eq!(d.timeout, std::time::Duration::from_secs(30 * 60));

    // --to the failed one is refused with the reason; no target at all likewise.
    let refused = decide(&facts, &question(Some("v1.1.0"))).expect("decided");
    assert!(
        matches!(&refused.resolution, Resolution::NoTarget(r) if r.contains("not known-good")),
        "{:?}",
        refused.resolution
    );
    let to_current = decide(&facts, &question(Some(&current.to_string()))).expect("decided");
    assert!(
        matches!(&to_current.resolution, Resolution::NoTarget(r) if r.contains("the current one")),
        "{:?}",
        to_current.resolution
    );
}

#[test]
fn bad_templates_and_unknown_environments_are_bad_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let double = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    deployed(
        &double.local,
        "production",
        &"a".repeat(40),
        "v1",
        &[Success],
    );
    deployed(
        &double.local,
        "production",
        &"b".repeat(40),
        "v2",
        &[Success],
    );
    let cfg = config("{ workflow: deploy.yml, inputs: { v: \"{{ target.version }}\" } }");
    let facts = Facts {
        config: &cfg,
        forge: &double,
        state: store,
        env: &env,
    };
    let e = decide(&facts, &question(None)).expect_err("undefined");
    assert_eq!(e.exit_code(), relman_core::ExitCode::BadInput);
    assert!(e.to_string().contains("dispatch.inputs.v"), "{e}");
    let mut q = question(None);
    q.environment = "staging".into();
    let e = decide(&facts, &q).expect_err("unknown").to_string();
    assert!(e.contains("\"staging\"") && e.contains("production"), "{e}");
}

#[test]
fn a_gitlab_job_is_replayed_while_its_artifacts_exist_else_a_pipeline_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let mut double = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    deployed(
        &double.local,
        "production",
        &"a".repeat(40),
        "v1",
        &[Success],
    );
    deployed(
        &double.local,
        "production",
        &"b".repeat(40),
        "v2",
        &[Failure],
    );
    let cfg = config("{ job: deploy-production, variables: { SHA: \"{{ target.sha }}\" } }");
    let job = |available: bool| DeployJob {
        id: 77,
        name: "deploy-production".into(),
        status: "success".into(),
        manual: true,
        artifacts_available: available,
        artifacts_expire_at: Some("2026-01-01T00:00:00Z".parse().expect("time")),
        url: None,
    };
    let mut decide_with = |j: Option<DeployJob>| {
        double.job = j;
        let facts = Facts {
            config: &cfg,
            forge: &double,
            state: store,
            env: &env,
        };
        match decide(&facts, &question(None)).expect("decided").resolution {
            Resolution::Target(r) => r.dispatch,
            other => panic!("{other:?}"),
        }
    };
    // A played manual job gets the variables (GitLab's job_variables_attributes)…
    let replay = decide_with(Some(job(true)));
    let spec = replay.spec().expect("spec");
    assert_eq!(spec.workflow, "job:77");
    assert_eq!(spec.inputs["SHA"], "a".repeat(40));
    assert!(
        replay.describe().contains("plays the manual job 77")
            && replay.describe().contains("played with the variables"),
        "{}",
        replay.describe()
    );
    // …a retried one runs with its own, and the plan says so.
    let retried = decide_with(Some(DeployJob {
        manual: false,
        ..job(true)
    }));
    let spec = retried.spec().expect("spec");
    assert_eq!(spec.workflow, "job:77");
    assert!(spec.inputs.is_empty());
    assert!(
        retried.describe().contains("retries job 77")
            && retried.describe().contains("the job's own variables"),
        "{}",
        retried.describe()
    );

    let expired = decide_with(Some(job(false)));
    let spec = expired.spec().expect("spec");
    assert_eq!(spec.workflow, "deploy-production");
    assert_eq!(spec.git_ref, "v1");
    assert_eq!(spec.inputs["SHA"], "a".repeat(40));
    assert!(
        expired.describe().contains("run a new pipeline on v1")
            && expired
                .describe()
                .contains("artifacts expired at 2026-01-01"),
        "{}",
        expired.describe()
    );
    let none = decide_with(None);
    assert!(
        none.describe().contains("no deploy job"),
        "{}",
        none.describe()
    );
    let _ = double.local.name();
}
