//! The umbrella builds one run context and each command asks it only for what it needs: with
//! a forge configured that cannot be opened, the commands that need no forge still run, and
//! the one that needs it fails naming why.

use std::path::Path;
use std::process::Command;

use relman_core::state::testing::{git, repo};

fn relman(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_relman"))
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
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_that_need_no_forge_run_with_a_broken_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    repo(dir);
    // GitLab without a project, outside any CI that could name one: it cannot be opened.
    std::fs::write(
        dir.join(".relman.yml"),
        "forge: { kind: gitlab }\ngate:\n  policies:\n    prod:\n      gates:\n        - risk: { max_level: critical }\n",
    )
    .expect("config");
    git(dir, &["commit", "-q", "--allow-empty", "-m", "feat: one"]);
    for args in [
        &["changelog", "--next-version"][..],
        &["changelog"],
        &["config", "check"],
        &["audit"],
    ] {
        let (code, stderr) = relman(dir, args);
        assert_eq!(code, Some(0), "relman {args:?}: {stderr}");
    }
    // The control: the gate needs the forge, and says which setting is missing.
    let (code, stderr) = relman(dir, &["gate", "--policy", "prod"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("forge.repository"), "{stderr}");
}
