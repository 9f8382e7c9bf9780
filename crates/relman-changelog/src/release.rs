//! A release being assembled, and the template context it becomes.
//!
//! The serialized form of [`Release`] is the documented template context (see
//! `docs/template-context.md`) and the `--format json` output.

use relman_core::conventional::{Entry, Person, RefKind};
use relman_core::git::CommitInfo;
use serde::Serialize;

use crate::classify::{Classifier, Placement};
use crate::links::Remote;

/// One release: a tag's commits, or the unreleased ones.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// Version, tag, dates: what is known besides the commits.
    #[serde(flatten)]
    pub meta: Meta,
    /// Groups in configured order, empty ones left out.
    pub groups: Vec<Group>,
    /// Every breaking entry, whatever its group.
    pub breaking: Vec<Item>,
    /// Authors and co-authors, in order of first appearance.
    pub contributors: Vec<Person>,
    /// Forge logins of authors whose first contribution is in this release, unique, in the
    /// order of the notes; empty without enrichment (see [`crate::enrich`]).
    pub first_time_contributors: Vec<String>,
    /// Commits read for this release, including hidden ones.
    pub commit_count: usize,
    pub repository_url: Option<String>,
    /// Link comparing the previous release with this one.
    pub compare_url: Option<String>,
    /// Link to this release's tag (none for unreleased notes).
    pub tag_url: Option<String>,
}

/// A titled list of entries.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub title: String,
    pub entries: Vec<Item>,
}

/// One entry as the template sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub short_id: String,
    /// The commit's first line, as written.
    pub header: String,
    #[serde(flatten)]
    pub entry: Entry,
    pub author: Person,
    /// Author date `YYYY-MM-DD` in the author's offset.
    pub date: String,
    pub url: Option<String>,
    /// References with links (when the repository URL is known).
    pub links: Vec<Link>,
    /// The pull/merge request the commit came from, when a forge told us (enrichment).
    pub pull_request: Option<relman_forge::PullRequestRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// `#12` or `!34`, as GitHub/GitLab write them.
    pub text: String,
    pub url: Option<String>,
}

/// Collects one release's commits; [`Builder::finish`] makes the [`Release`].
#[derive(Debug)]
pub struct Builder {
    groups: Vec<Vec<Item>>,
    /// Entries that count for the version but are not listed.
    hidden: Vec<Hidden>,
    contributors: Vec<Person>,
    commit_count: usize,
    newest_date: Option<String>,
}

/// An entry that is not listed: kept with its commit so a revert in the same release can
/// cancel it (a reverted `chore` must not leave a dangling "Reverts" entry).
#[derive(Debug)]
struct Hidden {
    id: String,
    header: String,
    entry: Entry,
}

pub fn ymd(seconds: i64, offset: i32) -> String {
    let tz = jiff::tz::Offset::from_seconds(offset)
        .unwrap_or(jiff::tz::Offset::UTC)
        .to_time_zone();
    match jiff::Timestamp::from_second(seconds) {
        Ok(ts) => ts.to_zoned(tz).date().to_string(),
        Err(_) => "1970-01-01".into(),
    }
}

