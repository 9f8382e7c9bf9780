//! Does a commit change anything under a set of paths? (monorepo packages)
//!
//! Instead of diffing whole trees, walk each package path down the commit's tree and its first
//! parent's tree together, comparing object ids level by level: the first equal id means
//! nothing below changed. Most commits stop at the root tree, whose lookups are cached (a
//! commit's root is its child's parent root), so `--package` stays close to an unfiltered run.

use gix::ObjectId;
use std::collections::HashMap;

use gix::objs::FindExt;

use crate::error::{Error, Result};

/// Answers "does this commit touch the paths?".
pub struct PathFilter<'r> {
    repo: &'r gix::Repository,
    paths: Vec<Vec<String>>,
    /// (tree, path index, depth) → the entry found there.
    cache: HashMap<(ObjectId, usize, usize), Option<ObjectId>>,
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
            cache: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// Whether `git log A..B -- paths` shows the commit, with git's default history
    /// simplification: a commit with one parent (or none) when it changes the paths; a merge
    /// unless it is TREESAME (no change under the paths) to one of its *relevant* parents
    /// (`relevant(i)`: in git's terms not UNINTERESTING, or the BOTTOM `A` of `A..B` itself;
    /// for relman a parent in the same release, or an older release's tagged commit). With no
    /// relevant parent, the merge shows when it differs from any parent. (git also stops walking a merge's other
    /// parents when it is TREESAME to one; relman still reads them, so commits that only
    /// that pruned side holds can still be listed: a reverted pair on the hidden side.)
    pub fn shows(
        &mut self,
        tree: ObjectId,
        parents: &[ObjectId],
        first_parent_tree: Option<ObjectId>,
        relevant: impl Fn(usize) -> bool,
    ) -> Result<bool> {
        if parents.len() < 2 {
            return self.touches(tree, parents, first_parent_tree);
        }
        let (mut any_relevant, mut any_differs) = (false, false);
        for (i, p) in parents.iter().enumerate() {
            let theirs = match (i, first_parent_tree) {
                (0, Some(t)) => t,
                _ => self.tree_of(p)?,
            };
            let differs = self.any_differs(tree, Some(theirs))?;
            if relevant(i) {
                if !differs {
                    return Ok(false);
                }
                any_relevant = true;
            }
            any_differs |= differs;
        }
        Ok(any_relevant || any_differs)
    }

    fn tree_of(&mut self, commit: &ObjectId) -> Result<ObjectId> {
        Ok(self
            .repo
            .objects
            .find_commit(commit, &mut self.buf)
            .map_err(|e| Error::Git(format!("reading commit {commit}: {e}")))?
            .tree())
    }

    fn any_differs(&mut self, tree: ObjectId, theirs: Option<ObjectId>) -> Result<bool> {
        for i in 0..self.paths.len() {
            if self.differs(i, Some(tree), theirs)? {
                return Ok(true);
            }
        }
        Ok(false)
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
        let theirs = match (parents.first(), parent_tree) {
            (Some(_), Some(t)) => Some(t),
            (Some(p), None) => Some(
                self.repo
                    .objects
                    .find_commit(p, &mut self.buf)
                    .map_err(|e| Error::Git(format!("reading commit {p}: {e}")))?
                    .tree(),
            ),
            (None, _) => None,
        };
        for i in 0..self.paths.len() {
            if self.differs(i, Some(tree), theirs)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn differs(
        &mut self,
        path: usize,
        mut a: Option<ObjectId>,
        mut b: Option<ObjectId>,
    ) -> Result<bool> {
        for depth in 0..self.paths[path].len() {
            if a == b {
                return Ok(false);
            }
            a = self.child(a, path, depth)?;
            b = self.child(b, path, depth)?;
        }
        Ok(a != b)
    }

    /// The id of path component `depth` inside `tree` (none when absent or not a tree where a
    /// tree is needed to go deeper).
    fn child(
        &mut self,
        tree: Option<ObjectId>,
        path: usize,
        depth: usize,
    ) -> Result<Option<ObjectId>> {
        let Some(tree) = tree else { return Ok(None) };
        if let Some(hit) = self.cache.get(&(tree, path, depth)) {
            return Ok(*hit);
        }
        let decoded = self
            .repo
            .objects
            .find_tree(&tree, &mut self.buf)
            .map_err(|e| Error::Git(format!("reading tree {tree}: {e}")))?;
        let name = self.paths[path][depth].as_bytes();
        let last = depth + 1 == self.paths[path].len();
        let found = decoded
            .entries
            .iter()
            .find(|e| AsRef::<[u8]>::as_ref(e.filename) == name)
            .filter(|e| last || e.mode.is_tree())
            .map(|e| e.oid.to_owned());
        // Bounded: each tree is asked about twice (as a commit's and as its child's parent's).
        if self.cache.len() > 8192 {
            self.cache.clear();
        }
        self.cache.insert((tree, path, depth), found);
        Ok(found)
    }
}
