//! Two CI jobs share nothing but the repository's remote: each job here is a fresh clone of one
//! bare `file://` origin, and the next job starts only after the previous job's clone is gone
//! (a hosted runner throws its workspace away). What one job recorded on the state branch must
//! be what the next job acts on (issue #9).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use relman_core::config::StateSettings;
use relman_core::state::testing::{clone, git, origin_and_clones, refuse_pushes};
use relman_core::state::{Drill, DrillResult, StateStore};
use relman_forge::{
    DeploymentSpec, DeploymentState, DispatchSpec, Forge, GitHub, LocalStore, Outcome,
};
use serde_json::{Value, json};

const POLICY: &str = "\
forge: { kind: local }
gate:
  policies:
    production:
      gates:
        - rollback: { drill_within_days: 7 }
rollback:
  environments:
    production:
      dispatch: { command: [sh, -c, \"echo redeploying $0\", \"{{ target.sha }}\"] }
";

/// A bare origin whose `main` has `.relman.yml` ([`POLICY`]) on top of a first commit; the
/// first commit's sha (what the environments run).
fn origin(base: &Path) -> (PathBuf, String) {
    let (origin, seed) = origin_and_clones(base, 1);
    let seed = &seed[0];
    let first = git(seed, &["rev-parse", "HEAD"]);
    std::fs::write(seed.join(".relman.yml"), POLICY).expect("write");
    git(seed, &["add", ".relman.yml"]);
    let who = ["-c", "user.name=dev", "-c", "user.email=dev@example.com"];
    git(
        seed,
        &[&who[..], &["commit", "-q", "-m", "ci: gate"][..]].concat(),
    );
    git(seed, &["push", "-q", "origin", "main"]);
    std::fs::remove_dir_all(seed).expect("the setup job's workspace goes");
    (origin, first)
}

/// One CI job: a fresh clone of `origin`, its state store, then `work`; the clone is deleted
/// when the job ends.
fn job<T>(origin: &Path, name: &str, work: impl FnOnce(&Path, Arc<StateStore>) -> T) -> T {
    let base = origin.parent().expect("base");
    let dir = clone(origin, &base.join(name));
    let store =
        StateStore::open(&dir, &StateSettings::default(), &|_: &str| None).expect("state store");
    let out = work(&dir, Arc::new(store));
    std::fs::remove_dir_all(&dir).expect("the job's workspace goes");
    out
}

/// A successful deployment of `sha` to `environment`, recorded by one job.
fn deployed(store: Arc<StateStore>, environment: &str, sha: &str) {
    let local = LocalStore::new(store);
    let id = local
        .create_deployment(&DeploymentSpec {
            environment: environment.into(),
            sha: sha.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: format!("promote:{environment}:{sha}"),
            payload: Value::Null,
        })
        .expect("deployment")
        .value
        .id;
    local
        .set_deployment_status(id, DeploymentState::Success, "")
        .expect("status");
}

/// A rollback drill in `environment` at `when`, recorded by one job as rollback records it.
fn drilled(store: &StateStore, environment: &str, result: DrillResult, when: jiff::Timestamp) {
    let drill = Drill {
        environment: environment.into(),
        result,
        when: jiff::Timestamp::from_second(when.as_second()).expect("time"),
        actor: "sre".into(),
        reason: "quarterly drill".into(),
        run: None,
    };
    store.append_audit(&drill.to_audit()).expect("drill");
}

/// What `relman` printed and exited with.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `relman <args>` in `dir`, with nothing of the caller's environment but `PATH` (no CI, no
/// token, no git configuration), plus `env`.
fn relman(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_relman"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .expect("relman runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn gate(dir: &Path, environment: &str, now: Option<&str>) -> Run {
    let mut args = vec![
        "gate",
        "--policy",
        "production",
        "--environment",
        environment,
        "--no-commit-status",
    ];
    if let Some(now) = now {
        args.extend(["--now", now]);
    }
    relman(dir, &args, &[])
}

#[test]
fn a_drill_recorded_by_one_job_satisfies_the_next_jobs_rollback_gate() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, running) = origin(base.path());
    let now = jiff::Timestamp::now();
    let days = |n: i64| now - jiff::SignedDuration::from_hours(24 * n);

    // Before any drill, the next job's gate is a no-go.
    job(&origin, "a0", |_, store| {
        deployed(store, "production", &running)
    });
    let run = job(&origin, "b0", |dir, _| gate(dir, "production", None));
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("in the last 7 days (last: never)"),
        "{}",
        run.stdout
    );

    // Job A records a successful drill two days ago; job B, in a fresh clone, goes.
    job(&origin, "a1", |_, store| {
        drilled(&store, "production", DrillResult::Success, days(2))
    });
    let run = job(&origin, "b1", |dir, _| gate(dir, "production", None));
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("GO"), "{}", run.stdout);
    assert!(
        run.stdout.contains("last drill 2 days ago"),
        "{}",
        run.stdout
    );

    // The same drill, seen 10 days later, is older than the window: no-go.
    let later = (now + jiff::SignedDuration::from_hours(24 * 8)).to_string();
    let run = job(&origin, "b2", |dir, _| {
        gate(dir, "production", Some(&later))
    });
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("no successful rollback drill for production in the last 7 days"),
        "{}",
        run.stdout
    );

    // A failed drill does not count: staging was deployed and drilled, and the drill failed.
    job(&origin, "a3", |_, store| {
        drilled(&store, "staging", DrillResult::Failure, days(1));
        deployed(store, "staging", &running);
    });
    let run = job(&origin, "b3", |dir, _| gate(dir, "staging", None));
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("failed (failure)"), "{}", run.stdout);

    // A third job lists every gate verdict the jobs recorded.
    let listed = job(&origin, "c", |dir, _| {
        relman(
            dir,
            &["audit", "--action", "gate.evaluate", "--format", "jsonl"],
            &[],
        )
    });
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 4, "{}", listed.stdout);
}

