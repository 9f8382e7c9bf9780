//! Repositories for tests of the state branch, here and in other crates: a clone of a bare
//! `file://` origin is what a CI job's checkout is. Not part of the API.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in `dir` with no global or system configuration; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
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
pub fn repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "dev@example.com"]);
    git(dir, &["config", "user.name", "dev"]);
    std::fs::write(dir.join("README"), "hello\n").expect("write");
    git(dir, &["add", "README"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
}

/// A bare origin with one commit, and `n` clones of it.
pub fn origin_and_clones(base: &Path, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let seed = base.join("seed");
    std::fs::create_dir(&seed).expect("mkdir");
    repo(&seed);
    let origin = base.join("origin.git");
    git(
        base,
        &["clone", "-q", "--bare", path_str(&seed), path_str(&origin)],
    );
    let clones = (0..n)
        .map(|i| clone(&origin, &base.join(format!("job{i}"))))
        .collect();
    (origin, clones)
}

/// A fresh clone of `origin` at `dest` (a new CI job's checkout), returned.
pub fn clone(origin: &Path, dest: &Path) -> PathBuf {
    let url = format!("file://{}", origin.display());
    let parent = dest.parent().expect("a clone's parent directory");
    git(parent, &["clone", "-q", &url, path_str(dest)]);
    dest.to_path_buf()
}

/// A depth-1 clone of `origin`'s `main` at `dest`: what `actions/checkout` (default
/// `fetch-depth: 1`) and GitLab's `GIT_DEPTH` give a job. `main` needs two commits or
/// nothing is shallow.
pub fn shallow_clone(origin: &Path, dest: &Path) -> PathBuf {
    let url = format!("file://{}", origin.display());
    let parent = dest.parent().expect("a clone's parent directory");
    git(
        parent,
        &[
            "clone",
            "-q",
            "--depth=1",
            "--single-branch",
            "--branch=main",
            &url,
            path_str(dest),
        ],
    );
    assert_eq!(git(dest, &["rev-parse", "--is-shallow-repository"]), "true");
    dest.to_path_buf()
}

/// Adds a commit to `origin`'s `main` (through a temporary clone beside it).
pub fn grow_main(origin: &Path, message: &str) {
    let base = origin.parent().expect("origin's parent");
    let tmp = base.join(format!("grow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    clone(origin, &tmp);
    git(&tmp, &["config", "user.email", "dev@example.com"]);
    git(&tmp, &["config", "user.name", "dev"]);
    git(&tmp, &["commit", "-q", "--allow-empty", "-m", message]);
    git(&tmp, &["push", "-q", "origin", "main"]);
    std::fs::remove_dir_all(&tmp).expect("rm");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// An origin whose pre-receive hook refuses every push (a token without write access).
pub fn refuse_pushes(origin: &Path) {
    let hook = origin.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'denied: no write access' >&2\nexit 1\n",
    )
    .expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}
