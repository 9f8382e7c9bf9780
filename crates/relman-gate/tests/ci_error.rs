//! Exit 2 inside CI still leaves a `verdict` output, a summary saying why, and an error
//! annotation on the file and line at fault.

use std::process::Command;

#[test]
fn bad_config_in_github_actions_writes_verdict_summary_and_located_annotation() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir.path())
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@example.com")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@example.com")
            .status()
            .expect("git");
        assert!(st.success());
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["commit", "-q", "--allow-empty", "-m", "feat: one"]);
    std::fs::write(
        repo.join(".relman.yml"),
        "gate:\n  policies:\n    prod:\n      gates:\n        - window: {timezone: Mars/Base}\n",
    )
    .expect("config");
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    std::fs::write(&output, "").expect("output");
    std::fs::write(&summary, "").expect("summary");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relman-gate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("CI")
            || k.starts_with("GITLAB")
            || k.starts_with("RELMAN_")
        {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args(["--policy", "prod", "--no-commit-status"])
        .current_dir(&repo)
        .env("HOME", dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=./.relman.yml,line=5,"),
        "annotation without file/line: {stdout}"
    );
    let outputs = std::fs::read_to_string(&output).expect("read");
    assert!(
        outputs.contains("verdict<<") && outputs.contains("\nerror\n"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(&summary).expect("read");
    assert!(summary.contains("relman gate: error"), "{summary}");
    assert!(
        summary.contains("No verdict: bad input (exit 2)"),
        "{summary}"
    );
    assert!(
        summary.contains("unknown time zone \"Mars/Base\""),
        "{summary}"
    );
}