#[test]
fn a_verdict_whose_record_is_refused_says_it_was_not_recorded() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, running) = origin(base.path());
    job(&origin, "a", |_, store| {
        drilled(
            &store,
            "production",
            DrillResult::Success,
            jiff::Timestamp::now(),
        );
        deployed(store, "production", &running);
    });
    let before = git(&origin, &["rev-parse", "relman/state"]);
    // From now on the remote refuses the job's pushes (a fork's read-only token).
    refuse_pushes(&origin);
    let out = base.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let summary = out.join("summary.md");
    let outputs = out.join("outputs");
    let report = out.join("report.json");
    std::fs::write(&summary, "").expect("write");
    std::fs::write(&outputs, "").expect("write");
    let run = job(&origin, "b", |dir, _| {
        let run = relman(
            dir,
            &[
                "gate",
                "--policy",
                "production",
                "--environment",
                "production",
                "--no-commit-status",
                "--report",
                report.to_str().expect("utf-8"),
            ],
            &[
                ("GITHUB_ACTIONS", Path::new("true")),
                ("GITHUB_STEP_SUMMARY", summary.as_path()),
                ("GITHUB_OUTPUT", outputs.as_path()),
            ],
        );
        // Nothing kept in the job's clone: no local state ref (the default or a branch), and
        // the tracking ref is the remote's tip.
        let refs = git(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]);
        assert!(
            refs.lines()
                .all(|l| !l.starts_with("refs/heads/relman/") && !l.starts_with("refs/relman/")),
            "{refs}"
        );
        assert!(
            refs.lines()
                .filter(|l| l.contains("relman/state"))
                .all(|l| l.ends_with(&before)),
            "{refs}"
        );
        run
    });
    // A gate verdict need not be durable: it still answers (go) and says it was not recorded.
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("not recorded in the audit trail"),
        "{}",
        run.stdout
    );
    let summary = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        summary.contains("**Not recorded in the audit trail:**"),
        "{summary}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let why = report["not_recorded"].as_str().expect("not_recorded");
    assert!(why.contains("denied: no write access"), "{why}");
    // It names the permission that would have recorded it, in the report and the summary.
    assert!(why.contains("contents: write"), "{why}");
    assert!(summary.contains("contents: write"), "{summary}");
    // The origin holds no verdict.
    assert_eq!(git(&origin, &["rev-parse", "relman/state"]), before);
}

