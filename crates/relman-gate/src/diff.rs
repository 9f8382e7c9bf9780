//! The change since the base: files, lines and commits from `base` to `head`, in-process.
//!
//! The base defaults to the newest release tag at the edge of the unreleased commits (what
//! `relman changelog` calls unreleased), found by the same bounded walk, so the cost follows the
//! size of the change, not of the history. Trees are compared entry by entry (equal subtree ids
//! are skipped whole), and only changed blobs are read and diffed, one at a time.

#[cfg(test)]
pub(crate) mod fixture;
mod history;
mod lines;
mod renames;
#[cfg(test)]
mod tests;

use std::path::Path;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::tree::recorder::Change as Rec;
use relman_core::Error;
use relman_core::conventional::ParseOptions;
use relman_core::git::Repo;

use crate::{Change, ChangedFile};

/// The change from `base` (default: the last release tag `<tag_prefix><semver>` reachable from
/// `head`, other than one on `head` itself; none: the whole history) to `head`, commit
/// messages read as the changelog reads them by default (squash bodies not split).
pub fn change(
    root: &Path,
    base: Option<&str>,
    head: &str,
    tag_prefix: &str,
) -> Result<Change, Error> {
    let split_squash = relman_core::config::Changelog::default().split_squash;
    change_with(root, base, head, tag_prefix, ParseOptions { split_squash })
}

/// [`change`] with the changelog's message options: risk counts the breaking changes the
/// changelog would (`changelog.split_squash`), so a work-in-progress `feat!` line inside a
/// squash body does not raise the risk of a release whose notes do not list it.
pub fn change_with(
    root: &Path,
    base: Option<&str>,
    head: &str,
    tag_prefix: &str,
    parse: ParseOptions,
) -> Result<Change, Error> {
    let core = Repo::discover(root)?;
    let head_id = core.resolve(head)?;
    let (base_name, base_id, commits) = match base {
        Some(rev) => {
            let id = core.resolve(rev)?;
            (
                Some(rev.to_string()),
                Some(id),
                history::range(&core, id, head_id, &parse)?,
            )
        }
        None => {
            let found = history::since_release(&core, head_id, tag_prefix, &parse)?;
            (found.tag, found.commit, found.commits)
        }
    };
    let repo = gix::discover(root).map_err(|e| Error::Git(format!("opening repository: {e}")))?;
    let files = files(&repo, base_id, head_id)?;
    Ok(Change {
        base: base_name,
        base_sha: base_id.map(|id| id.to_string()),
        head: head.to_string(),
        head_sha: head_id.to_string(),
        files,
        commits: commits.commits,
        breaking: commits.breaking,
    })
}

fn git(context: impl std::fmt::Display) -> impl FnOnce(String) -> Error {
    move |e| Error::Git(format!("{context}: {e}"))
}

fn tree_of(repo: &gix::Repository, commit: ObjectId) -> Result<ObjectId, Error> {
    let c = repo
        .find_commit(commit)
        .map_err(|e| git(format!("reading commit {commit}"))(e.to_string()))?;
    c.tree_id()
        .map(|id| id.detach())
        .map_err(|e| git(format!("commit {commit}"))(e.to_string()))
}

