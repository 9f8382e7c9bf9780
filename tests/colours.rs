//! Log lines carry no colour escapes when stderr is not a terminal (a file, a pipe, a CI log
//! read back), even without NO_COLOR: issue 13 item 15 saw `WARN` wrapped in ANSI codes in a
//! redirected stderr.

use std::process::{Command, Stdio};

#[test]
fn a_warning_written_to_a_pipe_has_no_escape_sequences() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", repo)
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "feat: start"]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relman"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("RELMAN_") || k.starts_with("GITHUB_") || k.starts_with("CI_") || k == "CI"
        {
            cmd.env_remove(&k);
        }
    }
    // A 0.1 variable name: relman warns about it through the log (a WARN line).
    let out = cmd
        .args(["changelog", "--next-version"])
        .env_remove("NO_COLOR")
        .env("RELMAN_TAG", "v1.0.0")
        .current_dir(repo)
        .stdin(Stdio::null())
        .output()
        .expect("run relman");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARN"), "no warning to look at: {err}");
    assert!(
        !err.contains('\x1b'),
        "escape sequences in a piped stderr: {err:?}"
    );
}
