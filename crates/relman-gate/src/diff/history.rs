//! Commits between the base and the head, and the base itself when it is the last release.

use relman_core::Error;
use relman_core::conventional::{ParseOptions, parse_message};
use relman_core::git::{CommitInfo, Event, ObjectId, Repo, Seed, TagLabels};

/// Commits in `base..head` and the breaking changes among them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Commits {
    pub commits: usize,
    pub breaking: usize,
}

impl Commits {
    fn add(&mut self, info: &CommitInfo, opts: &ParseOptions) {
        self.commits += 1;
        self.breaking += parse_message(&info.message, opts)
            .iter()
            .filter(|e| e.breaking)
            .count();
    }
}

/// The base found for a release and the commits since it.
#[derive(Debug)]
pub(super) struct SinceRelease {
    pub tag: Option<String>,
    pub commit: Option<ObjectId>,
    pub commits: Commits,
}

/// Commits reachable from `head` and not from `base`, like `git log base..head`.
pub(super) fn range(
    repo: &Repo,
    base: ObjectId,
    head: ObjectId,
    opts: &ParseOptions,
) -> Result<Commits, Error> {
    let seeds = [
        Seed {
            commit: base,
            label: 0,
        },
        Seed {
            commit: head,
            label: 1,
        },
    ];
    let mut out = Commits::default();
    let none = TagLabels::default();
    let mut walk = repo.walk(&seeds, &none, 1)?;
    while let Some(event) = walk.next_event()? {
        if let Event::Commit(info, _) = event {
            out.add(&info, opts);
        }
    }
    Ok(out)
}

/// The newest stable release tag at the edge of the commits no release contains, and those
/// commits. Pre-releases are not bases: the risk of shipping `1.3.0` is everything since
/// `1.2.0`, however many release candidates came between. A tag on `head` is not a base either
/// (re-running the gate on a tagged commit compares with the release before it).
pub(super) fn since_release(
    repo: &Repo,
    head: ObjectId,
    prefix: &str,
    opts: &ParseOptions,
) -> Result<SinceRelease, Error> {
    let tags = repo.tags(prefix)?;
    let releases = tags.per_commit(|t| t.version.pre.is_empty() && t.commit != head);
    let unreleased = releases.len() as u32;
    let labels: TagLabels = releases
        .iter()
        .enumerate()
        .map(|(i, t)| (t.commit, i as u32))
        .collect();
    let mut commits = Commits::default();
    // Release commits found as parents of unreleased ones: the edge of the change.
    let mut edge: Vec<u32> = Vec::new();
    let seeds = [Seed {
        commit: head,
        label: unreleased,
    }];
    let mut walk = repo.walk(&seeds, &labels, unreleased)?;
    while let Some(event) = walk.next_event()? {
        if let Event::Commit(info, _) = event {
            edge.extend(info.parents.iter().filter_map(|p| labels.get(p).copied()));
            commits.add(&info, opts);
        }
    }
    edge.sort_unstable();
    edge.dedup();
    let Some(&newest) = edge.last() else {
        return Ok(SinceRelease {
            tag: None,
            commit: None,
            commits,
        });
    };
    let Some(tag) = releases.get(newest as usize) else {
        return Err(Error::Git(format!("release label {newest} has no tag")));
    };
    // With one release at the edge, the walk's commits are exactly `tag..head`; with several
    // (a hotfix branch merged after a newer release) `tag..head` also holds the hotfix's
    // commits, which the tree diff from `tag` includes too, so count them the same way.
    if edge.len() > 1 {
        commits = range(repo, tag.commit, head, opts)?;
    }
    Ok(SinceRelease {
        tag: Some(tag.name.clone()),
        commit: Some(tag.commit),
        commits,
    })
}
