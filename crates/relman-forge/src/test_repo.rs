//! Real repositories for the local store's tests (the core keeps its own copy for the state
//! branch's tests: a `#[cfg(test)]` module is not visible across crates).

use std::path::Path;
use std::process::Command;

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository with one commit on `main`.
pub(crate) fn repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "dev@example.com"]);
    git(dir, &["config", "user.name", "dev"]);
    std::fs::write(dir.join("README"), "hello\n").expect("write");
    git(dir, &["add", "README"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
}
