use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use relman_core::audit::AuditFilter;
use relman_core::ci::Runtime;
use relman_core::config::{Config, parse_str};
use relman_core::state::{DRILL_ACTION, Drill, DrillResult, StateStore};
use relman_core::{Error, ExitCode};
use relman_forge::{DeploymentState::*, DispatchCheck, Forge, RunState};

use super::*;
use crate::decide::{Facts, Question, decide};
use crate::reason::why;
use crate::testing::{Double, FakeClock, deployed, jobs};

const WORKFLOW: &str = "{ workflow: deploy.yml, inputs: { sha: \"{{ target.sha }}\" } }";

fn config(dispatch: &str, extra: &str) -> Config {
    parse_str(
        &format!(
            "rollback:\n  environments:\n    production:\n      dispatch: {dispatch}\n      poll: 5s\n      timeout: 2m\n{extra}"
        ),
        Path::new(".relman.yml"),
    )
    .expect("config")
}

fn env(k: &str) -> Option<String> {
    (k == "GITHUB_ACTOR").then(|| "oncall".into())
}

/// Two good deployments then a bad current one: (good id, current id).
fn history(forge: &dyn Forge) -> (u64, u64) {
    deployed(
        forge,
        "production",
        &"a".repeat(40),
        "v1.0.0",
        &[Success, Inactive],
    );
    let good = deployed(forge, "production", &"b".repeat(40), "v1.1.0", &[Success]);
    let current = deployed(forge, "production", &"c".repeat(40), "v1.2.0", &[Success]);
    (good, current)
}

/// One `relman rollback` run: decide, then apply; the result and the progress text.
fn rollback(
    cfg: &Config,
    forge: &dyn Forge,
    state: &StateStore,
    drill: bool,
    dry_run: bool,
) -> (Result<Applied, Error>, String) {
    rollback_following(cfg, forge, state, drill, dry_run, true)
}

/// [`rollback`], following the run or not (`--no-follow`).
fn rollback_following(
    cfg: &Config,
    forge: &dyn Forge,
    state: &StateStore,
    drill: bool,
    dry_run: bool,
    follow: bool,
) -> (Result<Applied, Error>, String) {
    let facts = Facts {
        config: cfg,
        forge,
        state,
        env: &env,
    };
    let question = Question {
        environment: "production".into(),
        to: None,
        why: why((!drill).then_some("INC-7"), Some("checkout errors"), None).expect("why"),
        drill,
        timeout: None,
    };
    let decision = match decide(&facts, &question) {
        Ok(d) => d,
        Err(e) => return (Err(e), String::new()),
    };
    let clock = FakeClock {
        real: Duration::from_millis(25),
        ..FakeClock::default()
    };
    let fx = Effects {
        runtime: &Runtime::Terminal,
        forge,
        state,
        format: Format::Json,
        dry_run,
        follow,
        clock: &clock,
        dir: std::env::temp_dir(),
        env: &|k: &str| std::env::var(k).ok(),
    };
    let mut out = Vec::new();
    let mut progress = Vec::new();
    let applied = apply(decision, &fx, &mut out, &mut progress);
    (applied, String::from_utf8_lossy(&progress).into_owned())
}

fn actions(forge: &dyn Forge) -> Vec<String> {
    forge
        .audit_log(&AuditFilter::default())
        .expect("audit")
        .into_iter()
        .map(|r| r.action)
        .collect()
}

#[test]
fn a_rollback_claims_dispatches_marks_follows_and_records_and_a_retry_dispatches_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    let (good, current) = history(&forge.local);
    let cfg = config(WORKFLOW, "");

    let (first, progress) = rollback(&cfg, &forge, store, false, false);
    let first = first.expect("rolled back");
    assert_eq!(first.code, ExitCode::Success, "{:?}", first.report);
    assert_eq!(first.report.outcome, "succeeded");
    assert_eq!(first.report.to.as_ref().map(|t| t.id), Some(good));
    assert_eq!(forge.count(), 1);
    assert!(
        progress.contains("running") && progress.contains("succeeded"),
        "{progress}"
    );
    let sent = first.report.dispatched.clone().expect("sent");
    assert_eq!(sent.url.as_deref(), Some("https://ci.example/runs/1"));
    // The deployment rolled back from is failed now: no later rollback picks it.
    let now = forge
        .local
        .deployments("production", 10)
        .expect("deployments");
    let cur = now.iter().find(|d| d.id == current).expect("current");
    assert_eq!(cur.state, Failure);
    assert_eq!(
        actions(&forge),
        ["rollback.start", "rollback.dispatch", "rollback.outcome"]
    );

    // The job retried: nothing dispatched again, the first reported.
    let (again, _) = rollback(&cfg, &forge, store, false, false);
    let again = again.expect("reported");
    assert_eq!(forge.count(), 1, "a retry dispatches nothing");
    assert_eq!(again.code, ExitCode::Success);
    assert_eq!(again.report.outcome, "succeeded");
    let first_claim = again.report.first.expect("the first is reported");
    assert_eq!(first_claim.dispatched.map(|d| d.id), Some(sent.id));
    assert!(
        again.report.summary.contains("already done"),
        "{}",
        again.report.summary
    );
}

