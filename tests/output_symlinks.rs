//! Files relman writes in a checkout never follow a symlink out of it (issue #12).
//!
//! A repository can commit `CHANGELOG.md -> /home/runner/.bashrc`, a `relman-summary.md`
//! symlink or a `reports -> /etc` directory; relman runs in that checkout and writes there.
//! Each case checks the exit code (2), that the error names the file, and that the place
//! outside is untouched. A symlink that stays inside the repository keeps working.

#![cfg(unix)]

use std::path::Path;
use std::process::{Command, Output};

use relman_core::state::testing::git;

fn repo(dir: &Path) {
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.name", "a"]);
    git(dir, &["config", "user.email", "a@example.com"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "feat: first"]);
    git(
        dir,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "fix: second\n\nwith a body",
        ],
    );
}

/// relman with a clean CI environment plus `env`.
fn relman(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relman"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("relman runs")
}

fn refused(out: &Output, name: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(err.contains(name), "the error names {name}: {err}");
    assert!(err.contains("symlink"), "{name}: {err}");
}

#[test]
fn changelog_output_does_not_follow_a_symlink_out_of_the_repository() {
    let outside = tempfile::tempdir().expect("test setup");
    let victim = outside.path().join("bashrc");
    std::fs::write(&victim, "export PATH=/usr/bin\n").expect("test setup");
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    repo(dir);
    std::os::unix::fs::symlink(&victim, dir.join("CHANGELOG.md")).expect("symlink");
    let out = relman(dir, &["changelog", "--output", "CHANGELOG.md"], &[]);
    refused(&out, "CHANGELOG.md");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "export PATH=/usr/bin\n"
    );
    assert!(dir.join("CHANGELOG.md").is_symlink());

    // Through a directory: `docs -> outside`, `--output docs/CHANGELOG.md`.
    std::os::unix::fs::symlink(outside.path(), dir.join("docs")).expect("symlink");
    let out = relman(dir, &["changelog", "--output", "docs/CHANGELOG.md"], &[]);
    refused(&out, "docs/CHANGELOG.md");
    assert!(!outside.path().join("CHANGELOG.md").exists());

    // A secret file as the "existing changelog": never read into the checkout.
    std::fs::remove_file(dir.join("CHANGELOG.md")).expect("test setup");
    std::os::unix::fs::symlink("/proc/self/environ", dir.join("CHANGELOG.md")).expect("symlink");
    let out = relman(dir, &["changelog", "--output", "CHANGELOG.md"], &[]);
    refused(&out, "CHANGELOG.md");
}

#[test]
fn changelog_output_through_a_symlink_inside_the_repository_updates_its_target() {
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    repo(dir);
    std::fs::create_dir(dir.join("docs")).expect("test setup");
    std::os::unix::fs::symlink("docs/changes.md", dir.join("CHANGELOG.md")).expect("symlink");
    let out = relman(dir, &["changelog", "--output", "CHANGELOG.md"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.join("docs/changes.md")).expect("target written");
    assert!(written.contains("first"), "{written}");
    assert!(dir.join("CHANGELOG.md").is_symlink(), "the link is kept");
}

#[test]
fn ci_report_files_planted_in_the_checkout_are_not_followed() {
    let outside = tempfile::tempdir().expect("test setup");
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "untouched").expect("test setup");
    let tmp = tempfile::tempdir().expect("test setup");
    let dir = tmp.path();
    repo(dir);
    let gitlab = [
        ("RELMAN_CI", "gitlab"),
        ("RELMAN_DOTENV", "relman.env"),
        ("RELMAN_SUMMARY", "relman-summary.md"),
    ];
    // The summary file, and the file a multi-line output (the notes) goes to.
    for name in ["relman-summary.md", "relman-output-notes.txt"] {
        for f in ["relman-summary.md", "relman-output-notes.txt", "relman.env"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        std::os::unix::fs::symlink(&victim, dir.join(name)).expect("symlink");
        let out = relman(dir, &["changelog"], &gitlab);
        refused(&out, name);
    }
    for f in ["relman-summary.md", "relman-output-notes.txt", "relman.env"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "untouched"
    );

    // A report file under a directory that is a symlink out of the checkout.
    std::os::unix::fs::symlink(outside.path(), dir.join("reports")).expect("symlink");
    let out = relman(
        dir,
        &["changelog"],
        &[
            ("RELMAN_CI", "gitlab"),
            ("RELMAN_DOTENV", "relman.env"),
            ("RELMAN_SUMMARY", "reports/relman-summary.md"),
        ],
    );
    refused(&out, "reports/relman-summary.md");
    assert!(!outside.path().join("relman-summary.md").exists());

    // Control: plain files in the checkout are written as before.
    let out = relman(dir, &["changelog"], &gitlab);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("relman-summary.md").is_file());
    assert!(dir.join("relman-output-notes.txt").is_file());
}
