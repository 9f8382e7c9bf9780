//! Following a dispatched workflow run.
//!
//! GitHub's dispatch endpoints answer `204` without the run they start, so a run is found by
//! its idempotency key: the workflow shows it in its run name
//! (`run-name: "deploy ${{ inputs.relman_key }}"`, or
//! `${{ github.event.client_payload.relman_key }}` for `repository_dispatch`), and the recent
//! runs of that workflow (`workflow_dispatch`) or of the repository (`repository_dispatch`
//! runs are not tied to a workflow file in the request) are searched for it. Once the run id is
//! known, the run is read directly: `GET /repos/{o}/{r}/actions/runs/{id}`.

use serde::Deserialize;

use super::{GitHub, encode};
use crate::types::{DispatchRecord, REPOSITORY_DISPATCH_PREFIX, RunState, RunStatus};
use relman_core::error::{Error, Result};

/// A workflow run as listed or read (the fields relman uses).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct WorkflowRun {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub created_at: Option<jiff::Timestamp>,
}

impl WorkflowRun {
    /// Whether the run's title or name carries `key` as a whole word (`rollback:1` is not
    /// found in `rollback:10`).
    fn carries(&self, key: &str) -> bool {
        [&self.display_title, &self.name]
            .into_iter()
            .flatten()
            .any(|title| carries_key(title, key))
    }

    pub(super) fn status(&self) -> RunStatus {
        let (state, detail) = state_of(self.status.as_deref(), self.conclusion.as_deref());
        RunStatus {
            state,
            id: Some(self.id),
            url: self.html_url.clone(),
            detail,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RunList {
    workflow_runs: Vec<WorkflowRun>,
}

/// `key` in `title`, bounded by characters that cannot be part of a key.
pub(super) fn carries_key(title: &str, key: &str) -> bool {
    if key.is_empty() {
        return false;
    }
    let part = |c: char| c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.' | '/' | '+');
    title.match_indices(key).any(|(at, _)| {
        let before = title[..at].chars().next_back();
        let after = title[at + key.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// GitHub's status and conclusion → the run state. Only `completed` + `success` succeeds;
/// anything relman does not know fails (fail closed).
pub(super) fn state_of(status: Option<&str>, conclusion: Option<&str>) -> (RunState, String) {
    let state = match (status, conclusion) {
        (Some("completed"), Some("success")) => RunState::Succeeded,
        (Some("completed"), Some("cancelled" | "skipped")) => RunState::Cancelled,
        // failure, timed_out, action_required, neutral, stale, startup_failure, none, new ones
        (Some("completed"), _) => RunState::Failed,
        (Some("queued" | "requested" | "waiting" | "pending"), _) => RunState::Pending,
        (Some("in_progress"), _) => RunState::Running,
        _ => RunState::Failed,
    };
    let detail = match (status, conclusion) {
        (Some(s), Some(c)) => format!("{s}/{c}"),
        (Some(s), None) => s.to_string(),
        (None, _) => "no status in GitHub's answer".to_string(),
    };
    (state, detail)
}

/// The recent run dispatched for `key` to `workflow` (a workflow file, or
/// `repository_dispatch:<event_type>`), if GitHub lists it yet. One request.
pub(super) fn find_run(gh: &GitHub, workflow: &str, key: &str) -> Result<Option<WorkflowRun>> {
    let (url, what) = match workflow.strip_prefix(REPOSITORY_DISPATCH_PREFIX) {
        Some(_) => (
            gh.repo_url("/actions/runs?event=repository_dispatch&per_page=100"),
            format!("repository {}/{}", gh.owner, gh.repo),
        ),
        None => (
            gh.repo_url(&format!(
                "/actions/workflows/{}/runs?event=workflow_dispatch&per_page=100",
                encode(workflow)
            )),
            format!("workflow `{workflow}`"),
        ),
    };
    let Some(list) = gh.client.get_json::<RunList>(&url)? else {
        return Err(Error::NotFound {
            backend: "github".into(),
            what,
        });
    };
    Ok(list.workflow_runs.into_iter().find(|run| run.carries(key)))
}

/// [`crate::Forge::run_status`] on GitHub.
pub(super) fn run_status(gh: &GitHub, record: &DispatchRecord) -> Result<RunStatus> {
    if record.id != 0 {
        let url = gh.repo_url(&format!("/actions/runs/{}", record.id));
        return match gh.client.get_json::<WorkflowRun>(&url)? {
            Some(run) => Ok(run.status()),
            None => Err(Error::NotFound {
                backend: "github".into(),
                what: format!("workflow run {}", record.id),
            }),
        };
    }
    Ok(
        match find_run(gh, &record.workflow, &record.idempotency_key)? {
            Some(run) => run.status(),
            None => RunStatus {
                state: RunState::Pending,
                id: None,
                url: None,
                detail: format!(
                    "no recent run of `{}` carries the key yet (GitHub lists a run seconds after \
                     the dispatch; the workflow's run-name must show `relman_key`)",
                    record.workflow
                ),
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_completed_success_succeeds() {
        let cases = [
            (Some("completed"), Some("success"), RunState::Succeeded),
            (Some("completed"), Some("failure"), RunState::Failed),
            (Some("completed"), Some("timed_out"), RunState::Failed),
            (Some("completed"), Some("action_required"), RunState::Failed),
            (Some("completed"), Some("neutral"), RunState::Failed),
            (Some("completed"), Some("startup_failure"), RunState::Failed),
            (Some("completed"), Some("a-new-one"), RunState::Failed),
            (Some("completed"), None, RunState::Failed),
            (Some("completed"), Some("cancelled"), RunState::Cancelled),
            (Some("completed"), Some("skipped"), RunState::Cancelled),
            (Some("queued"), None, RunState::Pending),
            (Some("waiting"), None, RunState::Pending),
            (Some("requested"), None, RunState::Pending),
            (Some("pending"), None, RunState::Pending),
            (Some("in_progress"), None, RunState::Running),
            (Some("a-new-status"), None, RunState::Failed),
            (None, Some("success"), RunState::Failed),
        ];
        for (status, conclusion, want) in cases {
            assert_eq!(
                state_of(status, conclusion).0,
                want,
                "{status:?}/{conclusion:?}"
            );
        }
        assert_eq!(
            state_of(Some("completed"), Some("timed_out")).1,
            "completed/timed_out"
        );
    }

    #[test]
    fn a_key_is_found_only_as_a_whole_word() {
        assert!(carries_key("deploy rollback:prod:1", "rollback:prod:1"));
        assert!(carries_key("rollback:prod:1", "rollback:prod:1"));
        assert!(carries_key("deploy (rollback:prod:1)", "rollback:prod:1"));
        assert!(!carries_key("deploy rollback:prod:10", "rollback:prod:1"));
        assert!(!carries_key("deploy xrollback:prod:1", "rollback:prod:1"));
        assert!(!carries_key("deploy", ""));
    }
}