#[test]
fn a_dispatch_answered_without_a_run_id_is_reported_with_the_run_the_follower_found() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let mut forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    forge.run_id_unknown = true;
    history(&forge.local);
    let (first, progress) = rollback(&config(WORKFLOW, ""), &forge, store, false, false);
    let first = first.expect("rolled back");
    assert_eq!(first.report.outcome, "succeeded", "{:?}", first.report);
    // While following, the run is not known yet: no "workflow 0".
    assert!(progress.contains("(run not listed yet)"), "{progress}");
    assert!(
        !progress.contains(" 0:") && !progress.contains(" 0 "),
        "{progress}"
    );
    let sent = first.report.dispatched.clone().expect("sent");
    assert_eq!(sent.id, 1000);
    assert_eq!(sent.url.as_deref(), Some("https://ci.example/runs/1000"));
    // The claim other jobs read names the run too.
    let (again, _) = rollback(&config(WORKFLOW, ""), &forge, store, false, false);
    let first_claim = again.expect("reported").report.first.expect("first");
    assert_eq!(first_claim.dispatched.map(|d| d.id), Some(1000));
}

#[test]
fn two_jobs_at_once_dispatch_one_rollback_and_the_second_reports_the_first() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 2);
    let count = Arc::new(AtomicUsize::new(0));
    {
        let setup = Double::new(jobs[0].1.clone(), count.clone());
        history(&setup.local);
    }
    let cfg = config(WORKFLOW, "");
    let results: Vec<Applied> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(_, store)| {
                let mut forge = Double::new(store.clone(), count.clone());
                forge.dispatch_delay = Duration::from_millis(300);
                let cfg = &cfg;
                s.spawn(move || rollback(cfg, &forge, store, false, false).0.expect("ran"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("joined"))
            .collect()
    });
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one dispatch"
    );
    let reporters: Vec<&Applied> = results
        .iter()
        .filter(|a| a.report.first.is_some())
        .collect();
    assert_eq!(reporters.len(), 1, "{results:?}");
    // The second saw the claim, waited for the first to record what it sent (it had not yet:
    // its dispatch takes 300 ms), then followed that run: one rollback, both jobs green.
    let second = reporters[0];
    assert_eq!(second.report.outcome, "succeeded", "{:?}", second.report);
    assert_eq!(second.code, ExitCode::Success);
    assert!(
        second.report.summary.contains("already dispatched"),
        "{}",
        second.report.summary
    );
}

#[test]
fn a_failed_or_endless_run_is_exit_3_saying_where_to_look() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0))).with_states(&[
        RunState::Pending,
        RunState::Running,
        RunState::Failed,
    ]);
    history(&forge.local);
    let (failed, _) = rollback(&config(WORKFLOW, ""), &forge, store, false, false);
    let failed = failed.expect("ran");
    assert_eq!(failed.code, ExitCode::External);
    assert_eq!(failed.report.outcome, "failed");
    assert!(
        failed
            .report
            .summary
            .contains("look at https://ci.example/runs/1"),
        "{}",
        failed.report.summary
    );

    let forge =
        Double::new(store.clone(), Arc::new(AtomicUsize::new(0))).with_states(&[RunState::Running]);
    let cfg = config(WORKFLOW, "");
    let facts = Facts {
        config: &cfg,
        forge: &forge,
        state: store,
        env: &env,
    };
    // Another incident: another key.
    let question = Question {
        environment: "production".into(),
        to: Some("v1.0.0".into()),
        why: why(Some("INC-8"), None, None).expect("why"),
        drill: false,
        timeout: Some("1m".into()),
    };
    let decision = decide(&facts, &question).expect("decided");
    let clock = FakeClock::default();
    let fx = Effects {
        runtime: &Runtime::Terminal,
        forge: &forge,
        state: store,
        format: Format::Text,
        dry_run: false,
        follow: true,
        clock: &clock,
        dir: std::env::temp_dir(),
        env: &env,
    };
    let endless = apply(decision, &fx, &mut Vec::new(), &mut Vec::new()).expect("ran");
    assert_eq!(endless.code, ExitCode::External);
    assert_eq!(endless.report.outcome, "timed-out");
    assert_eq!(clock.elapsed(), Duration::from_secs(60), "no real sleeping");
}

