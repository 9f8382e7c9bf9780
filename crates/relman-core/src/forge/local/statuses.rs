//! Commit statuses in the local store: `.relman/statuses.json`, one object keyed by
//! `<sha>/<context>`, so that an offline gate keeps its verdict where a forge would show it.
//! One file rather than one per status: there are few (one per gated commit), and a person
//! reads them all at once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{LocalStore, read_json, required, write_json};
use crate::error::Result;
use crate::forge::types::{CommitState, CommitStatusSpec, Outcome, now_rfc3339};

/// A status as kept in `statuses.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredStatus {
    pub sha: String,
    pub context: String,
    pub state: CommitState,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: Option<String>,
    /// RFC 3339 UTC of the last change.
    pub updated_at: String,
}

impl LocalStore {
    pub(super) fn statuses_path(&self) -> PathBuf {
        self.dir.join("statuses.json")
    }

    pub(super) fn record_status(&self, spec: &CommitStatusSpec) -> Result<Outcome> {
        required("sha", &spec.sha)?;
        required("context", &spec.context)?;
        let _lock = self.write_lock()?;
        let path = self.statuses_path();
        let mut all: BTreeMap<String, StoredStatus> = read_json(&path)?.unwrap_or_default();
        let key = format!("{}/{}", spec.sha, spec.context);
        let outcome = match all.get(&key) {
            // Same rule as the forges: state and description make a status, the link does not.
            Some(s) if s.state == spec.state && s.description == spec.description => {
                return Ok(Outcome::Unchanged);
            }
            Some(_) => Outcome::Updated,
            None => Outcome::Created,
        };
        all.insert(
            key,
            StoredStatus {
                sha: spec.sha.clone(),
                context: spec.context.clone(),
                state: spec.state,
                description: spec.description.clone(),
                target_url: spec.target_url.clone(),
                updated_at: now_rfc3339(),
            },
        );
        write_json(&path, &all)?;
        Ok(outcome)
    }
}
