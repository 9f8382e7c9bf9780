//! `relman-rollback` as a CI job runs it: exit codes, and what a run leaves on the state branch.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use relman_core::config::StateSettings;
use relman_core::state::StateStore;
use relman_core::state::testing::{git, origin_and_clones};
use relman_forge::{DeploymentSpec, DeploymentState, Forge, LocalStore};

const CONFIG: &str = "\
forge: { kind: local }
rollback:
  environments:
    production:
      dispatch: { command: [sh, -c, \"echo redeploying $0; exit $1\", \"{{ target.sha }}\", \"{{ incident }}\"] }
      timeout: 1m
      poll: 1s
";

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_relman-rollback"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn deploy(store: &LocalStore, sha: &str, state: DeploymentState) -> u64 {
    let id = store
        .create_deployment(&DeploymentSpec {
            environment: "production".into(),
            sha: sha.into(),
            git_ref: "main".into(),
            creator: "ci".into(),
            idempotency_key: format!("deploy:{sha}"),
            payload: serde_json::Value::Null,
        })
        .expect("deploy")
        .value
        .id;
    store.set_deployment_status(id, state, "").expect("status");
    id
}

#[test]
fn exit_codes_follow_what_happened() {
    let base = tempfile::tempdir().expect("tmp");
    let (origin, clones) = origin_and_clones(base.path(), 1);
    let dir = &clones[0];
    std::fs::write(dir.join(".relman.yml"), CONFIG).expect("config");
    let store = LocalStore::new(Arc::new(
        StateStore::open(dir, &StateSettings::default(), &|_: &str| None).expect("store"),
    ));
    let env = ["--environment", "production"];
    let with = |extra: &[&'static str]| [&env[..], extra].concat();

    // Bad input: exit 2, nothing read.
    for (args, needle) in [
        (vec!["--reason", "x y z"], "--environment is required"),
        (with(&[]), "needs --reason or --incident"),
        (with(&["--reason", "$REASON"]), "`$REASON` is a variable"),
        (with(&["--reason", "${{ inputs.reason }}"]), "is a variable"),
        (with(&["--reason", "   "]), "empty"),
        (
            with(&["--reason", "why not", "--timeout", "soon"]),
            "--timeout",
        ),
        (
            vec!["--environment", "staging", "--reason", "why not"],
            "no rollback is configured for environment \"staging\"",
        ),
    ] {
        let (code, _, err) = run(dir, &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }

    // Nothing to roll back to: exit 1 with the reason.
    let (code, out, err) = run(dir, &with(&["--reason", "first deploy broke"]));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("no deployment to production"), "{out}");

    let (a, b) = ("a".repeat(40), "b".repeat(40));
    let good = deploy(&store, &a, DeploymentState::Success);
    deploy(&store, &b, DeploymentState::Success);
    let tip = git(&origin, &["rev-parse", "relman/state"]);

    // A dry run prints the target and the exact command, writes nothing.
    let (code, out, err) = run(dir, &with(&["--incident", "0", "--dry-run"]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("to:       deployment {good}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("\"{a}\"")),
        "the rendered argv: {out}"
    );
    assert!(!out.contains(&format!("redeploying {a}")), "{out}");
    assert_eq!(git(&origin, &["rev-parse", "relman/state"]), tip);

    // The command fails (`exit 1`): exit 3, recorded.
    let (code, out, err) = run(dir, &with(&["--incident", "1"]));
    assert_eq!(code, Some(3), "{out}{err}");
    assert!(
        out.contains(&format!("redeploying {a}")),
        "its output is shown: {out}"
    );
    assert!(out.contains("failed"), "{out}");

    // Another incident, a command that succeeds: exit 0; the current deployment is failed now.
    let (code, out, err) = run(dir, &with(&["--incident", "0", "--reason", "errors up"]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("succeeded"), "{out}");
    // A fresh store: one process fetches the branch once, as a job does.
    let fresh = LocalStore::new(Arc::new(
        StateStore::open(dir, &StateSettings::default(), &|_: &str| None).expect("store"),
    ));
    let history = fresh.deployments("production", 10).expect("history");
    assert_eq!(history[0].state, DeploymentState::Failure);

    // The same incident again: nothing run, the first reported.
    let (code, out, err) = run(dir, &with(&["--incident", "0", "--format", "json"]));
    assert_eq!(code, Some(0), "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["outcome"], "succeeded");
    assert!(report["first"].is_object(), "{report}");
    assert!(
        !out.contains(&format!("redeploying {a}")),
        "not run again: {out}"
    );
}
