//! File writes that never leave a half-written file behind.

use std::io::Write;
use std::path::Path;

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
    let mut tmp = tempfile::Builder::new()
        .prefix(".relman-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(contents).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    // Keep the target's permissions: a CHANGELOG.md made group-writable stays so.
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(err)?;
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
