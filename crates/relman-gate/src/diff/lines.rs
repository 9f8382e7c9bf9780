//! Lines added and removed in one file, and which lines of the new version they are.

use gix::ObjectId;
use imara_diff::{Algorithm, Diff, InternedInput};
use relman_core::Error;

use crate::ChangedFile;

/// Git's own test: a NUL byte among the first 8000 bytes makes a file binary.
const BINARY_SNIFF: usize = 8000;

/// Reads and diffs blobs of one repository.
pub(super) struct Differ<'r> {
    repo: &'r gix::Repository,
}

impl std::fmt::Debug for Differ<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Differ").finish_non_exhaustive()
    }
}

impl<'r> Differ<'r> {
    pub(super) fn new(repo: &'r gix::Repository) -> Self {
        Differ { repo }
    }

    pub(super) fn hash_kind(&self) -> gix::hash::Kind {
        self.repo.object_hash()
    }

    /// A blob's bytes; a submodule entry (`None`) reads as empty.
    pub(super) fn read(&self, blob: Option<ObjectId>) -> Result<Vec<u8>, Error> {
        let Some(id) = blob else {
            return Ok(Vec::new());
        };
        self.repo
            .find_object(id)
            .map(|o| o.detach().data)
            .map_err(|e| Error::Git(format!("reading blob {id}: {e}")))
    }

    /// The file at `path` changed from `old` (absent: added) to `new`.
    pub(super) fn file(
        &self,
        path: String,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<ChangedFile, Error> {
        let after = self.read(new)?;
        let before = self.read(old)?;
        let mut file = ChangedFile {
            path,
            added: 0,
            removed: 0,
            added_lines: Vec::new(),
        };
        if is_binary(&before) || is_binary(&after) {
            return Ok(file);
        }
        if before.is_empty() {
            let n = count_lines(&after);
            file.added = u64::from(n);
            file.added_lines = (1..=n).collect();
            return Ok(file);
        }
        // imara-diff asserts fewer than i32::MAX lines a side; such a blob is all-new anyway.
        if count_lines(&before).max(count_lines(&after)) >= i32::MAX as u32 {
            file.removed = u64::from(count_lines(&before));
            file.added = u64::from(count_lines(&after));
            return Ok(file);
        }
        let input = InternedInput::new(before.as_slice(), after.as_slice());
        let mut diff = Diff::compute(Algorithm::Histogram, &input);
        // Slides ambiguous hunks where git puts them, so added line numbers match `git diff`.
        diff.postprocess_lines(&input);
        file.added = u64::from(diff.count_additions());
        file.removed = u64::from(diff.count_removals());
        file.added_lines = (0..input.after.len() as u32)
            .filter(|&i| diff.is_added(i))
            .map(|i| i + 1)
            .collect();
        Ok(file)
    }

    /// The file at `path` was deleted.
    pub(super) fn removed(
        &self,
        path: String,
        old: Option<ObjectId>,
    ) -> Result<ChangedFile, Error> {
        let before = self.read(old)?;
        let removed = if is_binary(&before) {
            0
        } else {
            u64::from(count_lines(&before))
        };
        Ok(ChangedFile {
            path,
            added: 0,
            removed,
            added_lines: Vec::new(),
        })
    }
}

pub(super) fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_SNIFF)].contains(&0)
}

/// Lines as git counts them: a last line without a newline still counts.
pub(super) fn count_lines(data: &[u8]) -> u32 {
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    let partial = usize::from(data.last().is_some_and(|&b| b != b'\n'));
    u32::try_from(newlines + partial).unwrap_or(u32::MAX)
}
