//! GitLab's idempotency keys on the state branch.
//!
//! A GitLab deployment holds no free-form data, and a retried job (`job:<id>` dispatch) none
//! that relman sets, so their idempotency keys cannot travel with them. A hosted runner's
//! process (and memory) ends with the job, so a retried job or another job would not know a
//! key was already used: the key is kept on the state branch, written once and never changed,
//! next to the local backend's `keys/…`, and shared through the remote like every record:
//!
//! - `keys/gitlab/<project>/deployment/<key>.json`: the deployment id and what it was made for;
//! - `keys/gitlab/<project>/job-retry/<key>.json`: the dispatch record of the retry.
//!
//! The project is part of the path because one repository may deploy through more than one
//! GitLab project (a mirror) and GitLab ids are per project or instance. Without a state store
//! attached (a library user) keys live in the process's memory only.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::GitLab;
use super::deployments_claim::Binding;
use crate::DispatchRecord;
use relman_core::config::RecordKind;
use relman_core::error::{Error, Result};
use relman_core::state::{Change, Step, file_name};

/// What a deployment key file holds: the deployment it names and what it was made for, so
/// that a person reading the branch sees the binding without asking GitLab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct KeyRecord {
    pub id: u64,
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

/// Who holds a key after binding it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Bound<T> {
    /// The key names what was given.
    Ours,
    /// Another job bound the key first, to this.
    Theirs(T),
}

impl GitLab {
    pub(super) fn key_path(&self, kind: &str, key: &str) -> String {
        format!(
            "keys/gitlab/{}/{kind}/{}.json",
            file_name(&self.project),
            file_name(key)
        )
    }

    /// What `key` of `kind` is bound to on the state branch, if a store is attached.
    fn read_key<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Result<Option<T>> {
        match &self.audit {
            Some(store) => store.snapshot()?.read_json(&self.key_path(kind, key)),
            None => Ok(None),
        }
    }

    /// Binds `key` of `kind` to `value` on the state branch (a compare-and-swap: of two jobs
    /// binding one key at once, the first to publish keeps it). Without a store: `Ours`.
    fn bind<T>(&self, kind: &str, key: &str, value: &T, record: RecordKind) -> Result<Bound<T>>
    where
        T: Serialize + DeserializeOwned + PartialEq,
    {
        let Some(store) = &self.audit else {
            return Ok(Bound::Ours);
        };
        let path = self.key_path(kind, key);
        store.transact(|snapshot| {
            if let Some(existing) = snapshot.read_json::<T>(&path)? {
                return Ok(Step::Done(if existing == *value {
                    Bound::Ours
                } else {
                    Bound::Theirs(existing)
                }));
            }
            let change =
                Change::new(record, format!("gitlab {kind} key")).json(path.clone(), value)?;
            Ok(Step::Write(change, Bound::Ours))
        })
    }

    pub(super) fn remember_deployment(&self, key: &str, id: u64) {
        self.deployment_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), id);
    }

    /// The deployment id `key` names, from this process's memory or the state branch.
    pub(super) fn known_key(&self, key: &str) -> Result<Option<u64>> {
        let remembered = remembered(&self.deployment_keys, key);
        if remembered.is_some() {
            return Ok(remembered);
        }
        let id = self.read_key::<KeyRecord>("deployment", key)?.map(|r| r.id);
        if let Some(id) = id {
            self.remember_deployment(key, id);
        }
        Ok(id)
    }

    /// Binds `key` to the deployment `record.id` (with the deployment's id file: which key
    /// owns it). The key file is a deployment record: one that cannot be pushed fails the
    /// command (exit 3) unless `state.durable` says otherwise.
    pub(super) fn bind_key(&self, key: &str, record: &KeyRecord) -> Result<Bound<u64>> {
        match self.bind_first_free(key, std::slice::from_ref(record))? {
            Binding::Bound(_) => Ok(Bound::Ours),
            Binding::Taken(id) => Ok(Bound::Theirs(id)),
            Binding::NoneFree => Err(Error::Conflict {
                backend: "gitlab".into(),
                message: format!(
                    "deployment {} is already bound to another idempotency key than `{key}` \
                     on the state branch",
                    record.id
                ),
            }),
        }
    }

    /// The retry `key` made, from this process's memory or the state branch.
    pub(super) fn known_retry(&self, key: &str) -> Result<Option<DispatchRecord>> {
        let remembered = remembered(&self.job_retries, key);
        if remembered.is_some() {
            return Ok(remembered);
        }
        self.read_key("job-retry", key)
    }

    /// Records the retry `key` made. Kept in memory whatever happens; on the state branch
    /// when it can be pushed (a dispatch record need not be durable: `state.durable`).
    pub(super) fn bind_retry(&self, key: &str, record: &DispatchRecord) -> Result<()> {
        self.job_retries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), record.clone());
        match self.bind("job-retry", key, record, RecordKind::Dispatch) {
            Ok(Bound::Ours) => Ok(()),
            Ok(Bound::Theirs(other)) => {
                // Another job retried for this key at the same moment and recorded first.
                tracing::warn!(
                    "gitlab: idempotency key of job retry {} already names job {}",
                    record.id,
                    other.id
                );
                Ok(())
            }
            Err(Error::NotRecorded { why, .. }) => {
                tracing::warn!("gitlab: the job retry's key was not recorded: {why}");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// What this process remembers of `key`.
fn remembered<V: Clone>(map: &Mutex<HashMap<String, V>>, key: &str) -> Option<V> {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .cloned()
}
