//! One newest-first walk that assigns every commit to a release.
//!
//! Seeds (the tip, or the lower end of a range) carry a label; every release tag's commit
//! carries its own (a larger label is a newer release). A commit's label is the smallest among
//! its children's and its own tag's: the oldest release that contains it among the tags the
//! walk reaches (tags in the seeds' history; a tag on another branch is never reached), which
//! is what `git log vPREV..vTHIS` shows. Tag labels are picked up when the walk reaches a tagged
//! commit, and the walk continues below it with the smaller label, so a branch merged after a
//! release but forked before it is still cut at the right place. Commits pop by committer time,
//! so (with sane clocks) a commit pops after all its children and its label is final.
//! The walk stops once no commit with a label `>= report_from` is left: notes for the last
//! ~200 commits cost ~200 commit reads on any size of history.

use std::collections::{BinaryHeap, HashMap};

use gix::ObjectId;
use gix::hashtable::{HashMap as OidMap, HashSet as OidSet};
use gix::objs::FindExt;

use crate::error::{Error, Result};

/// A starting point of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    pub commit: ObjectId,
    pub label: u32,
}

/// A commit read from the repository.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: ObjectId,
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    pub author_name: String,
    pub author_email: String,
    /// Author time, seconds since the epoch, and its UTC offset in seconds.
    pub author_time: i64,
    pub author_offset: i32,
    pub commit_time: i64,
    pub commit_offset: i32,
    /// Raw message bytes (git does not promise UTF-8).
    pub message: Vec<u8>,
    /// The first parent's tree, when the walk had it at hand (saves a read for path filters).
    pub first_parent_tree: Option<ObjectId>,
    /// Merges only (empty otherwise): each parent's release label when this commit was read.
    /// A label below the commit's puts that parent in an older release — what `git log A..B`
    /// calls an uninteresting parent, which path-limited history simplification ignores.
    pub parent_labels: Vec<u32>,
}

/// What the walk reports.
// Nearly every event is a commit: boxing it would add an allocation per commit on the
// walk's hot path to shrink the rare `Complete`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A commit and the label of the release it belongs to.
    Commit(CommitInfo, u32),
    /// No further commit will carry this label.
    Complete(u32),
}

struct Queued {
    label: u32,
    info: CommitInfo,
}

/// A walk in progress; call [`Walk::next_event`] until it returns `None`.
pub struct Walk<'r> {
    repo: &'r gix::Repository,
    shallow: Option<&'r [ObjectId]>,
    heap: BinaryHeap<(i64, u64, ObjectId)>,
    queued: OidMap<ObjectId, Queued>,
    done: OidSet,
    /// Queued commits per reported label; a label is complete when it drops to zero.
    pending: HashMap<u32, usize>,
    report_from: u32,
    /// Label of each release tag's commit.
    tags: &'r OidMap<ObjectId, u32>,
    seq: u64,
    buf: Vec<u8>,
    completed: Vec<u32>,
}

impl std::fmt::Debug for Walk<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walk")
            .field("queued", &self.queued.len())
            .finish()
    }
}

/// Runs a walk on a second thread and hands its events to `f` on this one, so reading and
/// inflating commits overlaps with whatever `f` does (parsing, rendering). Stops early when
/// `f` fails.
pub(super) fn run_threaded(
    repo: &gix::Repository,
    shallow: Option<&[ObjectId]>,
    seeds: &[Seed],
    tags: &OidMap<ObjectId, u32>,
    report_from: u32,
    f: &mut dyn FnMut(Event) -> Result<()>,
) -> Result<()> {
    const BATCH: usize = 256;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(16);
    let repo = repo.clone();
    let shallow: Option<Vec<ObjectId>> = shallow.map(<[ObjectId]>::to_vec);
    let seeds = seeds.to_vec();
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<()> {
            let mut walk = Walk::new(&repo, shallow.as_deref(), &seeds, tags, report_from)?;
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(e) = walk.next_event()? {
                batch.push(e);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        return Ok(()); // the consumer stopped; its error wins
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            Ok(())
        });
        let mut consumed: Result<()> = Ok(());
        for batch in rx.iter() {
            for e in batch {
                if let Err(err) = f(e) {
                    consumed = Err(err);
                    break;
                }
            }
            if consumed.is_err() {
                break;
            }
        }
        drop(rx);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(Error::Git("history walk thread panicked".into())));
        consumed.and(produced)
    })
}

