//! The exact dispatch a rollback sends: the environment's `dispatch:` rendered for its target.
//!
//! Every string in `dispatch:` is a minijinja template (relman's environment: strict undefined,
//! fuel-bounded) rendered with `target`, `current`, `environment`, `incident`, `reason` and
//! `key`. A GitLab `job:` dispatch asks the forge for the target deployment's deploy job: it is
//! replayed while its artifacts exist, else a new pipeline runs on the target's ref with the
//! configured variables, and [`Dispatch::Job::why`] says which and why.

use std::collections::BTreeMap;

use relman_core::Error;
use relman_core::config::{DispatchKind, RollbackDispatch};
use relman_forge::{DeployJob, Deployment, DeploymentSpec, DispatchSpec, Forge};
use serde::Serialize;

use crate::target::DeploymentRef;

/// What a rollback sends, rendered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dispatch {
    /// GitHub `workflow_dispatch`, or a GitLab pipeline.
    Workflow { spec: DispatchSpec },
    /// GitHub `repository_dispatch` (`spec.workflow` is `repository_dispatch:<event>`).
    RepositoryDispatch { spec: DispatchSpec },
    /// A new deployment of the target on the forge.
    Deployment { spec: DeploymentSpec },
    /// GitLab: the target's deploy job replayed (`spec.workflow` is `job:<id>`), or a new
    /// pipeline on the target's ref.
    Job {
        spec: DispatchSpec,
        replay: Option<DeployJob>,
        why: String,
    },
    /// A local command (argv, no shell), run by relman itself.
    Command { argv: Vec<String> },
}

impl Dispatch {
    /// The forge dispatch it sends, if it is one.
    pub fn spec(&self) -> Option<&DispatchSpec> {
        match self {
            Dispatch::Workflow { spec }
            | Dispatch::RepositoryDispatch { spec }
            | Dispatch::Job { spec, .. } => Some(spec),
            Dispatch::Deployment { .. } | Dispatch::Command { .. } => None,
        }
    }

    /// One line saying what it does (configuration text: print it through the untrusted
    /// writer).
    pub fn describe(&self) -> String {
        match self {
            Dispatch::Workflow { spec } => format!(
                "run workflow `{}` on {}{}",
                spec.workflow,
                spec.git_ref,
                inputs_text(&spec.inputs, "inputs")
            ),
            Dispatch::RepositoryDispatch { spec } => format!(
                "send repository_dispatch `{}`{}",
                spec.workflow
                    .strip_prefix(relman_forge::REPOSITORY_DISPATCH_PREFIX)
                    .unwrap_or(spec.workflow.as_str()),
                inputs_text(&spec.inputs, "client payload")
            ),
            Dispatch::Deployment { spec } => format!(
                "create a deployment of {} ({}) to {}",
                spec.sha, spec.git_ref, spec.environment
            ),
            Dispatch::Job { spec, why, .. } => {
                match spec.workflow.strip_prefix(relman_forge::JOB_PREFIX) {
                    Some(id) => format!("replay job {id}: {why}"),
                    None => format!(
                        "run a new pipeline on {}{}: {why}",
                        spec.git_ref,
                        inputs_text(&spec.inputs, "variables")
                    ),
                }
            }
            Dispatch::Command { argv } => format!("run {argv:?}"),
        }
    }
}

fn inputs_text(inputs: &BTreeMap<String, String>, what: &str) -> String {
    if inputs.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = inputs.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!(" with {what} {}", pairs.join(", "))
}

/// What the templates see.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateContext<'a> {
    pub target: &'a DeploymentRef,
    pub current: Option<&'a DeploymentRef>,
    pub environment: &'a str,
    /// No incident (a drill, a rollback given only `--reason`) renders as an empty string:
    /// serialised as-is it would be minijinja's `none`, text a deploy script would take for an
    /// incident id. `{{ incident or reason }}` picks the reason then.
    #[serde(serialize_with = "none_as_empty")]
    pub incident: Option<&'a str>,
    pub reason: &'a str,
    pub key: &'a str,
}

fn none_as_empty<S: serde::Serializer>(v: &Option<&str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.unwrap_or_default())
}

