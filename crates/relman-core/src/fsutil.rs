//! File writes that never leave a half-written file behind, and reading files named by
//! repository text only from inside the repository.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Writes `contents` to `path` atomically: a temporary file in the same directory, fsynced,
/// then renamed over the target. A crash leaves either the old or the new file, never a mix.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".relman-");
    // A new file gets 0666 less the umask, like any file a user's tool creates (tempfile's own
    // 0600 would hide CHANGELOG.md and reports from the group).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    tmp.write_all(contents).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    // Keep the target's permissions: a CHANGELOG.md made group-writable stays so.
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(err)?;
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Whether `path` names something outside the folder it is read from, by its words alone: an
/// absolute path, a drive prefix, or any `..`.
pub fn leaves_root(path: &Path) -> bool {
    path.components().any(|c| {
        matches!(
            c,
            Component::Prefix(_) | Component::RootDir | Component::ParentDir
        )
    })
}

/// The file `spec` names, relative to the repository at `root`, refusing what leaves it: an
/// absolute path, a `..` component, or a symlink (anywhere on the way) resolving outside. A
/// repository can commit a symlink to `/proc/self/environ`; this keeps its target out of reach.
/// `what` names the setting in errors (`changelog.template`).
pub fn inside_repo(root: &Path, spec: &str, what: &str) -> Result<PathBuf> {
    let rel = Path::new(spec);
    if leaves_root(rel) {
        return Err(Error::Usage(format!(
            "{what} `{spec}`: must be a path inside the repository, relative to its root, \
             without `..`"
        )));
    }
    let path = root.join(rel);
    let read_err = |source| Error::Read {
        path: path.clone(),
        source,
    };
    let real = std::fs::canonicalize(&path).map_err(read_err)?;
    let real_root = std::fs::canonicalize(root).map_err(|source| Error::Read {
        path: root.to_path_buf(),
        source,
    })?;
    if !real.starts_with(&real_root) {
        return Err(Error::Usage(format!(
            "{what} `{spec}`: a symlink leads outside the repository"
        )));
    }
    if !real.is_file() {
        return Err(Error::Usage(format!("{what} `{spec}`: not a regular file")));
    }
    Ok(real)
}

/// The error for a write a symlink would redirect: exit 2, naming the file.
fn symlink_refused(path: &Path, why: &str) -> Error {
    Error::Usage(format!(
        "{}: {why}; relman does not write through symlinks (a checked-out repository can \
         plant one pointing anywhere): remove it or write elsewhere",
        path.display()
    ))
}

/// For a relative `path` (the CI report files, named relative to the job's directory): its
/// directory must resolve inside the current directory, so a committed `reports -> /etc`
/// cannot carry a write out of the checkout. Absolute paths are the runner's own files
/// (`$GITHUB_STEP_SUMMARY`, `$RUNNER_TEMP/...`), not repository text.
fn parent_stays_here(path: &Path) -> Result<()> {
    if path.is_absolute() {
        return Ok(());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => return Ok(()),
    };
    let (Ok(real), Ok(here)) = (std::fs::canonicalize(parent), std::fs::canonicalize(".")) else {
        // A missing directory fails at open with its own error.
        return Ok(());
    };
    if leaves_root(parent) || !real.starts_with(&here) {
        return Err(symlink_refused(
            path,
            "its directory leads outside the working directory",
        ));
    }
    Ok(())
}

