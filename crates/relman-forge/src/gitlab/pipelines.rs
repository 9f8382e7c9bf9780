//! Dispatch: create a pipeline with variables (`POST /projects/:id/pipeline`), or replay a job
//! when the workflow is `job:<id>`: play it when it is manual (`POST …/jobs/:job_id/play`,
//! the same job starts, with the spec's inputs as its `job_variables_attributes`), else retry
//! it (`POST …/jobs/:job_id/retry`, a new job with the old one's variables: GitLab's retry
//! takes none, so a retry with inputs is refused rather than run without them). Which one is
//! decided by reading the job first (`GET …/jobs/:job_id`).
//!
//! Idempotency of pipelines: the key travels as the variable `RELMAN_IDEMPOTENCY_KEY`. Before
//! creating, the newest [`LOOKBACK`] pipelines of the ref are searched for it
//! (`GET …/pipelines/:id/variables`, one request each): bounded, so a key older than that
//! window is not found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::client::{Made, enc};
use super::{GitLab, required};
use crate::claim::{self, Claimed};
use crate::{DispatchRecord, DispatchSpec, REPOSITORY_DISPATCH_PREFIX, Upserted};
use relman_core::error::{Error, Result};

/// How many recent pipelines of a ref are searched for an idempotency key.
pub(super) const LOOKBACK: usize = 20;
pub(super) const KEY_VARIABLE: &str = relman_core::vars::IDEMPOTENCY_KEY;
pub(super) const WORKFLOW_VARIABLE: &str = relman_core::vars::WORKFLOW;

#[derive(Debug, Deserialize)]
struct GlPipeline {
    id: u64,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default, deserialize_with = "crate::time::optional")]
    created_at: Option<jiff::Timestamp>,
}

/// The body of a play: the variables the job runs with (GitLab's `job_variables_attributes`).
#[derive(Debug, Serialize)]
struct PlayBody<'a> {
    job_variables_attributes: Vec<PlayVariable<'a>>,
}

#[derive(Debug, Serialize)]
struct PlayVariable<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Debug, Serialize, Deserialize)]
struct GlVariable {
    key: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default = "env_var")]
    variable_type: String,
}

fn env_var() -> String {
    "env_var".into()
}

#[derive(Debug, Serialize)]
struct CreatePipeline<'a> {
    #[serde(rename = "ref")]
    git_ref: &'a str,
    variables: Vec<GlVariable>,
}

impl GitLab {
    pub(super) fn run_dispatch(&self, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        required("workflow", &spec.workflow)?;
        required("ref", &spec.git_ref)?;
        required("idempotency_key", &spec.idempotency_key)?;
        // Without this, the name would only label an ordinary pipeline on the ref: a GitHub
        // event dispatched to GitLab would run the wrong thing, silently.
        if spec.workflow.starts_with(REPOSITORY_DISPATCH_PREFIX) {
            return Err(Error::Usage(repository_dispatch_is_github(&spec.workflow)));
        }
        if let Some(job) = spec.workflow.strip_prefix("job:") {
            let job: u64 = job.trim().parse().map_err(|_| {
                Error::Usage(format!(
                    "gitlab: workflow `{}`: expected `job:<job id>`",
                    spec.workflow
                ))
            })?;
            return self.retry_job(job, spec);
        }

        let record = |p: GlPipeline| DispatchRecord::of(spec, p.id, p.created_at, p.web_url);
        if let Some(existing) = self.pipeline_with_key(spec)? {
            return Ok(Upserted::unchanged(record(existing)));
        }
        let mut variables: Vec<GlVariable> = spec
            .inputs
            .iter()
            .map(|(k, v)| GlVariable {
                key: k.clone(),
                value: Some(v.clone()),
                variable_type: env_var(),
            })
            .collect();
        variables.push(GlVariable {
            key: KEY_VARIABLE.into(),
            value: Some(spec.idempotency_key.clone()),
            variable_type: env_var(),
        });
        variables.push(GlVariable {
            key: WORKFLOW_VARIABLE.into(),
            value: Some(spec.workflow.clone()),
            variable_type: env_var(),
        });
        let body = CreatePipeline {
            git_ref: &spec.git_ref,
            variables,
        };
        let made =
            self.http
                .create::<GlPipeline>(&self.project_path("/pipeline"), &body, &|| {
                    self.pipeline_with_key(spec)
                })?;
        let (Made::Created(p) | Made::Found(p)) = made;
        Ok(Upserted::created(record(p)))
    }

