//! The local backend: the default [`Forge`], kept on the repository's state branch.
//!
//! With no forge configured, every concern still runs, offline: releases, deployments,
//! dispatches, commit statuses and the audit trail are records on the state branch
//! ([`relman_core::state`], `relman/state` by default), shared through the remote when there is
//! one. It is a real backend with the same idempotency rules as a forge, not a test double.
//!
//! # Layout (paths on the branch)
//!
//! ```text
//! releases/<tag>.json                  one release (the notes are in `body`)
//! deployments/<env>/<id>.json          one deployment with its status history
//! dispatches/<id>.json                 one dispatched workflow run
//! keys/deployment/<key>.json           idempotency key → deployment id (never changed)
//! keys/dispatch/<key>.json             idempotency key → dispatch id (never changed)
//! statuses/<sha>/<context>.json        one commit status (the gate's verdict)
//! audit/<yyyy>/<mm>/<dd>/<time>-<action>-<random>.json   one audit record
//! ```
//!
//! - One object per file, pretty JSON: `git show relman/state:releases/v1.2.0.json` reads
//!   one, and the branch's log says which write changed what.
//! - Tags, environments and keys are file names as they are when made of
//!   `A-Z a-z 0-9 . _ + -` (not starting with `.`); any other byte is written `%XX`.
//! - Ids of deployments and of dispatches are one more than the highest id of that kind
//!   present; "newest" means the highest id, not a timestamp (clocks jump).
//! - Every write is one transaction on the branch (read, decide, compare-and-swap of the
//!   tip), re-applied when another writer won the race: concurrent jobs neither lose records
//!   nor create two deployments for one idempotency key.
//! - A record that does not parse is an [`Error::Corrupt`] naming it
//!   (`relman/state:releases/v1.json:3: …`); nothing is skipped.
//!
//! The former working-tree store (`.relman/`) is imported once ([`import`]).

use std::path::Path;
use std::sync::Arc;

use super::types::*;
use super::{Capabilities, Capability, Forge};
use relman_core::config::{RecordKind, StateSettings};
use relman_core::error::{Error, Result};
use relman_core::state::{Change, Snapshot, StateStore, Step, file_name};

mod import;
mod statuses;
#[cfg(test)]
mod tests;

pub use import::{LEGACY_DIR, import_legacy};

const BACKEND: &str = "local";

/// The local backend over a state store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalStore {
    state: Arc<StateStore>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct KeyRecord {
    id: u64,
}

impl LocalStore {
    /// The backend over `state`.
    pub fn new(state: Arc<StateStore>) -> Self {
        LocalStore { state }
    }

    /// The store of the repository containing `root`, with the default `state:` settings and
    /// the process environment. Nothing is written until the first write.
    pub fn open(root: &Path) -> Result<Self> {
        let env = |k: &str| std::env::var(k).ok();
        let state = StateStore::open(root, &StateSettings::default(), &env)?;
        Ok(Self::new(Arc::new(state)))
    }

    /// A store in a repository of its own, created in `dir` (`dir/state.git`, bare) if
    /// needed: for tests and benchmarks that need a backend but no project repository.
    #[doc(hidden)]
    pub fn scratch(dir: &Path) -> Result<Self> {
        let path = dir.join("state.git");
        if !path.join("HEAD").is_file() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_path_buf(),
                source,
            })?;
            gix::init_bare(&path).map_err(|e| Error::Git(format!("{}: {e}", path.display())))?;
        }
        let settings = StateSettings {
            remote: Some(String::new()),
            ..StateSettings::default()
        };
        let state = StateStore::open(&path, &settings, &|_: &str| None)?;
        Ok(Self::new(Arc::new(state)))
    }

    /// The state store underneath.
    pub fn state(&self) -> &Arc<StateStore> {
        &self.state
    }
}

fn release_path(tag: &str) -> String {
    format!("releases/{}.json", file_name(tag))
}

fn id_file(id: u64) -> String {
    format!("{id:06}.json")
}

fn env_dir(environment: &str) -> String {
    format!("deployments/{}", file_name(environment))
}

