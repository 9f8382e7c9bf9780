//! Checking that a dispatch would be accepted, without sending it (rollback drills).
//!
//! Only GETs: the project (`GET /projects/:id`: the token's access level, when GitLab shows
//! it), then for `job:<id>` the job (`GET …/jobs/:id`: it exists, can be played or retried,
//! ran on the ref asked for, and its artifacts), else the ref (`GET …/repository/branches/:ref`,
//! then `…/tags/:ref`; a protected branch needs more than Developer access unless developers
//! may push or merge to it).

use serde::Deserialize;

use super::client::enc;
use super::{GitLab, required};
use crate::types::{DispatchCheck, DispatchSpec, JOB_PREFIX, REPOSITORY_DISPATCH_PREFIX};
use relman_core::error::Result;

/// GitLab's Developer access level: the least that creates pipelines and plays jobs.
const DEVELOPER: u64 = 30;
/// Maintainer: may run pipelines on any protected branch.
const MAINTAINER: u64 = 40;

#[derive(Debug, Deserialize)]
struct GlProject {
    #[serde(default)]
    permissions: Option<GlPermissions>,
}

#[derive(Debug, Deserialize)]
struct GlPermissions {
    #[serde(default)]
    project_access: Option<GlAccess>,
    #[serde(default)]
    group_access: Option<GlAccess>,
}

#[derive(Debug, Deserialize)]
struct GlAccess {
    /// A number on GitLab; anything else is read as "not shown" (unverified, never granted).
    #[serde(default)]
    access_level: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct GlBranch {
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    developers_can_push: bool,
    #[serde(default)]
    developers_can_merge: bool,
}

impl GitLab {
    pub(super) fn check_dispatch(&self, spec: &DispatchSpec) -> Result<DispatchCheck> {
        let mut check = DispatchCheck::default();
        for (what, value) in [
            ("workflow", &spec.workflow),
            ("ref", &spec.git_ref),
            ("idempotency_key", &spec.idempotency_key),
        ] {
            if let Err(e) = required(what, value) {
                check.problems.push(e.to_string());
            }
        }
        if spec.workflow.starts_with(REPOSITORY_DISPATCH_PREFIX) {
            check
                .problems
                .push(super::pipelines::repository_dispatch_is_github(
                    &spec.workflow,
                ));
        }
        if !check.problems.is_empty() {
            return Ok(check);
        }
        let level = self.access_level(&mut check)?;
        match spec.workflow.strip_prefix(JOB_PREFIX) {
            Some(job) => match job.trim().parse::<u64>() {
                Ok(job) => self.check_job(job, spec, &mut check)?,
                Err(_) => check.problems.push(format!(
                    "workflow `{}`: expected `job:<job id>`",
                    spec.workflow
                )),
            },
            None => self.check_ref(&spec.git_ref, level, &mut check)?,
        }
        Ok(check)
    }

    /// The token's access level to the project, noted in `check`; `None` when GitLab does
    /// not show it (a job token).
    fn access_level(&self, check: &mut DispatchCheck) -> Result<Option<u64>> {
        let Some(project) = self.http.get_opt::<GlProject>(&self.project_path(""))? else {
            check.problems.push(format!(
                "project {} not found (or the token cannot see it)",
                self.project
            ));
            return Ok(None);
        };
        let level = project.permissions.and_then(|p| {
            let levels = [p.project_access, p.group_access];
            levels
                .into_iter()
                .flatten()
                .filter_map(|a| a.access_level.as_u64())
                .max()
        });
        match level {
            Some(l) if l >= DEVELOPER => check.checked.push(format!(
                "the token has access level {l} to {} (Developer or more: may run pipelines \
                 and play or retry jobs)",
                self.project
            )),
            Some(l) => check.problems.push(format!(
                "the token has access level {l} to {}: running pipelines and jobs needs \
                 Developer (30) or more",
                self.project
            )),
            None => check.unverified.push(format!(
                "the token's access level to {}: GitLab shows none for it (a job token); \
                 running pipelines needs Developer (30) or more",
                self.project
            )),
        }
        Ok(level)
    }

