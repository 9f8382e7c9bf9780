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
