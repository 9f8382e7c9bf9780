//! Walks the history for the requested scope and turns commits into releases.

use std::collections::HashMap;

use relman_core::config::Config;
use relman_core::conventional::{ParseOptions, parse_message};
use relman_core::git::{Event, ObjectId, PathFilter, Repo, Seed, Tag, TagLabels};
use relman_core::version::{self, Bump, Inputs, Policy};
use relman_core::{Error, Result};

use crate::classify::Classifier;
use crate::links::Remote;
use crate::release::{Builder, Meta, Release, ymd};

/// Which commits the notes are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Commits after the last release tag reachable from the tip.
    Unreleased,
    /// One existing release.
    Tag(String),
    /// Every release reachable from the tip, newest first, and the unreleased commits.
    All,
    /// `A..B`, like `git log A..B`.
    Range(String, String),
}

/// Options besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Revision the notes are for (default `HEAD`).
    pub tip: Option<String>,
    pub package: Option<String>,
    /// Pre-release identifier for the next version (`rc` → `1.3.0-rc.1`).
    pub pre: Option<String>,
    /// Title unreleased notes with the next version and a date.
    pub bump: bool,
}

/// The next version of unreleased notes and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NextVersion {
    pub version: Option<String>,
    pub previous: Option<String>,
    pub bump: Bump,
}

/// What a run found besides the releases it emitted.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The next version, when the scope includes unreleased commits.
    pub next: Option<NextVersion>,
    /// `--all`: release tags left out because the tip's history does not contain them
    /// (maintenance releases on other branches), oldest first.
    pub unreachable: Vec<String>,
}

/// Reads history and builds releases; see [`Collector::run`].
pub struct Collector<'a> {
    repo: &'a Repo,
    classifier: Classifier,
    titles: Vec<String>,
    policy: Policy,
    remote: Option<Remote>,
    parse: ParseOptions,
    tag_prefix: String,
    paths: Option<Vec<String>>,
    opts: Options,
}

impl std::fmt::Debug for Collector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("opts", &self.opts)
            .finish()
    }
}