    fn check_ref(
        &self,
        git_ref: &str,
        level: Option<u64>,
        check: &mut DispatchCheck,
    ) -> Result<()> {
        let branch = self.http.get_opt::<GlBranch>(
            &self.project_path(&format!("/repository/branches/{}", enc(git_ref))),
        )?;
        let Some(branch) = branch else {
            let tag = self.http.get_opt::<serde_json::Value>(
                &self.project_path(&format!("/repository/tags/{}", enc(git_ref))),
            )?;
            match tag {
                Some(_) => check.checked.push(format!("the tag `{git_ref}` exists")),
                None => check.problems.push(format!(
                    "`{git_ref}` is neither a branch nor a tag of {}",
                    self.project
                )),
            }
            return Ok(());
        };
        check.checked.push(format!("the branch `{git_ref}` exists"));
        if !branch.protected || branch.developers_can_push || branch.developers_can_merge {
            return Ok(());
        }
        match level {
            Some(l) if l >= MAINTAINER => check.checked.push(format!(
                "`{git_ref}` is protected; the token's access level {l} may run pipelines on it"
            )),
            Some(l) => check.problems.push(format!(
                "`{git_ref}` is protected and developers may neither push nor merge to it: \
                 access level {l} cannot run a pipeline on it"
            )),
            None => check.unverified.push(format!(
                "`{git_ref}` is protected: whether the token may run a pipeline on it"
            )),
        }
        Ok(())
    }

    fn check_job(&self, id: u64, spec: &DispatchSpec, check: &mut DispatchCheck) -> Result<()> {
        let Some(job) = self
            .http
            .get_opt::<super::jobs::GlJob>(&self.project_path(&format!("/jobs/{id}")))?
        else {
            check
                .problems
                .push(format!("job {id} not found in {}", self.project));
            return Ok(());
        };
        let finished = matches!(job.status.as_str(), "success" | "failed" | "canceled");
        if job.is_manual() && job.status == "manual" {
            check.checked.push(format!(
                "job {id} (`{}`) is manual: it would be played{}",
                job.name,
                if spec.inputs.is_empty() {
                    String::new()
                } else {
                    format!(" with {} variable(s)", spec.inputs.len())
                }
            ));
        } else if finished && !spec.inputs.is_empty() {
            check.problems.push(format!(
                "job {id} (`{}`) is {}: a retry runs with its own variables, not the {} given \
                 (dispatch a pipeline instead)",
                job.name,
                job.status,
                spec.inputs.len()
            ));
        } else if finished {
            check.checked.push(format!(
                "job {id} (`{}`) is {}: it would be retried",
                job.name, job.status
            ));
        } else {
            check.problems.push(format!(
                "job {id} (`{}`) is {}: it can be neither played nor retried now",
                job.name, job.status
            ));
        }
        match job.git_ref.as_deref() {
            Some(r) if r == spec.git_ref => {
                check.checked.push(format!("job {id} ran on `{r}`"));
            }
            Some(r) => check.problems.push(format!(
                "job {id} ran on `{r}`, not `{}`: a replay runs on `{r}`",
                spec.git_ref
            )),
            None => check
                .unverified
                .push(format!("the ref job {id} ran on (GitLab did not say)")),
        }
        let deploy = job.to_deploy_job(jiff::Timestamp::now());
        match (&deploy.artifacts_expire_at, deploy.artifacts_available) {
            (Some(at), true) => check
                .checked
                .push(format!("job {id}'s artifacts are kept until {at}")),
            (None, true) => check
                .checked
                .push(format!("job {id}'s artifacts do not expire")),
            (Some(at), false) => check.problems.push(format!(
                "job {id}'s artifacts expired at {at} (or cannot be read): a replay would run \
                 without them; dispatch a pipeline on the ref instead"
            )),
            (None, false) => check.unverified.push(format!(
                "job {id} keeps no artifacts of its own: whether those of the jobs it needs \
                 still exist"
            )),
        }
        Ok(())
    }
}