/// A first attempt that claimed at `claimed_at`, then died before dispatching: a second run
/// dispatches nothing and reports it, exit 3. It waits (fake time) for the first's dispatch
/// record only while the claim is fresh; an old claim is reported at once.
#[test]
fn a_claim_without_a_recorded_dispatch_is_never_dispatched_again() {
    for (claimed_at, waits) in [
        (relman_core::audit::now_rfc3339(), true),
        ("2026-01-01T00:00:00Z".to_string(), false),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let (_, jobs) = jobs(dir.path(), 1);
        let (_, store) = &jobs[0];
        let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
        let (good, _) = history(&forge.local);
        let w = why(Some("INC-7"), Some("checkout errors"), None).expect("why");
        let claim = crate::claim::Claim {
            key: crate::claim::key("production", good, &w.digest()),
            environment: "production".into(),
            from: None,
            to: crate::target::DeploymentRef {
                id: good,
                sha: "b".repeat(40),
                git_ref: "v1.1.0".into(),
                state: "success".into(),
                created_at: String::new(),
            },
            incident: w.incident.clone(),
            reason: w.reason.clone(),
            digest: w.digest(),
            actor: "first-job".into(),
            claimed_at: claimed_at.clone(),
            run: Some("https://ci.example/jobs/1".into()),
            drill: false,
            dispatched: None,
            ended: None,
        };
        let start = relman_core::audit::AuditRecord::now("first-job", "rollback.start");
        assert_eq!(
            crate::claim::claim(store, &claim, &start).expect("claimed"),
            crate::claim::Claimed::New
        );
        let (second, progress) = rollback(&config(WORKFLOW, ""), &forge, store, false, false);
        let second = second.expect("reported");
        assert_eq!(forge.count(), 0);
        assert_eq!(second.code, ExitCode::External);
        assert_eq!(second.report.outcome, "unknown");
        assert!(
            second.report.summary.contains("claimed by first-job")
                && second.report.summary.contains("https://ci.example/jobs/1")
                && second.report.summary.contains("another --incident"),
            "{}",
            second.report.summary
        );
        assert_eq!(
            progress.contains("waiting up to 60s"),
            waits,
            "claimed at {claimed_at}: {progress}"
        );
    }
}

#[test]
fn a_retry_after_the_rollback_deployed_does_not_go_back_a_second_step() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    let (good, _) = history(&forge.local);
    let cfg = config("{ deployment: true }", "");
    // The deploy job watching deployments succeeds the new one while relman follows it.
    let follower = std::thread::scope(|s| {
        let local = forge.local.clone();
        let setter = s.spawn(move || {
            for _ in 0..200 {
                let made = local.deployments("production", 1).expect("list");
                if let Some(d) = made.first().filter(|d| d.sha == "b".repeat(40)) {
                    local
                        .set_deployment_status(d.id, Success, "redeployed")
                        .expect("status");
                    return d.id;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("no rollback deployment appeared");
        });
        let first = rollback(&cfg, &forge, store, false, false).0.expect("ran");
        (first, setter.join().expect("joined"))
    });
    let (first, made) = follower;
    assert_eq!(first.report.outcome, "succeeded", "{:?}", first.report);
    assert_eq!(first.report.dispatched.as_ref().map(|d| d.id), Some(made));
    // Now the newest deployment is the rollback itself (of b); a retry of the same incident
    // must not roll back from it to a.
    let (again, _) = rollback(&cfg, &forge, store, false, false);
    let again = again.expect("reported");
    assert_eq!(forge.count(), 1);
    assert_eq!(again.report.to.as_ref().map(|t| t.id), Some(good));
    assert!(again.report.first.is_some());
}

#[test]
fn a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let tip = store.tip().expect("tip");
    let (dry, _) = rollback(&config(WORKFLOW, ""), &forge, store, false, true);
    let dry = dry.expect("ran");
    assert_eq!(
        (dry.code, dry.report.outcome.as_str()),
        (ExitCode::Success, "dry-run")
    );
    assert!(
        dry.report
            .how
            .as_deref()
            .is_some_and(|h| h.contains("deploy.yml"))
    );
    assert_eq!(store.tip().expect("tip"), tip);
    assert_eq!(forge.count(), 0);
}