/// `(id, path)` of every `<id>.json` in `dir`; a JSON file not named by an id is an error
/// (it looks like data that would otherwise be skipped).
fn ids(snapshot: &Snapshot, dir: &str) -> Result<Vec<(u64, String)>> {
    let mut out = Vec::new();
    for entry in snapshot.list(dir)? {
        if entry.is_dir {
            continue;
        }
        let Some(stem) = entry.name.strip_suffix(".json") else {
            continue;
        };
        let path = format!("{dir}/{}", entry.name);
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
    out.sort_by_key(|e| std::cmp::Reverse(e.0));
    for pair in out.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(corrupt(
                &pair[1].1,
                format!("id {} is also used by {}", pair[1].0, pair[0].1),
            ));
        }
    }
    Ok(out)
}

/// Every deployment file, newest first.
fn deployment_index(snapshot: &Snapshot) -> Result<Vec<(u64, String)>> {
    let mut all = Vec::new();
    for env in snapshot.list("deployments")? {
        if env.is_dir {
            all.extend(ids(snapshot, &format!("deployments/{}", env.name))?);
        }
    }
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    for pair in all.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(corrupt(
                &pair[1].1,
                format!("id {} is also used by {}", pair[1].0, pair[0].1),
            ));
        }
    }
    Ok(all)
}

fn read_deployment(snapshot: &Snapshot, id: u64, path: &str) -> Result<Deployment> {
    let deployment: Deployment = snapshot
        .read_json(path)?
        .ok_or_else(|| corrupt(path, "vanished while being read".into()))?;
    if deployment.id != id {
        return Err(corrupt(
            path,
            format!(
                "holds deployment {}, but its file name says {id}",
                deployment.id
            ),
        ));
    }
    let expected = env_dir(&deployment.environment);
    if path.rsplit_once('/').map(|(dir, _)| dir) != Some(expected.as_str()) {
        return Err(corrupt(
            path,
            format!(
                "holds a deployment to `{}`, which belongs in {expected}/",
                deployment.environment
            ),
        ));
    }
    Ok(deployment)
}

fn check_release_tag(path: &str, release: Release, tag: &str) -> Result<Release> {
    if release.tag == tag {
        Ok(release)
    } else {
        Err(corrupt(
            path,
            format!("holds release `{}`, not `{tag}`", release.tag),
        ))
    }
}

impl LocalStore {
    /// Deployments to `environment` from newest, until `keep` says stop (returns true).
    fn scan_environment(
        &self,
        environment: &str,
        mut keep: impl FnMut(Deployment) -> bool,
    ) -> Result<()> {
        let snapshot = self.state.snapshot()?;
        for (id, path) in ids(&snapshot, &env_dir(environment))? {
            let deployment = read_deployment(&snapshot, id, &path)?;
            if deployment.environment == environment && keep(deployment) {
                break;
            }
        }
        Ok(())
    }
}

impl Forge for LocalStore {
    fn name(&self) -> &str {
        BACKEND
    }

    /// Records only: releases, deployments with their payloads and history, commit statuses
    /// and the audit trail. A dispatch is recorded and runs nothing, so nothing dispatched can
    /// be followed or validated; no evidence.
    fn capabilities(&self) -> Capabilities {
        use Capability::*;
        Capabilities::of(&[
            Releases,
            DraftReleases,
            Deployments,
            DeploymentPayloads,
            DeploymentStatusHistory,
            CommitStatuses,
            Audit,
        ])
    }

    fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        required("tag", tag)?;
        let path = release_path(tag);
        let release: Option<Release> = self.state.snapshot()?.read_json(&path)?;
        release
            .map(|r| check_release_tag(&path, r, tag))
            .transpose()
    }

    fn upsert_release(&self, spec: &ReleaseSpec) -> Result<Upserted<Release>> {
        required("tag", &spec.tag)?;
        let path = release_path(&spec.tag);
        let now = now_second();
        self.state.transact(|snapshot| {
            let existing: Option<Release> = snapshot.read_json(&path)?;
            let upserted = match existing {
                Some(release) => {
                    let release = check_release_tag(&path, release, &spec.tag)?;
                    if release.matches(spec) {
                        return Ok(Step::Done(Upserted::unchanged(release)));
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
                    created_at: now,
                    updated_at: now,
                }),
            };
            let change = Change::new(RecordKind::Release, format!("release {}", spec.tag))
                .json(path.clone(), &upserted.value)?;
            Ok(Step::Write(change, upserted))
        })
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
        let key_path = format!("keys/deployment/{}.json", file_name(&spec.idempotency_key));
        let now = now_second();
        self.state.transact(|snapshot| {
            let index = deployment_index(snapshot)?;
            if let Some(key) = snapshot.read_json::<KeyRecord>(&key_path)? {
                let Some((_, path)) = index.iter().find(|(id, _)| *id == key.id) else {
                    return Err(corrupt(
                        &key_path,
                        format!("names deployment {}, which does not exist", key.id),
                    ));
                };
                let existing = read_deployment(snapshot, key.id, path)?;
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
                return Ok(Step::Done(Upserted::unchanged(existing)));
            }
            let id = index.first().map_or(1, |(id, _)| id + 1);
            let deployment = Deployment {
                id,
                environment: spec.environment.clone(),
                sha: spec.sha.clone(),
                git_ref: spec.git_ref.clone(),
                created_at: now,
                creator: spec.creator.clone(),
                state: DeploymentState::Pending,
                statuses: Vec::new(),
                idempotency_key: spec.idempotency_key.clone(),
                payload: spec.payload.clone(),
            };
            let change = Change::new(
                RecordKind::Deployment,
                format!("deployment {id} to {}", spec.environment),
            )
            .json(
                format!("{}/{}", env_dir(&spec.environment), id_file(id)),
                &deployment,
            )?
            .json(key_path.clone(), &KeyRecord { id })?;
            Ok(Step::Write(change, Upserted::created(deployment)))
        })
    }

    fn set_deployment_status(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
    ) -> Result<Upserted<Deployment>> {
        let now = now_second();
        self.state.transact(|snapshot| {
            let Some((_, path)) = deployment_index(snapshot)?
                .into_iter()
                .find(|(i, _)| *i == id)
            else {
                return Err(Error::NotFound {
                    backend: BACKEND.into(),
                    what: format!("deployment {id}"),
                });
            };
            let mut deployment = read_deployment(snapshot, id, &path)?;
            if deployment
                .statuses
                .last()
                .is_some_and(|s| s.state == state && s.description == description)
            {
                return Ok(Step::Done(Upserted::unchanged(deployment)));
            }
            deployment.statuses.push(DeploymentStatus {
                state,
                description: description.to_string(),
                created_at: now,
            });
            deployment.state = state;
            let change = Change::new(RecordKind::Deployment, format!("deployment {id}: {state}"))
                .json(path.clone(), &deployment)?;
            Ok(Step::Write(change, Upserted::updated(deployment)))
        })
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

    /// The local store records a dispatch and runs nothing, so it cannot tell how a run ended:
    /// always [`Error::Unsupported`], never a made-up success. A local rollback runs its
    /// configured command itself and knows its exit status.
    fn run_status(&self, record: &DispatchRecord) -> Result<RunStatus> {
        let _ = record;
        Err(self
            .unsupported("the status of a dispatched run (it records dispatches and runs nothing)"))
    }

    fn dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        required("workflow", &spec.workflow)?;
        required("ref", &spec.git_ref)?;
        required("idempotency_key", &spec.idempotency_key)?;
        let key_path = format!("keys/dispatch/{}.json", file_name(&spec.idempotency_key));
        let now = now_second();
        self.state.transact(|snapshot| {
            let index = ids(snapshot, "dispatches")?;
            if let Some(key) = snapshot.read_json::<KeyRecord>(&key_path)? {
                let path = format!("dispatches/{}", id_file(key.id));
                let existing: DispatchRecord = snapshot.read_json(&path)?.ok_or_else(|| {
                    corrupt(
                        &key_path,
                        format!("names dispatch {}, which does not exist", key.id),
                    )
                })?;
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
                return Ok(Step::Done(Upserted::unchanged(existing)));
            }
            let id = index.first().map_or(1, |(id, _)| id + 1);
            let record = DispatchRecord::of(spec, id, Some(now), None);
            let change = Change::new(
                RecordKind::Dispatch,
                format!("dispatch {id} of {}", spec.workflow),
            )
            .json(format!("dispatches/{}", id_file(id)), &record)?
            .json(key_path.clone(), &KeyRecord { id })?;
            Ok(Step::Write(change, Upserted::created(record)))
        })
    }

    fn set_commit_status(&self, status: &CommitStatusSpec) -> Result<Outcome> {
        statuses::record(&self.state, status)
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<()> {
        self.state.append_audit(record)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        self.state.audit_log(filter)
    }
}

fn corrupt(path: &str, message: String) -> Error {
    Error::Corrupt {
        path: format!("relman/state:{path}").into(),
        line: None,
        message,
    }
}

fn required(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::Usage(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}
