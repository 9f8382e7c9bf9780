//! Does a commit change anything under a set of paths? (monorepo packages)
//!
//! Instead of diffing whole trees, compare the object id found at each package path in the
//! commit's tree and its first parent's: equal ids mean nothing below changed. That reads only
//! the trees along the path (a few per commit), so `--package` stays close to an unfiltered run.

use gix::ObjectId;
use gix::hashtable::HashMap as OidMap;
use gix::objs::FindExt;

use crate::error::{Error, Result};

/// Answers "does this commit touch the paths?"; caches per-tree lookups.
pub struct PathFilter<'r> {
    repo: &'r gix::Repository,
    paths: Vec<Vec<String>>,
    cache: OidMap<ObjectId, Vec<Option<ObjectId>>>,
    buf: Vec<u8>,
}

impl std::fmt::Debug for PathFilter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathFilter")
            .field("paths", &self.paths)
            .finish()
    }
}

impl<'r> PathFilter<'r> {
    pub(super) fn new(repo: &'r gix::Repository, paths: &[String]) -> Self {
        let paths = paths
            .iter()
            .map(|p| {
                p.split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        Self {
            repo,
            paths,
            cache: OidMap::default(),
            buf: Vec::new(),
        }
    }

    /// Whether the commit with `tree` and `parents` changes anything under the paths
    /// (compared with its first parent; a root commit touches what it contains).
    /// `parent_tree` saves reading the first parent when the caller already knows its tree.
    pub fn touches(
        &mut self,
        tree: ObjectId,
        parents: &[ObjectId],
        parent_tree: Option<ObjectId>,
    ) -> Result<bool> {
        let mine = self.lookup(tree)?;
        let theirs = match (parents.first(), parent_tree) {
            (Some(_), Some(t)) => self.lookup(t)?,
            (Some(p), None) => {
                let ptree = self
                    .repo
                    .objects
                    .find_commit(p, &mut self.buf)
                    .map_err(|e| Error::Git(format!("reading commit {p}: {e}")))?
                    .tree();
                self.lookup(ptree)?
            }
            (None, _) => vec![None; mine.len()],
        };
        Ok(mine != theirs)
    }

    fn lookup(&mut self, tree: ObjectId) -> Result<Vec<Option<ObjectId>>> {
        if let Some(hit) = self.cache.get(&tree) {
            return Ok(hit.clone());
        }
        let mut out = Vec::with_capacity(self.paths.len());
        for i in 0..self.paths.len() {
            out.push(self.entry_at(tree, i)?);
        }
        // Each tree is needed twice (as a commit's and as its child's parent's); a bounded
        // cache keeps memory flat on long histories.
        if self.cache.len() > 4096 {
            self.cache.clear();
        }
        self.cache.insert(tree, out.clone());
        Ok(out)
    }

    fn entry_at(&mut self, root: ObjectId, path_index: usize) -> Result<Option<ObjectId>> {
        let mut current = root;
        let components = self.paths[path_index].len();
        if components == 0 {
            return Ok(Some(root));
        }
        for depth in 0..components {
            let tree = self
                .repo
                .objects
                .find_tree(&current, &mut self.buf)
                .map_err(|e| Error::Git(format!("reading tree {current}: {e}")))?;
            let name = self.paths[path_index][depth].as_bytes();
            let Some(entry) = tree
                .entries
                .iter()
                .find(|e| e.filename.as_ref() as &[u8] == name)
            else {
                return Ok(None);
            };
            let oid = entry.oid.to_owned();
            if depth + 1 == components {
                return Ok(Some(oid));
            }
            if !entry.mode.is_tree() {
                return Ok(None);
            }
            current = oid;
        }
        Ok(None)
    }
}
