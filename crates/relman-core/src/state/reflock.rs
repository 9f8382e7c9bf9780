//! Git ref locks (`<ref>.lock`) left behind, and why removing one cannot lose a record.
//!
//! git updates a ref by creating `<ref>.lock` (exclusive create), writing the new id into it
//! and renaming it over `<ref>`. A writer killed in between leaves the lock file, and every
//! later update of that ref fails until someone removes it. relman removes such a lock once it
//! is [`STALE_LOCK`] old, which is only safe when no live process can still be holding it: a
//! holder that was merely stalled (a stopped or starved process) would rename its lock over
//! the ref after we moved it, and the commits written meanwhile would no longer be reachable.
//! Git's lock files say nothing about their holder, so the two refs relman moves are treated
//! differently:
//!
//! - **The state branch itself** (the store when there is no remote): every relman writer
//!   holds an OS advisory lock ([`WriterLock`], `flock` through `std::fs::File::try_lock`)
//!   on a file next to the refs for the whole ref update. The kernel releases it when the
//!   process dies, `kill -9` included, so a writer that holds it is alive. The stale git lock
//!   is removed only by a writer that holds the advisory lock, so never while another relman
//!   writer is inside its update; a writer that finds the advisory lock taken treats it as a
//!   lost race (back off, re-read, retry, bounded), which is what waiting for a live writer
//!   is. A stalled writer therefore delays the others (or makes them give up with an error
//!   after [`super::MAX_ATTEMPTS`]) but never has its lock removed under it.
//! - **The remote-tracking ref** (`refs/remotes/<remote>/relman/state`): a cache of what the
//!   remote holds. Records live on the remote, where pushes are fast-forward only, and a
//!   process reads the tip it fetched or pushed itself (held in memory), so a stalled `git
//!   fetch` (relman's or the user's) moving the tracking ref back cannot lose a record: the
//!   next fetch or push corrects it. Its stale lock is removed on age alone.
//!
//! What remains: a git process that is not relman's (a person running `git update-ref` on
//! `relman/state`, `git pack-refs`) stalled for more than [`STALE_LOCK`] while holding the
//! state branch's lock could still have its lock removed. relman never asks git to do that,
//! and `relman audit verify` reports a history that lost a commit.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::time::Duration;

use super::{StateStore, file_name};
use crate::error::{Error, Result};

/// A ref lock file older than this, whose holder is not a live relman writer, was left by a
/// killed process: a ref update holds it for milliseconds.
pub const STALE_LOCK: Duration = Duration::from_secs(5);

/// The advisory lock a relman writer holds while it updates the state branch locally;
/// released when dropped (or when the process dies).
#[derive(Debug)]
pub(super) struct WriterLock {
    _file: File,
}

impl StateStore {
    /// `<ref>.lock`, in the directory holding the refs (the common directory of a worktree).
    pub(super) fn ref_lock_path(&self, name: &str) -> PathBuf {
        self.common_dir.join(format!("{name}.lock"))
    }

    /// Takes the writers' advisory lock of ref `name`; `None` when another live writer holds it.
    pub(super) fn writer_lock(&self, name: &str) -> Result<Option<WriterLock>> {
        let path = self
            .common_dir
            .join(format!("relman-{}.flock", file_name(name)));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WriterLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(Error::Write { path, source }),
        }
    }

    /// Removes `<ref>.lock` when it is older than [`STALE_LOCK`]. Call it for the state branch
    /// only while holding its [`WriterLock`]; for the tracking ref, age alone is enough.
    pub(super) fn clear_stale_lock(&self, name: &str) {
        let lock = self.ref_lock_path(name);
        let old = std::fs::symlink_metadata(&lock)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_LOCK);
        if old {
            tracing::warn!("state: removing the stale lock {}", lock.display());
            let _ = std::fs::remove_file(&lock);
        }
    }
}
