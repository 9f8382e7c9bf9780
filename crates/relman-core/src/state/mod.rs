//! The state branch: relman's own records as commits on a ref of the repository.
//!
//! A hosted runner throws its workspace away when the job ends, so anything relman must
//! remember between jobs (the audit trail, idempotency keys, drills, locks, and for the local
//! backend its releases, deployments and commit statuses) lives in the repository itself: one
//! human-readable JSON file per record, in a chain of commits on `refs/relman/state`
//! (`state.branch`; outside `refs/heads/`, so clones never download it), shared through the remote (`state.remote`, `origin` by default).
//!
//! - **Never in the working tree**: objects are written straight into the object database
//!   (gitoxide) and only relman's ref moves; the user's index, branches and files are never
//!   read or written, so nothing in the working tree (a `.relman` symlink, say) can redirect
//!   a write.
//! - **A write is a compare-and-swap of the tip** ([`StateStore::transact`]): the caller's
//!   closure reads a [`Snapshot`] and says what to write; the commit is published only if the
//!   tip is still the one read (local ref: a locked update that checks the old value; remote:
//!   a fast-forward-only push). A lost race re-runs the closure on the new tip, so an append
//!   never conflicts, and a key or lock someone else took is seen as taken.
//! - **Shared through the remote**: fetched before reading, pushed after writing, retried with
//!   jitter when the push is rejected, bounded ([`MAX_ATTEMPTS`]). Fetched and written in
//!   relman's own bare repository inside `.git` ([`own_repo`]), so the first fetch takes the
//!   tip alone and the user's clone is never made shallow. Without a remote the local branch
//!   is the store.
//! - **Crash safety**: objects first, then one atomic ref update (git's lock-and-rename), so a
//!   killed process leaves the old or the new tip; a lock file left by a killed writer is
//!   taken back once it is [`STALE_LOCK`] old, never while a live relman writer may hold it
//!   ([`reflock`] says why that cannot lose a record).
//! - **Never starts a pipeline**: commit messages carry `[skip ci]` and, on GitLab, the push
//!   carries `-o ci.skip`.

mod audit;
mod auth;
mod git;
mod locks;
mod own_repo;
mod records;
mod reflock;
#[cfg(test)]
mod shallow_tests;
mod snapshot;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use gix::ObjectId;

pub use audit::VerifyReport;
pub use audit::audit_path;
pub use auth::Auth;
pub use locks::{Lock, LockOutcome};
pub use records::{DRILL_ACTION, Drill, DrillResult, kind_of_action};
pub use reflock::STALE_LOCK;
pub use snapshot::{Entry, Snapshot};

use crate::config::{RecordKind, StateSettings};
use crate::error::{Error, Result, StateErrorKind};

/// Writes tried before giving up when other writers keep moving the tip.
pub const MAX_ATTEMPTS: u32 = 32;

/// What a transaction's closure decided.
#[derive(Debug)]
pub enum Step<T> {
    /// Nothing to write (the record is already there, the lock is taken): return `T`.
    Done(T),
    /// Write these changes, then return `T`.
    Write(Change, T),
}

/// Files to add or replace (and remove) in one commit.
#[derive(Debug, Clone)]
pub struct Change {
    /// What kind of record this is: decides whether it must reach the remote.
    pub kind: RecordKind,
    /// The first line of the commit message (`[skip ci]` is added).
    pub summary: String,
    /// `(path, bytes)`: paths are `/`-separated, relative to the branch root.
    pub files: Vec<(String, Vec<u8>)>,
    /// Paths to remove.
    pub removes: Vec<String>,
}

impl Change {
    pub fn new(kind: RecordKind, summary: impl Into<String>) -> Self {
        Change {
            kind,
            summary: summary.into(),
            files: Vec::new(),
            removes: Vec::new(),
        }
    }

    /// Adds a JSON file (pretty, with a final newline: a person reads these).
    pub fn json<T: serde::Serialize>(mut self, path: impl Into<String>, value: &T) -> Result<Self> {
        let mut bytes =
            serde_json::to_vec_pretty(value).map_err(|e| Error::Usage(e.to_string()))?;
        bytes.push(b'\n');
        self.files.push((path.into(), bytes));
        Ok(self)
    }
}

/// The remote the branch is shared through.
#[derive(Debug, Clone)]
struct Remote {
    name: String,
    /// Where the fetched tip is kept locally (`refs/relman-remotes/origin/relman/state`; a
    /// branch's is `refs/remotes/origin/<branch>`).
    tracking: String,
}