impl<'r> Walk<'r> {
    pub(super) fn new(
        repo: &'r gix::Repository,
        shallow: Option<&'r [ObjectId]>,
        seeds: &[Seed],
        tags: &'r OidMap<ObjectId, u32>,
        report_from: u32,
    ) -> Result<Self> {
        let mut walk = Walk {
            repo,
            shallow,
            heap: BinaryHeap::new(),
            queued: OidMap::default(),
            done: OidSet::default(),
            pending: HashMap::new(),
            report_from,
            tags,
            seq: 0,
            buf: Vec::new(),
            completed: Vec::new(),
        };
        for s in seeds {
            walk.push(s.commit, s.label)?;
        }
        // A label whose every seed got a smaller label (a tag on the tip) is already complete.
        let mut labels: Vec<u32> = seeds.iter().map(|s| s.label).collect();
        labels.sort_unstable();
        labels.dedup();
        for l in labels {
            if l >= report_from && !walk.pending.contains_key(&l) {
                walk.completed.push(l);
            }
        }
        Ok(walk)
    }

    fn read(&mut self, id: ObjectId) -> Result<CommitInfo> {
        let c = match self.repo.objects.find_commit(&id, &mut self.buf) {
            Ok(c) => c,
            Err(e) => {
                if self.shallow.is_some() {
                    return Err(Error::Shallow(format!(
                        "commit {id} is missing: this is a shallow clone and the history \
                         relman needs goes past its boundary; fetch the full history \
                         (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0)"
                    )));
                }
                return Err(Error::Git(format!("reading commit {id}: {e}")));
            }
        };
        let author = c
            .author()
            .map_err(|e| Error::Git(format!("commit {id}: bad author: {e}")))?;
        let atime = author.time().unwrap_or_default();
        let ctime = c.time().unwrap_or_default();
        Ok(CommitInfo {
            id,
            tree: c.tree(),
            parents: c.parents().collect(),
            author_name: String::from_utf8_lossy(author.name.trim_ascii()).into_owned(),
            author_email: String::from_utf8_lossy(author.email.trim_ascii()).into_owned(),
            author_time: atime.seconds,
            author_offset: atime.offset,
            commit_time: ctime.seconds,
            commit_offset: ctime.offset,
            message: c.message.to_vec(),
            first_parent_tree: None,
            parent_labels: Vec::new(),
        })
    }

    fn push(&mut self, id: ObjectId, label: u32) -> Result<()> {
        let label = self.tags.get(&id).map_or(label, |&t| t.min(label));
        if self.done.contains(&id) {
            tracing::debug!(%id, label, "reached a commit already walked (clock skew?)");
            return Ok(());
        }
        if let Some(q) = self.queued.get_mut(&id) {
            if label < q.label {
                let old = q.label;
                q.label = label;
                self.dec(old);
                self.inc(label);
            }
            return Ok(());
        }
        let info = self.read(id)?;
        self.seq += 1;
        // Equal times (scripted commits, the same second) pop in the order they were pushed,
        // breadth-first: a merge's sides advance together, so a tag on the shorter side
        // relabels a shared fork point before it pops. Without generation numbers nothing
        // orders equal times exactly; a tag on the longer side can still lose the race.
        self.heap.push((info.commit_time, u64::MAX - self.seq, id));
        self.queued.insert(id, Queued { label, info });
        self.inc(label);
        Ok(())
    }

    fn inc(&mut self, label: u32) {
        if label >= self.report_from {
            *self.pending.entry(label).or_default() += 1;
        }
    }

    fn dec(&mut self, label: u32) {
        if label < self.report_from {
            return;
        }
        if let Some(n) = self.pending.get_mut(&label) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&label);
                self.completed.push(label);
            }
        }
    }

    fn is_shallow_boundary(&self, id: &ObjectId) -> bool {
        self.shallow.is_some_and(|s| s.contains(id))
    }

    /// The next event, or `None` when every reported label is complete.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(l) = self.completed.pop() {
                return Ok(Some(Event::Complete(l)));
            }
            if self.pending.is_empty() {
                return Ok(None);
            }
            let Some((_, _, id)) = self.heap.pop() else {
                return Ok(None);
            };
            let Some(Queued { label, mut info }) = self.queued.remove(&id) else {
                return Err(Error::Git(format!("walk lost commit {id}")));
            };
            self.done.insert(id);
            let reported = label >= self.report_from;
            if reported && self.is_shallow_boundary(&id) && !info.parents.is_empty() {
                return Err(Error::Shallow(format!(
                    "this is a shallow clone and its history ends at {id} before relman \
                     found the previous release tag; fetch the full history \
                     (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0)"
                )));
            }
            // Past a shallow boundary there is nothing to read (hidden side only: a reported
            // commit there was refused above).
            if !self.is_shallow_boundary(&id) {
                for p in &info.parents {
                    self.push(*p, label)?;
                }
            }
            // Decrement after pushing parents so the label cannot complete while its history
            // continues.
            self.dec(label);
            if reported {
                if info.parents.len() > 1 {
                    info.parent_labels = info
                        .parents
                        .iter()
                        .map(|p| self.queued.get(p).map_or(label, |q| q.label))
                        .collect();
                }
                info.first_parent_tree = info
                    .parents
                    .first()
                    .and_then(|p| self.queued.get(p))
                    .map(|q| q.info.tree);
                return Ok(Some(Event::Commit(info, label)));
            }
        }
    }
}