#[test]
fn a_claim_that_cannot_be_pushed_dispatches_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (origin, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    relman_core::state::testing::refuse_pushes(&origin);
    let (refused, _) = rollback(&config(WORKFLOW, ""), &forge, store, false, false);
    let e = refused.expect_err("not recorded");
    assert_eq!(e.exit_code(), ExitCode::External);
    assert!(e.to_string().contains("nothing was dispatched"), "{e}");
    assert_eq!(forge.count(), 0);
}

#[test]
fn a_validating_drill_records_pass_or_fail_and_dispatches_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let mut forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let cfg = config(WORKFLOW, "");
    forge.check = Some(DispatchCheck {
        problems: Vec::new(),
        checked: vec!["workflow deploy.yml exists".into()],
        unverified: Vec::new(),
    });
    let passed = rollback(&cfg, &forge, store, true, false).0.expect("ran");
    assert_eq!(
        (passed.code, passed.report.outcome.as_str()),
        (ExitCode::Success, "drill-passed")
    );
    forge.check = Some(DispatchCheck {
        problems: vec!["input `sha` is not declared".into()],
        checked: Vec::new(),
        unverified: Vec::new(),
    });
    let failed = rollback(&cfg, &forge, store, true, false).0.expect("ran");
    assert_eq!(
        (failed.code, failed.report.outcome.as_str()),
        (ExitCode::Refused, "drill-failed")
    );
    // A forge that cannot validate is refused before the drill starts: cannot tell is not a
    // pass, and no drill is recorded for it.
    forge.check = None;
    let tip = store.tip().expect("tip");
    let refused = rollback(&cfg, &forge, store, true, false)
        .0
        .expect_err("refused");
    assert_eq!(refused.exit_code(), ExitCode::BadInput);
    assert!(
        refused.to_string().contains(
            "the double forge cannot validate a dispatch without sending it (capability \
             `validate_dispatch`)"
        ),
        "{refused}"
    );
    assert_eq!(store.tip().expect("tip"), tip);
    assert_eq!(forge.count(), 0);
    let drills: Vec<DrillResult> = forge
        .audit_log(&AuditFilter {
            action: Some(DRILL_ACTION.into()),
            ..AuditFilter::default()
        })
        .expect("audit")
        .iter()
        .filter_map(Drill::from_audit)
        .map(|d| d.result)
        .collect();
    assert_eq!(drills, [DrillResult::Success, DrillResult::Failure]);
}

#[test]
fn an_executing_drill_rolls_back_for_real_and_records_the_drill() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let cfg = config(
        "{ command: [sh, -c, \"echo rolled back to $0\", \"{{ target.ref }}\"] }",
        "      drill: execute\n",
    );
    let ran = rollback(&cfg, &forge, store, true, false).0.expect("ran");
    assert_eq!(ran.code, ExitCode::Success, "{:?}", ran.report);
    assert_eq!(ran.report.outcome, "succeeded");
    assert_eq!(
        actions(&forge),
        [
            "rollback.start",
            "rollback.dispatch",
            "rollback.outcome",
            "rollback.drill"
        ]
    );
}

/// Issue #10: the local store records a dispatch and runs nothing, and cannot follow a run. A
/// `workflow:` rollback on it used to claim, record a dispatch nothing would ever run and end
/// "unknown"; it is refused before anything is written, naming the forge and the capability.
#[test]
fn a_rollback_the_forge_cannot_carry_out_is_refused_before_the_claim() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let local = relman_forge::LocalStore::new(store.clone());
    history(&local);
    let tip = store.tip().expect("tip");
    for dry_run in [false, true] {
        let e = rollback(&config(WORKFLOW, ""), &local, store, false, dry_run)
            .0
            .expect_err("refused");
        assert_eq!(e.exit_code(), ExitCode::BadInput, "{e}");
        let message = e.to_string();
        for part in [
            "rollback.environments.production.dispatch: refused before anything was claimed",
            "the local forge cannot start a workflow run or pipeline (capability `dispatch_runs`)",
            "the local forge cannot follow a dispatched run to its end (capability `follow_runs`)",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
    }
    assert_eq!(store.tip().expect("tip"), tip, "something was written");
    // The same history with a command: the local store can do that one.
    let cfg = config("{ command: [\"true\"] }", "");
    let ran = rollback(&cfg, &local, store, false, false).0.expect("ran");
    assert_eq!(ran.report.outcome, "succeeded", "{:?}", ran.report);
}