/// The forge the job runs in: decides the fix named when a push is refused and push options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    GitHub,
    GitLab,
    Other,
}

/// The state store of one repository.
pub struct StateStore {
    repo: gix::ThreadSafeRepository,
    /// Directory git commands run in.
    run_dir: PathBuf,
    /// Where the refs and their lock files are (a worktree's common directory).
    common_dir: PathBuf,
    /// Full name of the ref (`refs/relman/state`, or `refs/heads/<branch>`).
    refname: String,
    /// The name people use (`refs/relman/state`, or a branch's short name).
    branch: String,
    remote: Option<Remote>,
    durable: HashSet<RecordKind>,
    auth: Option<Auth>,
    host: Host,
    /// The tip this process last fetched or published (reads fetch once; a lost race fetches
    /// again). Kept in memory, not read back from the tracking ref, which another job in this
    /// clone — or a killed one's stale lock — may hold back.
    known: Mutex<Option<Option<ObjectId>>>,
    /// Whether the last push was refused because the server's ref lock file exists.
    remote_locked: std::sync::atomic::AtomicBool,
    /// The user's repository (where `git config --local` is read) when the store lives in
    /// its own repository ([`own_repo`]: always, with a remote).
    user_dir: Option<PathBuf>,
    /// The user's settings git needs to reach the remote, read on the first fetch or push.
    carried: std::sync::OnceLock<Vec<(String, String)>>,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("refname", &self.refname)
            .field("remote", &self.remote.as_ref().map(|r| &r.name))
            .finish_non_exhaustive()
    }
}

