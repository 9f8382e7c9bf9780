//! Release tags: `<prefix><semver>`, peeled to commits.

use gix::ObjectId;

use crate::error::{Error, Result};

/// A release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Full tag name, `v1.2.3`.
    pub name: String,
    pub version: semver::Version,
    /// The commit the tag points at (annotated tags are peeled).
    pub commit: ObjectId,
}

/// The release tags of one prefix, sorted by version (oldest first).
#[derive(Debug, Clone, Default)]
pub struct Tags {
    pub list: Vec<Tag>,
}

impl Tags {
    /// Finds a tag by name.
    pub fn by_name(&self, name: &str) -> Option<&Tag> {
        self.list.iter().find(|t| t.name == name)
    }

    /// Tags passing `keep`, deduplicated per commit: when several tags name one commit
    /// (`v1.2.0` and `v1.2.0-rc.3`), the highest version stands for it.
    pub fn per_commit(&self, keep: impl Fn(&Tag) -> bool) -> Vec<&Tag> {
        let mut best: gix::hashtable::HashMap<ObjectId, &Tag> = Default::default();
        for t in self.list.iter().filter(|t| keep(t)) {
            let e = best.entry(t.commit).or_insert(t);
            if t.version > e.version {
                *e = t;
            }
        }
        let mut out: Vec<&Tag> = best.into_values().collect();
        out.sort_by(|a, b| a.version.cmp(&b.version));
        out
    }
}

pub(super) fn read(repo: &gix::Repository, prefix: &str) -> Result<Tags> {
    let err = |e: gix::Error| Error::Git(format!("reading tags: {e}"));
    let platform = repo.references().map_err(err)?;
    let mut list = Vec::new();
    for r in platform.tags().map_err(err)? {
        let r = r.map_err(err)?;
        let name = r.name().shorten().to_string();
        let Some(v) = name.strip_prefix(prefix) else {
            continue;
        };
        let Ok(version) = semver::Version::parse(v) else {
            continue;
        };
        // Peeled without inflating anything when possible: packed-refs usually carries the
        // peeled id, and a lightweight tag's object header says "commit". Reading thousands of
        // tag targets would dominate a short walk. A tag on a tree or blob is never reached by
        // the walk, so it simply labels nothing.
        let gix::refs::Target::Object(target) = r.inner.target else {
            continue;
        };
        let commit = match r.inner.peeled {
            Some(p) => p,
            None => match peel(repo, target) {
                Some(id) => id,
                None => {
                    tracing::debug!(tag = %name, "ignored: cannot peel");
                    continue;
                }
            },
        };
        list.push(Tag {
            name,
            version,
            commit,
        });
    }
    list.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.name.cmp(&b.name)));
    Ok(Tags { list })
}

/// Follows tag objects to what they point at, reading only object headers for non-tags.
fn peel(repo: &gix::Repository, mut id: ObjectId) -> Option<ObjectId> {
    // Tags of tags are legal; a bound keeps a corrupt cycle from looping.
    for _ in 0..16 {
        let header = repo.find_header(id).ok()?;
        if header.kind() != gix::objs::Kind::Tag {
            return Some(id);
        }
        let tag = repo.find_object(id).ok()?.try_into_tag().ok()?;
        id = tag.target_id().ok()?.detach();
    }
    None
}
