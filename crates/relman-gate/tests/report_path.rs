//! Each gate run on a runner writes its own report (issue #12 finding 10): with one fixed
//! `$RUNNER_TEMP/relman-gate-report.json`, a second gate step in the same job overwrote the
//! first one's report and the first step's `report` output then pointed at the second's.

use std::path::Path;
use std::process::Command;

fn git(repo: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", repo)
        .env("GIT_AUTHOR_NAME", "a")
        .env("GIT_AUTHOR_EMAIL", "a@example.com")
        .env("GIT_COMMITTER_NAME", "a")
        .env("GIT_COMMITTER_EMAIL", "a@example.com")
        .status()
        .expect("git");
    assert!(st.success());
}

/// Runs the gate as a GitHub step and returns its `report` output.
fn gate_step(repo: &Path, temp: &Path, policy: &str) -> String {
    let output = temp.join(format!("output-{policy}"));
    std::fs::write(&output, "").expect("output");
    let out = Command::new(env!("CARGO_BIN_EXE_relman-gate"))
        .args(["--policy", policy, "--no-commit-status"])
        .current_dir(repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("RUNNER_TEMP", temp)
        .output()
        .expect("run");
    let outputs = std::fs::read_to_string(&output).expect("read");
    let mut lines = outputs.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("report<<") {
            return lines.next().expect("a value").to_string();
        }
    }
    panic!(
        "no report output ({:?}): {outputs}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_gate_steps_in_one_job_keep_two_reports() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("repo");
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir(&repo).expect("mkdir");
    std::fs::create_dir(&temp).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "feat: one"]);
    // The audit record goes on the state branch, as the committer configured here.
    git(&repo, &["config", "user.name", "ci"]);
    git(&repo, &["config", "user.email", "ci@example.com"]);
    std::fs::write(
        repo.join(".relman.yml"),
        "forge: { kind: local }\ngate:\n  policies:\n    staging:\n      gates:\n        - condition: { expr: 'true', message: m }\n    production:\n      gates:\n        - condition: { expr: 'false', message: closed }\n",
    )
    .expect("config");
    let staging = gate_step(&repo, &temp, "staging");
    let production = gate_step(&repo, &temp, "production");
    let again = gate_step(&repo, &temp, "staging");
    assert_ne!(staging, production);
    assert_ne!(staging, again, "the same policy twice: still two reports");
    let verdict = |p: &str| {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).expect("report kept")).expect("json");
        (
            json["policy"].as_str().map(String::from),
            json["verdict"].as_str().map(String::from),
        )
    };
    assert_eq!(
        verdict(&staging),
        (Some("staging".into()), Some("go".into()))
    );
    assert_eq!(
        verdict(&production),
        (Some("production".into()), Some("no-go".into()))
    );
    for p in [&staging, &production, &again] {
        assert!(Path::new(p).starts_with(&temp), "{p}");
        let name = Path::new(p)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name");
        assert!(
            name.starts_with("relman-gate-report-") && name.ends_with(".json"),
            "{name}"
        );
    }
}

/// `relman gate --format json | jq` on a runner: stdout was fenced with `::stop-commands::`
/// marker lines (not JSON) and followed by the annotations. Now stdout is one JSON document,
/// `##[` inside it is written as a JSON escape, and the annotations go to stderr.
#[test]
fn json_on_a_runner_is_one_document_and_annotations_go_to_stderr() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "feat: one"]);
    git(&repo, &["config", "user.name", "ci"]);
    git(&repo, &["config", "user.email", "ci@example.com"]);
    std::fs::write(
        repo.join(".relman.yml"),
        "forge: { kind: local }\ngate:\n  policies:\n    production:\n      gates:\n        - condition: { expr: 'false', message: \"closed ##[set-output name=x;]y\" }\n",
    )
    .expect("config");
    let output = dir.path().join("output");
    std::fs::write(&output, "").expect("output");
    let out = Command::new(env!("CARGO_BIN_EXE_relman-gate"))
        .args([
            "--policy",
            "production",
            "--no-commit-status",
            "--format",
            "json",
        ])
        .current_dir(&repo)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &repo)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("RUNNER_TEMP", dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let json: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert_eq!(json["verdict"], "no-go");
    assert!(!stdout.contains("##["), "{stdout}");
    assert!(stdout.contains("closed #\\u0023[set-output"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("::error title=relman gate%3A condition"),
        "{stderr}"
    );
}
