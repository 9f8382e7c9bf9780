//! Exactly once: a rollback's idempotency key, claimed on the state branch before anything is
//! dispatched.
//!
//! The key is `rollback:<environment>:<target deployment id>:<digest of the incident or
//! reason>`; its claim is `rollback/claims/<environment>/<digest>/<target id>.json`, written
//! with [`StateStore::transact`] in one commit with the `rollback.start` audit record. Of two
//! triggers racing for the key, the compare-and-swap lets one write it; the other sees it and
//! reports the first ([`Claimed::Existing`]). The holder then adds what it dispatched, and
//! finally the outcome, each with its audit record in the same commit.
//!
//! Claims of one incident share a directory, so a trigger retried after the rollback went out
//! (when the history's newest deployment is the rollback itself, and "the last good one before
//! the current" would be an older one still) finds the incident's first claim and reports it,
//! instead of rolling back a second step.

use relman_core::audit::AuditRecord;
use relman_core::config::RecordKind;
use relman_core::state::{Change, Jitter, Snapshot, StateStore, Step, audit_path, file_name};
use relman_core::{Error, StateErrorKind};
use serde::{Deserialize, Serialize};

use crate::target::DeploymentRef;

/// What was sent for a claimed rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispatched {
    /// `workflow`, `repository_dispatch`, `job`, `pipeline`, `deployment` or `command`.
    pub kind: String,
    /// The run, pipeline, job or deployment id (0 while a forge has not said).
    pub id: u64,
    pub url: Option<String>,
    /// The forge's dispatch record, for following it from another job.
    #[serde(default)]
    pub record: Option<relman_forge::DispatchRecord>,
    /// RFC 3339 UTC.
    pub at: String,
}

impl Dispatched {
    /// What was sent, for people: `workflow 123`, or `workflow (run not listed yet)` while
    /// the forge has not said which run it started (GitHub answers a dispatch with no id).
    pub fn describe(&self) -> String {
        match self.id {
            0 => format!("{} (run not listed yet)", self.kind),
            id => format!("{} {id}", self.kind),
        }
    }

    /// Takes the run id and link the follower found, when the dispatch did not carry them.
    pub fn learn(&mut self, id: Option<u64>, url: Option<&str>) {
        if self.id == 0
            && let Some(id) = id
        {
            self.id = id;
        }
        if self.url.is_none() {
            self.url = url.map(str::to_string);
        }
    }
}

/// How a claimed rollback ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    /// `succeeded`, `failed`, `cancelled`, `timed-out` or `dispatch-failed`.
    pub state: String,
    pub url: Option<String>,
    /// The forge's or command's words (stored, never printed raw).
    #[serde(default)]
    pub detail: String,
    /// RFC 3339 UTC.
    pub at: String,
}

/// A claimed rollback, as kept on the state branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub key: String,
    pub environment: String,
    pub from: Option<DeploymentRef>,
    pub to: DeploymentRef,
    pub incident: Option<String>,
    pub reason: String,
    /// Digest of the incident (or reason): the directory of the incident's claims.
    pub digest: String,
    pub actor: String,
    /// RFC 3339 UTC.
    pub claimed_at: String,
    /// The CI run that claimed it.
    pub run: Option<String>,
    /// A drill executed for real (`drill: execute`).
    #[serde(default)]
    pub drill: bool,
    #[serde(default)]
    pub dispatched: Option<Dispatched>,
    #[serde(default)]
    pub ended: Option<Ended>,
}

/// What claiming did.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The key was free: this run holds it and dispatches.
    New,
    /// Someone claimed it first: this run dispatches nothing.
    Existing(Box<Claim>),
}

/// The key of a rollback of `environment` to deployment `target` for the incident `digest`.
pub fn key(environment: &str, target: u64, digest: &str) -> String {
    format!("rollback:{environment}:{target}:{digest}")
}

