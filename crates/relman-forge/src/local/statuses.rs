//! Commit statuses of the local backend: `statuses/<sha>/<context>.json`, so that an offline
//! gate keeps its verdict where a forge would show it.

use serde::{Deserialize, Serialize};

use super::required;
use crate::types::{CommitState, CommitStatusSpec, Outcome, now_second};
use relman_core::config::RecordKind;
use relman_core::error::Result;
use relman_core::state::{Change, StateStore, Step, file_name};

/// A status as kept on the branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredStatus {
    pub sha: String,
    pub context: String,
    pub state: CommitState,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: Option<String>,
    /// The last change.
    pub updated_at: jiff::Timestamp,
}

pub(super) fn path(sha: &str, context: &str) -> String {
    format!("statuses/{}/{}.json", file_name(sha), file_name(context))
}

pub(super) fn record(state: &StateStore, spec: &CommitStatusSpec) -> Result<Outcome> {
    required("sha", &spec.sha)?;
    required("context", &spec.context)?;
    let path = path(&spec.sha, &spec.context);
    let now = now_second();
    state.transact(|snapshot| {
        let outcome = match snapshot.read_json::<StoredStatus>(&path)? {
            // Same rule as the forges: state and description make a status, the link does not.
            Some(s) if s.state == spec.state && s.description == spec.description => {
                return Ok(Step::Done(Outcome::Unchanged));
            }
            Some(_) => Outcome::Updated,
            None => Outcome::Created,
        };
        let stored = StoredStatus {
            sha: spec.sha.clone(),
            context: spec.context.clone(),
            state: spec.state,
            description: spec.description.clone(),
            target_url: spec.target_url.clone(),
            updated_at: now,
        };
        let change = Change::new(
            RecordKind::Status,
            format!("status {} on {}", spec.context, spec.sha),
        )
        .json(path.clone(), &stored)?;
        Ok(Step::Write(change, outcome))
    })
}
