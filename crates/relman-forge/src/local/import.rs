//! The one-time import of the former working-tree store (`.relman/`) into the state branch.
//!
//! Earlier versions kept releases, deployments, dispatches, statuses and the audit trail as
//! files in `.relman/` of the working tree. The first run that finds that directory and no
//! `imported/relman-dir.json` marker on the branch copies every record over in one commit;
//! records the branch already holds win. `.relman/` itself is left for the user to delete:
//! relman never writes to the working tree. Symlinks are never followed (a `.relman` that is
//! a symlink, or a symlinked file inside it, is not read).

use std::path::{Path, PathBuf};

use super::statuses::StoredStatus;
use super::{KeyRecord, env_dir, id_file, release_path};
use crate::types::{AuditRecord, Deployment, DispatchRecord, Release};
use relman_core::config::RecordKind;
use relman_core::error::{Error, Result};
use relman_core::state::{Change, Jitter, StateStore, Step, audit_path, file_name};

/// The former store's directory name under the repository root.
pub const LEGACY_DIR: &str = ".relman";
const MARKER: &str = "imported/relman-dir.json";

/// Imports `<root>/.relman/` into `state` unless it was imported before. Returns how many
/// records were copied (0 when there was nothing to do).
pub fn import_legacy(root: &Path, state: &StateStore) -> Result<usize> {
    let dir = root.join(LEGACY_DIR);
    if !real_dir(&dir) {
        return Ok(0);
    }
    if state.snapshot()?.read(MARKER)?.is_some() {
        return Ok(0);
    }
    let files = collect(&dir)?;
    if files.is_empty() {
        return Ok(0);
    }
    let count = files.len();
    let when = crate::now_rfc3339();
    state.transact(|snapshot| {
        if snapshot.read(MARKER)?.is_some() {
            return Ok(Step::Done(0));
        }
        let mut change = Change::new(RecordKind::Other, format!("import {LEGACY_DIR}/"));
        let mut copied = 0;
        for (path, bytes) in &files {
            if snapshot.read(path)?.is_none() {
                change.files.push((path.clone(), bytes.clone()));
                copied += 1;
            }
        }
        let change = change.json(
            MARKER,
            &serde_json::json!({ "when": when, "from": LEGACY_DIR, "records": count }),
        )?;
        Ok(Step::Write(change, copied))
    })
}

/// A directory that is not a symlink.
fn real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Regular files (not symlinks) of `dir`, sorted; none when `dir` is missing or a symlink.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    if !real_dir(dir) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
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

fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => std::fs::read(path).map(Some).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        }),
        _ => Ok(None),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    line: Option<usize>,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        line: line.or((e.line() > 0).then_some(e.line())),
        message: e.to_string(),
    })
}

fn pretty<T: serde::Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Usage(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn json_files(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for path in files_in(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        if let Some(bytes) = read_file(&path)? {
            out.push((path, bytes));
        }
    }
    Ok(out)
}

/// Every record of the old store as `(branch path, bytes)`, each parsed first.
fn collect(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for (path, bytes) in json_files(&dir.join("releases"))? {
        let release: Release = parse(&path, &bytes, None)?;
        out.push((release_path(&release.tag), pretty(&release)?));
    }
    for env in files_in(&dir.join("deployments"))? {
        for (path, bytes) in json_files(&env)? {
            let d: Deployment = parse(&path, &bytes, None)?;
            out.push((
                format!("{}/{}", env_dir(&d.environment), id_file(d.id)),
                pretty(&d)?,
            ));
            out.push((
                format!("keys/deployment/{}.json", file_name(&d.idempotency_key)),
                pretty(&KeyRecord { id: d.id })?,
            ));
        }
    }
    for (path, bytes) in json_files(&dir.join("dispatches"))? {
        let d: DispatchRecord = parse(&path, &bytes, None)?;
        out.push((format!("dispatches/{}", id_file(d.id)), pretty(&d)?));
        out.push((
            format!("keys/dispatch/{}.json", file_name(&d.idempotency_key)),
            pretty(&KeyRecord { id: d.id })?,
        ));
    }
    let statuses = dir.join("statuses.json");
    if let Some(bytes) = read_file(&statuses)? {
        let all: std::collections::BTreeMap<String, StoredStatus> = parse(&statuses, &bytes, None)?;
        for s in all.values() {
            out.push((super::statuses::path(&s.sha, &s.context), pretty(s)?));
        }
    }
    let audit = dir.join("audit.jsonl");
    if let Some(bytes) = read_file(&audit)? {
        let mut jitter = Jitter::new();
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // A `when` that does not read fails here, naming the file and line.
            let record: AuditRecord = parse(&audit, line, Some(index + 1))?;
            out.push((
                audit_path(&record, record.when, &mut jitter),
                pretty(&record)?,
            ));
        }
    }
    Ok(out)
}
