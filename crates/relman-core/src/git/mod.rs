//! Reading a repository's history in-process (gitoxide).
//!
//! Releases are tags `<prefix><semver>`. A commit belongs to the *oldest* release whose tag
//! contains it — what `git log vPREV..vTHIS` shows — computed in one newest-first walk (see
//! [`Walk`]), so unreleased notes cost the size of the range, not of the history.

mod paths;
mod tags;
mod walk;

use std::path::{Path, PathBuf};

pub use gix::ObjectId;

/// Release label of each tagged commit (see [`Walk`]).
pub type TagLabels = gix::hashtable::HashMap<ObjectId, u32>;
pub use paths::PathFilter;
pub use tags::{Tag, Tags};
pub use walk::{CommitInfo, Event, Seed, Walk};

use crate::error::{Error, Result};

/// An open repository.
pub struct Repo {
    repo: gix::Repository,
    shallow: Option<Vec<ObjectId>>,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("git_dir", &self.repo.git_dir())
            .finish()
    }
}

fn git_err(context: &str) -> impl FnOnce(gix::Error) -> Error + '_ {
    move |e| Error::Git(format!("{context}: {e}"))
}

impl Repo {
    /// Opens the repository containing `dir` (like git, searching parent directories).
    pub fn discover(dir: &Path) -> Result<Self> {
        let mut repo = gix::discover(dir).map_err(|e| {
            if dir.is_dir() {
                tracing::debug!("discover {}: {e}", dir.display());
                Error::NotARepository(dir.to_path_buf())
            } else {
                Error::Usage(format!("{}: no such directory", dir.display()))
            }
        })?;
        // Commits are read once and path lookups keep their own cache: an object cache would
        // only cost inserts. Trees for --package are delta chains; a byte-capped delta-base
        // cache (instead of gix's default 64-entry list) keeps their bases inflated: -40% on
        // `--package` over a git-packed 100k-commit history (BENCHMARKS.md).
        repo.object_cache_size(0);
        repo.objects.set_pack_cache(|| {
            Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                64 * 1024 * 1024,
            ))
        });
        let shallow = repo
            .shallow_commits()
            .map_err(git_err("reading .git/shallow"))?
            .map(|c| c.iter().copied().collect());
        Ok(Self { repo, shallow })
    }

    /// The work tree root (the git dir's parent for a bare repository).
    pub fn root(&self) -> PathBuf {
        match self.repo.workdir() {
            Some(p) => p.to_path_buf(),
            None => self.repo.git_dir().to_path_buf(),
        }
    }

    /// Whether this is a shallow clone.
    pub fn is_shallow(&self) -> bool {
        self.shallow.is_some()
    }

    /// Resolves a revision (`HEAD`, `v1.2.3`, `main~3`, a hash) to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<ObjectId> {
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| Error::Revision(format!("unknown revision {rev:?}: {e}")))?;
        let object = id
            .object()
            .map_err(|e| Error::Revision(format!("{rev:?}: {e}")))?;
        let commit = object
            .peel_to_commit()
            .map_err(|e| Error::Revision(format!("{rev:?} does not name a commit: {e}")))?;
        Ok(commit.id)
    }

    /// Whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        let base = self
            .repo
            .merge_base(ancestor, descendant)
            .map_err(|e| Error::Git(format!("merge base of {ancestor} and {descendant}: {e}")))?;
        Ok(base.is_some_and(|b| b.detach() == ancestor))
    }

    /// The URL of the `origin` remote, if any.
    pub fn origin_url(&self) -> Option<String> {
        self.repo
            .config_snapshot()
            .string("remote.origin.url")
            .map(|s| s.to_string())
    }

    /// Semver tags named `<prefix><version>`; other tags are ignored.
    pub fn tags(&self, prefix: &str) -> Result<Tags> {
        tags::read(&self.repo, prefix)
    }

    /// Starts a history walk (see [`Walk`]); `tags` maps release commits to their labels.
    pub fn walk<'a>(
        &'a self,
        seeds: &[Seed],
        tags: &'a TagLabels,
        report_from: u32,
    ) -> Result<Walk<'a>> {
        Walk::new(
            &self.repo,
            self.shallow.as_deref(),
            seeds,
            tags,
            report_from,
        )
    }

    /// Runs a history walk on a second thread, calling `f` for each event on this one.
    pub fn walk_with(
        &self,
        seeds: &[Seed],
        tags: &TagLabels,
        report_from: u32,
        f: &mut dyn FnMut(Event) -> Result<()>,
    ) -> Result<()> {
        walk::run_threaded(
            &self.repo,
            self.shallow.as_deref(),
            seeds,
            tags,
            report_from,
            f,
        )
    }

    /// A filter telling whether a commit changes anything under `paths`.
    pub fn path_filter(&self, paths: &[String]) -> PathFilter<'_> {
        PathFilter::new(&self.repo, paths)
    }
}