    /// The recent pipeline of `spec.git_ref` carrying `spec.idempotency_key`, if any; a
    /// [`Error::Conflict`] when it was made for other inputs or another workflow.
    fn pipeline_with_key(&self, spec: &DispatchSpec) -> Result<Option<GlPipeline>> {
        let path = self.project_path(&format!(
            "/pipelines?ref={}&order_by=id&sort=desc",
            enc(&spec.git_ref)
        ));
        let recent: Vec<GlPipeline> = self.http.list(&path, LOOKBACK)?;
        for pipeline in recent {
            let vars: Vec<GlVariable> = self
                .http
                .get(&self.project_path(&format!("/pipelines/{}/variables", pipeline.id)))?;
            let mut map: BTreeMap<String, String> = vars
                .into_iter()
                .map(|v| (v.key, v.value.unwrap_or_default()))
                .collect();
            if map.get(KEY_VARIABLE) != Some(&spec.idempotency_key) {
                continue;
            }
            map.remove(KEY_VARIABLE);
            let workflow = map.remove(WORKFLOW_VARIABLE).unwrap_or_default();
            if workflow != spec.workflow || map != spec.inputs {
                return Err(Error::Conflict {
                    backend: "gitlab".into(),
                    message: format!(
                        "idempotency key `{}` already names pipeline {} of `{workflow}` on {} \
                         with other variables",
                        spec.idempotency_key, pipeline.id, spec.git_ref
                    ),
                });
            }
            return Ok(Some(pipeline));
        }
        Ok(None)
    }

    fn retry_job(&self, job: u64, spec: &DispatchSpec) -> Result<Upserted<DispatchRecord>> {
        // Inputs are a played manual job's variables; `replay` refuses them for a retry.
        if let Some(done) = self.known_retry(&spec.idempotency_key)? {
            if done.workflow != spec.workflow || done.git_ref != spec.git_ref {
                return Err(Error::Conflict {
                    backend: "gitlab".into(),
                    message: format!(
                        "idempotency key `{}` already names a retry of `{}`",
                        spec.idempotency_key, done.workflow
                    ),
                });
            }
            return Ok(Upserted::unchanged(done));
        }
        // The key is claimed on the state branch before GitLab is asked: of two jobs
        // replaying one key at once, one replays and the other reports it.
        let path = claim::path("gitlab", &self.project, &spec.idempotency_key);
        let store = self.audit.as_deref();
        match claim::claim(store, "gitlab", &path, spec)? {
            Claimed::Recorded(record) => return Ok(Upserted::unchanged(record)),
            Claimed::InFlight(file) => {
                let looked = "GitLab keeps nothing on a job to find it by its key";
                return Err(claim::unfinished("gitlab", &path, spec, &file, looked));
            }
            Claimed::Ours(held) => {
                let store = store.expect("a claim is only held through a store");
                return match self.replay(job, spec) {
                    Ok(record) => {
                        held.record(store, &record)?;
                        self.bind_retry(&spec.idempotency_key, &record)?;
                        Ok(Upserted::created(record))
                    }
                    Err(e) => {
                        if claim::nothing_ran(&e) {
                            held.release(store);
                        }
                        Err(e)
                    }
                };
            }
            Claimed::Unshared => {}
        }
        let record = self.replay(job, spec)?;
        self.bind_retry(&spec.idempotency_key, &record)?;
        Ok(Upserted::created(record))
    }

    /// Plays job `job` when it is manual (`when: manual`: it starts where it stands, with the
    /// spec's inputs as variables), else retries it into a new job; the record names the job
    /// that runs and the variables it was given.
    fn replay(&self, job: u64, spec: &DispatchSpec) -> Result<DispatchRecord> {
        let manual = self.job(job)?.is_manual();
        if !manual && !spec.inputs.is_empty() {
            // A retry runs with the old job's variables; sending it without the configured
            // ones would roll back with other settings than asked.
            return Err(Error::Usage(format!(
                "job {job} is not manual (any more): GitLab retries it with its own variables, \
                 not the {} given; dispatch a pipeline with them instead",
                spec.inputs.len()
            )));
        }
        // No variables: no body, as before (`()` serialises to `null`, which is not sent).
        let body = (!spec.inputs.is_empty()).then(|| PlayBody {
            job_variables_attributes: spec
                .inputs
                .iter()
                .map(|(key, value)| PlayVariable { key, value })
                .collect(),
        });
        let made = if manual {
            self.http.create::<GlPipeline>(
                &self.project_path(&format!("/jobs/{job}/play")),
                &body,
                // A play that failed in transit may have started the job: it is no longer
                // waiting to be played.
                &|| {
                    let now = self.job(job)?;
                    Ok((!now.is_manual()).then_some(GlPipeline {
                        id: now.id,
                        web_url: now.web_url,
                        created_at: now.created_at,
                    }))
                },
            )?
        } else {
            self.http.create::<GlPipeline>(
                &self.project_path(&format!("/jobs/{job}/retry")),
                &(),
                &|| Ok(None),
            )?
        };
        let (Made::Created(new_job) | Made::Found(new_job)) = made;
        // A played job runs with the spec's inputs; a retried one has none (refused above).
        Ok(DispatchRecord {
            inputs: if manual {
                spec.inputs.clone()
            } else {
                BTreeMap::new()
            },
            ..DispatchRecord::of(spec, new_job.id, new_job.created_at, new_job.web_url)
        })
    }
}

/// Why a `repository_dispatch:` workflow is refused on GitLab.
pub(super) fn repository_dispatch_is_github(workflow: &str) -> String {
    format!(
        "gitlab: workflow `{workflow}`: `{REPOSITORY_DISPATCH_PREFIX}<event_type>` is GitHub's; \
         name a pipeline (any label) or `job:<job id>`"
    )
}