impl StateStore {
    /// The store of the repository containing `dir`, set up from `settings` and the CI
    /// environment (`env`: the token and server the push authenticates with).
    pub fn open(
        dir: &Path,
        settings: &StateSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let repo = gix::discover(dir).map_err(|e| {
            tracing::debug!("discover {}: {e}", dir.display());
            Error::NotARepository(dir.to_path_buf())
        })?;
        let git_dir = repo.git_dir().to_path_buf();
        let common_dir = repo.common_dir().to_path_buf();
        let run_dir = repo.workdir().unwrap_or(&git_dir).to_path_buf();
        let branch = settings.branch.trim().to_string();
        let refname = if branch.starts_with("refs/") {
            branch.clone()
        } else {
            format!("refs/heads/{branch}")
        };
        if gix::refs::FullName::try_from(refname.as_str()).is_err()
            || branch.is_empty()
            || refname.ends_with('/')
        {
            return Err(Error::Usage(format!(
                "state.branch: `{branch}` is not a valid branch or ref name"
            )));
        }
        let remote_url = |name: &str| {
            repo.config_snapshot()
                .string(format!("remote.{name}.url").as_str())
                .map(|u| u.to_string())
        };
        let remote_name = match settings.remote.as_deref().map(str::trim) {
            Some("") => None,
            Some(name) => {
                if remote_url(name).is_none() {
                    return Err(Error::Usage(format!(
                        "state.remote: the repository has no remote `{name}` (set `remote: \"\"` \
                         to keep the state in the local branch)"
                    )));
                }
                Some(name.to_string())
            }
            None => remote_url("origin").map(|_| "origin".to_string()),
        };
        let remote = remote_name.map(|name| {
            let tracking = match refname.strip_prefix("refs/heads/") {
                Some(short) => format!("refs/remotes/{name}/{short}"),
                None => format!(
                    "refs/relman-remotes/{name}/{}",
                    refname.trim_start_matches("refs/")
                ),
            };
            Remote { name, tracking }
        });
        let host = if env("GITHUB_ACTIONS").as_deref() == Some("true") {
            Host::GitHub
        } else if env("GITLAB_CI").as_deref() == Some("true") {
            Host::GitLab
        } else {
            Host::Other
        };
        let auth = match &remote {
            Some(r) => remote_url(&r.name).and_then(|url| Auth::from_env(host, &url, env)),
            None => None,
        };
        // With a remote, the records live in relman's own repository beside the user's
        // objects, never among them ([`own_repo`] says why).
        let (repo, run_dir, common_dir, user_dir) = match &remote {
            Some(_) => {
                let dir = own_repo::ensure(&common_dir, repo.object_hash())?;
                let own = gix::open(&dir)
                    .map_err(|e| Error::Git(format!("state: {}: {e}", dir.display())))?;
                (own, dir.clone(), dir, Some(run_dir))
            }
            None => (repo, run_dir, common_dir, None),
        };
        let repo = repo.into_sync();
        Ok(StateStore {
            repo,
            run_dir,
            common_dir,
            user_dir,
            carried: std::sync::OnceLock::new(),
            refname,
            branch: branch.trim_start_matches("refs/heads/").to_string(),
            remote,
            durable: settings.durable.iter().copied().collect(),
            auth,
            host,
            known: Mutex::new(None),
            remote_locked: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The name people read (`refs/relman/state`, or a branch's short name).
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The full ref name (`refs/relman/state`).
    pub fn refname(&self) -> &str {
        &self.refname
    }

    /// The remote the branch is shared through, if any.
    pub fn remote(&self) -> Option<&str> {
        self.remote.as_ref().map(|r| r.name.as_str())
    }

    /// Whether records of `kind` must reach the remote.
    pub fn is_durable(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Lock || self.durable.contains(&kind)
    }

    /// The records as of now: fetched first (once per process) when there is a remote.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let tip = self.sync(false)?;
        Snapshot::at(self.repo.to_thread_local(), tip)
    }

    /// The records as of now, fetched again even when this process fetched before: for a
    /// caller waiting on another job's record (a claim's binding), which a snapshot taken once
    /// per process would never show.
    pub fn refreshed(&self) -> Result<Snapshot> {
        let tip = self.sync(true)?;
        Snapshot::at(self.repo.to_thread_local(), tip)
    }

    /// The records at commit `tip` (for `audit verify`).
    pub fn snapshot_at(&self, tip: Option<ObjectId>) -> Result<Snapshot> {
        Snapshot::at(self.repo.to_thread_local(), tip)
    }

    /// The current tip (after fetching once), if the branch exists.
    pub fn tip(&self) -> Result<Option<ObjectId>> {
        self.sync(false)
    }

    /// Reads, decides, writes: `decide` sees the current records and returns what to write;
    /// when another writer moved the tip first, it runs again on the new tip.
    ///
    /// A change that cannot be pushed fails: with [`Error::State`] (exit 3, naming the
    /// permission to grant) when its kind must be durable, else with [`Error::NotRecorded`].
    pub fn transact<T>(&self, mut decide: impl FnMut(&Snapshot) -> Result<Step<T>>) -> Result<T> {
        let mut rng = Jitter::new();
        for attempt in 0..MAX_ATTEMPTS {
            // Every tip built on is whole: git moves the tracking ref only once the objects it
            // names are all here, and relman only to a commit it wrote. A missing object is a
            // damaged repository, not a race, so it fails the write ([`git::fetch`]).
            let tip = self.sync(attempt > 0)?;
            let snapshot = Snapshot::at(self.repo.to_thread_local(), tip)?;
            let (change, value) = match decide(&snapshot)? {
                Step::Done(value) => return Ok(value),
                Step::Write(change, value) => (change, value),
            };
            let commit = self.commit(&snapshot, &change)?;
            match self.publish(tip, commit, &change)? {
                Published::Yes => return Ok(value),
                Published::LostRace => {
                    tracing::debug!("state: lost a race on attempt {attempt}, re-applying");
                    // Jittered backoff: racers spread out instead of colliding again.
                    let ms = (5u64 << attempt.min(5)).min(120);
                    std::thread::sleep(Duration::from_millis(ms + rng.below(ms * 2)));
                }
            }
        }
        let why = if self
            .remote_locked
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            format!(
                "{} on {} stays locked (a `.lock` file left by an update that never finished \
                 on the server; whoever runs it must remove it)",
                self.branch,
                self.remote().unwrap_or("the remote")
            )
        } else {
            format!("other writers kept moving {}", self.branch)
        };
        Err(Error::State {
            kind: StateErrorKind::Contention,
            message: format!("gave up after {MAX_ATTEMPTS} attempts: {why}"),
        })
    }

    /// Fetches the branch (when there is a remote and it was not fetched yet, or `force`) and
    /// returns the tip to build on.
    fn sync(&self, force: bool) -> Result<Option<ObjectId>> {
        let Some(remote) = &self.remote else {
            return self.read_ref(&self.refname);
        };
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let (false, Some(tip)) = (force, *known) {
            return Ok(tip);
        }
        let tip = git::fetch(self, remote, git::History::Tip)?;
        *known = Some(tip);
        Ok(tip)
    }

    /// The tip with its whole history here (`audit verify` walks it): the store's own
    /// repository, shallow after its first fetch, is deepened first.
    fn sync_full(&self) -> Result<Option<ObjectId>> {
        let Some(remote) = &self.remote else {
            return self.read_ref(&self.refname);
        };
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let tip = git::fetch(self, remote, git::History::Full)?;
        *known = Some(tip);
        Ok(tip)
    }

    /// The user's settings git needs to reach the remote ([`own_repo::carried_config`]),
    /// read once.
    fn carried_config(&self) -> Result<&[(String, String)]> {
        let (Some(dir), Some(remote)) = (&self.user_dir, &self.remote) else {
            return Ok(&[]);
        };
        if let Some(carried) = self.carried.get() {
            return Ok(carried);
        }
        let carried = own_repo::carried_config(dir, &remote.name)?;
        Ok(self.carried.get_or_init(|| carried))
    }

    /// Whether the store's repository is shallow (`shallow` exists): read afresh, a fetch
    /// changes it.
    fn is_shallow(&self) -> bool {
        std::fs::symlink_metadata(self.common_dir.join("shallow")).is_ok_and(|m| m.len() > 0)
    }

    fn read_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        let repo = self.repo.to_thread_local();
        let reference = repo
            .try_find_reference(name)
            .map_err(|e| Error::Git(format!("{name}: {e}")))?;
        match reference {
            Some(mut r) => {
                let id = r
                    .peel_to_id()
                    .map_err(|e| Error::Git(format!("{name}: {e}")))?;
                Ok(Some(id.detach()))
            }
            None => Ok(None),
        }
    }

    /// Writes the change's blobs and trees and a commit on `snapshot`'s tip.
    fn commit(&self, snapshot: &Snapshot, change: &Change) -> Result<ObjectId> {
        let repo = snapshot.repo();
        let git = |e: &dyn std::fmt::Display| Error::Git(format!("state: {e}"));
        let base = snapshot
            .tree_id()
            .unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
        let mut editor = repo.edit_tree(base).map_err(|e| git(&e))?;
        for (path, bytes) in &change.files {
            check_path(path)?;
            let blob = repo.write_blob(bytes).map_err(|e| git(&e))?;
            editor
                .upsert(
                    path.as_str(),
                    gix::object::tree::EntryKind::Blob,
                    blob.detach(),
                )
                .map_err(|e| git(&e))?;
        }
        for path in &change.removes {
            check_path(path)?;
            editor.remove(path.as_str()).map_err(|e| git(&e))?;
        }
        let tree = editor.write().map_err(|e| git(&e))?.detach();
        let now = gix::date::Time::now_utc();
        let mut time = gix::date::parse::TimeBuf::default();
        let signature = relman_signature(now.to_str(&mut time));
        let message = format!("{} [skip ci]\n", one_line(&change.summary));
        let parents: Vec<ObjectId> = snapshot.tip().into_iter().collect();
        let commit = repo
            .new_commit_as(signature, signature, message, tree, parents)
            .map_err(|e| git(&e))?;
        Ok(commit.id)
    }

    fn publish(&self, old: Option<ObjectId>, new: ObjectId, change: &Change) -> Result<Published> {
        let Some(remote) = &self.remote else {
            // Only a live writer holds the advisory lock: waiting for it is a lost race, and
            // holding it makes a git lock left on the branch a dead writer's ([`reflock`]).
            let Some(_writer) = self.writer_lock(&self.refname)? else {
                return Ok(Published::LostRace);
            };
            self.clear_stale_lock(&self.refname);
            return self.update_ref(&self.refname, old, new);
        };
        match git::push(self, remote, new, change)? {
            Published::Yes => {
                // The tracking ref follows what the remote now holds; if a fetch moved it
                // meanwhile, that fetch knows better. It is a cache: skipped while another
                // relman fetch in this clone is at work (it is about to set it), its stale
                // lock removed.
                if let Some(_turn) = self.writer_lock("fetch")? {
                    self.clear_stale_lock(&remote.tracking);
                    let _ = self.update_ref(&remote.tracking, old, new);
                }
                *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some(Some(new));
                Ok(Published::Yes)
            }
            lost => Ok(lost),
        }
    }

    /// Compare-and-swap of a local ref: `new` only if it still points at `old`.
    fn update_ref(&self, name: &str, old: Option<ObjectId>, new: ObjectId) -> Result<Published> {
        use gix::refs::Target;
        use gix::refs::transaction::{Change as RefChange, LogChange, PreviousValue, RefEdit};
        let Some(old_id) = old else {
            // Creation: git's `update-ref <ref> <new> <zero>` refuses when the ref exists,
            // which is the check that matters when many first writers race.
            return git::create_ref(self, name, new);
        };
        let old = Some(old_id);
        let repo = self.repo.to_thread_local();
        let full: gix::refs::FullName = name
            .try_into()
            .map_err(|e| Error::Git(format!("{name}: {e}")))?;
        let edit = RefEdit {
            change: RefChange::Update {
                log: LogChange {
                    message: "relman: state".into(),
                    ..LogChange::default()
                },
                expected: match old {
                    Some(id) => PreviousValue::MustExistAndMatch(Target::Object(id)),
                    None => PreviousValue::MustNotExist,
                },
                new: Target::Object(new),
            },
            name: full,
            deref: false,
        };
        // The reflog names who moved the ref: the user's git identity when there is one, else
        // relman's own. A fresh runner has no identity configured, and a state write must not
        // depend on one (gix refuses to write a reflog entry without a committer).
        let now = gix::date::Time::now_utc();
        let mut time = gix::date::parse::TimeBuf::default();
        let committer = match repo.committer() {
            Some(Ok(who)) => who,
            _ => relman_signature(now.to_str(&mut time)),
        };
        match repo.edit_references_as(Some(edit), Some(committer)) {
            Ok(_) => Ok(Published::Yes),
            Err(e) => {
                // Moved by someone else, or locked by a writer at work (or a killed one,
                // whose lock is cleared once stale): either way, re-read and try again.
                let locked = std::fs::symlink_metadata(self.ref_lock_path(name)).is_ok();
                if self.read_ref(name)? != old || locked {
                    Ok(Published::LostRace)
                } else {
                    Err(Error::Git(format!("{name}: {e}")))
                }
            }
        }
    }

    /// The error for a change that could not be pushed, by its kind's durability.
    fn not_pushed(&self, change: &Change, reason: &str) -> Error {
        let remote = self.remote().unwrap_or("origin");
        if self.is_durable(change.kind) {
            Error::State {
                kind: StateErrorKind::NotPushed,
                message: format!(
                    "could not record `{}` on {} at {remote}: {reason}; {}",
                    one_line(&change.summary),
                    self.branch,
                    self.fix()
                ),
            }
        } else {
            // A fork's token cannot be granted anything, but a same-repository job that
            // lacks the permission can: say which one.
            Error::NotRecorded {
                what: one_line(&change.summary),
                why: format!(
                    "could not push {} to {remote}: {reason}; to record it, {}",
                    self.branch,
                    self.fix()
                ),
            }
        }
    }

    /// What to grant so that relman can push its branch.
    pub fn fix(&self) -> String {
        match self.host {
            Host::GitHub => "grant the job `permissions: contents: write` (the token pushes \
                             the state branch)"
                .into(),
            Host::GitLab => "give relman a token with `write_repository` (RELMAN_TOKEN or \
                             GITLAB_TOKEN), or allow CI_JOB_TOKEN to push to this project"
                .into(),
            Host::Other => format!(
                "make sure this clone can push {} to {}",
                self.branch,
                self.remote().unwrap_or("origin")
            ),
        }
    }
}

/// The author and committer of relman's commits (never the user's identity: a record says
/// who acted in its `actor`, and a runner may have no git identity at all).
fn relman_signature(time: &str) -> gix::actor::SignatureRef<'_> {
    gix::actor::SignatureRef {
        name: "relman".into(),
        email: "relman@localhost".into(),
        time,
    }
}

/// Whether a publish went through.
#[derive(Debug, PartialEq, Eq)]
enum Published {
    Yes,
    /// The tip moved under us: re-read and re-apply.
    LostRace,
}

/// A full commit id given by a person (`relman audit verify --since-tip`).
pub fn commit_id(text: &str) -> Result<ObjectId> {
    ObjectId::from_hex(text.trim().as_bytes())
        .map_err(|_| Error::Usage(format!("{text:?}: expected a full commit id")))
}

/// A record path: `/`-separated, no empty, `.` or `..` components, no NUL.
fn check_path(path: &str) -> Result<()> {
    let ok = !path.is_empty()
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("state: invalid record path `{path}`")))
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

/// A name or key as one path component: safe characters kept, any other byte `%XX`
/// (`review/x` → `review%2Fx`), never starting with `.`.
pub fn file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let keep =
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-') || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Randomness for jitter and record names, seeded by std's per-process random hasher keys.
#[derive(Debug)]
pub struct Jitter(u64);

impl Default for Jitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Jitter {
    pub fn new() -> Self {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.write_u32(std::process::id());
        Jitter(h.finish() | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}
