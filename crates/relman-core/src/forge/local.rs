//! The local store: the default [`Forge`], kept as plain files in the repository.
//!
//! With no forge configured, every concern still runs, offline: releases, deployments,
//! dispatches and the audit trail live in `.relman/` at the repository root. It is a real
//! backend with the same idempotency rules as a forge, not a test double.
//!
//! # Layout
//!
//! ```text
//! .relman/
//!   .gitignore                    written when the store is created: ignores the two below
//!   .lock                         lock file (an exclusive lock around every read-modify-write)
//!   releases/<tag>.json           one release, pretty JSON (the release notes are in `body`)
//!   deployments/<env>/<id>.json   one deployment with its status history, pretty JSON
//!   dispatches/<id>.json          one dispatched workflow run, pretty JSON
//!   audit.jsonl                   the audit trail: one JSON object per line, append-only
//!   statuses.json                 commit statuses (the gate's verdict), keyed `<sha>/<context>`
//! ```
//!
//! - One object per file, so a diff shows exactly which release or deployment changed and a
//!   person can read one without tooling; ids are zero-padded (`000012.json`) so `ls` lists
//!   them in order. The audit trail is one line per record, only ever appended to.
//! - Tags and environment names are file names as they are when made of `A-Z a-z 0-9 . _ + -`
//!   (not starting with `.`); any other byte is written `%XX` (`review/x` → `review%2Fx`).
//! - Ids of deployments and of dispatches increase per store: one more than the highest id of
//!   that kind present. "Newest" means the highest id, not a timestamp (clocks jump).
//! - `.relman/.gitignore` ignores only `.lock` and interrupted temporary files (`.relman-*`):
//!   releases, deployments and the audit trail are meant to be committed by whoever wants the
//!   record in their history. Whether to commit is the user's call; relman never writes
//!   outside `.relman/` and recreates the `.gitignore` only when it creates the store.
//!
//! # Durability and concurrency
//!
//! - Every rewrite is a temporary file, fsynced, renamed over the target
//!   ([`crate::fsutil::write_atomic`]), then the directory is fsynced; a crash leaves the old
//!   or the new file. An interrupted run may leave a `.relman-*` temporary file behind:
//!   readers ignore hidden files.
//! - Audit appends are one `write` of a whole line, then fsynced; a failed append is truncated
//!   back. A line left incomplete by a crash is never glued to the next record.
//! - Every write holds an exclusive lock on `.relman/.lock` (`File::lock`) from the read to
//!   the write, so concurrent CI jobs on one checkout neither lose records nor create two
//!   deployments for one idempotency key. Reads take a shared lock.
//! - A file that does not parse is an [`Error::Corrupt`] naming the file and line
//!   (`.relman/audit.jsonl:3: expected value at column 1`); nothing is skipped or dropped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Forge;
use super::types::*;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;

/// The store's directory name under the repository root.
pub const STORE_DIR: &str = ".relman";

const BACKEND: &str = "local";
const GITIGNORE: &str = "# Written by relman. Releases, deployments and audit.jsonl are meant to be kept;\n\
                         # only the lock file and interrupted temporary files are ignored.\n\
                         /.lock\n.relman-*\n";

/// The local store in `<root>/.relman/`. Cheap to clone; holds no open files.
#[derive(Debug, Clone)]
pub struct LocalStore {
    dir: PathBuf,
}

impl LocalStore {
    /// The store of the repository at `root` (`<root>/.relman`). Nothing is created until the
    /// first write, so read-only commands leave the repository as it was.
    pub fn open(root: &Path) -> Result<Self> {
        Self::at(root.join(STORE_DIR))
    }

