//! Deciding, apart from acting: which deployment to go back to and the exact dispatch.
//!
//! [`decide`] reads only: the environment's deployments and (GitLab `job:`) the target's
//! deploy job from the forge, the incident's earlier claim from the state branch, the
//! configuration and the CI variables it is handed. It writes no claim, no audit record, no
//! deployment status and dispatches nothing, so `--dry-run` is `decide` alone.
//! [`crate::apply`] acts on it.

use std::time::Duration;

use relman_core::Error;
use relman_core::audit::{actor, run_url};
use relman_core::config::{Config, DrillMode, RollbackEnvironment, rollback_duration};
use relman_core::state::StateStore;
use relman_forge::Forge;

use crate::claim::{self, Claim};
use crate::plan::{Dispatch, TemplateContext};
use crate::reason::Why;
use crate::target::{self, DEPLOYMENTS_READ, DeploymentRef};
use crate::verify::Verify;

/// What a run reads, gathered once by its caller.
pub struct Facts<'a> {
    pub config: &'a Config,
    pub forge: &'a dyn Forge,
    /// Where claims are kept (the incident's earlier claim is read from it).
    pub state: &'a StateStore,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("forge", &self.forge.name())
            .finish_non_exhaustive()
    }
}

/// What the run is asked, validated.
#[derive(Debug, Clone)]
pub struct Question {
    pub environment: String,
    /// `--to`: a deployment id, a ref (version) or a sha.
    pub to: Option<String>,
    pub why: Why,
    /// `--drill`.
    pub drill: bool,
    /// `--timeout`, over the environment's `timeout`.
    pub timeout: Option<String>,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A real rollback.
    Rollback,
    /// A drill that validates the dispatch and runs nothing (`drill: validate`).
    DrillValidate,
    /// A drill that really rolls back (`drill: execute`).
    DrillExecute,
}

/// The target and the dispatch.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub current: Option<DeploymentRef>,
    pub target: DeploymentRef,
    /// Why newer deployments were passed over.
    pub skipped: Vec<String>,
    pub dispatch: Dispatch,
    /// `rollback:<environment>:<target id>:<digest>`.
    pub key: String,
}

/// What the history says.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Roll back to this target with this dispatch.
    Target(Box<Resolved>),
    /// The incident was already claimed in this environment (a retried or second trigger):
    /// report that one, dispatch nothing.
    Earlier(Box<Claim>),
    /// Nothing to roll back to, and why.
    NoTarget(String),
}

/// Everything a run decided; [`crate::apply`] acts on it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub environment: String,
    pub mode: Mode,
    pub why: Why,
    pub actor: String,
    pub run_url: Option<String>,
    pub resolution: Resolution,
    pub poll: Duration,
    pub timeout: Duration,
    /// The environment's `verify:` probes, run once the dispatched run succeeded.
    pub verify: Option<Verify>,
}

/// Decides the rollback: reads, never writes.
pub fn decide(facts: &Facts, question: &Question) -> Result<Decision, Error> {
    let env_name = &question.environment;
    let settings = environment(facts.config, env_name)?;
    let base = format!("rollback.environments.{env_name}");
    let duration = |key: &str, text: &str| {
        rollback_duration(text).map_err(|m| Error::Usage(format!("{key}: {m}")))
    };
    let timeout = match &question.timeout {
        Some(t) => duration("--timeout", t)?,
        None => duration(&format!("{base}.timeout"), &settings.timeout)?,
    };
    let poll = duration(&format!("{base}.poll"), &settings.poll)?;
    let verify = settings
        .verify
        .as_ref()
        .map(|v| Verify::from_config(&format!("{base}.verify"), v))
        .transpose()?;
    let mode = match (question.drill, settings.drill) {
        (false, _) => Mode::Rollback,
        (true, DrillMode::Validate) => Mode::DrillValidate,
        (true, DrillMode::Execute) => Mode::DrillExecute,
    };
    let actor = actor(facts.env);
    let run_url = run_url(facts.env);
    let digest = question.why.digest();
    let decision = |resolution| Decision {
        environment: env_name.clone(),
        mode,
        why: question.why.clone(),
        actor: actor.clone(),
        run_url: run_url.clone(),
        resolution,
        poll: poll.max(Duration::from_millis(1)),
        timeout,
        verify: verify.clone(),
    };
    // The incident's first claim fixes its target: a trigger retried after the rollback went
    // out must not take the rollback itself for the current deployment and go a step further.
    if question.to.is_none()
        && let Some(first) = claim::earliest(facts.state, env_name, &digest)?
    {
        return Ok(decision(Resolution::Earlier(Box::new(first))));
    }
    let history = facts.forge.deployments(env_name, DEPLOYMENTS_READ)?;
    let picked = match target::pick(env_name, &history, question.to.as_deref()) {
        Ok(p) => p,
        Err(reason) => return Ok(decision(Resolution::NoTarget(reason))),
    };
    let key = claim::key(env_name, picked.target.id, &digest);
    let target = DeploymentRef::from(&picked.target);
    let current = picked.current.as_ref().map(DeploymentRef::from);
    let cx = TemplateContext {
        target: &target,
        current: current.as_ref(),
        environment: env_name,
        incident: question.why.incident.as_deref(),
        reason: &question.why.reason,
        key: &key,
    };
    let dispatch = crate::plan::render(
        env_name,
        &settings.dispatch,
        &cx,
        &picked.target,
        &actor,
        facts.forge,
    )?;
    Ok(decision(Resolution::Target(Box::new(Resolved {
        current,
        target,
        skipped: picked.skipped,
        dispatch,
        key,
    }))))
}

/// The environment's settings; an environment without any is bad input naming those there are.
fn environment<'c>(config: &'c Config, name: &str) -> Result<&'c RollbackEnvironment, Error> {
    config.rollback.environments.get(name).ok_or_else(|| {
        let known: Vec<&str> = config
            .rollback
            .environments
            .keys()
            .map(String::as_str)
            .collect();
        Error::Usage(format!(
            "no rollback is configured for environment {name:?} (rollback.environments in \
             .relman.yml{})",
            if known.is_empty() {
                " is empty".to_string()
            } else {
                format!(": {}", known.join(", "))
            }
        ))
    })
}

#[cfg(test)]
mod tests;