/// Renders `dispatch` for the target; a GitLab `job:` asks `forge` for the deploy job.
pub fn render(
    environment: &str,
    dispatch: &RollbackDispatch,
    cx: &TemplateContext,
    target: &Deployment,
    actor: &str,
    forge: &dyn Forge,
) -> Result<Dispatch, Error> {
    let key_base = format!("rollback.environments.{environment}.dispatch");
    let one = |key: &str, text: &str| render_one(&format!("{key_base}.{key}"), text, cx);
    let map =
        |what: &str, m: &BTreeMap<String, String>| -> Result<BTreeMap<String, String>, Error> {
            m.iter()
                .map(|(k, v)| Ok((k.clone(), one(&format!("{what}.{k}"), v)?)))
                .collect()
        };
    let git_ref = match &dispatch.git_ref {
        Some(r) => one("ref", r)?,
        None => target.git_ref.clone(),
    };
    let spec = |workflow: String, inputs: BTreeMap<String, String>| DispatchSpec {
        workflow,
        git_ref: git_ref.clone(),
        inputs,
        requested_by: actor.to_string(),
        idempotency_key: cx.key.to_string(),
    };
    let kinds = dispatch.kinds();
    let kind = match kinds.as_slice() {
        [k] => *k,
        _ => {
            return Err(Error::Usage(format!(
                "{key_base}: needs exactly one of workflow, repository_dispatch, deployment, job, \
                 command"
            )));
        }
    };
    Ok(match kind {
        DispatchKind::Workflow => Dispatch::Workflow {
            spec: spec(
                one("workflow", dispatch.workflow.as_deref().unwrap_or_default())?,
                map("inputs", &dispatch.inputs)?,
            ),
        },
        DispatchKind::RepositoryDispatch => Dispatch::RepositoryDispatch {
            spec: spec(
                format!(
                    "{}{}",
                    relman_forge::REPOSITORY_DISPATCH_PREFIX,
                    one(
                        "repository_dispatch",
                        dispatch.repository_dispatch.as_deref().unwrap_or_default()
                    )?
                ),
                map("inputs", &dispatch.inputs)?,
            ),
        },
        DispatchKind::Deployment => Dispatch::Deployment {
            spec: DeploymentSpec {
                environment: environment.to_string(),
                sha: target.sha.clone(),
                git_ref: git_ref.clone(),
                creator: actor.to_string(),
                idempotency_key: cx.key.to_string(),
                payload: serde_json::json!({
                    "rollback": {
                        "from": cx.current.map(|c| c.id),
                        "to": target.id,
                        "incident": cx.incident,
                        "reason": cx.reason,
                    }
                }),
            },
        },
        DispatchKind::Job => {
            let name = one("job", dispatch.job.as_deref().unwrap_or_default())?;
            let variables = map("variables", &dispatch.variables)?;
            job(forge, target, name, variables, spec)?
        }
        DispatchKind::Command => Dispatch::Command {
            argv: dispatch
                .command
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, a)| one(&format!("command[{i}]"), a))
                .collect::<Result<_, _>>()?,
        },
    })
}

/// GitLab: replay the deploy job while its artifacts exist, else a pipeline on the ref.
fn job(
    forge: &dyn Forge,
    target: &Deployment,
    name: String,
    variables: BTreeMap<String, String>,
    spec: impl Fn(String, BTreeMap<String, String>) -> DispatchSpec,
) -> Result<Dispatch, Error> {
    if !forge.capabilities().deploy_jobs {
        return Err(Error::Usage(format!(
            "a `job:` rollback replays the target's GitLab deploy job, and {} (use `workflow:`, \
             `deployment: true` or `command:`)",
            relman_forge::lacks(forge.name(), relman_forge::Capability::DeployJobs)
        )));
    }
    let found = forge.deploy_job(target).map_err(|e| match e {
        Error::Unsupported { backend, .. } => Error::Usage(format!(
            "a `job:` rollback replays the target's GitLab deploy job; the {backend} forge has \
             none (use `workflow:`, `deployment: true` or `command:`)"
        )),
        other => other,
    })?;
    let pipeline = |why: String, replay: Option<DeployJob>| Dispatch::Job {
        spec: spec(name.clone(), variables.clone()),
        replay,
        why,
    };
    Ok(match found {
        // A played manual job takes the variables; a retried one runs with its own.
        Some(j) if j.artifacts_available => Dispatch::Job {
            spec: spec(
                format!("{}{}", relman_forge::JOB_PREFIX, j.id),
                if j.manual {
                    variables.clone()
                } else {
                    BTreeMap::new()
                },
            ),
            why: format!(
                "{} job {} (`{}`) of deployment {}: its artifacts are still there{}{}",
                if j.manual {
                    "plays the manual"
                } else {
                    "retries"
                },
                j.id,
                j.name,
                target.id,
                j.artifacts_expire_at
                    .map(|t| format!(" (until {t})"))
                    .unwrap_or_default(),
                match (j.manual, variables.is_empty()) {
                    (_, true) => "",
                    (true, false) => "; played with the variables",
                    (false, false) => {
                        "; a retry runs with the job's own variables (the configured ones \
                         go only to a new pipeline)"
                    }
                }
            ),
            replay: Some(j),
        },
        Some(j) => pipeline(
            format!(
                "job {} (`{}`) of deployment {} cannot be replayed: its artifacts {}",
                j.id,
                j.name,
                target.id,
                match &j.artifacts_expire_at {
                    Some(t) => format!("expired at {t}"),
                    None => "are gone".into(),
                }
            ),
            Some(j),
        ),
        None => pipeline(
            format!(
                "deployment {} has no deploy job to replay (made through the API or by a bridge \
                 job)",
                target.id
            ),
            None,
        ),
    })
}

fn render_one(key: &str, text: &str, cx: &TemplateContext) -> Result<String, Error> {
    let env = relman_core::template::environment();
    env.render_str(text, minijinja::Value::from(minijinja::value::Serde(cx)))
        .map_err(|e| relman_core::template::template_error(key, &e, Some(text)))
}

#[cfg(test)]
mod context_tests {
    use super::*;

    #[test]
    fn no_incident_renders_empty_never_none() {
        let target: DeploymentRef =
            serde_json::from_value(serde_json::json!({"id": 1, "sha": "abc", "ref": "v1", "state": "success", "created_at": "2026-12-01T00:00:00Z"}))
                .expect("target");
        let cx = TemplateContext {
            target: &target,
            current: None,
            environment: "staging",
            incident: None,
            reason: "rollback drill",
            key: "k",
        };
        let out = render_one("command", "[{{ incident }}|{{ incident or reason }}]", &cx)
            .expect("render");
        assert_eq!(out, "[|rollback drill]");
        let cx = TemplateContext {
            incident: Some("INC-7"),
            ..cx
        };
        assert_eq!(
            render_one("command", "{{ incident }}", &cx).expect("render"),
            "INC-7"
        );
    }
}