/// `deployment: true` makes a new deployment of the target and waits for its status: on a
/// forge where creating a deployment starts nothing (GitLab, the local store) that status never
/// comes, so the rollback would claim, create a record and time out. Refused up front instead.
#[test]
fn a_deployment_rollback_where_nothing_deploys_a_created_deployment_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let local = relman_forge::LocalStore::new(store.clone());
    history(&local);
    let tip = store.tip().expect("tip");
    let cfg = config("{ deployment: true }", "");
    let e = rollback(&cfg, &local, store, false, false)
        .0
        .expect_err("refused");
    assert_eq!(e.exit_code(), ExitCode::BadInput, "{e}");
    let message = e.to_string();
    for part in [
        "the local forge cannot start a deployer when a deployment is created (capability \
         `deployment_events`)",
        "`job:` replays the target's deploy job",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert_eq!(store.tip().expect("tip"), tip, "something was written");
    let deployments = local.deployments("production", 10).expect("deployments");
    assert_eq!(deployments.len(), 3, "no deployment was created");
}

/// A forge that dispatches but cannot follow: refused while following is asked for (nothing
/// claimed or sent), dispatched with `--no-follow`.
#[test]
fn a_run_that_cannot_be_followed_is_refused_unless_not_followed() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let mut forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    forge.can_follow = false;
    history(&forge.local);
    let cfg = config(WORKFLOW, "");
    let tip = store.tip().expect("tip");
    let e = rollback(&cfg, &forge, store, false, false)
        .0
        .expect_err("refused");
    assert_eq!(e.exit_code(), ExitCode::BadInput);
    assert!(e.to_string().contains("capability `follow_runs`"), "{e}");
    assert!(e.to_string().contains("--no-follow"), "{e}");
    assert_eq!((store.tip().expect("tip"), forge.count()), (tip, 0));
    let sent = rollback_following(&cfg, &forge, store, false, false, false)
        .0
        .expect("dispatched");
    assert_eq!(
        (sent.code, sent.report.outcome.as_str(), forge.count()),
        (ExitCode::Success, "dispatched", 1)
    );
}

/// `verify:` of the production environment, probing `healthz` (a full URL).
fn verifying(healthz: &str) -> String {
    format!(
        "      verify:\n        http: [{{ url: '{healthz}', timeout_seconds: 1 }}]\n        \
         within: 30s\n        every: 10s\n"
    )
}

#[test]
fn a_succeeded_rollback_is_verified_by_its_probes_and_recorded_so() {
    let s = relman_probe::testing::serve();
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let cfg = config(WORKFLOW, &verifying(&format!("{}/healthz", s.base)));

    let (ran, progress) = rollback(&cfg, &forge, store, false, false);
    let ran = ran.expect("ran");
    assert_eq!(ran.code, ExitCode::Success, "{:?}", ran.report);
    assert_eq!(ran.report.outcome, "verified");
    assert!(
        ran.report.summary.starts_with(
            "rolled back and verified: the dispatched run succeeded and 1 check passed"
        ),
        "{}",
        ran.report.summary
    );
    assert!(
        progress.contains("rollback: verified: 1 check passed"),
        "{progress}"
    );
    let text = ran.report.text();
    assert!(
        text.contains(&format!("  probe:    GET {}/healthz → 200 in ", s.base)),
        "{text}"
    );
    assert!(
        ran.report
            .markdown()
            .contains("| verified | 1 check passed")
    );
    let outcome = forge
        .audit_log(&AuditFilter {
            action: Some("rollback.outcome".into()),
            ..AuditFilter::default()
        })
        .expect("audit");
    assert_eq!(outcome.len(), 1);
    assert_eq!(outcome[0].details["state"], "verified");
    assert_eq!(outcome[0].details["verification"]["passed"], true);
    assert_eq!(s.hits("/healthz"), 1);
}

