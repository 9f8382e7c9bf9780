//! Finding evidence files by glob, relative to the repository root.
//!
//! globset gives the semantics users know from `.gitignore`-style tools (`**/` matches zero or
//! more directories, `*` stays inside one). The walk starts at each pattern's literal prefix
//! (`reports/` for `reports/**/*.xml`), so a pattern never makes relman read the whole
//! repository, and it never descends into `.git`.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobBuilder, GlobMatcher};
use relman_core::Error;

/// A compiled path pattern; `*` does not cross `/`.
pub fn glob(pattern: &str) -> Result<GlobMatcher, Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| Error::Usage(format!("invalid glob {pattern:?}: {e}")))
}

/// Files matching any of `patterns` under `root`, sorted and deduplicated. Paths are returned
/// joined to `root`; use [`relative`] for display.
pub fn find(root: &Path, patterns: &[String]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    // Evidence is the repository's own: the config that names it is repository text, so a
    // path may not reach outside the checkout (`/proc/self/environ`, `..`, a committed
    // symlink to elsewhere) and make relman read, and quote in errors, what is not evidence.
    let real_root = std::fs::canonicalize(root).map_err(|source| Error::Read {
        path: root.to_path_buf(),
        source,
    })?;
    for pattern in patterns {
        let pattern = pattern.trim_start_matches("./");
        if relman_core::fsutil::leaves_root(Path::new(pattern)) {
            return Err(Error::Usage(format!(
                "evidence path {pattern:?}: must be inside the repository, relative to its \
                 root, without `..`"
            )));
        }
        let matcher = glob(pattern)?;
        let prefix = literal_prefix(pattern);
        // Paths stay as short as the root given: `reports/a.xml`, not `./reports/a.xml`, in
        // every message that names the file.
        let under_root = |p: &Path| {
            if root == Path::new(".") && !p.as_os_str().is_empty() {
                p.to_path_buf()
            } else {
                root.join(p)
            }
        };
        if !has_meta(pattern) {
            let file = under_root(Path::new(pattern));
            if contained(&real_root, &file, pattern)? && file.is_file() {
                out.push(file);
            }
            continue;
        }
        let start = under_root(&prefix);
        if !contained(&real_root, &start, pattern)? {
            continue;
        }
        walk(root, &start, &matcher, &mut out)?;
    }
    if root == Path::new(".") {
        // `./a.xml` from a walk and `a.xml` named plainly are one file, shown one way.
        out = out
            .iter()
            .map(|p| PathBuf::from(relative(root, p)))
            .collect();
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `path` relative to `root`, with `/` separators, for reports and annotations.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `path` exists (false when it does not), refusing one that resolves, through a
/// symlink, outside the repository at `real_root`.
fn contained(real_root: &Path, path: &Path, pattern: &str) -> Result<bool, Error> {
    match std::fs::canonicalize(path) {
        Ok(real) if real.starts_with(real_root) => Ok(true),
        Ok(_) => Err(Error::Usage(format!(
            "evidence path {pattern:?}: a symlink leads outside the repository"
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// The leading path components without glob metacharacters.
fn literal_prefix(pattern: &str) -> PathBuf {
    let mut prefix = PathBuf::new();
    let parts: Vec<&str> = pattern.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if has_meta(part) || i + 1 == parts.len() {
            break;
        }
        prefix.push(part);
    }
    prefix
}

fn walk(
    root: &Path,
    dir: &Path,
    matcher: &GlobMatcher,
    out: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source: e,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::Read {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::Read {
            path: path.clone(),
            source: e,
        })?;
        if kind.is_dir() {
            if entry.file_name() != ".git" {
                walk(root, &path, matcher, out)?;
            }
        } else if kind.is_file() && matcher.is_match(relative(root, &path)) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_glob_from_the_literal_prefix_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "reports/a.xml",
            "reports/sub/b.xml",
            "reports/c.txt",
            "other/d.xml",
            "e.xml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, "x").expect("write");
        }
        let rel = |v: Vec<PathBuf>| v.iter().map(|p| relative(root, p)).collect::<Vec<_>>();
        assert_eq!(
            rel(find(root, &["reports/**/*.xml".into()]).expect("find")),
            ["reports/a.xml", "reports/sub/b.xml"]
        );
        assert_eq!(rel(find(root, &["*.xml".into()]).expect("find")), ["e.xml"]);
        assert_eq!(
            rel(find(root, &["**/*.xml".into(), "e.xml".into()]).expect("find")),
            ["e.xml", "other/d.xml", "reports/a.xml", "reports/sub/b.xml"]
        );
        assert!(
            find(root, &["missing/*.xml".into()])
                .expect("find")
                .is_empty()
        );
        assert!(find(root, &["[".into()]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn evidence_never_comes_from_outside_the_repository() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.xml"), "TOKEN=x").expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("reports")).expect("mkdir");
        std::fs::write(root.join("reports/own.xml"), "x").expect("write");
        let link = |target: &Path, at: &str| {
            std::os::unix::fs::symlink(target, root.join(at)).expect("symlink")
        };
        link(&outside.path().join("secret.xml"), "reports/leak.xml");
        link(outside.path(), "elsewhere");
        link(&root.join("reports/own.xml"), "inside.xml");
        let refused = |pattern: &str| {
            let err = find(root, &[pattern.to_string()]).expect_err(pattern);
            assert!(
                matches!(err, Error::Usage(_)),
                "{pattern}: exit 2 expected, got {err}"
            );
        };
        refused("/proc/self/environ");
        refused("../secret.xml");
        refused("reports/../../secret.xml");
        refused("reports/leak.xml");
        refused("elsewhere/*.xml");
        // A symlink that stays inside the checkout is the repository's own file.
        assert_eq!(
            find(root, &["inside.xml".into()]).expect("find"),
            [root.join("inside.xml")]
        );
        // A walk never follows a symlink it meets, so the leak is not read by a glob either.
        assert_eq!(
            find(root, &["reports/*.xml".into()]).expect("find"),
            [root.join("reports/own.xml")]
        );
    }
}