fn dir(environment: &str, digest: &str) -> String {
    format!(
        "rollback/claims/{}/{}",
        file_name(environment),
        file_name(digest)
    )
}

fn path(claim: &Claim) -> String {
    format!(
        "{}/{}.json",
        dir(&claim.environment, &claim.digest),
        claim.to.id
    )
}

/// The incident's earliest claim in `environment`, if any (read only).
pub fn earliest(
    store: &StateStore,
    environment: &str,
    digest: &str,
) -> Result<Option<Claim>, Error> {
    earliest_in(&store.snapshot()?, environment, digest)
}

fn earliest_in(
    snapshot: &Snapshot,
    environment: &str,
    digest: &str,
) -> Result<Option<Claim>, Error> {
    let dir = dir(environment, digest);
    let mut found: Vec<Claim> = Vec::new();
    for entry in snapshot.list(&dir)? {
        if entry.is_dir || !entry.name.ends_with(".json") {
            continue;
        }
        if let Some(c) = snapshot.read_json::<Claim>(&format!("{dir}/{}", entry.name))? {
            found.push(c);
        }
    }
    found.sort_by(|a, b| a.claimed_at.cmp(&b.claimed_at));
    Ok(found.into_iter().next())
}

/// `claim` as the remote holds it now, fetched again (another job's claim gains its dispatch
/// record after this process first read it).
pub fn reread(store: &StateStore, claim: &Claim) -> Result<Option<Claim>, Error> {
    store.refreshed()?.read_json::<Claim>(&path(claim))
}

/// Claims `claim.key` with its `rollback.start` record, unless it is taken.
///
/// A claim must be seen by every other job to stop a second rollback, so one that cannot be
/// pushed fails (exit 3, naming the permission), whatever `state.durable` says.
pub fn claim(store: &StateStore, claim: &Claim, start: &AuditRecord) -> Result<Claimed, Error> {
    let path = path(claim);
    let record_path = record_path(start)?;
    store
        .transact(|snapshot| {
            if let Some(existing) = snapshot.read_json::<Claim>(&path)? {
                return Ok(Step::Done(Claimed::Existing(Box::new(existing))));
            }
            let change = Change::new(RecordKind::Rollback, format!("claim {}", claim.key))
                .json(path.clone(), claim)?
                .json(record_path.clone(), start)?;
            Ok(Step::Write(change, Claimed::New))
        })
        .map_err(|e| durable(store, e, "nothing was dispatched"))
}

/// Writes the claim's new content (what was dispatched, how it ended) with its audit record.
/// An outcome already recorded (by another job following the same run) is kept.
pub fn update(store: &StateStore, claim: &Claim, record: &AuditRecord) -> Result<Claim, Error> {
    let path = path(claim);
    let record_path = record_path(record)?;
    store
        .transact(|snapshot| {
            let existing = snapshot.read_json::<Claim>(&path)?;
            if let Some(e) = &existing
                && e.ended.is_some()
                && claim.ended.is_some()
            {
                return Ok(Step::Done(e.clone()));
            }
            let change = Change::new(RecordKind::Rollback, format!("rollback {}", claim.key))
                .json(path.clone(), claim)?
                .json(record_path.clone(), record)?;
            Ok(Step::Write(change, claim.clone()))
        })
        .map_err(|e| durable(store, e, "the rollback went on"))
}

fn record_path(record: &AuditRecord) -> Result<String, Error> {
    Ok(audit_path(record, record.when, &mut Jitter::new()))
}

/// A rollback record that did not reach the remote is an error even where `state.durable`
/// would let it go: a claim nobody else sees cannot stop a second rollback.
fn durable(store: &StateStore, e: Error, then: &str) -> Error {
    match e {
        Error::NotRecorded { what, why } => Error::State {
            kind: StateErrorKind::NotPushed,
            message: format!("could not record `{what}` ({why}); {then}; {}", store.fix()),
        },
        Error::State { kind, message } => Error::State {
            kind,
            message: format!("{message} ({then})"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