#[test]
fn a_dispatch_made_by_one_job_is_unchanged_in_the_next() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, _) = origin(base.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(wiremock::MockServer::start());
    let runs = "/repos/acme/shop/actions/workflows/deploy.yml/runs";
    let dispatches = "/repos/acme/shop/actions/workflows/deploy.yml/dispatches";
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    rt.block_on(async {
        // The workflow's runs do not show the key (no `run-name`): only the state branch can
        // tell the second job that the dispatch was made.
        Mock::given(method("GET"))
            .and(path(runs))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "total_count": 1,
                "workflow_runs": [{"id": 1, "name": "Deploy", "display_title": "Deploy",
                                   "event": "workflow_dispatch"}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(dispatches))
            .respond_with(ResponseTemplate::new(204))
            .mount(&server)
            .await;
    });
    let spec = DispatchSpec {
        workflow: "deploy.yml".into(),
        git_ref: "main".into(),
        inputs: [("version".to_string(), "1.2.0".to_string())].into(),
        requested_by: "ci".into(),
        idempotency_key: "rollback:production:42".into(),
    };
    let dispatch = |store: Arc<StateStore>| {
        GitHub::new(&server.uri(), "acme/shop", None, 20)
            .expect("client")
            .with_audit_store(store)
            .dispatch(&spec)
            .expect("dispatch")
            .outcome
    };
    assert_eq!(job(&origin, "a", |_, s| dispatch(s)), Outcome::Created);
    assert_eq!(job(&origin, "b", |_, s| dispatch(s)), Outcome::Unchanged);
    let posts = rt
        .block_on(server.received_requests())
        .expect("recorded")
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == dispatches)
        .count();
    assert_eq!(posts, 1, "the forge saw one dispatch");
}

#[test]
fn a_drill_run_by_relman_rollback_in_one_job_is_accepted_by_the_gate_in_the_next() {
    let base = tempfile::tempdir().expect("tempdir");
    let (origin, running) = origin(base.path());
    let head = git(&origin, &["rev-parse", "main"]);
    // A deploy job recorded the running commit, then the release under review.
    job(&origin, "deploy", |_, store| {
        deployed(store.clone(), "production", &running);
        deployed(store, "production", &head);
    });
    let run = job(&origin, "gate0", |dir, _| gate(dir, "production", None));
    assert_eq!(
        run.code,
        Some(1),
        "no drill yet: {}{}",
        run.stdout,
        run.stderr
    );

    // Job A drills: the target resolves, the command is found, nothing runs.
    let drill = job(&origin, "drill", |dir, _| {
        relman(
            dir,
            &[
                "rollback",
                "--drill",
                "--environment",
                "production",
                "--format",
                "json",
            ],
            &[],
        )
    });
    assert_eq!(drill.code, Some(0), "{}{}", drill.stdout, drill.stderr);
    let report: Value = serde_json::from_str(&drill.stdout).expect("json report");
    assert_eq!(report["outcome"], "drill-passed");
    assert_eq!(report["to"]["sha"], json!(running));
    assert!(
        !drill.stdout.contains(&format!("redeploying {running}")),
        "a validating drill runs nothing: {}",
        drill.stdout
    );

    // Job B, a fresh clone, gates the release: the drill counts.
    let run = job(&origin, "gate1", |dir, _| gate(dir, "production", None));
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("last drill less than a day ago"),
        "{}",
        run.stdout
    );
}