    /// A store in `dir` itself (for a store kept elsewhere than the repository root).
    pub fn at(dir: PathBuf) -> Result<Self> {
        match std::fs::metadata(&dir) {
            Ok(meta) if !meta.is_dir() => Err(Error::Usage(format!(
                "{}: the relman store must be a directory",
                dir.display()
            ))),
            Ok(_) => Ok(LocalStore { dir }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(LocalStore { dir }),
            Err(source) => Err(Error::Read { path: dir, source }),
        }
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn releases_dir(&self) -> PathBuf {
        self.dir.join("releases")
    }

    fn release_path(&self, tag: &str) -> PathBuf {
        self.releases_dir().join(format!("{}.json", file_name(tag)))
    }

    fn deployments_dir(&self) -> PathBuf {
        self.dir.join("deployments")
    }

    fn environment_dir(&self, environment: &str) -> PathBuf {
        self.deployments_dir().join(file_name(environment))
    }

    fn dispatches_dir(&self) -> PathBuf {
        self.dir.join("dispatches")
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    // --- locking ----------------------------------------------------------------------------

    /// Creates the store if needed and takes the exclusive lock, released when the guard drops.
    fn write_lock(&self) -> Result<File> {
        if !self.dir.is_dir() {
            create_dir(&self.dir)?;
            write_file(&self.dir.join(".gitignore"), GITIGNORE.as_bytes())?;
        }
        let path = self.dir.join(".lock");
        let file = open_lock_file(&path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        file.lock()
            .map_err(|source| Error::Write { path, source })?;
        Ok(file)
    }

    /// Takes the shared lock; `None` when there is no store yet or it cannot be locked
    /// because it is read-only (then nobody can be writing it either).
    fn read_lock(&self) -> Result<Option<File>> {
        if !self.dir.is_dir() {
            return Ok(None);
        }
        let path = self.dir.join(".lock");
        let file = match open_lock_file(&path) {
            Ok(file) => file,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                ) =>
            {
                return Ok(None);
            }
            Err(source) => return Err(Error::Read { path, source }),
        };
        file.lock_shared()
            .map_err(|source| Error::Read { path, source })?;
        Ok(Some(file))
    }

    // --- deployments ------------------------------------------------------------------------

    /// Deployment files of one environment directory, newest (highest id) first.
    fn environment_index(&self, env_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
        let mut ids = list_ids(env_dir)?;
        ids.sort_by_key(|e| std::cmp::Reverse(e.0));
        Ok(ids)
    }

    /// Every deployment file in the store, newest first; two files with one id are an error.
    fn deployment_index(&self) -> Result<Vec<(u64, PathBuf)>> {
        let mut all = Vec::new();
        for env_dir in list_dirs(&self.deployments_dir())? {
            all.extend(list_ids(&env_dir)?);
        }
        all.sort_by_key(|e| std::cmp::Reverse(e.0));
        check_unique_ids(&all)?;
        Ok(all)
    }

    fn read_deployment(&self, id: u64, path: &Path) -> Result<Deployment> {
        let deployment: Deployment = read_json(path)?.ok_or_else(|| Error::Read {
            path: path.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        if deployment.id != id {
            return Err(corrupt(
                path,
                format!(
                    "holds deployment {}, but its file name says {id}",
                    deployment.id
                ),
            ));
        }
        let expected_dir = file_name(&deployment.environment);
        if path.parent().and_then(Path::file_name) != Some(expected_dir.as_ref()) {
            return Err(corrupt(
                path,
                format!(
                    "holds a deployment to `{}`, which belongs in deployments/{expected_dir}/",
                    deployment.environment
                ),
            ));
        }
        Ok(deployment)
    }

    /// Deployments to `environment` from newest, until `keep` says stop (returns true).
    fn scan_environment(
        &self,
        environment: &str,
        mut keep: impl FnMut(Deployment) -> bool,
    ) -> Result<()> {
        let _lock = self.read_lock()?;
        for (id, path) in self.environment_index(&self.environment_dir(environment))? {
            let deployment = self.read_deployment(id, &path)?;
            // On a case-insensitive file system `Prod` and `prod` share a directory.
            if deployment.environment == environment && keep(deployment) {
                break;
            }
        }
        Ok(())
    }

    // --- dispatches -------------------------------------------------------------------------

    fn read_dispatch(&self, id: u64, path: &Path) -> Result<DispatchRecord> {
        let record: DispatchRecord = read_json(path)?.ok_or_else(|| Error::Read {
            path: path.to_path_buf(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        if record.id != id {
            return Err(corrupt(
                path,
                format!("holds dispatch {}, but its file name says {id}", record.id),
            ));
        }
        Ok(record)
    }

    // --- audit ------------------------------------------------------------------------------

    /// Every audit record with its parsed time, oldest first.
    fn read_audit(&self) -> Result<Vec<(AuditRecord, jiff::Timestamp)>> {
        let path = self.audit_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Read { path, source }),
        };
        let mut records = Vec::new();
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let number = index + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let record: AuditRecord = serde_json::from_slice(line).map_err(|e| Error::Corrupt {
                path: path.clone(),
                line: Some(number),
                message: json_message(&e),
            })?;
            let when = parse_time(&record.when).map_err(|message| Error::Corrupt {
                path: path.clone(),
                line: Some(number),
                message: format!("when: {message}"),
            })?;
            records.push((record, when));
        }
        Ok(records)
    }
}

impl Forge for LocalStore {
    fn name(&self) -> &str {
        BACKEND
    }

    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        required("tag", tag)?;
        let _lock = self.read_lock()?;
        let path = self.release_path(tag);
        let release: Option<Release> = read_json(&path)?;
        release
            .map(|r| check_release_tag(&path, r, tag))
            .transpose()
    }

    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        required("tag", &spec.tag)?;
        let _lock = self.write_lock()?;
        let path = self.release_path(&spec.tag);
        let existing: Option<Release> = read_json(&path)?;
        let now = now_rfc3339();
        let upserted = match existing {
            Some(release) => {
                let release = check_release_tag(&path, release, &spec.tag)?;
                if release.matches(spec) {
                    return Ok(Upserted::unchanged(release));
                }
                Upserted::updated(Release {
                    name: spec.name.clone(),
                    body: spec.body.clone(),
                    draft: spec.draft,
                    prerelease: spec.prerelease,
                    target: spec.target.clone(),
                    updated_at: now,
                    ..release
                })
            }
            None => Upserted::created(Release {
                tag: spec.tag.clone(),
                name: spec.name.clone(),
                body: spec.body.clone(),
                draft: spec.draft,
                prerelease: spec.prerelease,
                target: spec.target.clone(),
                url: None,
                created_at: now.clone(),
                updated_at: now,
            }),
        };
        create_dir(&self.releases_dir())?;
        write_json(&path, &upserted.value)?;
        Ok(upserted)
    }

    fn deployments(&self, environment: &str, limit: usize) -> Result<Vec<Deployment>> {
        required("environment", environment)?;
        let mut out = Vec::new();
        if limit > 0 {
            self.scan_environment(environment, |d| {
                out.push(d);
                out.len() >= limit
            })?;
        }
        Ok(out)
    }

    fn create_deployment(&self, spec: &DeploymentSpec) -> Result<Upserted<Deployment>> {
        required("environment", &spec.environment)?;
        required("sha", &spec.sha)?;
        required("ref", &spec.git_ref)?;
        required("idempotency_key", &spec.idempotency_key)?;
        let _lock = self.write_lock()?;
        let index = self.deployment_index()?;
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for (id, path) in &index {
            let existing = self.read_deployment(*id, path)?;
            if let Some(other) = seen.insert(existing.idempotency_key.clone(), *id) {
                return Err(corrupt(
                    path,
                    format!(
                        "idempotency key `{}` is also used by deployment {other}",
                        existing.idempotency_key
                    ),
                ));
            }
            if existing.idempotency_key == spec.idempotency_key {
                if existing.environment != spec.environment
                    || existing.sha != spec.sha
                    || existing.git_ref != spec.git_ref
                {
                    return Err(Error::Conflict {
                        backend: BACKEND.into(),
                        message: format!(
                            "idempotency key `{}` already names deployment {} of {} ({}) to \
                             `{}`, not of {} ({}) to `{}`",
                            spec.idempotency_key,
                            existing.id,
                            existing.sha,
                            existing.git_ref,
                            existing.environment,
                            spec.sha,
                            spec.git_ref,
                            spec.environment
                        ),
                    });
                }
                return Ok(Upserted::unchanged(existing));
            }
        }
        let id = index.first().map_or(1, |(id, _)| id + 1);
        let deployment = Deployment {
            id,
            environment: spec.environment.clone(),
            sha: spec.sha.clone(),
            git_ref: spec.git_ref.clone(),
            created_at: now_rfc3339(),
            creator: spec.creator.clone(),
            state: DeploymentState::Pending,
            statuses: Vec::new(),
            idempotency_key: spec.idempotency_key.clone(),
            payload: spec.payload.clone(),
        };
        let env_dir = self.environment_dir(&spec.environment);
        create_dir(&self.deployments_dir())?;
        create_dir(&env_dir)?;
        write_json(&env_dir.join(id_file(id)), &deployment)?;
        Ok(Upserted::created(deployment))
    }

    fn set_deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>> {
        let _lock = self.write_lock()?;
        let Some((_, path)) = self.deployment_index()?.into_iter().find(|(i, _)| *i == id) else {
            return Err(Error::NotFound {
                backend: BACKEND.into(),
                what: format!("deployment {id}"),
            });
        };
        let mut deployment = self.read_deployment(id, &path)?;
        if deployment
            .statuses
            .last()
            .is_some_and(|s| s.state == state && s.description == description)
        {
            return Ok(Upserted::unchanged(deployment));
        }
        deployment.statuses.push(DeploymentStatus {
            state,
            description: description.to_string(),
            created_at: now_rfc3339(),
        });
        deployment.state = state;
        write_json(&path, &deployment)?;
        Ok(Upserted::updated(deployment))
    }

    fn last_successful_deployment(&self, environment: &str) -> Result<Option<Deployment>> {
        required("environment", environment)?;
        let mut found = None;
        self.scan_environment(environment, |d| {
            if d.is_good() {
                found = Some(d);
            }
            found.is_some()
        })?;
        Ok(found)
    }

    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        required("workflow", &spec.workflow)?;
        required("ref", &spec.git_ref)?;
        required("idempotency_key", &spec.idempotency_key)?;
        let _lock = self.write_lock()?;
        let dir = self.dispatches_dir();
        let mut index = list_ids(&dir)?;
        index.sort_by_key(|e| std::cmp::Reverse(e.0));
        check_unique_ids(&index)?;
        for (id, path) in &index {
            let existing = self.read_dispatch(*id, path)?;
            if existing.idempotency_key == spec.idempotency_key {
                if existing.workflow != spec.workflow
                    || existing.git_ref != spec.git_ref
                    || existing.inputs != spec.inputs
                {
                    return Err(Error::Conflict {
                        backend: BACKEND.into(),
                        message: format!(
                            "idempotency key `{}` already names dispatch {} of `{}` on {} \
                             with other inputs or workflow",
                            spec.idempotency_key, existing.id, existing.workflow, existing.git_ref
                        ),
                    });
                }
                return Ok(Upserted::unchanged(existing));
            }
        }
        let id = index.first().map_or(1, |(id, _)| id + 1);
        let record = DispatchRecord {
            id,
            workflow: spec.workflow.clone(),
            git_ref: spec.git_ref.clone(),
            inputs: spec.inputs.clone(),
            requested_by: spec.requested_by.clone(),
            idempotency_key: spec.idempotency_key.clone(),
            created_at: now_rfc3339(),
            run_url: None,
        };
        create_dir(&dir)?;
        write_json(&dir.join(id_file(id)), &record)?;
        Ok(Upserted::created(record))
    }

    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        self.record_status(status)
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        required("actor", &record.actor)?;
        required("action", &record.action)?;
        parse_time(&record.when)
            .map_err(|message| Error::Usage(format!("audit record: when: {message}")))?;
        let mut line = serde_json::to_vec(record).map_err(|e| Error::Usage(e.to_string()))?;
        line.push(b'\n');
        let _lock = self.write_lock()?;
        let path = self.audit_path();
        let existed = path.exists();
        let err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(err)?;
        let len = file.metadata().map_err(err)?.len();
        if len > 0 {
            // A line cut short by a crash stays on its own line (and is reported on read)
            // rather than being glued to this record.
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1)).map_err(err)?;
            file.read_exact(&mut last).map_err(err)?;
            if last[0] != b'\n' {
                line.insert(0, b'\n');
            }
        }
        if let Err(e) = file.write_all(&line).and_then(|()| file.sync_data()) {
            // Take back a partial line, so the next append starts clean.
            let _ = file.set_len(len).and_then(|()| file.sync_data());
            return Err(err(e));
        }
        if !existed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let _lock = self.read_lock()?;
        let mut records: Vec<AuditRecord> = self
            .read_audit()?
            .into_iter()
            .filter(|(record, when)| filter.matches(record, *when))
            .map(|(record, _)| record)
            .collect();
        if let Some(limit) = filter.limit {
            records.drain(..records.len().saturating_sub(limit));
        }
        Ok(records)
    }
}