impl Builder {
    pub fn new(classifier: &Classifier) -> Self {
        Builder {
            groups: vec![Vec::new(); classifier.other() + 1],
            hidden: Vec::new(),
            contributors: Vec::new(),
            commit_count: 0,
            newest_date: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.commit_count == 0
    }

    /// Adds a commit (already parsed into entries).
    pub fn add(
        &mut self,
        commit: &CommitInfo,
        entries: Vec<Entry>,
        classifier: &Classifier,
        remote: Option<&Remote>,
    ) {
        self.commit_count += 1;
        if self.newest_date.is_none() {
            self.newest_date = Some(ymd(commit.commit_time, commit.commit_offset));
        }
        let header = first_line(&commit.message);
        let author = Person {
            name: commit.author_name.clone(),
            email: commit.author_email.clone(),
        };
        let id = commit.id.to_string();
        let merge = commit.parents.len() > 1;
        for mut entry in entries {
            // Whatever its header says, a commit with two parents is a merge.
            entry.merge |= merge;
            // An empty message has nothing to say in the notes (it still counts as a commit).
            if entry.description.is_empty() && entry.kind.is_none() {
                continue;
            }
            let placement = classifier.place(&entry, &header);
            if placement == Placement::Skipped {
                continue;
            }
            self.note_contributor(&author);
            for co in &entry.co_authors {
                self.note_contributor(co);
            }
            let Placement::Group(g) = placement else {
                self.hidden.push(Hidden {
                    id: id.clone(),
                    header: header.clone(),
                    entry,
                });
                continue;
            };
            let links = entry
                .references
                .iter()
                .filter(|r| r.source != "body" && !shown_in(&entry.description, r.kind, r.number))
                .map(|r| match r.kind {
                    RefKind::Issue => Link {
                        text: format!("#{}", r.number),
                        url: remote.map(|rm| rm.issue(r.number)),
                    },
                    RefKind::MergeRequest => Link {
                        text: format!("!{}", r.number),
                        url: remote.map(|rm| rm.merge_request(r.number)),
                    },
                })
                .collect();
            self.groups[g].push(Item {
                short_id: id[..7.min(id.len())].to_string(),
                id: id.clone(),
                header: header.clone(),
                entry,
                author: author.clone(),
                date: ymd(commit.author_time, commit.author_offset),
                url: remote.map(|r| r.commit(&id)),
                links,
                pull_request: None,
            });
        }
    }

    /// Adds a person once. Without a forge, people are only names and e-mails: the same
    /// e-mail, or the same name under another e-mail (work and personal address), is one
    /// contributor — templates show names, so two equal names could not be told apart anyway.
    fn note_contributor(&mut self, p: &Person) {
        let same = |c: &Person| {
            (!p.email.is_empty() && c.email.eq_ignore_ascii_case(&p.email))
                || (!p.name.is_empty() && c.name.to_lowercase() == p.name.to_lowercase())
        };
        if !self.contributors.iter().any(same) {
            self.contributors.push(p.clone());
        }
    }

    /// Every entry that counts for the next version (listed or hidden).
    pub fn counted(&self) -> impl Iterator<Item = &Entry> {
        self.groups
            .iter()
            .flatten()
            .map(|i| &i.entry)
            .chain(self.hidden.iter().map(|h| &h.entry))
    }

    pub fn newest_date(&self) -> Option<&str> {
        self.newest_date.as_deref()
    }

    /// Drops reverts whose reverted commit is in the same release, together with that commit:
    /// the pair cancels out, whether either is listed or hidden. Call before [`Self::counted`]
    /// decides the version (a reverted `feat` releases nothing); idempotent.
    pub fn fold_reverts(&mut self) {
        let all = || {
            self.groups
                .iter()
                .flatten()
                .map(|i| (&i.id, &i.header, &i.entry))
                .chain(self.hidden.iter().map(|h| (&h.id, &h.header, &h.entry)))
        };
        let mut cancelled: Vec<String> = Vec::new();
        for (rid, _, r) in all() {
            let Some(rev) = &r.revert else { continue };
            let target = all().find(|(id, header, e)| {
                e.revert.is_none()
                    && !cancelled.contains(id)
                    && match rev.commit.as_deref() {
                        Some(c) => c.len() >= 7 && id.starts_with(c),
                        None => rev.header.as_deref() == Some(header.as_str()),
                    }
            });
            if let Some((tid, _, _)) = target {
                cancelled.push(tid.clone());
                cancelled.push(rid.clone());
            }
        }
        if cancelled.is_empty() {
            return;
        }
        let gone = |id: &String| cancelled.contains(id);
        for g in &mut self.groups {
            g.retain(|i| !gone(&i.id));
        }
        self.hidden.retain(|h| !gone(&h.id));
    }

    /// Finishes the release; `meta` carries what the walk learnt (tag, previous tag, dates).
    pub fn finish(mut self, titles: &[String], meta: Meta, remote: Option<&Remote>) -> Release {
        self.fold_reverts();
        let breaking = self
            .groups
            .iter()
            .flatten()
            .filter(|i| i.entry.breaking)
            .cloned()
            .collect();
        let groups = self
            .groups
            .into_iter()
            .zip(titles)
            .filter(|(entries, _)| !entries.is_empty())
            .map(|(entries, title)| Group {
                title: title.clone(),
                entries,
            })
            .collect();
        let compare_url = match (remote, &meta.previous_tag) {
            (Some(r), Some(prev)) => Some(
                r.compare(
                    prev,
                    meta.tag
                        .as_deref()
                        .or(meta.next_tag.as_deref())
                        .unwrap_or("HEAD"),
                ),
            ),
            _ => None,
        };
        let tag_url = match (remote, &meta.tag) {
            (Some(r), Some(t)) => Some(r.tag(t)),
            _ => None,
        };
        Release {
            meta,
            groups,
            breaking,
            contributors: self.contributors,
            first_time_contributors: Vec::new(),
            commit_count: self.commit_count,
            repository_url: remote.map(|r| r.url.clone()),
            compare_url,
            tag_url,
        }
    }
}

/// What is known about a release besides its commits.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    /// Version without prefix (`1.2.0`); for unreleased notes the next version with `--bump`.
    pub version: Option<String>,
    /// The tag (`v1.2.0`); `None` for unreleased notes.
    pub tag: Option<String>,
    /// The previous release's tag, when known.
    pub previous_tag: Option<String>,
    /// Release date `YYYY-MM-DD` (the tag commit's date; for unreleased notes the newest
    /// commit's date when `--bump` is given).
    pub date: Option<String>,
    /// Whether these are notes for commits not yet tagged.
    pub unreleased: bool,
    pub prerelease: bool,
    /// Package name for `--package`.
    pub package: Option<String>,
    /// Unreleased notes titled with the next version (`--bump`): the tag about to be made,
    /// which compare links point at (a CHANGELOG.md written before tagging stays right).
    #[serde(skip)]
    pub next_tag: Option<String>,
}

/// Whether a reference is already visible in the description (`crash on #12`): linking it
/// again after the text would repeat it. PR suffixes and footers (`Closes #12`) are not visible.
fn shown_in(description: &str, kind: RefKind, number: u64) -> bool {
    let forms: &[String] = &match kind {
        RefKind::Issue => [format!("#{number}"), format!("GH-{number}")],
        RefKind::MergeRequest => [format!("!{number}"), String::new()],
    };
    forms.iter().filter(|f| !f.is_empty()).any(|f| {
        description.match_indices(f.as_str()).any(|(i, m)| {
            let next = description[i + m.len()..].chars().next();
            !next.is_some_and(|c| c.is_ascii_digit())
        })
    })
}

fn first_line(message: &[u8]) -> String {
    let end = message
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(message.len());
    String::from_utf8_lossy(&message[..end])
        .trim_end_matches('\r')
        .trim()
        .to_string()
}