#[test]
fn a_service_that_does_not_come_back_is_exit_3_with_the_probes_explanation() {
    let s = relman_probe::testing::serve();
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let cfg = config(WORKFLOW, &verifying(&format!("{}/down", s.base)));

    let (ran, progress) = rollback(&cfg, &forge, store, false, false);
    let ran = ran.expect("ran");
    assert_eq!(ran.code, ExitCode::External, "{:?}", ran.report);
    assert_eq!(ran.report.outcome, "verification-failed");
    let expected = format!("GET {}/down → 503, expected 200", s.base);
    assert!(
        ran.report.summary.starts_with(
            "the dispatched run succeeded but the service did not pass its verification: 1 of 1 \
             check failed: "
        ) && ran.report.summary.contains(&expected)
            && ran
                .report
                .summary
                .contains("(still failing after 4 rounds over 30s)")
            && ran
                .report
                .summary
                .ends_with("look at the service and at https://ci.example/runs/1"),
        "{}",
        ran.report.summary
    );
    assert_eq!(s.hits("/down"), 4, "rounds at 0, 10, 20 and 30 s");
    assert!(
        progress.contains("rollback: verify round 1: "),
        "{progress}"
    );
    let md = ran.report.markdown();
    assert!(md.contains("| not verified |"), "{md}");
    let outcome = forge
        .audit_log(&AuditFilter {
            action: Some("rollback.outcome".into()),
            ..AuditFilter::default()
        })
        .expect("audit");
    assert_eq!(outcome[0].details["state"], "verification-failed");
    assert!(
        outcome[0].details["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&expected)),
        "{:?}",
        outcome[0].details
    );

    // A retried job reports the failed verification (exit 3) and dispatches nothing.
    let (again, _) = rollback(&cfg, &forge, store, false, false);
    let again = again.expect("reported");
    assert_eq!(forge.count(), 1);
    assert_eq!(
        (again.code, again.report.outcome.as_str()),
        (ExitCode::External, "verification-failed")
    );
}

#[test]
fn a_dry_run_shows_the_checks_and_a_drill_runs_them_once() {
    let s = relman_probe::testing::serve();
    let dir = tempfile::tempdir().expect("tmp");
    let (_, jobs) = jobs(dir.path(), 1);
    let (_, store) = &jobs[0];
    let mut forge = Double::new(store.clone(), Arc::new(AtomicUsize::new(0)));
    history(&forge.local);
    let cfg = config(
        WORKFLOW,
        &verifying(&format!("{}/healthz?token=abc123", s.base)),
    );

    let (dry, _) = rollback(&cfg, &forge, store, false, true);
    let dry = dry.expect("ran");
    assert_eq!(dry.report.outcome, "dry-run");
    let text = dry.report.text();
    assert!(
        text.contains(&format!(
            "  verify:   GET {}/healthz?token=*** answers 200 (within 1 s)\n",
            s.base
        )) && text.contains(
            "  verify:   every check passing in one round, a round every 10s for up to 30s\n"
        ),
        "{text}"
    );
    assert!(!text.contains("abc123"), "{text}");
    assert_eq!(s.hits("/healthz"), 0, "a dry run probes nothing");

    forge.check = Some(DispatchCheck {
        problems: Vec::new(),
        checked: vec!["workflow deploy.yml exists".into()],
        unverified: Vec::new(),
    });
    let drill = rollback(&cfg, &forge, store, true, false).0.expect("ran");
    assert_eq!(drill.report.outcome, "drill-passed", "{:?}", drill.report);
    let checked = &drill.report.check.as_ref().expect("check").checked;
    assert!(
        checked
            .iter()
            .any(|c| c.starts_with(&format!("verify: GET {}/healthz?token=*** → 200", s.base))),
        "{checked:?}"
    );
    assert_eq!(s.hits("/healthz"), 1, "one round");

    // Probes that cannot reach their service now would fail the real verification too.
    let unreachable = config(
        WORKFLOW,
        &verifying(&format!("{}/healthz", relman_probe::testing::closed())),
    );
    let drill = rollback(&unreachable, &forge, store, true, false)
        .0
        .expect("ran");
    assert_eq!(
        (drill.code, drill.report.outcome.as_str()),
        (ExitCode::Refused, "drill-failed")
    );
    assert!(
        drill
            .report
            .summary
            .starts_with("drill failed: verify: GET http://127.0.0.1:"),
        "{}",
        drill.report.summary
    );
    assert_eq!(forge.count(), 0);
}