/// Opens `path` with `options` without following a symlink at `path` itself (`O_NOFOLLOW`,
/// so no window between a check and the open) nor out through its directory.
fn open_no_follow(path: &Path, options: &mut std::fs::OpenOptions) -> Result<std::fs::File> {
    parent_stays_here(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_refused(path, "is a symlink"));
    }
    options.open(path).map_err(|source| {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if is_link {
            symlink_refused(path, "is a symlink")
        } else {
            Error::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Appends `text` to `path` (created if missing), never through a symlink (see
/// [`open_no_follow`]): the job summary, dotenv and outputs files.
pub fn append_no_follow(path: &Path, text: &str) -> Result<()> {
    let mut f = open_no_follow(path, std::fs::OpenOptions::new().create(true).append(true))?;
    f.write_all(text.as_bytes()).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Replaces the content of `path` (created if missing), never through a symlink.
pub fn write_no_follow(path: &Path, contents: &[u8]) -> Result<()> {
    let mut f = open_no_follow(
        path,
        std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true),
    )?;
    f.write_all(contents).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The content of `path`, `None` when it does not exist; a symlink is refused, so a report
/// relman rewrites can never pull in a file from outside the checkout.
pub fn read_no_follow(path: &Path) -> Result<Option<String>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if m.file_type().is_symlink() => return Err(symlink_refused(path, "is a symlink")),
        _ => {}
    }
    let mut f = open_no_follow(path, std::fs::OpenOptions::new().read(true))?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut f, &mut text).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Some(text))
}

/// Where to write a file the user named inside the repository at `root` (`--output
/// CHANGELOG.md`): the path itself, or, when it is a symlink, its target if that stays inside
/// the repository (a `CHANGELOG.md -> docs/CHANGELOG.md` layout keeps working). A symlink, or
/// a directory on the way, that leads outside is refused: the file is read, then replaced,
/// so following it would copy `/proc/self/environ` into the checkout or overwrite a file
/// anywhere.
pub fn write_target_inside(root: &Path, path: &Path) -> Result<PathBuf> {
    let real_root = std::fs::canonicalize(root).map_err(|source| Error::Read {
        path: root.to_path_buf(),
        source,
    })?;
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    // `path` with its directory resolved (the file itself need not exist).
    let in_real_dir = |path: &Path| -> Result<PathBuf> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let real_parent = std::fs::canonicalize(parent).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(real_parent.join(path.file_name().map(PathBuf::from).unwrap_or_default()))
    };
    let (resolved, what) = if is_link {
        let real = match std::fs::canonicalize(path) {
            Ok(real) => real,
            // A link to a file not written yet (`CHANGELOG.md -> docs/CHANGELOG.md` before the
            // first release): where it points, if that is not a link again.
            Err(_) => {
                let to = std::fs::read_link(path).map_err(|source| Error::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let target = path.parent().unwrap_or(Path::new(".")).join(to);
                if std::fs::symlink_metadata(&target).is_ok() {
                    return Err(symlink_refused(
                        path,
                        "is a symlink to a symlink to nothing",
                    ));
                }
                in_real_dir(&target)
                    .map_err(|_| symlink_refused(path, "is a symlink to nowhere"))?
            }
        };
        (real, "is a symlink leading outside the repository")
    } else {
        (
            in_real_dir(path)?,
            "its directory leads outside the repository",
        )
    };
    // An absolute --output outside the repository is the user's own choice; only a symlink
    // (repository content) may not lead there.
    let named_inside =
        !path.is_absolute() || path.starts_with(root) || path.starts_with(&real_root);
    if named_inside && !resolved.starts_with(&real_root) {
        return Err(symlink_refused(path, what));
    }
    if is_link && resolved.is_dir() {
        return Err(symlink_refused(path, "is a symlink to a directory"));
    }
    Ok(if is_link {
        resolved
    } else {
        path.to_path_buf()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn new_files_follow_the_umask_and_existing_ones_keep_their_mode() {
        // Issue #12 finding 10: files were created 0600 whatever the umask.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.md");
        write_atomic(&path, b"x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // The test process's umask is at most 022 here (cargo's default); group read is set.
        assert_ne!(mode & 0o044, 0, "{mode:o}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"y").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    /// Issue #12: the CI report files were appended to through a committed symlink.
    #[cfg(unix)]
    #[test]
    fn report_files_are_never_written_or_read_through_a_symlink() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("victim");
        std::fs::write(&secret, "[\"untouched\"]").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("relman-summary.md");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let dangling = dir.path().join("relman-output-notes.txt");
        std::os::unix::fs::symlink(outside.path().join("new"), &dangling).unwrap();
        let errors = [
            append_no_follow(&link, "x").unwrap_err(),
            write_no_follow(&link, b"x").unwrap_err(),
            read_no_follow(&link).unwrap_err(),
            write_no_follow(&dangling, b"x").unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.exit_code(), crate::ExitCode::BadInput, "{e}");
            assert!(e.to_string().contains("is a symlink"), "{e}");
            assert!(e.to_string().contains(dir.path().to_str().unwrap()), "{e}");
        }
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "[\"untouched\"]");
        assert!(!outside.path().join("new").exists());
        // A plain file is appended to, replaced and read as before.
        let plain = dir.path().join("plain.md");
        append_no_follow(&plain, "a").unwrap();
        append_no_follow(&plain, "b").unwrap();
        assert_eq!(read_no_follow(&plain).unwrap().as_deref(), Some("ab"));
        write_no_follow(&plain, b"c").unwrap();
        assert_eq!(read_no_follow(&plain).unwrap().as_deref(), Some("c"));
        assert_eq!(read_no_follow(&dir.path().join("none")).unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_to_rewrite_follows_a_symlink_only_inside_the_repository() {
        let outside = tempfile::tempdir().unwrap();
        let repo = tempfile::tempdir().unwrap();
        let root = repo.path();
        std::fs::create_dir(root.join("docs")).unwrap();
        std::fs::write(root.join("docs/CHANGELOG.md"), "x").unwrap();
        let link = |name: &str, to: &Path| std::os::unix::fs::symlink(to, root.join(name)).unwrap();
        link("CHANGELOG.md", Path::new("docs/CHANGELOG.md"));
        link("OUT.md", &outside.path().join("x.md"));
        std::fs::write(outside.path().join("x.md"), "x").unwrap();
        link("DANGLING.md", &outside.path().join("none.md"));
        link("env.md", Path::new("/proc/self/environ"));
        link("NEW.md", Path::new("docs/new.md"));
        link("away", outside.path());
        let inside = write_target_inside(root, &root.join("CHANGELOG.md")).unwrap();
        assert_eq!(
            inside,
            std::fs::canonicalize(root.join("docs/CHANGELOG.md")).unwrap()
        );
        // A link to a file inside that is not written yet: the file it names.
        assert_eq!(
            write_target_inside(root, &root.join("NEW.md")).unwrap(),
            std::fs::canonicalize(root.join("docs"))
                .unwrap()
                .join("new.md")
        );
        assert_eq!(
            write_target_inside(root, &root.join("new.md")).unwrap(),
            root.join("new.md")
        );
        for name in ["OUT.md", "DANGLING.md", "env.md", "away/x.md"] {
            let e = write_target_inside(root, &root.join(name)).expect_err(name);
            assert_eq!(e.exit_code(), crate::ExitCode::BadInput, "{name}: {e}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
        // An absolute path outside the repository, chosen by the user, is theirs to write.
        let mine = outside.path().join("mine.md");
        assert_eq!(write_target_inside(root, &mine).unwrap(), mine);
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("CHANGELOG.md");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn missing_directory_is_a_write_error_naming_the_path() {
        let err = write_atomic(Path::new("/nonexistent-dir/x.md"), b"x").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent-dir/x.md: cannot write")
        );
    }
}