// --- files ------------------------------------------------------------------------------------

/// A tag or environment name as a file name: safe characters kept, others `%XX`.
fn file_name(name: &str) -> String {
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

fn id_file(id: u64) -> String {
    format!("{id:06}.json")
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// `(id, path)` of every `<id>.json` in `dir` (none if `dir` does not exist). Hidden files
/// (interrupted temporary files) and files that are not JSON are ignored; a JSON file whose
/// name is not an id is an error, since it looks like data that would otherwise be skipped.
fn list_ids(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for path in list(dir)? {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        match stem.parse::<u64>() {
            Ok(id) if stem.bytes().all(|b| b.is_ascii_digit()) => out.push((id, path)),
            _ => {
                return Err(corrupt(
                    &path,
                    "unexpected file name: records here are named <id>.json".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// Subdirectories of `dir`, hidden ones excepted.
fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(list(dir)?
        .into_iter()
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect())
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// `ids` sorted by id: two files with one id (a copied file) are an error.
fn check_unique_ids(ids: &[(u64, PathBuf)]) -> Result<()> {
    for pair in ids.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(corrupt(
                &pair[1].1,
                format!("id {} is also used by {}", pair[1].0, pair[0].1.display()),
            ));
        }
    }
    Ok(())
}

fn check_release_tag(path: &Path, release: Release, tag: &str) -> Result<Release> {
    if release.tag == tag {
        Ok(release)
    } else {
        Err(corrupt(
            path,
            format!(
                "holds release `{}`, not `{tag}` (renamed by hand, or a case-insensitive file system)",
                release.tag
            ),
        ))
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Corrupt {
            path: path.to_path_buf(),
            line: (e.line() > 0).then_some(e.line()),
            message: json_message(&e),
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Usage(e.to_string()))?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}

/// Atomic replace, then fsync of the directory so the rename itself survives a crash.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Creates `dir` (and its parents) if missing, making the new entry durable.
fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let err = |source| Error::Write {
            path: dir.to_path_buf(),
            source,
        };
        File::open(dir).map_err(err)?.sync_all().map_err(err)?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn corrupt(path: &Path, message: String) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        line: None,
        message,
    }
}

/// serde_json's message with the line left to the caller: `expected value at column 1`.
fn json_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(text) => format!("{text} at column {}", e.column()),
        None => message,
    }
}

fn parse_time(text: &str) -> Result<jiff::Timestamp, String> {
    text.parse::<jiff::Timestamp>()
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp: {e}"))
}

fn required(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::Usage(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

mod statuses;
#[cfg(test)]
mod tests;