/// Changed files from `base`'s tree (empty for a first release) to `head`'s, sorted by path.
fn files(
    repo: &gix::Repository,
    base: Option<ObjectId>,
    head: ObjectId,
) -> Result<Vec<ChangedFile>, Error> {
    let new_tree = tree_of(repo, head)?;
    let old_tree = base.map(|b| tree_of(repo, b)).transpose()?;
    let records = tree_changes(repo, old_tree, new_tree)?;

    let mut out = Vec::new();
    let mut added = Vec::new();
    let mut deleted = Vec::new();
    let differ = lines::Differ::new(repo);
    for r in records {
        match r {
            Rec::Modification {
                previous_entry_mode,
                previous_oid,
                entry_mode,
                oid,
                path,
            } => {
                if entry_mode.is_tree() || previous_entry_mode.is_tree() {
                    continue;
                }
                let path = path.to_str_lossy().into_owned();
                out.push(differ.file(
                    path,
                    content(previous_entry_mode, previous_oid),
                    content(entry_mode, oid),
                )?);
            }
            Rec::Addition {
                entry_mode,
                oid,
                path,
                ..
            } if !entry_mode.is_tree() => {
                added.push(renames::Side {
                    path: path.to_str_lossy().into_owned(),
                    blob: content(entry_mode, oid),
                });
            }
            Rec::Deletion {
                entry_mode,
                oid,
                path,
                ..
            } if !entry_mode.is_tree() => {
                deleted.push(renames::Side {
                    path: path.to_str_lossy().into_owned(),
                    blob: content(entry_mode, oid),
                });
            }
            _ => {}
        }
    }
    let paired = renames::pair(&differ, &deleted, &added)?;
    for (i, side) in added.into_iter().enumerate() {
        let old = paired.source_of(i).and_then(|d| deleted[d].blob);
        out.push(differ.file(side.path, old, side.blob)?);
    }
    for (i, side) in deleted.into_iter().enumerate() {
        if !paired.is_source(i) {
            out.push(differ.removed(side.path, side.blob)?);
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// The blob to diff for a tree entry: submodules (commits) have no content here.
fn content(mode: gix::objs::tree::EntryMode, oid: ObjectId) -> Option<ObjectId> {
    (mode.is_blob_or_symlink()).then_some(oid)
}

fn tree_changes(
    repo: &gix::Repository,
    old: Option<ObjectId>,
    new: ObjectId,
) -> Result<Vec<Rec>, Error> {
    let read = |id: ObjectId| -> Result<Vec<u8>, Error> {
        repo.find_object(id)
            .map(|o| o.detach().data)
            .map_err(|e| git(format!("reading tree {id}"))(e.to_string()))
    };
    let old_data = old.map(read).transpose()?.unwrap_or_default();
    let new_data = read(new)?;
    let mut recorder = gix::diff::tree::Recorder::default();
    gix::diff::tree(
        gix::objs::TreeRefIter::from_bytes(&old_data, repo.object_hash()),
        gix::objs::TreeRefIter::from_bytes(&new_data, repo.object_hash()),
        gix::diff::tree::State::default(),
        &repo.objects,
        &mut recorder,
    )
    .map_err(|e| git("comparing trees")(e.to_string()))?;
    Ok(recorder.records)
}

/// Writes the files of revision `rev` whose paths match any of `patterns` under `dir`, at
/// their repository paths: how a gate reads a file as it was at the last release (a committed
/// benchmark baseline) with the same code that reads the working tree. Returns how many.
pub fn checkout_matching(
    root: &Path,
    rev: &str,
    patterns: &[String],
    dir: &Path,
) -> Result<usize, Error> {
    let matchers = patterns
        .iter()
        .map(|p| crate::evidence::files::glob(p.trim_start_matches("./")))
        .collect::<Result<Vec<_>, _>>()?;
    let repo = gix::discover(root).map_err(|e| Error::Git(format!("opening repository: {e}")))?;
    let commit = repo
        .rev_parse_single(rev)
        .map_err(|e| Error::Revision(format!("unknown revision {rev:?}: {e}")))?
        .detach();
    // Every file of the tree is an addition against the empty tree: one walk, no checkout.
    let mut written = 0;
    for change in tree_changes(&repo, None, tree_of(&repo, commit)?)? {
        let Rec::Addition {
            entry_mode,
            oid,
            path,
            ..
        } = change
        else {
            continue;
        };
        let path = path.to_str_lossy();
        if !entry_mode.is_blob() || !matchers.iter().any(|m| m.is_match(path.as_ref())) {
            continue;
        }
        let data = repo
            .find_object(oid)
            .map_err(|e| git(format!("reading {path} at {rev}"))(e.to_string()))?
            .detach()
            .data;
        let target = dir.join(path.as_ref());
        let write = |e: std::io::Error| Error::Write {
            path: target.clone(),
            source: e,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(write)?;
        }
        std::fs::write(&target, data).map_err(write)?;
        written += 1;
    }
    Ok(written)
}

/// The bytes of `path` in the tree of commit `rev`; `None` when the tree has no such file.
/// A blob larger than `max_bytes` is an error (it is not read).
pub fn read_blob_at(
    root: &Path,
    rev: &str,
    path: &str,
    max_bytes: u64,
) -> Result<Option<Vec<u8>>, Error> {
    let repo = gix::discover(root).map_err(|e| Error::Git(format!("opening repository: {e}")))?;
    let commit = repo
        .rev_parse_single(rev)
        .map_err(|e| Error::Revision(format!("unknown revision {rev:?}: {e}")))?
        .detach();
    let tree = repo
        .find_tree(tree_of(&repo, commit)?)
        .map_err(|e| git(format!("reading the tree of {rev}"))(e.to_string()))?;
    let Some(entry) = tree
        .lookup_entry_by_path(path)
        .map_err(|e| git(format!("looking up {path} at {rev}"))(e.to_string()))?
    else {
        return Ok(None);
    };
    if !entry.mode().is_blob() {
        return Ok(None);
    }
    let header = repo
        .find_header(entry.object_id())
        .map_err(|e| git(format!("reading {path} at {rev}"))(e.to_string()))?;
    if header.size() > max_bytes {
        return Err(Error::Evidence {
            path: format!("{path} at {rev}").into(),
            line: None,
            message: format!("{} bytes, more than the {max_bytes} allowed", header.size()),
        });
    }
    let blob = repo
        .find_object(entry.object_id())
        .map_err(|e| git(format!("reading {path} at {rev}"))(e.to_string()))?;
    Ok(Some(blob.detach().data))
}

/// Whether commits `a` and `b` have the same tree (the same content, whatever the history).
pub fn same_tree(root: &Path, a: &str, b: &str) -> Result<bool, Error> {
    let repo = gix::discover(root).map_err(|e| Error::Git(format!("opening repository: {e}")))?;
    let id = |rev: &str| {
        repo.rev_parse_single(rev)
            .map(|id| id.detach())
            .map_err(|e| Error::Revision(format!("unknown revision {rev:?}: {e}")))
    };
    Ok(tree_of(&repo, id(a)?)? == tree_of(&repo, id(b)?)?)
}
