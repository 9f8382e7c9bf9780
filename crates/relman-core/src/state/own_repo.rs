//! The store's own repository: where a state shared through a remote keeps its objects and
//! refs, a bare repository at `<git common dir>/relman/state.git`.
//!
//! Why not the user's clone itself: after a year (36,500 commits) fetching the whole history
//! costs a complete clone — a gate job's `fetch-depth: 0` checkout — seconds per job, and the
//! tip alone needs `--depth=1`, which marks the repository shallow. A complete clone marked
//! shallow is refused by tools that need its history (the gate among them), and `audit
//! verify`'s `--unshallow` would deepen a shallow checkout's own branches. relman's own
//! repository can be shallow, is deepened only by `audit verify`, and never touches the
//! user's objects, refs, `.git/shallow` or its lock.
//!
//! What git needs from the user's repository to reach the remote is carried over in each git
//! run's environment ([`carried_config`]; never argv, never written to disk): the remote's
//! URLs, programs and proxy, `url.*` rewrites, `protocol.*`, `http.*` and `credential.*` settings, `core.sshCommand`,
//! `core.askPass`, and `core.fsync*` (a clone that asked for durable writes gets them here too).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The repository's directory under `common_dir`, created (bare, with the user's object
/// format) when missing. Jobs sharing one clone may race to create it: each initialises a
/// directory of its own and renames it into place; a loser uses the winner's.
pub(super) fn ensure(common_dir: &Path, hash: gix::hash::Kind) -> Result<PathBuf> {
    let dir = common_dir.join("relman").join("state.git");
    if dir.join("HEAD").is_file() {
        return Ok(dir);
    }
    let parent = dir.parent().unwrap_or(common_dir);
    let cannot = |e: &dyn std::fmt::Display| {
        Error::Git(format!(
            "state: cannot create relman's repository {}: {e}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(parent).map_err(|e| cannot(&e))?;
    let tmp = parent.join(format!(
        "state.git.new-{}-{}",
        std::process::id(),
        super::Jitter::new().next_u64()
    ));
    // In process (gitoxide): a `git init` would also copy the hook samples, for nothing.
    let options = gix::create::Options {
        destination_must_be_empty: Some(true),
        object_hash: Some(hash),
        ..Default::default()
    };
    if let Err(e) = gix::create::into(&tmp, gix::create::Kind::Bare, options) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(cannot(&e));
    }
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join("HEAD").is_file() {
            return Err(cannot(&e));
        }
    }
    Ok(dir)
}

/// The settings of the user's repository (`git config --local`) that reaching `remote`
/// needs, in order, as `(key, value)`: carried into each fetch and push of the store's own
/// repository with `GIT_CONFIG_KEY_<n>`.
pub(super) fn carried_config(user_dir: &Path, remote: &str) -> Result<Vec<(String, String)>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(user_dir)
        .args(["config", "--local", "--includes", "--null", "--list"])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Git(format!("cannot run git config: {e}")))?;
    if !out.status.success() {
        return Err(Error::Git(format!(
            "state: cannot read the repository's settings: {}",
            super::git::reason(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    Ok(parse_carried(&out.stdout, remote))
}

/// `key\nvalue\0…` (a key alone means `true`), keeping the keys [`carried`] names.
fn parse_carried(listing: &[u8], remote: &str) -> Vec<(String, String)> {
    listing
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (key, value) = match entry.split_once('\n') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (entry.to_string(), "true".to_string()),
            };
            carried(&key, remote).then_some((key, value))
        })
        .collect()
}

/// Whether `key` (git lowercases the section and the name, not the subsection) is needed to
/// reach the remote. Not the remote's refspecs, nor `promisor` / `partialclonefilter`: the
/// store fetches its own ref, whole.
fn carried(key: &str, remote: &str) -> bool {
    let remote_key = |name: &str| key == format!("remote.{remote}.{name}");
    [
        "url",
        "pushurl",
        "receivepack",
        "uploadpack",
        "proxy",
        "proxyauthmethod",
    ]
    .into_iter()
    .any(remote_key)
        || key.starts_with("url.")
        || key.starts_with("protocol.")
        || key.starts_with("http.")
        || key.starts_with("credential.")
        || matches!(
            key,
            "core.sshcommand"
                | "core.askpass"
                | "core.gitproxy"
                | "core.fsync"
                | "core.fsyncmethod"
                | "core.fsyncobjectfiles"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_reaching_the_remote_needs_is_carried() {
        let listing = b"core.bare\nfalse\0core.repositoryformatversion\n0\0\
            remote.origin.url\nhttps://github.com/o/r\0remote.origin.fetch\n+refs/heads/*:refs/remotes/origin/*\0\
            remote.origin.promisor\ntrue\0remote.origin.receivepack\nsetsid git-receive-pack\0remote.fork.url\nhttps://evil.example/x\0\
            http.https://github.com/.extraheader\nAUTHORIZATION: basic eA==\0\
            url.git@github.com:.insteadof\nhttps://github.com/\0credential.helper\nstore\0\
            core.sshcommand\nssh -i key\0core.fsync\nloose-object\0http.sslverify\0\
            extensions.partialclone\norigin\0";
        let kept = parse_carried(listing, "origin");
        let keys: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "remote.origin.url",
                "remote.origin.receivepack",
                "http.https://github.com/.extraheader",
                "url.git@github.com:.insteadof",
                "credential.helper",
                "core.sshcommand",
                "core.fsync",
                "http.sslverify",
            ]
        );
        // A key alone is git's `true`; values keep their text.
        assert_eq!(kept[7].1, "true");
        assert_eq!(kept[2].1, "AUTHORIZATION: basic eA==");
    }

    #[test]
    fn racing_creators_end_with_one_repository() {
        let base = tempfile::tempdir().expect("tempdir");
        let dirs: Vec<PathBuf> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| s.spawn(|| ensure(base.path(), gix::hash::Kind::Sha1).expect("ensure")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("join"))
                .collect()
        });
        assert!(dirs.iter().all(|d| d == &dirs[0]));
        assert!(dirs[0].join("HEAD").is_file());
        // No half-made directory is left beside it.
        let left: Vec<_> = std::fs::read_dir(base.path().join("relman"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("state.git")]);
        gix::open(&dirs[0]).expect("a repository gix opens");
    }
}
