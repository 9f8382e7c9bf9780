//! Following pipelines and jobs, and the job behind a deployment.
//!
//! - `GET /projects/:id/pipelines/:pipeline_id` and `GET /projects/:id/jobs/:job_id`: where a
//!   dispatched pipeline, or a played / retried job (`job:<id>`), is.
//! - `GET /projects/:id/deployments/:deployment_id`: its `deployable` is the job that made it,
//!   what a rollback replays while its artifacts last. When the deployment's answer lacks the
//!   job's artifacts, the job itself is read.

use serde::Deserialize;

use super::GitLab;
use crate::types::{DeployJob, Deployment, DispatchRecord, JOB_PREFIX, RunState, RunStatus};
use relman_core::error::{Error, Result};

/// A job, as the jobs API and a deployment's `deployable` show it (the fields relman uses).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct GlJob {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub created_at: Option<jiff::Timestamp>,
    #[serde(rename = "ref", default)]
    pub git_ref: Option<String>,
    /// `when: manual` jobs say so here in some answers; their status is `manual` until played.
    #[serde(default)]
    pub when: Option<String>,
    /// `None` when the answer does not carry the field (then the job is read again).
    #[serde(default)]
    pub artifacts: Option<Vec<GlArtifact>>,
    #[serde(default, deserialize_with = "crate::time::optional")]
    pub artifacts_expire_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct GlArtifact {
    #[serde(default)]
    pub file_type: String,
}

#[derive(Debug, Deserialize)]
struct GlPipelineStatus {
    id: u64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlDeploymentJob {
    #[serde(default)]
    deployable: Option<GlJob>,
}

/// A pipeline's or job's status → the run state. Only `success` succeeds; a status relman does
/// not know fails (fail closed).
pub(super) fn state_of(status: &str) -> RunState {
    match status {
        "created"
        | "waiting_for_resource"
        | "preparing"
        | "pending"
        | "scheduled"
        | "waiting_for_callback"
        | "manual" => RunState::Pending,
        "running" => RunState::Running,
        "success" => RunState::Succeeded,
        "canceled" | "canceling" | "skipped" => RunState::Cancelled,
        _ => RunState::Failed, // failed, and anything new
    }
}

impl GlJob {
    /// Waiting to be played (`when: manual`): replayed with play, not retry.
    pub(super) fn is_manual(&self) -> bool {
        self.status == "manual" || self.when.as_deref() == Some("manual")
    }

    /// Artifacts a replay can use: any but the job log (`trace`), not expired at `now`.
    fn artifacts_available(&self, now: jiff::Timestamp) -> bool {
        let has = self
            .artifacts
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|a| a.file_type != "trace");
        // An expiry that does not read failed the answer already (a malformed answer).
        let live = self.artifacts_expire_at.is_none_or(|at| at > now);
        has && live
    }

    pub(super) fn to_deploy_job(&self, now: jiff::Timestamp) -> DeployJob {
        DeployJob {
            id: self.id,
            name: self.name.clone(),
            status: self.status.clone(),
            manual: self.is_manual(),
            artifacts_available: self.artifacts_available(now),
            artifacts_expire_at: self.artifacts_expire_at,
            url: self.web_url.clone(),
        }
    }
}

impl GitLab {
    /// The job `id`; [`Error::NotFound`] when GitLab has none.
    pub(super) fn job(&self, id: u64) -> Result<GlJob> {
        self.http
            .get_opt(&self.project_path(&format!("/jobs/{id}")))?
            .ok_or_else(|| Error::NotFound {
                backend: "gitlab".into(),
                what: format!("job {id}"),
            })
    }

    /// [`crate::Forge::run_status`]: the job of a `job:<id>` dispatch (the played or retried
    /// one), else the pipeline. One request.
    pub(super) fn follow(&self, record: &DispatchRecord) -> Result<RunStatus> {
        if record.id == 0 {
            return Err(Error::Usage(format!(
                "gitlab: the dispatch of `{}` names no pipeline or job to follow",
                record.workflow
            )));
        }
        if record.workflow.starts_with(JOB_PREFIX) {
            let job = self.job(record.id)?;
            return Ok(RunStatus {
                state: state_of(&job.status),
                id: Some(job.id),
                url: job.web_url,
                detail: format!("job {}", job.status),
            });
        }
        let pipeline: GlPipelineStatus = self
            .http
            .get_opt(&self.project_path(&format!("/pipelines/{}", record.id)))?
            .ok_or_else(|| Error::NotFound {
                backend: "gitlab".into(),
                what: format!("pipeline {}", record.id),
            })?;
        Ok(RunStatus {
            state: state_of(&pipeline.status),
            id: Some(pipeline.id),
            url: pipeline.web_url,
            detail: format!("pipeline {}", pipeline.status),
        })
    }

    /// [`crate::Forge::deploy_job`]: the deployment's `deployable`, completed from the job
    /// when the deployment's answer lacks its artifacts. One or two requests.
    pub(super) fn deployment_job(&self, deployment: &Deployment) -> Result<Option<DeployJob>> {
        let answer: GlDeploymentJob = self
            .http
            .get_opt(&self.project_path(&format!("/deployments/{}", deployment.id)))?
            .ok_or_else(|| Error::NotFound {
                backend: "gitlab".into(),
                what: format!("deployment {}", deployment.id),
            })?;
        let Some(mut job) = answer.deployable else {
            return Ok(None);
        };
        if job.artifacts.is_none() {
            job = self.job(job.id)?;
        }
        Ok(Some(job.to_deploy_job(jiff::Timestamp::now())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(artifacts: Option<&[&str]>, expire: Option<&str>) -> GlJob {
        GlJob {
            id: 1,
            name: "deploy".into(),
            status: "success".into(),
            web_url: None,
            created_at: None,
            git_ref: None,
            when: None,
            artifacts: artifacts.map(|a| {
                a.iter()
                    .map(|t| GlArtifact {
                        file_type: t.to_string(),
                    })
                    .collect()
            }),
            artifacts_expire_at: expire.map(|t| crate::time::parse(t).expect("time")),
        }
    }

    #[test]
    fn artifacts_count_until_they_expire_and_the_log_is_not_one() {
        let now: jiff::Timestamp = "2026-01-10T00:00:00Z".parse().expect("time");
        assert!(job(Some(&["archive", "trace"]), None).artifacts_available(now));
        assert!(job(Some(&["archive"]), Some("2026-01-11T00:00:00.000Z")).artifacts_available(now));
        assert!(
            !job(Some(&["archive"]), Some("2026-01-09T00:00:00.000Z")).artifacts_available(now)
        );
        assert!(!job(Some(&["trace"]), None).artifacts_available(now));
        assert!(!job(Some(&[]), None).artifacts_available(now));
        assert!(!job(None, None).artifacts_available(now));
    }

    #[test]
    fn only_success_succeeds() {
        for (status, want) in [
            ("success", RunState::Succeeded),
            ("failed", RunState::Failed),
            ("a-new-status", RunState::Failed),
            ("", RunState::Failed),
            ("running", RunState::Running),
            ("pending", RunState::Pending),
            ("created", RunState::Pending),
            ("manual", RunState::Pending),
            ("waiting_for_resource", RunState::Pending),
            ("canceled", RunState::Cancelled),
            ("skipped", RunState::Cancelled),
        ] {
            assert_eq!(state_of(status), want, "{status}");
        }
    }
}
