//! Reading the records at one tip, in-process (gitoxide), never through the working tree.

use gix::ObjectId;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The branch at one commit (or empty, before the first write).
pub struct Snapshot {
    repo: gix::Repository,
    tip: Option<ObjectId>,
    tree: Option<ObjectId>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("tip", &self.tip)
            .finish_non_exhaustive()
    }
}

/// One entry of a directory of the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub id: ObjectId,
}

impl Snapshot {
    pub(super) fn at(mut repo: gix::Repository, tip: Option<ObjectId>) -> Result<Self> {
        // Queries read many small objects: a cache of decoded ones pays off.
        repo.object_cache_size_if_unset(4 << 20);
        let tree = match tip {
            Some(id) => {
                let commit = repo
                    .find_commit(id)
                    .map_err(|e| Error::Git(format!("state: commit {id}: {e}")))?;
                Some(
                    commit
                        .tree_id()
                        .map_err(|e| Error::Git(format!("state: commit {id}: {e}")))?
                        .detach(),
                )
            }
            None => None,
        };
        Ok(Snapshot { repo, tip, tree })
    }

    /// The commit read, `None` when the branch does not exist yet.
    pub fn tip(&self) -> Option<ObjectId> {
        self.tip
    }

    pub(super) fn tree_id(&self) -> Option<ObjectId> {
        self.tree
    }

    pub(super) fn repo(&self) -> &gix::Repository {
        &self.repo
    }

    /// The entries of directory `dir` (`""` is the root), sorted by name; none when it does
    /// not exist. Entries that are neither files nor directories (symlinks, submodules) are
    /// not records and are left out.
    pub fn list(&self, dir: &str) -> Result<Vec<Entry>> {
        let Some(tree) = self.dir_id(dir)? else {
            return Ok(Vec::new());
        };
        self.list_tree(tree)
    }

    /// The entries of the tree `id`.
    pub fn list_tree(&self, id: ObjectId) -> Result<Vec<Entry>> {
        let tree = self
            .repo
            .find_tree(id)
            .map_err(|e| Error::Git(format!("state: tree {id}: {e}")))?;
        let decoded = tree
            .decode()
            .map_err(|e| Error::Git(format!("state: tree {id}: {e}")))?;
        let mut out = Vec::with_capacity(decoded.entries.len());
        for e in &decoded.entries {
            let is_dir = e.mode.is_tree();
            if !is_dir && !e.mode.is_blob() {
                continue;
            }
            out.push(Entry {
                name: String::from_utf8_lossy(e.filename).into_owned(),
                is_dir,
                id: e.oid.to_owned(),
            });
        }
        Ok(out)
    }

    fn dir_id(&self, dir: &str) -> Result<Option<ObjectId>> {
        let Some(root) = self.tree else {
            return Ok(None);
        };
        let dir = dir.trim_matches('/');
        if dir.is_empty() {
            return Ok(Some(root));
        }
        match self.entry(dir)? {
            Some((id, true)) => Ok(Some(id)),
            _ => Ok(None),
        }
    }

    fn entry(&self, path: &str) -> Result<Option<(ObjectId, bool)>> {
        let Some(root) = self.tree else {
            return Ok(None);
        };
        let tree = self
            .repo
            .find_tree(root)
            .map_err(|e| Error::Git(format!("state: tree {root}: {e}")))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| Error::Git(format!("state: {path}: {e}")))?;
        Ok(entry.map(|e| (e.object_id(), e.mode().is_tree())))
    }

    /// The bytes of the file at `path`, if there is one.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>> {
        match self.entry(path)? {
            Some((id, false)) => self.blob(id).map(Some),
            _ => Ok(None),
        }
    }

    /// The bytes of blob `id`.
    pub fn blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        let blob = self
            .repo
            .find_blob(id)
            .map_err(|e| Error::Git(format!("state: blob {id}: {e}")))?;
        Ok(blob.detach().data)
    }

    /// The file at `path` as JSON; a file that does not parse is [`Error::Corrupt`] naming
    /// it (`relman/state:releases/v1.json:3: …`).
    pub fn read_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.read(path)? {
            Some(bytes) => parse_json(path, &bytes).map(Some),
            None => Ok(None),
        }
    }
}

/// `bytes` of the record at `path` as JSON, or [`Error::Corrupt`] naming it and the line.
pub fn parse_json<T: DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        path: format!("relman/state:{path}").into(),
        line: (e.line() > 0).then_some(e.line()),
        message: json_message(&e),
    })
}

/// serde_json's message with the line left to the caller: `expected value at column 1`.
pub fn json_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(text) => format!("{text} at column {}", e.column()),
        None => message,
    }
}