impl<'a> Collector<'a> {
    pub fn new(
        repo: &'a Repo,
        config: &Config,
        remote: Option<Remote>,
        opts: Options,
    ) -> Result<Self> {
        let cl = &config.changelog;
        let (tag_prefix, paths) = match &opts.package {
            None => (cl.tag_prefix.clone(), None),
            Some(name) => {
                let Some(p) = config.packages.iter().find(|p| &p.name == name) else {
                    let known: Vec<&str> =
                        config.packages.iter().map(|p| p.name.as_str()).collect();
                    return Err(Error::Usage(format!(
                        "unknown package {name:?}: .relman.yml declares {}",
                        if known.is_empty() {
                            "no packages".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                };
                (p.tag_prefix.clone(), Some(p.paths.clone()))
            }
        };
        if let Some(pre) = &opts.pre {
            version::validate_pre(pre).map_err(Error::Usage)?;
        }
        let mut titles: Vec<String> = cl.groups.iter().map(|g| g.title.clone()).collect();
        titles.push(cl.other_title.clone());
        let policy = Policy::from_rules(&cl.version).map_err(Error::Usage)?;
        Ok(Collector {
            repo,
            classifier: Classifier::new(cl),
            titles,
            policy,
            remote,
            parse: ParseOptions {
                split_squash: cl.split_squash,
            },
            tag_prefix,
            paths,
            opts,
        })
    }

    /// Walks the history for `scope`, handing each finished release to `emit`, newest first.
    pub fn run(
        &self,
        scope: &Scope,
        emit: &mut dyn FnMut(Release) -> Result<()>,
    ) -> Result<Outcome> {
        let tags = self.repo.tags(&self.tag_prefix)?;
        let tip_rev = self.opts.tip.as_deref().unwrap_or("HEAD");
        let want_pre = self.opts.pre.is_some();
        // Pre-release tags are release boundaries only when a pre-release is being described;
        // a stable release's notes cover everything since the previous stable release.
        // `--range A..B`: A as the lowest boundary, and whether A is a release tag.
        let mut range_base: Option<(Tag, bool)> = None;
        let (boundaries, seeds, report_from, tip_label): (Vec<&Tag>, Vec<Seed>, u32, Option<u32>) =
            match scope {
                Scope::Unreleased | Scope::All => {
                    let b = tags.per_commit(|t| want_pre || t.version.pre.is_empty());
                    let n = b.len() as u32;
                    let tip = self.repo.resolve(tip_rev)?;
                    let from = if *scope == Scope::All { 0 } else { n };
                    (
                        b,
                        vec![Seed {
                            commit: tip,
                            label: n,
                        }],
                        from,
                        Some(n),
                    )
                }
                Scope::Tag(name) => {
                    let Some(target) = tags.by_name(name) else {
                        return Err(self.unknown_tag(name, &tags.list));
                    };
                    let pre = !target.version.pre.is_empty();
                    let b = tags.per_commit(|t| {
                        t.version <= target.version
                            && (pre || t.version.pre.is_empty() || t.commit == target.commit)
                    });
                    let rank = b
                        .iter()
                        .position(|t| t.commit == target.commit)
                        .unwrap_or(0) as u32;
                    (
                        b,
                        vec![Seed {
                            commit: target.commit,
                            label: rank,
                        }],
                        rank,
                        None,
                    )
                }
                Scope::Range(a_rev, b_rev) => {
                    // Like `--all` cut below at A: A's commit is boundary 0 (commits it
                    // contains are not reported), every release tag gets its own section,
                    // and what no release in the range contains is B's section.
                    let a = self.repo.resolve(a_rev)?;
                    let b_commit = self.repo.resolve(b_rev)?;
                    let mut b = tags
                        .per_commit(|t| (want_pre || t.version.pre.is_empty()) && t.commit != a);
                    range_base = Some(match tags.by_name(a_rev) {
                        Some(t) => (t.clone(), true),
                        None => (
                            Tag {
                                name: a_rev.clone(),
                                version: semver::Version::new(0, 0, 0),
                                commit: a,
                            },
                            false,
                        ),
                    });
                    b.insert(0, &range_base.as_ref().expect("just set").0);
                    let n = b.len() as u32;
                    (
                        b,
                        vec![
                            Seed {
                                commit: a,
                                label: 0,
                            },
                            Seed {
                                commit: b_commit,
                                label: n,
                            },
                        ],
                        1,
                        Some(n),
                    )
                }
            };
        let tag_label: TagLabels = boundaries
            .iter()
            .enumerate()
            .map(|(i, t)| (t.commit, i as u32))
            .collect();
        let tip = *seeds.last().expect("every scope has a tip seed");
        // A range starting at a revision that is not a release tag: nothing to name before it.
        let virtual_base = range_base.as_ref().is_some_and(|(_, is_tag)| !is_tag);
        let mut filter: Option<PathFilter<'_>> =
            self.paths.as_ref().map(|p| self.repo.path_filter(p));

        let mut open: HashMap<u32, Slot> = HashMap::new();
        let mut reached: Vec<bool> = vec![false; boundaries.len()];
        let mut next_version = None;
        let new_slot = |label: u32| {
            let mut slot = Slot {
                builder: Builder::new(&self.classifier),
                meta: self.meta_for(scope, label, &boundaries, &tags.list, tip_label),
                previous_rank: None,
            };
            // A tip that is itself a release: the unreleased notes start after it.
            if tip_label == Some(label) {
                slot.previous_rank = tag_label.get(&tip.commit).copied();
            }
            slot
        };

        self.repo
            .walk_with(&seeds, &tag_label, report_from, &mut |event| {
                match event {
                    Event::Commit(info, label) => {
                        if let Some(&l) = tag_label.get(&info.id) {
                            reached[l as usize] = true;
                        }
                        let slot = open.entry(label).or_insert_with(|| new_slot(label));
                        if tag_label.get(&info.id) == Some(&label)
                            || (info.id == tip.commit && slot.meta.tag.is_some())
                        {
                            // The release's own commit dates it (`--range vA..vB` included).
                            slot.meta.date = Some(ymd(info.commit_time, info.commit_offset));
                        }
                        // The newest older release directly below this one is its predecessor.
                        for p in &info.parents {
                            if let Some(&pl) = tag_label.get(p)
                                && pl < label
                                && slot.previous_rank.is_none_or(|r| r < pl)
                            {
                                slot.previous_rank = Some(pl);
                            }
                        }
                        if let Some(f) = filter.as_mut()
                            && !f.shows(
                                info.tree,
                                &info.parents,
                                info.first_parent_tree,
                                // git's relevant parents: not in an older release, or a
                                // release's own commit (the `A` of `git log A..B`, which git
                                // marks BOTTOM and still compares with).
                                |i| {
                                    info.parent_labels.get(i).is_none_or(|&pl| pl >= label)
                                        || tag_label.contains_key(&info.parents[i])
                                },
                            )?
                        {
                            return Ok(());
                        }
                        let entries = parse_message(&info.message, &self.parse);
                        slot.builder
                            .add(&info, entries, &self.classifier, self.remote.as_ref());
                    }
                    // Releases are emitted as they complete: newest first along the history.
                    Event::Complete(label) => {
                        let mut slot = open.remove(&label).unwrap_or_else(|| new_slot(label));
                        if let Some(r) = slot.previous_rank
                            && !(r == 0 && virtual_base)
                        {
                            slot.meta.previous_tag = Some(boundaries[r as usize].name.clone());
                        }
                        // A commit and its revert in the same release cancel out before
                        // they count for the version.
                        slot.builder.fold_reverts();
                        if tip_label == Some(label) {
                            if virtual_base && slot.previous_rank == Some(0) {
                                slot.previous_rank = None;
                            }
                            let nv =
                                self.next_version(&slot, &boundaries, &tags.list, tip.commit)?;
                            if self.opts.bump
                                && slot.meta.unreleased
                                && let Some(v) = &nv.version
                            {
                                slot.meta.version = Some(v.clone());
                                slot.meta.next_tag = Some(format!("{}{v}", self.tag_prefix));
                                slot.meta.prerelease = v.contains('-');
                                slot.meta.date = slot.builder.newest_date().map(str::to_owned);
                            }
                            next_version = Some(nv);
                            if slot.builder.is_empty() && *scope != Scope::Unreleased {
                                return Ok(());
                            }
                        }
                        emit(
                            slot.builder
                                .finish(&self.titles, slot.meta, self.remote.as_ref()),
                        )?;
                    }
                }
                Ok(())
            })?;
        let unreachable = match scope {
            Scope::All => boundaries
                .iter()
                .zip(&reached)
                .filter(|(_, r)| !**r)
                .map(|(t, _)| t.name.clone())
                .collect(),
            _ => Vec::new(),
        };
        Ok(Outcome {
            next: next_version,
            unreachable,
        })
    }

    fn meta_for(
        &self,
        scope: &Scope,
        label: u32,
        boundaries: &[&Tag],
        all: &[Tag],
        tip_label: Option<u32>,
    ) -> Meta {
        let mut meta = Meta {
            package: self.opts.package.clone(),
            ..Meta::default()
        };
        let tag = match scope {
            // `--range A..v1.2.0` where v1.2.0 is not a boundary (a pre-release without --pre).
            Scope::Range(_, b) if tip_label == Some(label) && all.iter().any(|t| &t.name == b) => {
                Some(b.clone())
            }
            _ if tip_label == Some(label) => {
                meta.unreleased = true;
                None
            }
            // --tag names one of several tags on a commit: describe it under the name asked for.
            Scope::Tag(n) => Some(n.clone()),
            _ => boundaries.get(label as usize).map(|t| t.name.clone()),
        };
        if let Some(name) = tag {
            let v = name
                .strip_prefix(&self.tag_prefix)
                .unwrap_or(&name)
                .to_string();
            meta.prerelease = v.contains('-');
            meta.version = Some(v);
            meta.tag = Some(name);
        }
        meta
    }

    /// The next version of the unreleased commits in `slot`, whose newest commit is `tip`.
    fn next_version(
        &self,
        slot: &Slot,
        boundaries: &[&Tag],
        all: &[Tag],
        tip: ObjectId,
    ) -> Result<NextVersion> {
        let builder = &slot.builder;
        let latest = slot.previous_rank.map(|r| &boundaries[r as usize].version);
        let existing: Vec<semver::Version> = all.iter().map(|t| t.version.clone()).collect();
        let bump = version::bump_for(builder.counted(), &self.policy);
        let release_as = builder
            .counted()
            .filter_map(|e| e.release_as.as_deref())
            .filter_map(
                |v| match semver::Version::parse(v.trim_start_matches('v')) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!("ignoring Release-As: {v:?}: {e}");
                        None
                    }
                },
            )
            .max();
        // A tip that is itself a release: nothing unreleased, whatever the bump says.
        let mut v = if builder.is_empty() {
            None
        } else {
            version::next_version(
                &Inputs {
                    latest,
                    existing: &existing,
                    bump,
                    release_as: release_as.as_ref(),
                    pre: self.opts.pre.as_deref(),
                },
                &self.policy,
            )
        };
        // The bump starts from the previous release of these commits, so on a maintenance
        // branch or beside a release branch that was never merged back, the version may be
        // tagged already on another line. A tag that contains the tip is these commits'
        // own release (asking at `v1.2.3^`): that is the answer, not a clash.
        for _ in 0..1000 {
            let Some(found) = v.as_ref() else { break };
            let Some(clash) = all.iter().find(|t| &t.version == found) else {
                break;
            };
            if self.repo.is_ancestor(tip, clash.commit)? {
                break;
            }
            if release_as.is_some() {
                tracing::warn!(
                    "Release-As {found} is already tagged ({}) on a history that does not \
                     contain these commits",
                    clash.name
                );
                break;
            }
            let taken = found.clone();
            v = version::next_version(
                &Inputs {
                    latest: Some(&taken),
                    existing: &existing,
                    bump,
                    release_as: None,
                    pre: self.opts.pre.as_deref(),
                },
                &self.policy,
            );
            tracing::warn!(
                "{taken} is already tagged ({}) on another line of history; next free version: {}",
                clash.name,
                v.as_ref().map(ToString::to_string).unwrap_or_default()
            );
        }
        Ok(NextVersion {
            version: v.map(|v| v.to_string()),
            previous: slot
                .previous_rank
                .map(|r| boundaries[r as usize].name.clone()),
            bump,
        })
    }
}

/// A release being collected.
struct Slot {
    builder: Builder,
    meta: Meta,
    /// Rank of the newest older release found right below this one's commits.
    previous_rank: Option<u32>,
}

impl Collector<'_> {
    /// Why `--tag NAME` names no release: no such tag, or a tag that is not `<prefix><semver>`.
    fn unknown_tag(&self, name: &str, tags: &[Tag]) -> Error {
        let recent: Vec<&str> = tags.iter().rev().take(5).map(|t| t.name.as_str()).collect();
        let latest = if recent.is_empty() {
            "the repository has no release tags".to_string()
        } else {
            format!("the latest release tags are {}", recent.join(", "))
        };
        let prefix = &self.tag_prefix;
        if self.repo.resolve(&format!("refs/tags/{name}")).is_ok() {
            let why = match name.strip_prefix(prefix.as_str()) {
                None => format!("it does not start with the tag prefix {prefix:?}"),
                Some(v) => match semver::Version::parse(v) {
                    Err(e) => format!("{v:?} is not a semver version ({e})"),
                    Ok(_) => "it does not point at a commit".to_string(),
                },
            };
            return Error::Revision(format!(
                "{name:?} is a tag but not a release tag: release tags are named \
                 {prefix}<major.minor.patch> (changelog.tag_prefix, or the package's \
                 tag_prefix) and {why}; {latest}"
            ));
        }
        Error::Revision(format!("unknown tag {name:?}: {latest}"))
    }
}
